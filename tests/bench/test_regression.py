"""The regression check, accuracy side: accuracy rows against a baseline (synthetic data; the speed
side is in test_speed_regression)."""
import json

import pytest

from rnnzoo.bench import regression
from tests.helpers import load_script


def speed_row(ratio, impl="custom", cell="lstm", T=100):
    return {"kind": "speed", "cell": cell, "impl": impl, "mode": "train", "device": "cpu",
            "dtype": "float32", "T": T, "B": 32, "I": 64, "H": 128, "layers": 1,
            "bidirectional": False, "threads": 2, "allocator": "default", "median_ms": 10.0 * ratio,
            "ratio_vs_torch": ratio}


def accuracy_row(value, task="copy", cell="lstm", trivial=0.5):
    """An accuracy row judged linearly: fails below half the gap from chance (0.5) to recorded."""
    return {"kind": "accuracy", "task": task, "cell": cell, "metric": "val/acc", "value": value,
            "better": "higher", "baseline_trivial": trivial, "scale": "linear", "min_share": 0.5}


@pytest.fixture
def baseline():
    rows = [speed_row(1.0, impl="torch"), speed_row(1.10), speed_row(0.9, cell="gru"),
            accuracy_row(0.95)]
    return regression.update_baseline(None, rows)


def statuses(rows, baseline, **kw):
    return {(o.check["key"].get("cell"), o.check["kind"]): o.status
            for o in regression.compare(rows, baseline, **kw)}


def test_accuracy_regression_is_closing_less_than_half_the_gap_from_trivial(baseline):
    # recorded 0.95, trivial 0.5: the limit is 0.725
    rows = [speed_row(1.1), speed_row(0.9, cell="gru"), accuracy_row(0.72)]
    assert statuses(rows, baseline)[("lstm", "accuracy")] == "REGRESSED"
    rows[-1] = accuracy_row(0.73)
    assert statuses(rows, baseline)[("lstm", "accuracy")] == "ok"
    outcome = [o for o in regression.compare(rows, baseline) if o.check["kind"] == "accuracy"]
    assert outcome[0].limit == pytest.approx(0.725)


def test_an_accuracy_row_at_the_trivial_value_makes_no_check():
    rows = [accuracy_row(0.52), accuracy_row(0.9, cell="gru")]
    refreshed = regression.update_baseline(None, rows)
    assert [c["key"]["cell"] for c in refreshed["checks"]] == ["gru"]
