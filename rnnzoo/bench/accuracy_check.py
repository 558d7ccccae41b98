"""How an accuracy row becomes a baseline check, and how a fresh value is judged against it.

(Split from rnnzoo.bench.regression, which calls :func:`check_from_row` and :func:`judge`.)
"""
from __future__ import annotations

import math

#: the fields that identify an accuracy row
KEY = ("task", "cell", "impl")


def check_from_row(row: dict) -> dict | None:
    """The baseline check of one accuracy row (None: the row makes no check)."""
    return {"kind": "accuracy", "key": {k: row[k] for k in KEY if k in row},
            "metric": row["metric"], "value": row["value"],
            "better": row.get("better", "higher"),
            "tolerance": row.get("tolerance", 0.0),
            "relative": row.get("relative", False)}


def limit_of(check: dict) -> float:
    value, tol = float(check["value"]), float(check.get("tolerance", 0.0))
    relative = check.get("relative", False)
    if check.get("better", "higher") == "lower":
        return value * (1 + tol) if relative else value + tol
    return value * (1 - tol) if relative else value - tol


def judge(check: dict, fresh: float) -> tuple[str, float | None]:
    """("ok" | "improved" | "REGRESSED", the limit) for a fresh value of the check's metric."""
    limit = limit_of(check)
    lower = check.get("better", "higher") == "lower"
    worse = fresh > limit if lower else fresh < limit
    better = fresh < check["value"] if lower else fresh > check["value"]
    return ("REGRESSED" if worse or math.isnan(fresh) else ("improved" if better else "ok")), limit
