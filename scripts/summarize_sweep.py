"""Collect a Hydra multirun folder into a table (Markdown + CSV) and a plot.

    python scripts/summarize_sweep.py multirun/2026-11-22_10-00-00
    python scripts/summarize_sweep.py multirun/<stamp> --metric test/mse --x task.seq_len

Each run's swept values come from its ``.hydra/overrides.yaml`` and its figures from its
``results.json``; runs that crashed (no results) are listed as failed. The plot shows the metric
against ``--x`` (default: task.seq_len when it varies, else the first swept key that does),
one series per combination of the other swept values (cell, optimizer, ...), told apart by
colour and marker shape, with each task's trivial baseline dashed: lines over a numeric key,
grouped bars over a categorical one. An x key with one value gives the table alone (and says
so); a metric no run reports is an error (exit 2).
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402

from rnnzoo.utils.io import atomic_path, save_figure, write_text  # noqa: E402


def collect(folder: Path) -> tuple[list[dict], list[str]]:
    """One row per run: swept values, metrics, parameters and time (or status=failed)."""
    rows, swept = [], []
    for overrides_file in sorted(folder.glob("*/.hydra/overrides.yaml"), key=lambda p: _run_number(p.parent.parent)):
        run = overrides_file.parent.parent
        row = {"run": run.name}
        for item in OmegaConf.load(overrides_file):
            key, _, value = str(item).partition("=")
            key = key.lstrip("+~")
            row[key] = value
            if key not in swept:
                swept.append(key)
        results = run / "results.json"
        if results.exists():
            data = json.loads(results.read_text())
            row.update({k: v for k, v in data.items() if "/" in k and isinstance(v, (int, float))})
            row.update(status="ok", params=data.get("params"), time_s=data.get("time_s"))
            for key, value in (data.get("baselines") or {}).items():
                row[f"baseline {key}"] = value
        else:
            row["status"] = "failed"
        rows.append(row)
    return rows, swept


def _run_number(run: Path) -> tuple:
    """Hydra's numbered job folders in numeric order, any others after them by name."""
    return (0, int(run.name), "") if run.name.isdigit() else (1, 0, run.name)


def markdown(rows: list[dict], columns: list[str]) -> str:
    def cell(value):
        if isinstance(value, float):
            return f"{value:.4g}"
        return "" if value is None else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def default_metric(rows: list[dict]) -> str | None:
    """What to plot for these runs: the test metric with a trivial baseline, else the first
    test metric other than the loss."""
    names = sorted({k for r in rows for k in r if k.startswith("test/")})
    with_baseline = [m for m in names if any(f"baseline {m}" in r for r in rows)]
    not_loss = [m for m in names if m != "test/loss"]
    return (with_baseline or not_loss or names or [None])[0]


#: runs told apart by colour and by marker shape (a colour-blind reader, a grey printout)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def numeric(values) -> bool:
    try:
        [float(v) for v in values]
    except (TypeError, ValueError):
        return False
    return True


