"""task=forecast end to end on small CSV files written here: the LSTM learns a noisy seasonal
series better than the naive forecast; results.json carries the model's and both baselines'
MAE, RMSE and MASE; scripts/predict.py forecasts ahead from the checkpoint and a file."""
import math

import numpy as np
import pytest

from tests.helpers import load_script
from tests.reliability.common import QUIET, cli, results

METRICS = ("mae", "rmse", "mase")


def seasonal_csv(path, n=400, season=12, seed=0):
    """A noisy seasonal signal with a date column, as a user's file would have it."""
    t = np.arange(n)
    y = 20 + 4 * np.sin(2 * np.pi * t / season) + np.random.default_rng(seed).normal(0, 0.4, n)
    dates = np.datetime64("2001-01-01") + t
    path.write_text("day,sales\n" + "\n".join(f"{d},{v:.4f}" for d, v in zip(dates, y)) + "\n")
    return path


def train_forecast(capsys, tmp_path, path, *extra):
    code, out, err = cli(capsys, "task=forecast", f"data.path={path}", "data.target=sales",
                         "data.date=day", "task.seq_len=12", "task.season=12", "cell=lstm",
                         "cell.hidden_size=16", "task.batch_size=32", "seed=0",
                         f"run_dir={tmp_path / 'run'}", *QUIET, *extra)
    assert code == 0, err
    return results(tmp_path / "run"), out


def test_lstm_beats_the_naive_forecast(capsys, tmp_path, one_thread):
    path = seasonal_csv(tmp_path / "sales.csv")
    run, out = train_forecast(capsys, tmp_path, path, "task.max_epochs=15", "logger=none")
    for metric in METRICS:
        assert math.isfinite(run[f"test/{metric}"])
        assert f"test/{metric} naive" in run["baselines"]
        assert f"test/{metric} seasonal_naive" in run["baselines"]
    # a season of 12 steps is a pattern a last-value forecast cannot follow
    assert run["test/mae"] < 0.8 * run["baselines"]["test/mae naive"], run
    assert "test/mae naive" in out


def test_predict_forecasts_ahead_from_checkpoint_and_file(capsys, tmp_path, one_thread):
    path = seasonal_csv(tmp_path / "sales.csv")
    run, _ = train_forecast(capsys, tmp_path, path, "task.horizon=3", "task.max_epochs=2",
                            "logger=none")
    predict = load_script("predict")
    assert predict.main([run["checkpoints"]["best"], "--series", str(path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    values = [float(line.split()[-1]) for line in lines[-3:]]
    assert len(values) == 3 and all(10 < v < 30 for v in values), lines
    # the dates go on from the file's last one, a day apart
    assert lines[-3].split()[0] == str(np.datetime64("2001-01-01") + 400)


def test_predict_refuses_a_file_shorter_than_the_window(capsys, tmp_path, one_thread):
    path = seasonal_csv(tmp_path / "sales.csv")
    run, _ = train_forecast(capsys, tmp_path, path, "task.max_epochs=1", "logger=none")
    short = tmp_path / "short.csv"
    short.write_text("\n".join(path.read_text().splitlines()[:6]) + "\n")
    predict = load_script("predict")
    assert predict.main([run["checkpoints"]["best"], "--series", str(short)]) == 2
    err = capsys.readouterr().err
    assert "5 rows" in err and "12" in err, err


@pytest.mark.parametrize("logger", ["tensorboard"])
def test_forecast_figure_is_logged(capsys, tmp_path, one_thread, logger):
    path = seasonal_csv(tmp_path / "sales.csv", n=200)
    run, _ = train_forecast(capsys, tmp_path, path, "task.max_epochs=1", f"logger={logger}")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags = {}
    for events in (tmp_path / "run").rglob("events.out.tfevents.*"):
        for kind, names in EventAccumulator(str(events), size_guidance={"images": 0}).Reload().Tags().items():
            if isinstance(names, list):
                tags.setdefault(kind, set()).update(names)
    assert "x_examples/forecast/test" in tags["images"]
    assert {"test/mae", "test/mae naive", "test/mase seasonal_naive"} <= tags["scalars"], tags


def test_residual_forecast_follows_a_trend_past_the_training_range(capsys, tmp_path, one_thread):
    """A rising line: the test part lies above every training value; forecasting the change
    since the last value follows it, and predict.py adds the change back the same way."""
    t = np.arange(300)
    y = 0.5 * t + np.sin(2 * np.pi * t / 12) + np.random.default_rng(0).normal(0, 0.1, 300)
    dates = np.datetime64("2001-01-01") + t
    path = tmp_path / "sales.csv"
    path.write_text("day,sales\n" + "\n".join(f"{d},{v:.4f}" for d, v in zip(dates, y)) + "\n")
    run, _ = train_forecast(capsys, tmp_path, path, "task.residual=true", "task.max_epochs=10",
                            "logger=none")
    assert run["test/mae"] < run["baselines"]["test/mae naive"], run
    predict = load_script("predict")
    assert predict.main([run["checkpoints"]["best"], "--series", str(path)]) == 0
    value = float(capsys.readouterr().out.strip().splitlines()[-1].split()[-1])
    assert abs(value - 0.5 * 300) < 3, value


def test_missing_values_are_reported_and_handled_as_configured(capsys, tmp_path, one_thread):
    path = seasonal_csv(tmp_path / "sales.csv", n=120)
    lines = path.read_text().splitlines()
    lines[0] += ",temp"
    lines[1:] = [f"{line},{i % 5}" for i, line in enumerate(lines[1:])]
    for row in (20, 21, 50):  # gaps in the target
        day, _, temp = lines[row].split(",")
        lines[row] = f"{day},,{temp}"
    path.write_text("\n".join(lines) + "\n")
    code, _, err = cli(capsys, "task=forecast", f"data.path={path}", "data.target=sales",
                       "task.seq_len=12", f"run_dir={tmp_path / 'a'}", *QUIET)
    assert code == 2 and "set data.missing to drop, ffill or interpolate" in err, err
    run, out = train_forecast(capsys, tmp_path, path, "data.missing=interpolate",
                              "data.features=[temp]", "trainer.fast_dev_run=1", "logger=none")
    assert "missing values: 'sales' 3 (interpolated)" in out
    assert run["test/mae"] > 0
