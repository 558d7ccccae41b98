"""The speed side of the regression check: per-machine baselines, ratio and time checks
(synthetic rows; the injected slowdowns against real measurements are in test_speed_injection)."""
import json

import pytest

from rnnzoo.bench import machine, regression
from tests.helpers import load_script


def speed_row(ms, impl="custom", cell="lstm", T=100, threads=2, torch_ms=10.0):
    return {"kind": "speed", "cell": cell, "impl": impl, "mode": "train", "device": "cpu",
            "dtype": "float32", "T": T, "B": 32, "I": 64, "H": 128, "layers": 1,
            "bidirectional": False, "threads": threads, "allocator": "default",
            "median_ms": ms * 1.1, "min_ms": ms, "ratio_vs_torch": ms / torch_ms}


def pair(custom_ms, torch_ms=10.0, **kw):
    return [speed_row(torch_ms, impl="torch", torch_ms=torch_ms, **kw),
            speed_row(custom_ms, torch_ms=torch_ms, **kw)]


@pytest.fixture
def baseline():
    return regression.update_baseline(None, pair(11.0) + pair(9.0, cell="gru"))


def statuses(rows, baseline, **kw):
    return {(o.check["key"].get("cell"), o.check["key"].get("impl"), o.check["metric"]): o.status
            for o in regression.compare(rows, baseline, **kw)}


def test_every_row_has_a_time_check_and_custom_rows_a_ratio_check(baseline):
    checks = sorted((c["key"]["cell"], c["key"]["impl"], c["metric"]) for c in baseline["checks"])
    assert checks == [("gru", "custom", "min_ms"), ("gru", "custom", "ratio_vs_torch"),
                      ("gru", "torch", "min_ms"),
                      ("lstm", "custom", "min_ms"), ("lstm", "custom", "ratio_vs_torch"),
                      ("lstm", "torch", "min_ms")]


def test_noise_within_tolerance_passes(baseline):
    # both 20% slower (a busy machine): the ratio holds and the times are within 50%
    rows = pair(11.0 * 1.2, 12.0) + pair(9.0 * 1.2, 12.0, cell="gru")
    assert set(statuses(rows, baseline).values()) <= {"ok", "improved", "info"}
    # one row's time doubled (a noisy spell), the others as recorded: the pooled check holds
    rows = pair(11.0, 20.0) + pair(9.0, cell="gru")
    result = statuses(rows, baseline)
    assert result[(None, None, "time_geomean")] == "ok"


def test_a_slower_custom_path_fails_its_ratio(baseline):
    rows = pair(22.0) + pair(9.0, cell="gru")  # lstm custom twice as slow
    result = statuses(rows, baseline)
    assert result[("lstm", "custom", "ratio_vs_torch")] == "REGRESSED"
    assert result[("lstm", "custom", "min_ms")] == "info"  # judged pooled, not alone
    assert result[("gru", "custom", "ratio_vs_torch")] == "ok"
    # a looser ratio tolerance (the command line's --tolerance) lets the ratio pass
    assert statuses(rows, baseline, tolerance=1.5)[("lstm", "custom", "ratio_vs_torch")] == "ok"


def test_a_slowdown_of_both_keeps_the_ratio_but_fails_the_times(baseline):
    rows = pair(22.0, 20.0) + pair(18.0, 20.0, cell="gru")  # everything twice as slow
    result = statuses(rows, baseline)
    assert result[("lstm", "custom", "ratio_vs_torch")] == "ok"
    pooled = [o for o in regression.compare(rows, baseline) if o.check["metric"] == "time_geomean"]
    assert pooled[0].status == "REGRESSED" and pooled[0].fresh == pytest.approx(2.0, rel=0.05)


def test_missing_is_a_dropped_row_at_a_measured_shape_and_not_run_is_another_shape(baseline):
    result = statuses(pair(11.0), baseline)  # gru not measured, at a shape that was
    assert result[("gru", "custom", "ratio_vs_torch")] == "MISSING"
    assert result[("lstm", "custom", "ratio_vs_torch")] == "ok"
    other_shape = statuses(pair(11.0, T=1000), baseline)
    assert set(other_shape.values()) == {"not run"}
    other_threads = statuses(pair(11.0, threads=1), baseline)  # same shape, other threads
    assert other_threads[("lstm", "custom", "ratio_vs_torch")] == "MISSING"
    text = regression.format_outcomes(regression.compare(pair(11.0, T=1000), baseline))
    assert "0 regressed, 0 missing, 6 not run" in text  # and no pooled check: nothing measured


def test_unrecorded_shapes_are_the_rows_of_shapes_the_baseline_lacks(baseline):
    rows = pair(11.0) + pair(50.0, T=1000)
    assert [r["T"] for r in regression.unrecorded_shapes(rows, baseline)] == [1000, 1000]


def test_the_fingerprint_names_the_machine_and_changes_with_the_threads():
    one, two = machine.fingerprint(1), machine.fingerprint(2)
    assert one != two and "-t2-" in two and machine.facts(2)["threads"] == 2
    assert one == machine.fingerprint(1)  # stable
    assert machine.vector_width() in (128, 256, 512)


def results_file(path, rows, fingerprint="test-machine-0000"):
    path.write_text(json.dumps({"meta": {"fingerprint": fingerprint, "machine": {"cpu": "Test CPU"}},
                                "rows": rows}))
    return str(path)


def test_command_line_records_a_new_machine_then_judges_it(tmp_path, capsys):
    cli = load_script("check_regression")
    machines = tmp_path / "machines"
    flags = ["--machines", str(machines), "--baseline", str(tmp_path / "baseline.json")]
    first = results_file(tmp_path / "first.json", pair(11.0))
    # a machine with no baseline: recorded, said so, and not a failure
    assert cli.main(["compare", first, *flags]) == 0
    out = capsys.readouterr().out
    assert "no speed baseline on this machine: recorded 2 row(s)" in out
    recorded = json.loads((machines / "test-machine-0000.json").read_text())
    assert recorded["machine"] == {"cpu": "Test CPU"} and len(recorded["checks"]) == 3
    # judged from then on
    good = results_file(tmp_path / "good.json", pair(12.0))
    assert cli.main(["compare", good, *flags]) == 0
    slow = results_file(tmp_path / "slow.json", pair(22.0))
    assert cli.main(["compare", slow, *flags]) == 1
    assert "REGRESSED" in capsys.readouterr().out
    # another machine's results are not judged against this one's baseline
    elsewhere = results_file(tmp_path / "elsewhere.json", pair(22.0), fingerprint="other-1111")
    assert cli.main(["compare", elsewhere, *flags, "--no-record"]) == 0
    assert "not judged (--no-record)" in capsys.readouterr().out
    assert not (machines / "other-1111.json").exists()


def test_command_line_refuses_speed_results_without_a_fingerprint(tmp_path):
    cli = load_script("check_regression")
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"rows": pair(11.0)}))
    with pytest.raises(SystemExit, match="without a machine fingerprint"):
        cli.main(["compare", str(old), "--machines", str(tmp_path)])


def test_update_writes_speed_to_the_machine_file(tmp_path):
    cli = load_script("check_regression")
    machines = tmp_path / "machines"
    rows = results_file(tmp_path / "r.json", pair(11.0))
    assert cli.main(["update", rows, "--machines", str(machines),
                     "--baseline", str(tmp_path / "baseline.json")]) == 0
    assert (machines / "test-machine-0000.json").exists()
    assert not (tmp_path / "baseline.json").exists()  # no accuracy rows, no accuracy baseline
