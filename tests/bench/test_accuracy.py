"""The accuracy suite: thresholds, the leaderboard, and a real (tiny) run of an entry."""
import pytest

from rnnzoo.bench import regression
from rnnzoo.bench.accuracy import (Entry, Suite, leaderboard_markdown, run_entry,
                                   suite_from_config, time_to_threshold)
from tests.helpers import ROOT

HISTORY = [{"time_s": 1.0, "val/mse": 0.3}, {"time_s": 2.0, "val/mse": 0.04},
           {"time_s": 3.0, "val/mse": 0.02}]


def entry(**kw):
    defaults = dict(name="adding_T5", overrides=("task=adding",), metric="test/mse",
                    better="lower", threshold=0.05, tolerance=0.02)
    return Entry(**{**defaults, **kw})


def test_time_to_threshold_is_the_first_validation_past_it():
    assert time_to_threshold(HISTORY, entry()) == 2.0
    assert time_to_threshold(HISTORY, entry(threshold=0.01)) is None
    rising = [{"time_s": 1.0, "val/acc": 0.5}, {"time_s": 4.0, "val/acc": 0.95}]
    assert time_to_threshold(rising, entry(metric="test/acc", better="higher", threshold=0.9)) == 4.0


def test_entries_are_checked():
    with pytest.raises(ValueError, match="better"):
        entry(better="up")
    with pytest.raises(ValueError, match="test metric"):
        entry(metric="val/mse")


def test_suite_configs_compose_into_entries():
    from omegaconf import OmegaConf

    for name in ("full", "quick"):
        config = OmegaConf.to_container(OmegaConf.load(ROOT / "conf" / "suite" / f"{name}.yaml"))
        config["cells"] = ["rnn", "lstm", "gru"]
        suite = suite_from_config(config)
        assert suite.entries and all(e.overrides for e in suite.entries)
        assert all(e.metric.startswith("test/") for e in suite.entries)


def test_a_real_entry_runs_and_its_row_feeds_the_regression_check(tmp_path):
    tiny = entry(overrides=("task=adding", "task.seq_len=5", "task.num_train=128", "task.num_eval=64",
                            "task.max_epochs=2", "cell.hidden_size=8"), threshold=10.0)
    suite = Suite([tiny], ["gru"])
    row = run_entry(tiny, "gru", suite, tmp_path / "run", ROOT / "conf")
    assert row["kind"] == "accuracy" and row["task"] == "adding_T5" and row["cell"] == "gru"
    assert 0 <= row["value"] < 1 and row["params"] > 0 and row["steps"] == 4
    assert row["time_to_threshold_s"] is not None  # a threshold any run reaches at once
    assert row["baseline_trivial"] == pytest.approx(1 / 6, abs=0.05)
    table = leaderboard_markdown([row], suite)
    assert "| adding_T5 |" in table and f"{row['params']:,} p" in table
    # the row becomes a baseline check, which it passes, and a worse value fails
    baseline = regression.update_baseline(None, [row])
    assert [o.status for o in regression.compare([row], baseline)] == ["ok"]
    worse = {**row, "value": row["value"] + 0.05}
    assert [o.status for o in regression.compare([worse], baseline)] == ["REGRESSED"]
