"""The accuracy suite: every core cell on a fixed set of tasks, each with a fixed budget and seed.

An entry names a task setting (its training overrides), the test metric that scores it, which
direction is better, and a threshold on the matching validation metric. For every entry and
cell the suite trains through the real runner (:func:`rnnzoo.experiment.train`) and records

- the final test metric,
- the time (seconds of training) at which the validation metric first reached the threshold,
  read off the run's validation history (``None``: never within the budget),
- the steps taken by then, the parameter count, the whole training time and the training
  throughput (input time steps per second of training batches).

Two options make a fair comparison of unlike cells (``suite=modern``): ``lrs``, a grid of
learning rates, each (entry, cell) keeping the rate whose run reached the best validation
metric (the test metric never chooses); and ``params``, a parameter budget, each cell's width
set so its parameter count comes nearest to it (:func:`matched_width`).

Each result is an ``accuracy`` row that :mod:`rnnzoo.bench.regression` compares with the
committed baseline: a fresh value fails when it closes less than the entry's ``min_share`` of
the gap between the task's trivial value and the recorded one, on the entry's ``scale``
(:mod:`rnnzoo.bench.accuracy_check`). Rows that do not beat the trivial value clearly make no
check; the leaderboard lists them.
"""
from __future__ import annotations

import json
import math
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
    lrs: list[float] = field(default_factory=list)  # a learning-rate grid (empty: the config's)
    params: int | None = None  # a parameter budget: each cell's width matched to it
    reuse: bool = False  # read a run's results.json when its folder has one (finish a suite)


#: the widths :func:`matched_width` chooses from (multiples of 8, for the cells with heads)
WIDTHS = tuple(range(8, 1025, 8))


def suite_from_config(config: dict[str, Any]) -> Suite:
    entries = [Entry(name=name, overrides=tuple(spec.get("overrides", [])), metric=spec["metric"],
                     better=spec["better"], threshold=float(spec["threshold"]),
                     scale=spec.get("scale", "linear"),
                     min_share=float(spec.get("min_share", DEFAULT_MIN_SHARE)),
                     trivial=spec.get("trivial"), note=spec.get("note", ""))
               for name, spec in config["entries"].items()]
    common = list(config.get("common") or [])
    if config.get("threads"):  # torch threads for every run
        common.append(f"threads={config['threads']}")
    return Suite(entries, list(config["cells"]), config.get("impl", "custom"), common,
                 [float(lr) for lr in config.get("lrs") or []], config.get("params"),
                 bool(config.get("reuse")))


def time_to_threshold(history: list[dict], entry: Entry) -> tuple[float | None, int | None]:
    """Seconds of training, and optimiser steps, until the validation metric first reached
    the threshold ((None, None): never within the budget)."""
    for row in history:
        value = row.get(entry.val_metric)
        if value is not None and entry.reached(value):
            return row["time_s"], row["step"]
    return None, None


def best_validation(history: list[dict], entry: Entry) -> float | None:
    """The best value of the entry's validation metric over the run: what picks a learning rate."""
    values = [row[entry.val_metric] for row in history if row.get(entry.val_metric) is not None]
    if not values:
        return None
    return min(values) if entry.better == "lower" else max(values)


def _overrides(entry: Entry, cell: str, suite: Suite, lr: float | None, width: int | None) -> list[str]:
    extra = ([f"optimizer.lr={lr}"] if lr is not None else []) + (
        [f"cell.hidden_size={width}"] if width is not None else [])
    return [f"cell={cell}", f"cell.impl={suite.impl}", "logger=none", *QUIET, *suite.common,
            *entry.overrides, *extra]


def parameter_counts(entry: Entry, cell: str, suite: Suite, config_dir: Path):
    """width -> the parameter count of this (entry, cell)'s network at that width (built,
    never trained; the config is composed and the task's data built once)."""
    from rnnzoo.experiment import instantiate_data, network_from_config, prepare

    config, _ = prepare(compose_training(
        ["run_dir=/nonexistent/unused", *_overrides(entry, cell, suite, None, None)], config_dir))
    info = instantiate_data(config).info

    def count(width: int) -> int:
        sized = {**config, "cell": {**config["cell"], "hidden_size": width}}
        return sum(p.numel() for p in network_from_config(info, sized).parameters())
    return count


def matched_width(entry: Entry, cell: str, suite: Suite, config_dir: Path) -> tuple[int, int]:
    """The width (of :data:`WIDTHS`) whose network for this entry has the parameter count
    nearest ``suite.params``, and that count (the widest when even it falls short). Parameters
    grow with the width, so a bisection finds it."""
    count = parameter_counts(entry, cell, suite, config_dir)
    low, high = 0, len(WIDTHS) - 1
    while low < high:  # the first width whose count reaches the budget
        middle = (low + high) // 2
        low, high = (middle + 1, high) if count(WIDTHS[middle]) < suite.params else (low, middle)
    near = {WIDTHS[i]: count(WIDTHS[i]) for i in {max(low - 1, 0), low}}
    width = min(near, key=lambda w: abs(near[w] - suite.params))
    return width, near[width]


