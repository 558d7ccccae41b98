"""Compare fresh benchmark results with baselines: the regression check for CI.

Two kinds of baseline, because speed and accuracy travel differently between machines:

- **Accuracy** checks (``benchmarks/baseline.json``) hold for any machine: the suite's runs are
  seeded, and a check judges the share of the gap between the task's trivial value and the
  recorded result that a fresh result closes (:mod:`rnnzoo.bench.accuracy_check` has the
  format and the rule), not the last digits.
- **Speed** checks are only ever compared with measurements *from the same machine*: a
  custom/torch ratio measured side by side is stable on one machine but not across CPU models
  (see :mod:`rnnzoo.bench.machine`). Each machine fingerprint has its own file,
  ``benchmarks/machines/<fingerprint>.json``. A machine without one records it from its first
  results and says so, without failing; the next run on that machine is judged against it.

A speed check per measured row, for every shape the baseline has:

- ``ratio_vs_torch`` of every custom row (relative tolerance :data:`DEFAULT_TOLERANCE`): catches
  a slowdown of rnnzoo's own path, whatever the machine's load does to both;
- ``min_ms`` of every row, torch's included: catches a slowdown that hits rnnzoo and torch
  alike (a lost thread, a debug build), which the ratio cannot see. Absolute times carry the
  machine's noise, and on a shared 2-core VM one row's median doubled between two runs of the
  same code while the rest held, so these are judged together, not row by row: the run fails
  when the geometric mean of fresh/baseline over all its time checks exceeds
  1 + :data:`TIME_TOLERANCE` = 1.75 (a uniform 2x slowdown gives 2; one row at 2x among
  twelve, 1.06; five runs of unchanged code on that VM gave 0.99 to 1.48, so `make bench`
  measures the speed a second time before it reports a regression).
  The fastest run of a row (``min_ms``), which noise can only lengthen, is what is compared.
  Each row's own time is printed beside it, as information.

A speed check is::

    {"kind": "speed", "key": {"cell": "lstm", "impl": "custom", "mode": "train", "T": 100, ...},
     "metric": "ratio_vs_torch", "value": 1.12, "better": "lower", "tolerance": 0.25,
     "relative": true}

and fails (REGRESSED) when the fresh value is worse than value * (1 + tolerance) (relative) or
value + tolerance (absolute). A check with no fresh row is MISSING (a failure) when the results
measured its shape but not it (a cell or mode dropped), and "not run" when they did not measure
its shape at all (the quick preset against a baseline that also has the headline shapes).
"""
from __future__ import annotations

import datetime as _dt
import json
import math
from dataclasses import dataclass
from pathlib import Path

from rnnzoo.bench import accuracy_check
from rnnzoo.bench.report import ROW_ID
from rnnzoo.utils.io import write_json

FORMAT = "rnnzoo-baseline/1"
DEFAULT_TOLERANCE = 0.25
#: relative tolerance of the geometric mean of the absolute times (min_ms) over all rows
TIME_TOLERANCE = 0.75
#: where the per-machine speed baselines live
MACHINES_DIR = "benchmarks/machines"
#: the fields that identify a speed row (the configuration and the implementation)
SPEED_KEY = ROW_ID
#: the fields that identify an accuracy row
ACCURACY_KEY = accuracy_check.KEY


@dataclass
class Outcome:
    check: dict
    status: str  # "ok", "REGRESSED", "MISSING", "improved", "not run", "info"
    fresh: float | None
    limit: float | None

    @property
    def failed(self) -> bool:
        return self.status in ("REGRESSED", "MISSING")


def metric_of(row: dict, metric: str):
    if metric in row:
        return row[metric]
    if row.get("metric") == metric:
        return row.get("value")
    return None


def matches(row: dict, check: dict) -> bool:
    return (all(row.get(k) == v for k, v in check["key"].items())
            and metric_of(row, check["metric"]) is not None)


def limit_of(check: dict) -> float:
    value, tol = float(check["value"]), float(check.get("tolerance", DEFAULT_TOLERANCE))
    relative = check.get("relative", True)
    if check.get("better", "lower") == "lower":
        return value * (1 + tol) if relative else value + tol
    return value * (1 - tol) if relative else value - tol


