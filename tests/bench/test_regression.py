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


def accuracy_row(value, task="copy", cell="lstm", tolerance=0.02):
    return {"kind": "accuracy", "task": task, "cell": cell, "metric": "val/acc",
            "value": value, "tolerance": tolerance}


@pytest.fixture
def baseline():
    rows = [speed_row(1.0, impl="torch"), speed_row(1.10), speed_row(0.9, cell="gru"),
            accuracy_row(0.95)]
    return regression.update_baseline(None, rows)


def statuses(rows, baseline, **kw):
    return {(o.check["key"].get("cell"), o.check["kind"]): o.status
            for o in regression.compare(rows, baseline, **kw)}


def test_accuracy_regression_is_below_baseline_minus_tolerance(baseline):
    rows = [speed_row(1.1), speed_row(0.9, cell="gru"), accuracy_row(0.925)]
    assert statuses(rows, baseline)[("lstm", "accuracy")] == "REGRESSED"
    rows[-1] = accuracy_row(0.931)
    assert statuses(rows, baseline)[("lstm", "accuracy")] == "ok"
