"""The accuracy suite: every core cell on a fixed set of tasks, each with a fixed budget and seed.

An entry names a task setting (its training overrides), the test metric that scores it, which
direction is better, and a threshold on the matching validation metric. For every entry and
cell the suite trains through the real runner (:func:`rnnzoo.experiment.train`) and records

- the final test metric,
- the time (seconds of training) at which the validation metric first reached the threshold,
  read off the run's validation history (``None``: never within the budget),
- the parameter count and the whole training time.

Each result is an ``accuracy`` row that :mod:`rnnzoo.bench.regression` compares with the
committed baseline: a fresh value fails when it closes less than the entry's ``min_share`` of
the gap between the task's trivial value and the recorded one, on the entry's ``scale``
(:mod:`rnnzoo.bench.accuracy_check`). Rows that do not beat the trivial value clearly make no
check; the leaderboard lists them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnzoo.bench.accuracy_check import DEFAULT_MIN_SHARE, SCALES, why_unchecked
from rnnzoo.bench.report import markdown_table
from rnnzoo.config.compose import QUIET, compose_training


@dataclass(frozen=True)
class Entry:
    name: str
    overrides: tuple[str, ...]
    metric: str  # a test metric, e.g. "test/mse"
    better: str  # "lower" or "higher"
    threshold: float  # on the validation metric of the same name ("val/mse")
    # the regression check: a fresh value must close min_share of the gap from the trivial
    # value to the recorded one, measured on this scale (log: for MSE-like metrics)
    scale: str = "linear"
    min_share: float = DEFAULT_MIN_SHARE
    trivial: float | None = None  # chance level, for tasks that report no trivial baseline
    note: str = ""

    def __post_init__(self):
        if self.better not in ("lower", "higher"):
            raise ValueError(f"{self.name}: better must be 'lower' or 'higher', got {self.better!r}")
        if not self.metric.startswith("test/"):
            raise ValueError(f"{self.name}: the suite scores a test metric, got {self.metric!r}")
        if self.scale not in SCALES:
            raise ValueError(f"{self.name}: scale must be one of {SCALES}, got {self.scale!r}")
        if self.scale == "log" and self.better != "lower":
            raise ValueError(f"{self.name}: the log scale is for lower-is-better metrics (MSE)")
        if not 0 < self.min_share <= 1:
            raise ValueError(f"{self.name}: min_share must be in (0, 1], got {self.min_share}")

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
                     scale=spec.get("scale", "linear"),
                     min_share=float(spec.get("min_share", DEFAULT_MIN_SHARE)),
                     trivial=spec.get("trivial"), note=spec.get("note", ""))
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
        "scale": entry.scale, "min_share": entry.min_share,
        "threshold": entry.threshold, "threshold_metric": entry.val_metric,
        "time_to_threshold_s": time_to_threshold(results.get("history", []), entry),
        "train_time_s": results["time_s"], "params": results["params"],
        "epochs": results["epochs"], "steps": results["steps"],
        # the task's own trivial value if it has one, else the entry's chance level
        "baseline_trivial": results["baselines"].get(entry.metric, entry.trivial),
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
            if why_unchecked(row):
                log(f"  not checked by the regression check: {why_unchecked(row)}")
            rows.append(row)
    return rows


def _cell_text(row: dict | None) -> str:
    if row is None:
        return "-"
    reached = row["time_to_threshold_s"]
    text = (f"{row['value']:.4g} ({'%.0f s' % reached if reached is not None else 'not reached'}, "
            f"{row['params']:,} p)")
    return text + (" †" if why_unchecked(row) else "")


def _entry_label(entry: Entry, rows: list[dict]) -> str:
    sign = "≤" if entry.better == "lower" else "≥"
    label = f"{entry.metric} ({entry.val_metric} {sign} {entry.threshold:g})"
    trivial = next((r["baseline_trivial"] for r in rows if r["baseline_trivial"] is not None), None)
    if trivial is not None:
        label += f"; trivial {trivial:.3g}"
    return label + f"; check: {entry.min_share:g} of the gap, {entry.scale}"


def unchecked_markdown(rows: list[dict]) -> str:
    """The rows the regression check does not check, and why (empty: every row is checked)."""
    lines = [f"- `{r['task']}` {r['cell']}: {why_unchecked(r)}" for r in rows if why_unchecked(r)]
    if not lines:
        return ""
    return ("Not checked by the regression check (†; a check there could not fail on a cell "
            "that lost a skill it never showed):\n\n" + "\n".join(lines) + "\n")


def leaderboard_markdown(rows: list[dict], suite: Suite) -> str:
    """One line per task setting, one column per cell: the metric, the time to the
    threshold, and the parameter count; then the rows left unchecked and the settings."""
    by = {(r["task"], r["cell"]): r for r in rows}
    header = ["task", "metric (threshold); trivial; check", *suite.cells]
    lines = []
    for entry in suite.entries:
        entry_rows = [by[(entry.name, c)] for c in suite.cells if (entry.name, c) in by]
        lines.append([entry.name, _entry_label(entry, entry_rows),
                      *(_cell_text(by.get((entry.name, c))) for c in suite.cells)])
    table = markdown_table(header, lines)
    settings = "\n".join(f"- `{e.name}`: {' '.join(e.overrides)}" + (f" — {e.note}" if e.note else "")
                         for e in suite.entries)
    unchecked = unchecked_markdown(rows)
    return (table + "\n\nEach cell: the test metric (training seconds until the validation "
            "metric first reached the threshold, parameters). The regression check fails a "
            "fresh value that closes less than the share shown of the gap between the trivial "
            "value and the recorded one (log: on log(value)).\n\n"
            + (unchecked + "\n" if unchecked else "") + "Settings:\n\n" + settings + "\n")