def compare(rows: list[dict], baseline: dict, tolerance: float | None = None) -> list[Outcome]:
    """Every baseline check against the fresh ``rows``; ``tolerance`` overrides the speed
    ratios' own."""
    outcomes = []
    for check in baseline.get("checks", []):
        if tolerance is not None and check.get("metric") == "ratio_vs_torch":
            check = {**check, "tolerance": tolerance}
        found = [metric_of(r, check["metric"]) for r in rows if matches(r, check)]
        if not found:
            status = "MISSING" if _shape_measured(rows, check) else "not run"
            limit = (accuracy_check.limit_of(check) if check.get("kind") == "accuracy"
                     else limit_of(check))
            outcomes.append(Outcome(check, status, None, limit))
            continue
        fresh = float(found[-1])
        if check.get("kind") == "accuracy":
            status, limit = accuracy_check.judge(check, fresh)
            outcomes.append(Outcome(check, status, fresh, limit))
            continue
        if check.get("pooled"):  # judged together below
            outcomes.append(Outcome(check, "info", fresh, None))
            continue
        limit = limit_of(check)
        lower = check.get("better", "lower") == "lower"
        worse = fresh > limit if lower else fresh < limit
        better = fresh < check["value"] if lower else fresh > check["value"]
        status = "REGRESSED" if worse or math.isnan(fresh) else ("improved" if better else "ok")
        outcomes.append(Outcome(check, status, fresh, limit))
    pooled = pooled_outcome(outcomes)
    return outcomes + ([pooled] if pooled else [])


SHAPE = ("device", "dtype", "T", "B", "I", "H", "layers", "bidirectional")


def pooled_outcome(outcomes: list[Outcome]) -> Outcome | None:
    """The geometric mean of fresh/baseline over the measured pooled (time) checks, as one
    check that fails above 1 + its tolerance."""
    pooled = [o for o in outcomes if o.check.get("pooled") and o.fresh is not None]
    if not pooled:
        return None
    tolerance = max(float(o.check.get("tolerance", TIME_TOLERANCE)) for o in pooled)
    ratio = math.exp(sum(math.log(o.fresh / float(o.check["value"])) for o in pooled) / len(pooled))
    check = {"kind": "speed", "key": {"rows": len(pooled)}, "metric": "time_geomean",
             "value": 1.0, "better": "lower", "tolerance": tolerance, "relative": True}
    status = "REGRESSED" if ratio > 1 + tolerance or math.isnan(ratio) else "ok"
    return Outcome(check, status, ratio, 1 + tolerance)


def _shape_measured(rows: list[dict], check: dict) -> bool:
    """Whether the results measured the shape of a speed check (accuracy checks: always)."""
    if check.get("kind") != "speed":
        return True
    shape = {k: check["key"].get(k) for k in SHAPE}
    return any(r.get("kind", "speed") == "speed" and all(r.get(k) == v for k, v in shape.items())
               for r in rows)


def _key_text(key: dict) -> str:
    short = {"bidirectional": "bi"}
    return " ".join(f"{short.get(k, k)}={v}" for k, v in key.items()
                    if not (k == "bidirectional" and v is False) and v is not None)


def format_outcomes(outcomes: list[Outcome]) -> str:
    """A plain-text table: status, kind, what, metric, baseline, limit, fresh, change."""
    header = ("status", "kind", "what", "metric", "baseline", "limit", "fresh", "change")
    lines = []
    for o in outcomes:
        c = o.check
        change = "-"
        if o.fresh is not None and c["value"]:
            change = f"{(o.fresh / c['value'] - 1) * 100:+.1f}%"
        lines.append((o.status, c.get("kind", "-"), _key_text(c["key"]), c["metric"],
                      f"{c['value']:.4g}", f"{o.limit:.4g}" if o.limit is not None else "-",
                      f"{o.fresh:.4g}" if o.fresh is not None else "-", change))
    widths = [max(len(str(x)) for x in column) for column in zip(header, *lines)]
    render = lambda cells: "  ".join(str(x).ljust(w) for x, w in zip(cells, widths)).rstrip()
    out = [render(header), render(["-" * w for w in widths])] + [render(line) for line in lines]
    count = lambda status: sum(o.status == status for o in outcomes)
    out.append(f"{len(outcomes)} checks: {count('REGRESSED')} regressed, {count('MISSING')} missing, "
               f"{count('not run')} not run (shapes this run did not measure)")
    return "\n".join(out)


