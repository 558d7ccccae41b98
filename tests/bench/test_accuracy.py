"""The accuracy suite: thresholds, the leaderboard, and a real (tiny) run of an entry."""
import pytest

from rnnzoo.bench import accuracy_check, regression
from rnnzoo.bench.accuracy import (Entry, Suite, leaderboard_markdown, matched_width, parameter_counts,
                                   pick_by_validation, run_entry, suite_from_config,
                                   time_to_threshold)
from tests.helpers import ROOT

HISTORY = [{"time_s": 1.0, "step": 10, "val/mse": 0.3}, {"time_s": 2.0, "step": 20, "val/mse": 0.04},
           {"time_s": 3.0, "step": 30, "val/mse": 0.02}]


def entry(**kw):
    defaults = dict(name="adding_T5", overrides=("task=adding",), metric="test/mse",
                    better="lower", threshold=0.05)
    return Entry(**{**defaults, **kw})


def test_time_to_threshold_is_the_first_validation_past_it():
    assert time_to_threshold(HISTORY, entry()) == (2.0, 20)
    assert time_to_threshold(HISTORY, entry(threshold=0.01)) == (None, None)
    rising = [{"time_s": 1.0, "step": 5, "val/acc": 0.5}, {"time_s": 4.0, "step": 9, "val/acc": 0.95}]
    assert time_to_threshold(rising, entry(metric="test/acc", better="higher", threshold=0.9)) == (4.0, 9)


def test_the_learning_rate_is_picked_on_validation_never_on_test():
    tries = [{"lr": 0.001, "val_best": 0.6, "value": 0.99}, {"lr": 0.01, "val_best": 0.9, "value": 0.7},
             {"lr": 0.1, "val_best": None, "value": 0.2}]
    higher = entry(metric="test/acc", better="higher", threshold=0.9)
    best = pick_by_validation(tries, higher)
    assert best["lr"] == 0.01 and best["value"] == 0.7  # not the rate with the best test value
    assert [t["lr"] for t in best["lr_grid"]] == [0.001, 0.01, 0.1]
    assert pick_by_validation(tries, entry())["lr"] == 0.001  # lower is better; None ranks last


def test_matched_width_comes_nearest_the_parameter_budget():
    tiny = entry(overrides=("task=adding", "task.seq_len=5", "task.num_train=16", "task.num_eval=8"))
    for cell, budget in (("gru", 5000), ("lstm", 5000), ("mlstm", 12000)):
        suite = Suite([tiny], [cell], params=budget)
        width, count = matched_width(tiny, cell, suite, ROOT / "conf")
        counts = parameter_counts(tiny, cell, suite, ROOT / "conf")
        assert count == counts(width) and width % 8 == 0
        # neither neighbour on the grid of widths comes nearer the budget
        assert abs(count - budget) <= min(abs(counts(width + 8) - budget), abs(counts(width - 8) - budget))
        assert abs(count - budget) / budget < 0.25, (cell, width, count)
    # a cell whose parameters grow slowly with the width gets the widest when the budget is out
    # of reach (minGRU has no recurrent weights: 2 inputs, 1024 wide is 7,169 parameters)
    assert matched_width(tiny, "min_gru", Suite([tiny], ["min_gru"], params=10**6), ROOT / "conf")[0] == 1024


def test_entries_are_checked():
    with pytest.raises(ValueError, match="better"):
        entry(better="up")
    with pytest.raises(ValueError, match="test metric"):
        entry(metric="val/mse")
    with pytest.raises(ValueError, match="scale"):
        entry(scale="sqrt")
    with pytest.raises(ValueError, match="lower-is-better"):
        entry(metric="test/acc", better="higher", scale="log")
    with pytest.raises(ValueError, match="min_share"):
        entry(min_share=0.0)


def test_suite_configs_compose_into_entries():
    from omegaconf import OmegaConf

    for name in ("full", "quick"):
        config = OmegaConf.to_container(OmegaConf.load(ROOT / "scripts" / "conf" / "suite" / f"{name}.yaml"))
        config["cells"] = ["rnn", "lstm", "gru"]
        suite = suite_from_config(config)
        assert suite.entries and all(e.overrides for e in suite.entries)
        assert all(e.metric.startswith("test/") for e in suite.entries)
        # every entry can be checked: its task reports a trivial value or the entry declares one
        declared = {e.name for e in suite.entries if e.trivial is not None}
        reported = {e.name for e in suite.entries if e.overrides[0] in ("task=adding", "task=copy")}
        assert declared | reported == {e.name for e in suite.entries}


