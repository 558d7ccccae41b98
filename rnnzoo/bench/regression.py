"""Compare a fresh result file with a committed baseline: the regression check for CI.

A baseline is a list of *checks*. Each names the result row it applies to (``key``: fields the
row must have with these values), the metric to read, the baseline value, which direction is
better, and a tolerance::

    {"format": "rnnzoo-baseline/1",
     "checks": [
       {"kind": "speed", "key": {"cell": "lstm", "impl": "custom", "mode": "train", "T": 100, ...},
        "metric": "ratio_vs_torch", "value": 1.12, "better": "lower",
        "tolerance": 0.25, "relative": true},
       {"kind": "accuracy", "key": {"task": "copy", "cell": "lstm"},
        "metric": "val/acc", "value": 0.97, "better": "higher",
        "tolerance": 0.02, "relative": false}]}

A check fails when the fresh value is worse than the limit: for ``better: lower``,
value * (1 + tolerance) (relative) or value + tolerance (absolute); for ``better: higher``,
value * (1 - tolerance) or value - tolerance. Speed checks compare the custom/torch time
*ratio* measured within one run, never absolute times, so a baseline made on one machine
holds on another. A check with no matching fresh row is MISSING, which fails unless allowed.

A fresh row gives the metric either as a field of that name (speed rows: ``ratio_vs_torch``)
or as ``{"metric": name, "value": v}`` (accuracy rows: task, cell, metric, value, tolerance).
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
#: the fields that identify a speed row (the configuration and the implementation)
SPEED_KEY = ROW_ID
#: the fields that identify an accuracy row
ACCURACY_KEY = accuracy_check.KEY


@dataclass
class Outcome:
    check: dict
    status: str  # "ok", "REGRESSED", "MISSING", "improved"
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
    """Every baseline check against the fresh ``rows``; ``tolerance`` overrides the checks'
    own (for relative checks only, i.e. the speed ratios)."""
    outcomes = []
    for check in baseline.get("checks", []):
        if tolerance is not None and check.get("relative", True):
            check = {**check, "tolerance": tolerance}
        found = [metric_of(r, check["metric"]) for r in rows if matches(r, check)]
        if not found:
            outcomes.append(Outcome(check, "MISSING", None, limit_of(check)))
            continue
        fresh = float(found[-1])
        if check.get("kind") == "accuracy":
            status, limit = accuracy_check.judge(check, fresh)
            outcomes.append(Outcome(check, status, fresh, limit))
            continue
        limit = limit_of(check)
        lower = check.get("better", "lower") == "lower"
        worse = fresh > limit if lower else fresh < limit
        better = fresh < check["value"] if lower else fresh > check["value"]
        status = "REGRESSED" if worse or math.isnan(fresh) else ("improved" if better else "ok")
        outcomes.append(Outcome(check, status, fresh, limit))
    return outcomes


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
    regressed = sum(o.status == "REGRESSED" for o in outcomes)
    missing = sum(o.status == "MISSING" for o in outcomes)
    out.append(f"{len(outcomes)} checks: {regressed} regressed, {missing} missing")
    return "\n".join(out)


def checks_from_rows(rows: list[dict], tolerance: float = DEFAULT_TOLERANCE) -> list[dict]:
    """Baseline checks for a result file's rows: every non-torch speed row's ratio to torch,
    and every accuracy row (``better``/``tolerance`` from the row, else higher/absolute 0)."""
    checks = []
    for row in rows:
        if row.get("kind", "speed") == "speed":
            if row.get("impl") == "torch" or row.get("ratio_vs_torch") is None:
                continue
            checks.append({"kind": "speed", "key": {k: row.get(k) for k in SPEED_KEY},
                           "metric": "ratio_vs_torch", "value": row["ratio_vs_torch"],
                           "better": "lower", "tolerance": tolerance, "relative": True})
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
