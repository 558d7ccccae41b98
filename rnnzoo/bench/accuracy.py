"""The accuracy suite: every core cell on a fixed set of tasks, each with a fixed budget and seed.

An entry names a task setting (its training overrides), the test metric that scores it, which
direction is better, and a threshold on the matching validation metric. For every entry and
cell the suite trains through the real runner (:func:`rnnzoo.experiment.train`) and records

- the final test metric,
- the time (seconds of training) at which the validation metric first reached the threshold,
  read off the run's validation history (``None``: never within the budget),
- the parameter count and the whole training time.

Each result is an ``accuracy`` row that :mod:`rnnzoo.bench.regression` compares with the
committed baseline (fails when the metric falls past the baseline by more than the tolerance).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnzoo.bench.report import markdown_table
from rnnzoo.config.compose import QUIET, compose_training


@dataclass(frozen=True)
class Entry:
    name: str
    overrides: tuple[str, ...]
    metric: str  # a test metric, e.g. "test/mse"
    better: str  # "lower" or "higher"
    threshold: float  # on the validation metric of the same name ("val/mse")
    tolerance: float  # how far past the baseline (absolute) still passes the regression check
    note: str = ""

    def __post_init__(self):
        if self.better not in ("lower", "higher"):
            raise ValueError(f"{self.name}: better must be 'lower' or 'higher', got {self.better!r}")
        if not self.metric.startswith("test/"):
            raise ValueError(f"{self.name}: the suite scores a test metric, got {self.metric!r}")

    @property
    def val_metric(self) -> str:
        return "val/" + self.metric.split("/", 1)[1]

    def reached(self, value: float) -> bool:
        return value <= self.threshold if self.better == "lower" else value >= self.threshold


@dataclass
class Suite:
    entries: list[Entry]
    cells: list[str]
    impl: str = "custom"
    common: list[str] = field(default_factory=list)  # overrides for every run


def suite_from_config(config: dict[str, Any]) -> Suite:
    entries = [Entry(name=name, overrides=tuple(spec.get("overrides", [])), metric=spec["metric"],
                     better=spec["better"], threshold=float(spec["threshold"]),
                     tolerance=float(spec["tolerance"]), note=spec.get("note", ""))
               for name, spec in config["entries"].items()]
    return Suite(entries, list(config["cells"]), config.get("impl", "custom"),
                 list(config.get("common") or []))


def time_to_threshold(history: list[dict], entry: Entry) -> float | None:
    """Seconds of training until the validation metric first reached the threshold."""
    for row in history:
        value = row.get(entry.val_metric)
        if value is not None and entry.reached(value):
            return row["time_s"]
    return None


def run_entry(entry: Entry, cell: str, suite: Suite, run_dir: Path, config_dir: Path) -> dict:
    """Train one (entry, cell) and return its accuracy row."""
    from rnnzoo.experiment import train

    overrides = [f"run_dir={run_dir}", f"cell={cell}", f"cell.impl={suite.impl}",
                 "logger=none", *QUIET, *suite.common, *entry.overrides]
    results = train(compose_training(overrides, config_dir))
    if entry.metric not in results:
        raise KeyError(f"{entry.name}: the run reported no {entry.metric} "
                       f"(it has {sorted(k for k in results if k.startswith('test/'))})")
    return {
        "kind": "accuracy", "task": entry.name, "cell": cell, "impl": suite.impl,
        "metric": entry.metric, "value": results[entry.metric], "better": entry.better,
        "tolerance": entry.tolerance, "relative": False,
        "threshold": entry.threshold, "threshold_metric": entry.val_metric,
        "time_to_threshold_s": time_to_threshold(results.get("history", []), entry),
        "train_time_s": results["time_s"], "params": results["params"],
        "epochs": results["epochs"], "steps": results["steps"],
        "baseline_trivial": results["baselines"].get(entry.metric),
        "overrides": list(entry.overrides),
    }


def run_suite(suite: Suite, out_dir: Path, config_dir: Path, log=print) -> list[dict]:
    rows = []
    for entry in suite.entries:
        for cell in suite.cells:
            log(f"accuracy suite: {entry.name} with {cell} ...")
            row = run_entry(entry, cell, suite, out_dir / "runs" / entry.name / cell, config_dir)
            log(f"  {entry.metric} = {row['value']:.4f}; reached {entry.val_metric} "
                f"{'<=' if entry.better == 'lower' else '>='} {entry.threshold} "
                f"{'after %.1f s' % row['time_to_threshold_s'] if row['time_to_threshold_s'] is not None else 'never'}"
                f" ({row['train_time_s']:.1f} s of training, {row['params']:,} parameters)")
            rows.append(row)
    return rows


def leaderboard_markdown(rows: list[dict], suite: Suite) -> str:
    """One line per task setting, one column per cell: the metric, the time to the
    threshold, and the parameter count; then the settings themselves."""
    by = {(r["task"], r["cell"]): r for r in rows}
    header = ["task", "metric (threshold)", *suite.cells]
    lines = []
    for entry in suite.entries:
        sign = "≤" if entry.better == "lower" else "≥"
        cells = []
        for cell in suite.cells:
            row = by.get((entry.name, cell))
            if row is None:
                cells.append("-")
                continue
            reached = row["time_to_threshold_s"]
            cells.append(f"{row['value']:.4g} ({'%.0f s' % reached if reached is not None else 'not reached'}, "
                         f"{row['params']:,} p)")
        trivial = next((by[(entry.name, c)]["baseline_trivial"] for c in suite.cells
                        if (entry.name, c) in by and by[(entry.name, c)]["baseline_trivial"] is not None), None)
        label = f"{entry.metric} ({entry.val_metric} {sign} {entry.threshold:g})"
        if trivial is not None:
            label += f"; trivial {trivial:.3g}"
        lines.append([entry.name, label, *cells])
    table = markdown_table(header, lines)
    settings = "\n".join(f"- `{e.name}`: {' '.join(e.overrides)}" + (f" — {e.note}" if e.note else "")
                         for e in suite.entries)
    return (table + "\n\nEach cell: the test metric (training seconds until the validation "
            "metric first reached the threshold, parameters).\n\nSettings:\n\n" + settings + "\n")
