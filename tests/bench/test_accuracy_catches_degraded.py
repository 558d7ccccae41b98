"""The accuracy check catches a worse LSTM: the quick suite's separating entry (a copy length
the tanh RNN cannot learn and the gated cells can), run with the real LSTM and with degraded
ones built under the LSTM's name, judged against a baseline made from the real LSTM's row.
"""
import pytest
import torch
from omegaconf import OmegaConf

import rnnzoo.models.factory as factory
from rnnzoo.bench import regression
from rnnzoo.bench.accuracy import run_entry, suite_from_config
from rnnzoo.cells.lstm import LSTMCell
from tests.helpers import ROOT

SEPARATING = "copy_T5_quick"  # the quick entry where the tanh RNN stays at the trivial loss
REAL_BUILD = factory.build_rnn


def quick_suite(seed: int):
    config = OmegaConf.to_container(OmegaConf.load(ROOT / "scripts" / "conf" / "suite" / "quick.yaml"))
    config.update(cells=["lstm"], common=[f"seed={seed}"])
    return suite_from_config(config)


def lstm_row(tmp_path, seed: int = 0) -> dict:
    suite = quick_suite(seed)
    (entry,) = [e for e in suite.entries if e.name == SEPARATING]
    return run_entry(entry, "lstm", suite, tmp_path / f"lstm-{seed}", ROOT / "conf")


def tanh_rnn_named_lstm(name, *args, **kwargs):
    """A tanh RNN wherever an LSTM is asked for (the row still says cell=lstm)."""
    return REAL_BUILD("rnn_tanh" if name == "lstm" else name, *args, **kwargs)


def _zero_forget_block(grad, block):
    grad = grad.clone()
    grad[block] = 0
    return grad


def lstm_without_forget_gate(name, *args, **kwargs):
    """An LSTM whose forget gate is pinned shut (sigmoid(-30) ~ 0, never trained), so the
    cell state holds one step only: the LSTM's memory is gone, the rest of it is intact."""
    layer = REAL_BUILD(name, *args, **kwargs)
    for index, cell in enumerate(getattr(layer, "cells", ())):
        if not isinstance(cell, LSTMCell):
            continue
        block = slice(cell.hidden_size, 2 * cell.hidden_size)  # gate order i, f, g, o
        weights = layer.cell_weights(index)  # the layer owns its cells' parameters
        params = tuple(weights[k] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
        with torch.no_grad():
            for p in params:
                p[block] = 0
            weights["bias_ih"][block] = -30.0
        for p in params:
            p.register_hook(lambda grad, block=block: _zero_forget_block(grad, block))
    return layer


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """The baseline check made from the real LSTM's seed-0 row."""
    row = lstm_row(tmp_path_factory.mktemp("real"))
    base = regression.update_baseline(None, [row])
    assert len(base["checks"]) == 1  # the real LSTM clearly beats the memoryless loss
    return base


def verdict(row: dict, baseline: dict) -> tuple[str, float]:
    (outcome,) = regression.compare([row], baseline)
    return outcome.status, outcome.fresh


def test_the_real_lstm_with_another_seed_passes(baseline, tmp_path):
    status, fresh = verdict(lstm_row(tmp_path, seed=1), baseline)
    assert status in ("ok", "improved"), fresh


@pytest.mark.parametrize("degraded", [tanh_rnn_named_lstm, lstm_without_forget_gate])
def test_a_degraded_lstm_is_flagged(baseline, tmp_path, monkeypatch, degraded):
    monkeypatch.setattr(factory, "build_rnn", degraded)
    row = lstm_row(tmp_path)
    assert row["cell"] == "lstm"
    status, fresh = verdict(row, baseline)
    assert status == "REGRESSED", fresh
    assert fresh > 0.9 * row["baseline_trivial"]  # it fell back to about the memoryless loss