def plot(rows: list[dict], swept: list[str], x_key: str, metric: str | None, path: Path) -> list[str]:
    """The metric against ``x_key``, one series per combination of the other keys that vary,
    one panel per task when the sweep spans tasks (each with its own metric and baseline):
    lines over a numeric key, grouped bars over a categorical one (cell, optimizer). Returns
    the panels' titles."""
    ok = [r for r in rows if r.get("status") == "ok" and x_key in r]
    varying = [k for k in swept if k != x_key and len({r.get(k) for r in ok}) > 1]
    tasks = sorted({str(r.get("task")) for r in ok}) if "task" in varying else [None]
    labels = [k for k in varying if k != "task"]
    fig, axes = plt.subplots(1, len(tasks), figsize=(1 + 5.5 * len(tasks), 4.5), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        panel = [r for r in ok if task is None or str(r.get("task")) == task]
        name = metric or default_metric(panel)
        series: dict[str, dict[str, float]] = {}
        baselines: dict[str, float] = {}
        for row in panel:
            if name not in row:
                continue
            label = ", ".join(f"{k.split('.')[-1]}={row[k]}" for k in labels) or name
            series.setdefault(label, {})[str(row[x_key])] = row[name]
            if f"baseline {name}" in row:
                baselines[str(row[x_key])] = row[f"baseline {name}"]
        draw = _lines if numeric(r[x_key] for r in panel) else _bars
        draw(ax, series, baselines)
        ax.set_xlabel(x_key)
        ax.set_ylabel(name or "")
        ax.set_title(f"task={task}: {name}" if task else f"{name} against {x_key}")
        ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    return [ax.get_title() for ax in axes[0]]


def _lines(ax, series: dict[str, dict[str, float]], baselines: dict[str, float]) -> None:
    for i, (label, points) in enumerate(sorted(series.items())):
        xs = sorted(points, key=float)
        ax.plot([float(x) for x in xs], [points[x] for x in xs], marker=MARKERS[i % len(MARKERS)],
                color=f"C{i % 10}", ms=7, alpha=0.85, label=label)
    if baselines:
        xs = sorted(baselines, key=float)
        ax.plot([float(x) for x in xs], [baselines[x] for x in xs], color="k", ls="--", lw=1.2,
                marker="_", ms=14, label="trivial baseline")


def _bars(ax, series: dict[str, dict[str, float]], baselines: dict[str, float]) -> None:
    """Grouped bars: one group per x value, one bar per series; a baseline is a dashed
    segment across its group."""
    xs = sorted({x for points in series.values() for x in points})
    width = 0.8 / max(len(series), 1)
    for i, (label, points) in enumerate(sorted(series.items())):
        positions = [j - 0.4 + width * (i + 0.5) for j, x in enumerate(xs) if x in points]
        ax.bar(positions, [points[x] for x in xs if x in points], width * 0.9, color=f"C{i % 10}",
               hatch=("", "//", "..", "xx", "\\\\", "++")[i % 6], edgecolor="white", label=label)
    label = "trivial baseline"  # one legend entry for all the segments
    for j, x in enumerate(xs):
        if x in baselines:
            ax.hlines(baselines[x], j - 0.45, j + 0.45, colors="k", linestyles="--", lw=1.2, label=label)
            label = None
    ax.set_xticks(range(len(xs)), xs)


def choose_x(rows: list[dict], swept: list[str], asked: str | None) -> tuple[str | None, str]:
    """The key to plot against, or None and why not: the one asked for when it takes several
    values, else task.seq_len, else the first swept key that takes several."""
    counts = {k: len({r.get(k) for r in rows if r.get("status") == "ok"}) for k in swept}
    varying = f"(keys that vary: {', '.join(k for k in swept if counts[k] > 1) or 'none'})"
    if asked is not None:
        if asked not in swept:
            return None, f"{asked} is not set by this sweep's overrides {varying}"
        if counts[asked] < 2:
            return None, f"{asked} takes one value in this sweep {varying}"
        return asked, ""
    several = [k for k in swept if counts[k] > 1 and k != "task"]
    if not several:
        return None, "no swept key takes more than one value"
    return ("task.seq_len" if "task.seq_len" in several else several[0]), ""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="a Hydra multirun folder")
    parser.add_argument("--metric", help="metric to plot (default: per task, the test metric with "
                        "a trivial baseline, else the first test metric other than the loss)")
    parser.add_argument("--x", help="swept key for the x axis (default: task.seq_len when it "
                        "varies, else the first swept key that does); categorical keys get bars")
    parser.add_argument("--out", type=Path, help="output folder (default: the multirun folder)")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        print(f"error: '{args.folder}' is not a folder", file=sys.stderr)
        return 2
    rows, swept = collect(args.folder)
    if not rows:
        print(f"error: no Hydra runs (*/.hydra/overrides.yaml) under '{args.folder}'", file=sys.stderr)
        return 2
    metrics = sorted({k for r in rows for k in r if k.startswith(("test/", "val/"))})
    if args.metric and args.metric not in metrics:
        print(f"error: --metric {args.metric}: no run of this sweep reports it; "
              f"its metrics: {', '.join(metrics) or 'none'}", file=sys.stderr)
        return 2
    columns = ["run", *swept, "status", *metrics, "params", "time_s"]
    out = args.out or args.folder
    table = markdown(rows, columns)
    write_text(out / "summary.md", table)
    with atomic_path(out / "summary.csv") as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    print(table)
    x_key, why = choose_x(rows, swept, args.x)
    if metrics and x_key:
        plot(rows, swept, x_key, args.metric, out / "summary.png")
        what = args.metric or "the main test metric of each task"
        print(f"plot: {out / 'summary.png'} ({what} against {x_key})")
    elif metrics:
        print(f"no plot: {why}; the table is the summary")
    print(f"table: {out / 'summary.md'}, {out / 'summary.csv'}")
    failed = [r["run"] for r in rows if r["status"] == "failed"]
    if failed:
        print(f"failed runs (no results.json): {', '.join(failed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
