"""The JSON and Markdown writers and the derived tables (synthetic rows, no timing)."""
import json
import math

from rnnzoo.bench import report


def row(impl, median, cell="lstm", T=100, mem=10.0, mode="train", **extra):
    base = {"kind": "speed", "cell": cell, "device": "cpu", "dtype": "float32", "T": T, "B": 2,
            "I": 3, "H": 4, "layers": 1, "bidirectional": False, "mode": mode, "impl": impl,
            "threads": 2, "allocator": "default", "median_ms": median, "iqr_ms": 0.1, "min_ms": median * 0.9,
            "runs": 5, "tokens_per_s": T * 2 / median * 1e3, "us_per_token": median * 1e3 / (T * 2),
            "gflops": 1.0, "gemm_peak_gflops": 10.0, "roofline_frac": 0.1, "peak_mem_mb": mem,
            "kb_per_token": mem * 1024 / (T * 2)}
    base.update(extra)
    return base


def test_add_ratios_pairs_rows_of_the_same_configuration():
    rows = [row("torch", 10.0), row("custom", 12.0), row("custom", 5.0, T=200)]
    report.add_ratios(rows)
    assert rows[1]["ratio_vs_torch"] == 1.2
    assert rows[0]["ratio_vs_torch"] == 1.0
    assert rows[2]["ratio_vs_torch"] is None  # no torch row at T=200
    assert rows[1]["ratio_vs_autograd"] is None


def test_json_round_trip_turns_nan_into_null(tmp_path):
    rows = [row("custom", 1.0, mem=math.nan)]
    path = report.write_results(tmp_path / "r.json", rows, {"torch": "x"})
    data = json.loads(path.read_text())
    assert data["meta"] == {"torch": "x"}
    assert data["rows"][0]["peak_mem_mb"] is None
    assert report.read_rows(path)[0]["median_ms"] == 1.0
    assert set(report.SPEED_KEYS) - {"ratio_vs_torch"} <= set(data["rows"][0])


def test_markdown_puts_implementations_side_by_side_with_their_ratio():
    rows = [row("custom", 12.0), row("torch", 10.0)]
    report.add_ratios(rows)
    text = report.markdown_report(rows, {"torch": "2.x"})
    header = next(line for line in text.splitlines() if line.startswith("| cell"))
    assert "custom ms (IQR)" in header and "torch ms (IQR)" in header and "custom/torch" in header
    line = next(line for line in text.splitlines() if line.startswith("| lstm"))
    assert "12.00 (0.10)" in line and "10.00 (0.10)" in line and line.rstrip(" |").endswith("1.200")
    assert "## Linear in T" not in text


def test_linear_in_t_table():
    rows = [row("custom", 10.0, T=100, mem=10.0), row("custom", 110.0, T=1000, mem=100.0)]
    (entry,) = report.linear_in_t(rows)
    assert (entry["T_short"], entry["T_long"]) == (100, 1000)
    assert math.isclose(entry["time_ratio"], 1.1)
    assert math.isclose(entry["memory_ratio"], 1.0)
    assert "## Linear in T" in report.markdown_report(rows)


def test_scan_speedup():
    rows = [row("custom", 2.0, cell="min_gru"), row("autograd", 50.0, cell="min_gru")]
    report.add_ratios(rows)
    (entry,) = report.scan_speedups(rows)
    assert entry["speedup"] == 25.0 and entry["sequential_ms"] == 50.0
    assert "25.0x" in report.markdown_report(rows)


def test_every_cell_at_one_width_is_set_beside_the_lstm():
    rows = [row("custom", 4.0), row("custom", 2.0, cell="s6"), row("autograd", 30.0, cell="s6"),
            row("custom", 1.0, cell="s6", T=200)]  # another size: no LSTM to compare with
    report.add_ratios(rows)
    peers = {p["cell"]: p for p in report.width_peers(rows)}
    assert set(peers) == {"lstm", "s6"} and peers["s6"]["vs_lstm"] == 0.5 and peers["lstm"]["vs_lstm"] == 1.0
    text = report.markdown_report(rows)
    assert "## Every cell at one width" in text and "| s6 | train | cpu | 100 | 2 | 3 | 4 | 2.00 |" in text
    assert "15.0x" in text  # s6's scan against its own loop


def test_plots_are_written(tmp_path):
    rows = [row("custom", 12.0), row("torch", 10.0), row("custom", 100.0, T=1000)]
    report.add_ratios(rows)
    written = report.plot(rows, tmp_path)
    assert {p.name for p in written} == {"time_per_token.png", "ratio.png"}
    assert all(p.stat().st_size > 0 for p in written)
