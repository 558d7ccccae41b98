"""The sine questions: each measurement on filters with known answers, and the script end to end."""
import json
import math

import pytest
import torch

from rnnzoo.analysis.sine_response import (damping, frequency_sweep, network_predictor,
                                           noise_sweep, settling)
from tests.helpers import load_script


def smoother(a: float):
    """The exponential smoother y_t = a y_{t-1} + (1 - a) x_t from y_{-1} = 0."""
    def predict(x):
        y, out = torch.zeros(x.shape[0], 1, dtype=torch.float64), []
        for t in range(x.shape[1]):
            y = a * y + (1 - a) * x[:, t].double()
            out.append(y)
        return torch.stack(out, 1)
    return predict


def echo(x):
    return x.clone()


@pytest.mark.parametrize("a", [0.8, 0.9])
def test_settling_of_an_exponential_smoother_is_known_exactly(a):
    """Ones from y_{-1} = 0: y_t = 1 - a^(t+1), so the distance to the final value is a^(t+1),
    largest a at t = 0; it stays inside tol * a from the first t with a^t <= tol. After a step
    from a settled 0, the band is tol * 1 (the step), reached once a^(t+1) <= tol."""
    tol = 0.05
    result = damping(smoother(a), steps=300, before=50, tol=tol)
    ones = result["ones"]["settling"]
    assert ones["steps"] == math.ceil(math.log(tol) / math.log(a))
    assert ones["decay"] == pytest.approx(a, rel=1e-9)
    assert ones["time_constant"] == pytest.approx(-1 / math.log(a), rel=1e-9)
    assert ones["final"] == pytest.approx(1.0, abs=1e-12)
    up, down = result["step"]["up"], result["step"]["down"]
    assert up["steps"] == down["steps"] == math.floor(math.log(tol) / math.log(a))
    assert down["final"] == pytest.approx(0.0, abs=1e-12)


def test_settling_reports_a_response_that_never_settles():
    wave = [math.sin(0.3 * t) for t in range(200)]
    assert settling(wave)["steps"] is None and not settling(wave)["steady"]
    assert settling([2.0] * 10)["steps"] == 0  # nothing to settle
    ringing = [1 + 0.5 ** t * math.cos(math.pi * t) for t in range(60)]  # +-, halving
    rings = settling(ringing, final=1.0, tol=0.1)
    assert rings["steps"] == 4  # 0.5^4 = 0.0625 < 0.1
    assert rings["decay"] == pytest.approx(0.5)  # the envelope's, across the sign changes


def test_frequency_sweep_references_and_a_low_pass_gain():
    freqs = [0.5, 1.0, 2.0, 4.0]
    rows = frequency_sweep(echo, freqs, n=16, noise_std=0.3)
    for row in rows:
        assert row["mse"] == pytest.approx(row["echo_mse"])
        assert row["echo_mse"] == pytest.approx(0.09, rel=0.1)
        assert row["gain"] == pytest.approx(1.0, abs=0.05)
    assert [r["in_training_range"] for r in rows] == [True, True, False, False]
    zero = frequency_sweep(lambda x: torch.zeros_like(x), freqs, n=16)
    assert all(r["mse"] == pytest.approx(r["zero_mse"]) and r["gain"] == 0 for r in zero)
    # a linear filter's in-phase gain is the real part of its frequency response
    # H(w) = (1 - a) / (1 - a e^{-iw}), w = 2 pi f dt radians per step
    a, dt = 0.8, 0.05
    rows = frequency_sweep(smoother(a), freqs, n=64, noise_std=0.0, seq_len=200, warmup=50)
    for row in rows:
        response = (1 - a) / (1 - a * complex(math.cos(2 * math.pi * row["freq"] * dt),
                                              -math.sin(2 * math.pi * row["freq"] * dt)))
        assert row["gain"] == pytest.approx(response.real, abs=0.02), row["freq"]


def test_noise_sweep_measures_noise_in_and_out():
    stds = [0.0, 0.5, 1.0]
    rows = noise_sweep(echo, stds, n=32)
    assert rows[0]["noise_in"] == 0 and rows[0]["ratio"] is None
    for row in rows[1:]:
        assert row["noise_in"] == pytest.approx(row["noise_std"], rel=0.05)
        assert row["noise_out"] == pytest.approx(row["noise_in"]) and row["ratio"] == pytest.approx(1.0)
    # the smoother's error = its distortion of the wave (the std-0 row) + the filtered noise,
    # uncorrelated; white noise comes through with variance (1 - a) / (1 + a) of the input's
    a = 0.7
    smoothed = noise_sweep(smoother(a), stds, n=64, seq_len=200, warmup=50)
    floor = smoothed[0]["noise_out"]
    for row in smoothed[1:]:
        added = row["noise_out"] ** 2 - floor ** 2
        assert added == pytest.approx(row["noise_in"] ** 2 * (1 - a) / (1 + a), rel=0.1)
        assert row["ratio"] < 1


def test_network_predictor_runs_a_sine_network():
    from rnnzoo.models.factory import build_network
    from rnnzoo.tasks.info import TaskInfo

    info = TaskInfo(name="sine", shape="many_to_many", target="values", input_size=1,
                    output_size=1, tokens=False)
    predict = network_predictor(build_network(info, {"name": "gru", "hidden_size": 4}))
    assert predict(torch.randn(3, 7, 1)).shape == (3, 7, 1)


def test_script_trains_measures_and_writes_files(tmp_path):
    cli = load_script("sine_report")
    out = tmp_path / "report"
    result = cli.main([f"out_dir={out}", "hidden_size=8", "max_epochs=1", "task.num_train=256",
                       "task.num_eval=64", "task.seq_len=40", "logger=none", "freqs=0.5,1,2.5",
                       "noise_stds=0,0.5", "n=8", "damping_steps=40", "before=10"])
    for name in ("frequency.png", "noise.png", "damping.png", "example.png", "sine_report.md",
                 "sine_report.json"):
        assert (out / name).stat().st_size > 0, name
    data = json.loads((out / "sine_report.json").read_text())
    assert [r["freq"] for r in data["frequency"]] == [0.5, 1.0, 2.5]
    assert data["config"]["seq_len"] == 40 and data["config"]["train_range"] == [0.5, 1.5]
    assert len(data["damping"]["step"]["response"]) == 90
    assert "| 2.5 | no |" in (out / "sine_report.md").read_text()

    again = cli.main([f"ckpt={result['checkpoint']}", "freqs=1", "noise_stds=0.3", "n=4"])
    assert again["out_dir"] == out / "train" / "sine_report"
    assert (again["out_dir"] / "damping.png").is_file()


def test_script_rejects_unknown_keys():
    cli = load_script("sine_report")
    with pytest.raises(SystemExit, match="unknown key"):
        cli.parse(["frequency=3"])
    options, overrides = cli.parse(["freqs=1,2", "tol=0.02", "optimizer=sgd"])
    assert options["freqs"] == (1.0, 2.0) and options["tol"] == 0.02 and overrides == ["optimizer=sgd"]