def test_a_real_entry_runs_and_its_row_feeds_the_regression_check(tmp_path):
    tiny = entry(overrides=("task=adding", "task.seq_len=5", "task.num_train=128", "task.num_eval=64",
                            "task.max_epochs=2", "cell.hidden_size=8"), threshold=10.0,
                 scale="log")
    suite = Suite([tiny], ["gru"])
    row = run_entry(tiny, "gru", suite, tmp_path / "run", ROOT / "conf")
    assert row["kind"] == "accuracy" and row["task"] == "adding_T5" and row["cell"] == "gru"
    assert 0 <= row["value"] < 1 and row["params"] > 0 and row["steps"] == 4
    assert row["time_to_threshold_s"] is not None  # a threshold any run reaches at once
    assert row["steps_to_threshold"] == 2  # the first validation, after epoch 1's two steps
    # input time steps per second of training batches: 2 steps of 64 rows x 5 steps each
    assert row["train_tokens_per_s"] > 0 and row["lr"] is None
    assert row["baseline_trivial"] == pytest.approx(1 / 6, abs=0.05)
    assert row["scale"] == "log" and row["min_share"] == 0.5
    table = leaderboard_markdown([row], suite)
    assert "| adding_T5 |" in table and f"{row['params']:,} p" in table and "2 st," in table
    assert "check: 0.5 of the gap, log" in table
    # a row that solved the task becomes a check, which the same value passes and a value that
    # closes less than half the gap (on log MSE) fails; what two epochs learned may not be that
    solved = {**row, "value": 0.001}
    baseline = regression.update_baseline(None, [solved])
    assert [o.status for o in regression.compare([solved], baseline)] == ["ok"]
    halfway = (0.001 * row["baseline_trivial"]) ** 0.5
    worse = {**row, "value": halfway * 1.05}
    assert [o.status for o in regression.compare([worse], baseline)] == ["REGRESSED"]
    assert [o.limit for o in regression.compare([worse], baseline)] == [pytest.approx(halfway)]


def test_rows_that_do_not_beat_the_trivial_value_make_no_check_and_are_listed():
    suite = Suite([entry(name="copy_T5", metric="test/loss")], ["rnn", "lstm"])
    common = dict(kind="accuracy", task="copy_T5", metric="test/loss", better="lower",
                  scale="linear", min_share=0.5, baseline_trivial=0.4266,
                  time_to_threshold_s=None, params=10)
    rows = [{**common, "cell": "rnn", "value": 0.4289}, {**common, "cell": "lstm", "value": 0.0029}]
    assert [accuracy_check.check_from_row(r) is None for r in rows] == [True, False]
    baseline = regression.update_baseline(None, rows)
    assert [c["key"]["cell"] for c in baseline["checks"]] == ["lstm"]
    table = leaderboard_markdown(rows, suite)
    assert "0.4289 (not reached; 10 p) †" in table and "0.0029 (not reached; 10 p) |" in table
    assert "- `copy_T5` rnn: 0.4289 does not beat the trivial 0.4266 clearly" in table


def test_the_heatmap_colours_the_gap_closed_and_is_written(tmp_path):
    from rnnzoo.bench.heatmap import gap_closed, leaderboard_heatmap

    acc = {"task": "mqar", "cell": "gru", "metric": "test/acc", "better": "higher", "baseline_trivial": 0.25}
    mse = {"task": "adding", "cell": "gru", "metric": "test/mse", "better": "lower", "baseline_trivial": 0.2}
    assert gap_closed({**acc, "value": 0.625}) == pytest.approx(0.5)
    assert gap_closed({**acc, "value": 0.1}) == 0.0  # below chance: nothing closed
    assert gap_closed({**mse, "value": 0.05}) == pytest.approx(0.75)
    assert gap_closed({**mse, "value": 0.05, "baseline_trivial": None}) is None
    rows = [{**acc, "value": 0.625}, {**mse, "value": 0.05}]
    path = leaderboard_heatmap(rows, ["adding", "mqar"], ["gru", "lstm"], tmp_path / "board.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


def test_a_diverged_run_is_a_row_and_never_picked_and_finished_runs_are_reused(tmp_path, monkeypatch):
    import json

    import rnnzoo.experiment
    from rnnzoo.bench.accuracy import run_suite
    from rnnzoo.errors import NumericalFault

    acc = entry(name="mqar_T8", metric="test/acc", better="higher", threshold=0.9, trivial=0.125)
    done = tmp_path / "runs" / "mqar_T8" / "gru" / "lr0.01"
    done.mkdir(parents=True)
    history = [{"time_s": 1.0, "step": 8, "val/acc": 0.5}, {"time_s": 2.0, "step": 16, "val/acc": 0.95}]
    done.joinpath("results.json").write_text(json.dumps(
        {"test/acc": 0.9, "history": history, "time_s": 2.5, "params": 99, "epochs": 2, "steps": 16,
         "train_tokens_per_s": 1000.0, "baselines": {}}))

    def train(config):  # the only run trained here diverges
        raise NumericalFault("a gradient is NaN or Inf at step 11 (epoch 0, batch 11); last finite loss 2.0")
    monkeypatch.setattr(rnnzoo.experiment, "train", train)
    suite = Suite([acc], ["gru"], lrs=[0.01, 0.03], reuse=True)
    (row,) = run_suite(suite, tmp_path, ROOT / "conf", log=lambda *_: None)
    assert row["lr"] == 0.01 and row["value"] == 0.9 and row["steps_to_threshold"] == 16  # reused
    (diverged,) = [t for t in row["lr_grid"] if t["lr"] == 0.03]
    assert diverged["diverged"] == "a gradient is NaN or Inf at step 11 (epoch 0, batch 11)"
    # every rate diverged: the row says so, the regression check skips it, the table shows it
    (row,) = run_suite(Suite([acc], ["gru"], lrs=[0.03]), tmp_path, ROOT / "conf", log=lambda *_: None)
    assert row["diverged"] and accuracy_check.why_unchecked(row).startswith("recorded value is NaN")
    assert "diverged (lr 0.03)" in leaderboard_markdown([row], Suite([acc], ["gru"]))
