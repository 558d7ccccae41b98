"""The regression check: speed ratios and accuracy rows against a baseline (synthetic data)."""
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


def test_baseline_has_ratio_and_accuracy_checks_but_no_torch_row(baseline):
    kinds = sorted((c["kind"], c["key"]["cell"], c["metric"]) for c in baseline["checks"])
    assert kinds == [("accuracy", "lstm", "val/acc"), ("speed", "gru", "ratio_vs_torch"),
                     ("speed", "lstm", "ratio_vs_torch")]


def test_pass_within_tolerance(baseline):
    rows = [speed_row(1.30), speed_row(0.8, cell="gru"), accuracy_row(0.94)]
    result = statuses(rows, baseline)
    assert result == {("lstm", "speed"): "ok", ("gru", "speed"): "improved",
                      ("lstm", "accuracy"): "ok"}


def test_ratio_regression(baseline):
    rows = [speed_row(1.10 * 1.25 + 0.01), speed_row(0.9, cell="gru"), accuracy_row(0.95)]
    outcomes = regression.compare(rows, baseline)
    (bad,) = [o for o in outcomes if o.failed]
    assert bad.status == "REGRESSED" and bad.check["key"]["cell"] == "lstm"
    assert "REGRESSED" in regression.format_outcomes(outcomes)
    # a looser tolerance lets it pass
    assert not any(o.failed for o in regression.compare(rows, baseline, tolerance=0.5))


def test_accuracy_regression_is_below_baseline_minus_tolerance(baseline):
    rows = [speed_row(1.1), speed_row(0.9, cell="gru"), accuracy_row(0.925)]
    assert statuses(rows, baseline)[("lstm", "accuracy")] == "REGRESSED"
    rows[-1] = accuracy_row(0.931)
    assert statuses(rows, baseline)[("lstm", "accuracy")] == "ok"


def test_missing_rows(baseline):
    rows = [speed_row(1.1)]  # no gru row, no accuracy row
    result = statuses(rows, baseline)
    assert result[("gru", "speed")] == "MISSING" and result[("lstm", "accuracy")] == "MISSING"
    assert result[("lstm", "speed")] == "ok"


@pytest.mark.parametrize("prune, expected", [
    (False, {("speed", "lstm"): 1.5, ("speed", "gru"): 0.9, ("accuracy", "lstm"): 0.95}),
    (True, {("speed", "lstm"): 1.5, ("accuracy", "lstm"): 0.95}),  # gru's speed row gone
])
def test_refreshing_speed_rows_keeps_accuracy_checks(baseline, prune, expected):
    refreshed = regression.update_baseline(baseline, [speed_row(1.5)], prune=prune)
    by_kind = {(c["kind"], c["key"]["cell"]): c["value"] for c in refreshed["checks"]}
    assert by_kind == expected


def test_other_threads_or_shapes_do_not_match(baseline):
    other = speed_row(1.1, T=1000)
    assert statuses([other], baseline)[("lstm", "speed")] == "MISSING"


def test_command_line(tmp_path, capsys):
    cli = load_script("check_regression")
    base = tmp_path / "baseline.json"
    first = tmp_path / "first.json"
    first.write_text(json.dumps({"rows": [speed_row(1.0, impl="torch"), speed_row(1.1),
                                          accuracy_row(0.9)]}))
    assert cli.main(["update", str(first), "--baseline", str(base)]) == 0
    assert json.loads(base.read_text())["format"] == regression.FORMAT

    good = tmp_path / "good.json"
    good.write_text(json.dumps({"rows": [speed_row(1.2), accuracy_row(0.89)]}))
    assert cli.main(["compare", str(good), "--baseline", str(base)]) == 0

    slow = tmp_path / "slow.json"
    slow.write_text(json.dumps({"rows": [speed_row(1.6), accuracy_row(0.9)]}))
    assert cli.main(["compare", str(slow), "--baseline", str(base)]) == 1
    out = capsys.readouterr().out
    assert "REGRESSED" in out and "ratio_vs_torch" in out and "+45.5%" in out

    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps([speed_row(1.1)]))  # a bare list of rows is accepted too
    assert cli.main(["compare", str(partial), "--baseline", str(base)]) == 1
    assert cli.main(["compare", str(partial), "--baseline", str(base), "--allow-missing"]) == 0
