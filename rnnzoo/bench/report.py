"""The benchmark's outputs: a JSON file of rows, a Markdown report, and two plots.

A result file is ``{"meta": {...}, "rows": [...]}``; each speed row has the keys of
:data:`SPEED_KEYS`. The Markdown report puts every implementation of one configuration on one
line with its ratio to the reference implementations (measured in the same run), then the
linear-in-T table and the parallel-scan speedups when the run has what they need.
"""
from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

from rnnzoo.utils.io import write_json
from typing import Iterable

#: what identifies one measured configuration (every implementation shares it)
CONFIG_KEYS = ("cell", "device", "dtype", "T", "B", "I", "H", "layers", "bidirectional", "mode")
#: what identifies one speed row: its configuration, implementation and how it was run
ROW_ID = CONFIG_KEYS + ("impl", "threads", "allocator")
#: the keys of one speed row
SPEED_KEYS = ROW_ID + ("median_ms", "iqr_ms", "min_ms", "runs", "tokens_per_s", "us_per_token",
                       "gflops", "gemm_peak_gflops", "roofline_frac", "peak_mem_mb", "kb_per_token",
                       "ratio_vs_torch")
#: cells that torch.nn lacks, compared with their own sequential loop instead
SCAN_CELLS = ("min_gru", "min_lstm", "mlstm", "lru", "rg_lru", "s6")


def config_of(row: dict) -> tuple:
    return tuple(row.get(key) for key in CONFIG_KEYS)


def add_ratios(rows: list[dict], references: Iterable[str] = ("torch", "autograd")) -> None:
    """Give every row ``ratio_vs_<ref>``: its median over the reference impl's, same config."""
    medians = {(config_of(r), r["impl"]): r["median_ms"] for r in rows}
    for row in rows:
        for ref in references:
            base = medians.get((config_of(row), ref))
            row[f"ratio_vs_{ref}"] = None if base is None else row["median_ms"] / base


# ---- JSON -----------------------------------------------------------------------------------
def write_results(path, rows: list[dict], meta: dict | None = None) -> Path:
    """A result file: ``{"meta": {...}, "rows": [...]}`` (written atomically, NaN as null)."""
    return write_json(path, {"meta": meta or {}, "rows": rows})


def read_rows(path) -> list[dict]:
    """The rows of a result file (a ``{"rows": [...]}`` object or a bare list)."""
    return rows_in(json.loads(Path(path).read_text()))


def rows_in(data) -> list[dict]:
    """The rows of a result file's parsed JSON."""
    return data["rows"] if isinstance(data, dict) else data


