"""Collect a Hydra multirun folder into a table (Markdown + CSV) and a plot.

    python scripts/summarize_sweep.py multirun/2026-11-22_10-00-00
    python scripts/summarize_sweep.py multirun/<stamp> --metric test/mse --x task.seq_len

Each run's swept values come from its ``.hydra/overrides.yaml`` and its figures from its
``results.json``; runs that crashed (no results) are listed as failed. The plot shows the metric
against ``--x`` (default: task.seq_len when swept), one line per combination of the other
swept values (cell, optimizer, ...), with each task's trivial baseline dashed.
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


def plot(rows: list[dict], swept: list[str], x_key: str, metric: str | None, path: Path) -> list[str]:
    """The metric against ``x_key``, one line per combination of the other keys that vary, one
    panel per task when the sweep spans tasks (each with its own metric and baseline); returns
    the panels' titles."""
    ok = [r for r in rows if r.get("status") == "ok" and x_key in r]
    varying = [k for k in swept if k != x_key and len({r.get(k) for r in ok}) > 1]
    tasks = sorted({str(r.get("task")) for r in ok}) if "task" in varying else [None]
    labels = [k for k in varying if k != "task"]
    fig, axes = plt.subplots(1, len(tasks), figsize=(1 + 5.5 * len(tasks), 4.5), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        panel = [r for r in ok if task is None or str(r.get("task")) == task]
        name = metric or default_metric(panel)
        groups: dict[str, list[tuple[float, float]]] = {}
        baselines: dict[float, float] = {}
        for row in panel:
            if name not in row:
                continue
            x = float(row[x_key])
            label = ", ".join(f"{k.split('.')[-1]}={row[k]}" for k in labels) or name
            groups.setdefault(label, []).append((x, row[name]))
            if f"baseline {name}" in row:
                baselines[x] = row[f"baseline {name}"]
        for label, points in sorted(groups.items()):
            points.sort()
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
        if baselines:
            xs = sorted(baselines)
            ax.plot(xs, [baselines[x] for x in xs], "k--", lw=1, label="trivial baseline")
        ax.set_xlabel(x_key)
        ax.set_ylabel(name or "")
        ax.set_title(f"task={task}: {name}" if task else f"{name} against {x_key}")
        ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    return [ax.get_title() for ax in axes[0]]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="a Hydra multirun folder")
    parser.add_argument("--metric", help="metric to plot (default: per task, the test metric with "
                        "a trivial baseline, else the first test metric other than the loss)")
    parser.add_argument("--x", default="task.seq_len", help="swept key for the x axis")
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
    columns = ["run", *swept, "status", *metrics, "params", "time_s"]
    out = args.out or args.folder
    table = markdown(rows, columns)
    write_text(out / "summary.md", table)
    with atomic_path(out / "summary.csv") as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    print(table)
    if metrics and args.x in swept:
        plot(rows, swept, args.x, args.metric, out / "summary.png")
        what = args.metric or "the main test metric of each task"
        print(f"plot: {out / 'summary.png'} ({what} against {args.x})")
    print(f"table: {out / 'summary.md'}, {out / 'summary.csv'}")
    failed = [r["run"] for r in rows if r["status"] == "failed"]
    if failed:
        print(f"failed runs (no results.json): {', '.join(failed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