def speed_checks(row: dict, tolerance: float = DEFAULT_TOLERANCE,
                 time_tolerance: float = TIME_TOLERANCE) -> list[dict]:
    """A speed row's checks: its time, and its ratio to torch where it has one."""
    key = {k: row.get(k) for k in SPEED_KEY}
    checks = []
    if row.get("min_ms") is not None:
        checks.append({"kind": "speed", "key": key, "metric": "min_ms", "pooled": True,
                       "value": row["min_ms"], "better": "lower",
                       "tolerance": time_tolerance, "relative": True})
    if row.get("impl") != "torch" and row.get("ratio_vs_torch") is not None:
        checks.append({"kind": "speed", "key": key, "metric": "ratio_vs_torch",
                       "value": row["ratio_vs_torch"], "better": "lower",
                       "tolerance": tolerance, "relative": True})
    return checks


def checks_from_rows(rows: list[dict], tolerance: float = DEFAULT_TOLERANCE) -> list[dict]:
    """Baseline checks for a result file's rows: every speed row's time and (not torch's)
    ratio to torch, and the checks of the accuracy rows (:mod:`rnnzoo.bench.accuracy_check`)."""
    checks = []
    for row in rows:
        if row.get("kind", "speed") == "speed":
            checks.extend(speed_checks(row, tolerance))
        elif row.get("kind") == "accuracy":
            check = accuracy_check.check_from_row(row)
            if check is not None:
                checks.append(check)
    return checks


def _identity(check: dict) -> str:
    return json.dumps([check.get("kind"), check["key"], check["metric"]], sort_keys=True)


def update_baseline(baseline: dict | None, rows: list[dict], tolerance: float = DEFAULT_TOLERANCE,
                    source: str | None = None, prune: bool = False) -> dict:
    """The baseline with the checks of ``rows`` added or refreshed; others are kept (so that
    refreshing the speed rows keeps the accuracy checks, and the other way round), unless
    ``prune``: then the checks of a kind the rows have (speed, accuracy) but that none of them
    matches are dropped (a renamed suite entry, a shape no longer measured)."""
    baseline = dict(baseline or {})
    fresh = checks_from_rows(rows, tolerance)
    kept = {_identity(c): c for c in baseline.get("checks", [])}
    if prune:
        kinds, wanted = {c.get("kind") for c in fresh}, {_identity(c) for c in fresh}
        kept = {k: c for k, c in kept.items() if c.get("kind") not in kinds or k in wanted}
    for check in fresh:
        kept[_identity(check)] = check
    baseline.update({"format": FORMAT, "checks": list(kept.values()),
                     "updated": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")})
    if source:
        baseline["source"] = source
    return baseline


def read_baseline(path) -> dict:
    path = Path(path)
    if not path.exists():
        return {"format": FORMAT, "checks": []}
    data = json.loads(path.read_text())
    if data.get("format") != FORMAT:
        raise ValueError(f"{path} is not an rnnzoo baseline (format {data.get('format')!r})")
    return data


def write_baseline(path, baseline: dict) -> Path:
    return write_json(path, baseline)


# ---- per-machine speed baselines ---------------------------------------------------------------
def machine_baseline_path(fingerprint: str, machines_dir=MACHINES_DIR) -> Path:
    return Path(machines_dir) / f"{fingerprint}.json"


def unrecorded_shapes(rows: list[dict], baseline: dict) -> list[dict]:
    """The speed rows whose shape the baseline has no check for (a new machine, a new preset)."""
    known = {json.dumps({k: c["key"].get(k) for k in SHAPE}, sort_keys=True)
             for c in baseline.get("checks", []) if c.get("kind") == "speed"}
    return [r for r in rows if r.get("kind", "speed") == "speed"
            and json.dumps({k: r.get(k) for k in SHAPE}, sort_keys=True) not in known]


def record_machine_baseline(path, rows: list[dict], machine: dict, source: str | None = None) -> dict:
    """Add the checks of ``rows`` (speed rows of shapes it lacks) to the machine's baseline file."""
    baseline = update_baseline(read_baseline(path), rows, source=source)
    baseline["machine"] = machine
    write_baseline(path, baseline)
    return baseline