def run_entry(entry: Entry, cell: str, suite: Suite, run_dir: Path, config_dir: Path,
              lr: float | None = None, width: int | None = None) -> dict:
    """Train one (entry, cell) (at learning rate ``lr`` and width ``width`` when given) and
    return its accuracy row. A run that diverges (a NaN or Inf loss or gradient: the run's
    guard stops it) is a row with value NaN and ``diverged`` saying where; with ``suite.reuse``
    a run whose folder already holds results.json is read, not trained again."""
    from rnnzoo.errors import NumericalFault
    from rnnzoo.experiment import train

    finished = Path(run_dir) / "results.json"
    if suite.reuse and finished.exists():
        results = json.loads(finished.read_text())
    else:
        overrides = [f"run_dir={run_dir}", *_overrides(entry, cell, suite, lr, width)]
        try:
            results = train(compose_training(overrides, config_dir))
        except NumericalFault as fault:
            return {**_row_keys(entry, cell, suite, lr, width), "value": math.nan, "val_best": None,
                    "diverged": str(fault).split(";")[0], "time_to_threshold_s": None,
                    "steps_to_threshold": None, "params": None, "baseline_trivial": entry.trivial}
    if entry.metric not in results:
        raise KeyError(f"{entry.name}: the run reported no {entry.metric} "
                       f"(it has {sorted(k for k in results if k.startswith('test/'))})")
    history = results.get("history", [])
    seconds, steps = time_to_threshold(history, entry)
    return {
        **_row_keys(entry, cell, suite, lr, width),
        "value": results[entry.metric],
        "time_to_threshold_s": seconds, "steps_to_threshold": steps,
        "val_best": best_validation(history, entry),
        "train_time_s": results["time_s"], "params": results["params"],
        "epochs": results["epochs"], "steps": results["steps"],
        "train_tokens_per_s": results.get("train_tokens_per_s"),
        # the task's own trivial value if it has one, else the entry's chance level
        "baseline_trivial": results["baselines"].get(entry.metric, entry.trivial),
    }


def _row_keys(entry: Entry, cell: str, suite: Suite, lr: float | None, width: int | None) -> dict:
    return {"kind": "accuracy", "task": entry.name, "cell": cell, "impl": suite.impl,
            "metric": entry.metric, "better": entry.better, "scale": entry.scale,
            "min_share": entry.min_share, "threshold": entry.threshold,
            "threshold_metric": entry.val_metric, "lr": lr, "hidden_size": width,
            "overrides": list(entry.overrides)}


def pick_by_validation(tries: list[dict], entry: Entry) -> dict:
    """Of one (entry, cell)'s runs at the grid's learning rates, the one with the best
    validation metric (a run with none ranks last), with every rate's result beside it."""
    sign = 1 if entry.better == "lower" else -1
    ranked = sorted(tries, key=lambda r: (r["val_best"] is None, sign * (r["val_best"] or 0)))
    best = dict(ranked[0])
    best["lr_grid"] = [{"lr": r["lr"], "val_best": r["val_best"], "value": r["value"],
                        "diverged": r.get("diverged")} for r in tries]
    return best


def run_suite(suite: Suite, out_dir: Path, config_dir: Path, log=print) -> list[dict]:
    rows = []
    for entry in suite.entries:
        for cell in suite.cells:
            width = None
            if suite.params:
                width, count = matched_width(entry, cell, suite, config_dir)
                log(f"accuracy suite: {entry.name} with {cell}: width {width} ({count:,} "
                    f"parameters, budget {suite.params:,})")
            tries = []
            for lr in suite.lrs or [None]:
                log(f"accuracy suite: {entry.name} with {cell}" + (f" at lr {lr:g}" if lr else "") + " ...")
                run_dir = out_dir / "runs" / entry.name / cell / (f"lr{lr:g}" if lr else "")
                tries.append(run_entry(entry, cell, suite, run_dir, config_dir, lr, width))
                _log_row(tries[-1], entry, log)
            row = pick_by_validation(tries, entry) if suite.lrs else tries[0]
            if suite.lrs:
                log(f"  kept lr {row['lr']:g} (best {entry.val_metric} {row['val_best']})"
                    if not row.get("diverged") else "  diverged at every learning rate")
            if why_unchecked(row):
                log(f"  not checked by the regression check: {why_unchecked(row)}")
            rows.append(row)
    return rows


def _log_row(row: dict, entry: Entry, log) -> None:
    if row.get("diverged"):
        log(f"  diverged: {row['diverged']}")
        return
    reached = row["time_to_threshold_s"]
    log(f"  {entry.metric} = {row['value']:.4f}; reached {entry.val_metric} "
        f"{'<=' if entry.better == 'lower' else '>='} {entry.threshold} "
        f"{'after %.1f s (%d steps)' % (reached, row['steps_to_threshold']) if reached is not None else 'never'}"
        f" ({row['train_time_s']:.1f} s of training, {row['params']:,} parameters)")


def _cell_text(row: dict | None) -> str:
    if row is None:
        return "-"
    if row.get("diverged"):
        return "diverged" + (f" (lr {row['lr']:g})" if row.get("lr") is not None else "")
    reached = row["time_to_threshold_s"]
    when = "not reached" if reached is None else f"{row['steps_to_threshold']} st, {reached:.0f} s"
    extras = [f"{row['params']:,} p"]
    if row.get("lr") is not None:
        extras.append(f"lr {row['lr']:g}")
    if row.get("train_tokens_per_s"):
        extras.append(f"{row['train_tokens_per_s'] / 1000:.0f}k tok/s")
    return f"{row['value']:.4g} ({when}; {', '.join(extras)})" + (" †" if why_unchecked(row) else "")


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
    return (table + "\n\nEach cell: the test metric (optimiser steps and training seconds until "
            "the validation metric first reached the threshold; parameters; the learning rate "
            "kept, when a grid was swept; training throughput in input time steps per second). "
            "The regression check fails a "
            "fresh value that closes less than the share shown of the gap between the trivial "
            "value and the recorded one (log: on log(value)).\n\n"
            + (unchecked + "\n" if unchecked else "") + "Settings:\n\n" + settings + "\n")
