"""Gradient-flow measurements: the fit, the norms, the textbook orderings, explosion and clipping."""
import json
import math

import numpy as np
import pytest
import torch

from rnnzoo.analysis.gradient_flow import (FlowConfig, LastStepRegressor, explosion_study,
                                           fit_rate, state_gradient_norms, vanishing_study)
from tests.helpers import load_script


def test_fit_rate_recovers_a_geometric_decay():
    distance = np.arange(40)
    norms = 3.0 * 0.8 ** distance
    assert fit_rate(norms) == pytest.approx(math.log(0.8), abs=1e-12)
    norms[25:] = 0.0  # nothing flows back any more: left out, not log(0)
    assert fit_rate(norms) == pytest.approx(math.log(0.8), abs=1e-12)


def test_norms_are_the_jacobian_products_of_the_elman_equations():
    """For h_t = tanh(W_ih x_t + W_hh h_{t-1} + b): dL/dh_{t-1} = W_hh^T (1 - h_t^2) * dL/dh_t."""
    torch.manual_seed(0)
    model = LastStepRegressor("rnn_tanh", 2, 6).double()
    x, y = torch.rand(4, 10, 2, dtype=torch.float64), torch.rand(4, dtype=torch.float64)
    norms = state_gradient_norms(model, x, y)
    with torch.no_grad():
        hs = [s[0] for s in model.states(x)]
        grad = (model.head(hs[-1]).squeeze(-1) - y)[:, None] * model.head.weight  # dL/dh_T
        expected = []
        for t in range(len(hs) - 1, -1, -1):
            expected.append(grad.norm(dim=1).pow(2).mean().sqrt().item())
            grad = (grad * (1 - hs[t] ** 2)) @ model.cell.weight_hh
    np.testing.assert_allclose(norms, expected, rtol=1e-12)


def rates(curves, phase):
    return {c.cell: c for c in curves if c.phase == phase}


def test_after_training_gates_keep_the_gradient_and_the_tanh_rnn_does_not():
    """The textbook picture, on the adding problem (fixed seed and budget): the LSTM and GRU
    learn it and their gradient reaches 60 steps back almost undiminished; the tanh RNN
    learns nothing and its gradient still decays geometrically."""
    cfg = FlowConfig(cells=("rnn_tanh", "lstm", "gru"), inits=("default",), seq_len=60, batch=16)
    trained = rates(vanishing_study(cfg, log=lambda _: None), "trained")
    assert trained["rnn_tanh"].rate < -0.2
    assert trained["lstm"].rate > -0.1 and trained["gru"].rate > -0.1
    assert trained["lstm"].task_mse < 0.05 and trained["gru"].task_mse < 0.05  # baseline 1/6
    assert trained["rnn_tanh"].task_mse > 0.12


def test_at_default_init_the_gates_sit_near_one_half_and_decay_as_fast_as_tanh():
    """A measured caveat to the textbook: with torch's default init the forget / update
    gates are ~sigmoid(0) = 0.5, so the LSTM's cell and the GRU's state roughly halve each
    step, and all three cells decay at similar rates. A forget-gate bias of 1 (Jozefowicz
    et al. 2015) opens the LSTM's path: then the tanh RNN is clearly the steeper."""
    cfg = FlowConfig(cells=("rnn_tanh", "lstm", "gru"), inits=("default",), train_steps=0)
    at_init = rates(vanishing_study(cfg, log=lambda _: None), "init")
    for cell in ("rnn_tanh", "lstm", "gru"):
        assert -0.6 < at_init[cell].rate < -0.35, cell
    biased = rates(vanishing_study(FlowConfig(cells=("lstm",), inits=("default",), train_steps=0,
                                              forget_bias=1.0), log=lambda _: None), "init")
    assert biased["lstm"].rate > at_init["rnn_tanh"].rate + 0.2


def test_large_recurrent_gain_explodes_and_clipping_bounds_the_update():
    cfg = FlowConfig(explode_gains=(1.0, 2.0), explode_seq_len=30, explode_train_steps=5)
    result = explosion_study(cfg, log=lambda _: None)
    by_gain = {c.gain: c for c in result["curves"]}
    assert by_gain[1.0].rate < 0 < 0.2 < by_gain[2.0].rate
    bound = result["update_bound"]
    for run in result["training"]:
        clipped = run["clipped"]["update_norms"]
        assert len(clipped) == 5 and all(u <= bound * (1 + 1e-9) for u in clipped)
    unclipped = result["training"][1]["unclipped"]["update_norms"]
    assert unclipped[0] > 1e3 * bound


def test_script_writes_plots_json_and_tensorboard(tmp_path):
    cli = load_script("gradient_flow")
    result = cli.main([f"out_dir={tmp_path}", "cells=rnn_tanh,gru", "inits=default,orthogonal",
                       "seq_len=20", "batch=4", "train_steps=3", "explode_gains=1,2.5",
                       "explode_seq_len=10", "explode_train_steps=2", "hidden_size=8"])
    for name in ("vanishing.png", "vanishing.json", "explosion.png", "explosion.json"):
        assert (tmp_path / name).stat().st_size > 0
    assert list(tmp_path.glob("events.out.tfevents.*"))
    data = json.loads((tmp_path / "vanishing.json").read_text())
    assert set(data["rates"]) == {"init", "trained"}
    assert set(data["rates"]["trained"]["gru"]) == {"default", "orthogonal"}
    assert len(data["curves"][0]["norms"]) == 20
    assert result["out_dir"] == tmp_path


def test_script_rejects_unknown_keys():
    cli = load_script("gradient_flow")
    with pytest.raises(SystemExit, match="unknown key"):
        cli.parse(["hidden=3"])
    cfg, options = cli.parse(["forget_bias=1", "explode_gains=1,3", "study=explosion"])
    assert cfg.forget_bias == 1.0 and cfg.explode_gains == (1.0, 3.0) and options["study"] == "explosion"