# ---- Markdown -------------------------------------------------------------------------------
def _fmt(value, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def markdown_table(header: list[str], lines: list[list]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(_fmt(v) if not isinstance(v, str) else v for v in line) + " |"
            for line in lines]
    return "\n".join(out)


def speed_table(rows: list[dict]) -> str:
    """One line per configuration; per implementation its median (IQR), GFLOP/s, roofline
    fraction and peak memory; then its ratio to torch (and to autograd for the scan cells)."""
    speed = [r for r in rows if r.get("median_ms") is not None]
    impls = list(dict.fromkeys(r["impl"] for r in speed))
    by_config: dict[tuple, dict[str, dict]] = defaultdict(dict)
    for r in speed:
        by_config[config_of(r)][r["impl"]] = r
    ratio_impls = [i for i in impls if i != "torch"]
    header = ["cell", "mode", "T", "B", "I", "H", "L", "device", "dtype"]
    for impl in impls:
        header += [f"{impl} ms (IQR)", f"{impl} GFLOP/s (roof)", f"{impl} peak MB"]
    header += [f"{impl}/torch" for impl in ratio_impls]
    lines = []
    for config, per_impl in by_config.items():
        first = next(iter(per_impl.values()))
        line = [first["cell"], first["mode"], first["T"], first["B"], first["I"], first["H"],
                first["layers"], first["device"], first["dtype"]]
        for impl in impls:
            r = per_impl.get(impl)
            if r is None:
                line += ["", "", ""]
                continue
            line += [f"{r['median_ms']:.2f} ({r['iqr_ms']:.2f})",
                     f"{_fmt(r.get('gflops'), 1)} ({_fmt(r.get('roofline_frac'), 2)})",
                     _fmt(r.get("peak_mem_mb"), 1)]
        for impl in ratio_impls:
            r = per_impl.get(impl)
            ratio = None if r is None else r.get("ratio_vs_torch")
            line.append(_fmt(ratio, 3) if ratio is not None else "-")
        lines.append(line)
    return markdown_table(header, lines)


def linear_in_t(rows: list[dict]) -> list[dict]:
    """For every configuration measured at two or more sequence lengths: time and memory per
    token at the shortest and the longest, and their ratio (1.0 = exactly linear in T)."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        if r.get("median_ms") is None:
            continue
        key = tuple(r.get(k) for k in CONFIG_KEYS if k != "T") + (r["impl"],)
        groups[key].append(r)
    out = []
    for members in groups.values():
        if len({r["T"] for r in members}) < 2:
            continue
        short, long = min(members, key=lambda r: r["T"]), max(members, key=lambda r: r["T"])

        def ratio(field):
            a, b = short.get(field), long.get(field)
            return b / a if a and b is not None and math.isfinite(a) and math.isfinite(b) else None

        out.append({"cell": short["cell"], "impl": short["impl"], "mode": short["mode"],
                    "B": short["B"], "I": short["I"], "H": short["H"],
                    "T_short": short["T"], "T_long": long["T"],
                    "us_per_token_short": short["us_per_token"],
                    "us_per_token_long": long["us_per_token"],
                    "time_ratio": ratio("us_per_token"),
                    "kb_per_token_short": short.get("kb_per_token"),
                    "kb_per_token_long": long.get("kb_per_token"),
                    "memory_ratio": ratio("kb_per_token")})
    return out


def linear_in_t_table(entries: list[dict]) -> str:
    header = ["cell", "impl", "mode", "B", "I", "H", "T short -> long", "µs/token short",
              "µs/token long", "time ratio", "KB/token short", "KB/token long", "memory ratio"]
    lines = [[e["cell"], e["impl"], e["mode"], e["B"], e["I"], e["H"],
              f"{e['T_short']} -> {e['T_long']}", e["us_per_token_short"],
              e["us_per_token_long"], _fmt(e["time_ratio"], 3), e["kb_per_token_short"],
              e["kb_per_token_long"], _fmt(e["memory_ratio"], 3)] for e in entries]
    return markdown_table(header, lines)


def scan_speedups(rows: list[dict]) -> list[dict]:
    """The cells torch.nn lacks: the sequential loop's time over the fast path's (custom)."""
    out = []
    for r in rows:
        if r.get("cell") in SCAN_CELLS and r.get("impl") == "custom" and r.get("ratio_vs_autograd"):
            out.append({"cell": r["cell"], "mode": r["mode"], "device": r["device"], "T": r["T"],
                        "B": r["B"], "I": r["I"], "H": r["H"],
                        "parallel_ms": r["median_ms"],
                        "sequential_ms": r["median_ms"] / r["ratio_vs_autograd"],
                        "speedup": 1 / r["ratio_vs_autograd"]})
    return out


def scan_table(entries: list[dict]) -> str:
    header = ["cell", "mode", "device", "T", "B", "I", "H", "parallel ms", "sequential ms",
              "speedup"]
    lines = [[e["cell"], e["mode"], e["device"], e["T"], e["B"], e["I"], e["H"],
              e["parallel_ms"], e["sequential_ms"], f"{e['speedup']:.1f}x"] for e in entries]
    return markdown_table(header, lines)


def width_peers(rows: list[dict], reference: str = "lstm") -> list[dict]:
    """Every cell's fastest path (custom) at one configuration beside the others': its time per
    call and its ratio to ``reference``'s (rnnzoo's LSTM), for runs that measured several cells
    at the same mode and size. Empty when fewer than two cells share a configuration."""
    groups: dict[tuple, dict[str, dict]] = defaultdict(dict)
    for r in rows:
        if r.get("impl") == "custom" and r.get("median_ms") is not None:
            key = tuple(r.get(k) for k in CONFIG_KEYS if k != "cell")
            groups[key][r["cell"]] = r
    out = []
    for per_cell in groups.values():
        if len(per_cell) < 2:
            continue
        base = per_cell.get(reference)
        for cell, r in per_cell.items():
            out.append({"cell": cell, "mode": r["mode"], "device": r["device"], "T": r["T"],
                        "B": r["B"], "I": r["I"], "H": r["H"], "ms": r["median_ms"],
                        "tokens_per_s": r.get("tokens_per_s"),
                        f"vs_{reference}": r["median_ms"] / base["median_ms"] if base else None})
    return out


def width_peers_table(entries: list[dict], reference: str = "lstm") -> str:
    header = ["cell", "mode", "device", "T", "B", "I", "H", "custom ms", "tokens/s", f"× {reference}"]
    lines = [[e["cell"], e["mode"], e["device"], e["T"], e["B"], e["I"], e["H"], e["ms"],
              _fmt(e["tokens_per_s"], 0), _fmt(e[f"vs_{reference}"], 2)] for e in entries]
    return markdown_table(header, lines)


def markdown_report(rows: list[dict], meta: dict | None = None) -> str:
    meta = meta or {}
    parts = ["# rnnzoo speed benchmark", ""]
    if meta:
        shown = dict(meta)
        if "cpu" in meta and "vector_width" in meta:
            shown["cpu"] = f"{meta['cpu']} ({meta['vector_width']}-bit vectors)"
        facts = ", ".join(f"{k}: {shown[k]}" for k in ("command", "torch", "native", "cpu",
                                                        "threads", "allocator") if k in shown)
        if "fingerprint" in meta:
            facts += f", machine: `{meta['fingerprint']}`"
        parts += [facts, ""]
    parts += ["Median time of one call (forward, or forward + backward for `train`) with its "
              "interquartile range; GFLOP/s counts the GEMMs (rnnzoo.bench.flops), roof is its "
              "fraction of a plain GEMM's rate measured in the same run; peak MB is the call's "
              "peak memory (rnnzoo.bench.measure). Ratios divide medians of the same run.", "",
              speed_table(rows), ""]
    linear = linear_in_t(rows)
    if linear:
        parts += ["## Linear in T", "", linear_in_t_table(linear), ""]
    scans = scan_speedups(rows)
    if scans:
        parts += ["## Fast path vs sequential loop (the cells torch.nn lacks)", "",
                  "custom (parallel scan, or the mLSTM's chunked form) against the same cell "
                  "step by step (autograd), same run.", "", scan_table(scans), ""]
    peers = width_peers(rows)
    if peers and any(p["cell"] in SCAN_CELLS for p in peers):
        parts += ["## Every cell at one width", "",
                  "Each cell's custom path at the same size; × lstm: its time over rnnzoo's "
                  "LSTM's (custom) in the same run.", "", width_peers_table(peers), ""]
    return "\n".join(parts)


# ---- plots ----------------------------------------------------------------------------------
def plot(rows: list[dict], out_dir) -> list[Path]:
    """time_per_token.png (µs per token against T, per cell and impl) and ratio.png (every
    configuration's ratio to torch). Returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    written = []
    speed = [r for r in rows if r.get("median_ms") is not None]
    if not speed:
        return written

    fig, ax = plt.subplots(figsize=(7, 4.5))
    series: dict[tuple, list[tuple[int, float]]] = defaultdict(list)
    for r in speed:
        label = f"{r['cell']} {r['impl']} {r['mode']} B{r['B']} I{r['I']} H{r['H']}"
        series[label].append((r["T"], r["us_per_token"]))
    for label, points in sorted(series.items()):
        points.sort()
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("sequence length T")
    ax.set_ylabel("µs per token (T * B)")
    ax.set_title("Time per token")
    ax.legend(fontsize=6, loc="best")
    fig.tight_layout()
    path = out_dir / "time_per_token.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    written.append(path)

    ratios = [r for r in speed if r.get("ratio_vs_torch") is not None and r["impl"] != "torch"]
    fig, ax = plt.subplots(figsize=(7, max(2.5, 0.3 * len(ratios) + 1)))
    if ratios:
        labels = [f"{r['cell']} {r['impl']} {r['mode']} T{r['T']} B{r['B']} I{r['I']} H{r['H']}"
                  for r in ratios]
        ax.barh(range(len(ratios)), [r["ratio_vs_torch"] for r in ratios])
        ax.set_yticks(range(len(ratios)), labels, fontsize=6)
        ax.axvline(1.0, color="black", linewidth=0.8)
    else:
        ax.text(0.5, 0.5, "no torch.nn reference in this run", ha="center", va="center")
    ax.set_xlabel("time ratio to torch.nn (lower is faster)")
    ax.set_title("rnnzoo / torch.nn")
    fig.tight_layout()
    path = out_dir / "ratio.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    written.append(path)
    return written
