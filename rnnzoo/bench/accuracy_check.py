"""How an accuracy row becomes a baseline check, and how a fresh value is judged against it.

(Split from rnnzoo.bench.regression, which calls :func:`check_from_row` and :func:`judge`.)

The rule: the gap share. Every task has a *trivial* value (what a model without the skill
scores: the adding problem's mean-predicting MSE, the copy task's memoryless cross entropy,
chance accuracy), and the baseline records what the cell scored. A fresh value is placed on
the line from trivial (share 0) to recorded (share 1); it fails when it closes less than the
check's ``min_share`` of that gap. The limit is the metric value at exactly ``min_share``.

Why a share and not an absolute tolerance: the metrics span orders of magnitude (an LSTM's
adding MSE of 0.0005 against a trivial 0.167), so any tolerance wide enough for seed noise
also let a cell fall to the trivial baseline unnoticed.

The scale the share is measured on:

- ``log`` for MSE-like metrics that go to zero when solved (adding MSE): falling from 0.0005
  to 0.005 is as large a loss as from 0.005 to 0.05, so the share is taken of log(value);
  share 0.5 is the geometric mean of trivial and recorded.
- ``linear`` for accuracies, cross entropies and bits per character, whose trivial and solved
  values lie within one order of magnitude of each other or near zero where noise dominates.

Rows that make no check (:func:`why_unchecked` says why, and the leaderboard lists them):

- the recorded value does not beat the trivial one by a clear margin (:data:`MIN_GAIN`): the
  limit would lie within seed noise of the trivial value, so the check could not fail on a
  cell that lost the skill it never had (the tanh RNN on copy), only on noise;
- the row has no trivial value (the task reports none and the suite entry declares none):
  without it there is no gap to take a share of. Entries of such tasks declare ``trivial:``
  (chance level) in the suite config.
"""
from __future__ import annotations

import math

#: the fields that identify an accuracy row
KEY = ("task", "cell", "impl")
SCALES = ("linear", "log")
DEFAULT_MIN_SHARE = 0.5
#: how far the recorded value must beat the trivial one for the row to make a check:
#: linear, this share of the way from trivial to the ideal value (0 for lower-is-better
#: metrics, 1 for higher-is-better ones); log, this factor below the trivial value.
MIN_GAIN = {"linear": 0.2, "log": 2.0}


def _to_scale(value: float, scale: str) -> float:
    if scale == "log":
        return math.log(value) if value > 0 else -math.inf
    return value


def _from_scale(position: float, scale: str) -> float:
    return math.exp(position) if scale == "log" else position


def _gain(row: dict) -> float:
    """How far the recorded value beats the trivial one, in MIN_GAIN's units (see there)."""
    trivial, value = float(row["baseline_trivial"]), float(row["value"])
    lower = row.get("better", "higher") == "lower"
    if row.get("scale", "linear") == "log":
        return trivial / value if value > 0 else math.inf
    ideal = 0.0 if lower else 1.0
    return (trivial - value) / (trivial - ideal) if trivial != ideal else 0.0


def why_unchecked(row: dict) -> str | None:
    """Why the row makes no check (None: it makes one)."""
    if row.get("baseline_trivial") is None:
        return "no trivial baseline"
    if row["value"] is None or math.isnan(float(row["value"])):
        return "recorded value is NaN (the run diverged)"
    scale = row.get("scale", "linear")
    if _gain(row) < MIN_GAIN[scale]:
        return (f"{row['value']:.4g} does not beat the trivial {row['baseline_trivial']:.4g} "
                f"clearly ({'a factor' if scale == 'log' else 'a share to the ideal of'} "
                f"{MIN_GAIN[scale]:g} needed)")
    return None


def check_from_row(row: dict) -> dict | None:
    """The baseline check of one accuracy row (None: the row makes no check, see why_unchecked)."""
    if why_unchecked(row) is not None:
        return None
    return {"kind": "accuracy", "key": {k: row[k] for k in KEY if k in row},
            "metric": row["metric"], "value": row["value"],
            "better": row.get("better", "higher"), "trivial": row["baseline_trivial"],
            "scale": row.get("scale", "linear"),
            "min_share": row.get("min_share", DEFAULT_MIN_SHARE)}


def gap_share(check: dict, fresh: float) -> float:
    """Where ``fresh`` lies from the trivial value (0) to the recorded one (1) on the check's
    scale; above 1 is better than recorded. The direction needs no sign: it cancels."""
    scale = check["scale"]
    trivial = _to_scale(float(check["trivial"]), scale)
    recorded = _to_scale(float(check["value"]), scale)
    return (_to_scale(fresh, scale) - trivial) / (recorded - trivial)


def limit_of(check: dict) -> float:
    """The metric value that closes exactly ``min_share`` of the gap."""
    scale = check["scale"]
    trivial = _to_scale(float(check["trivial"]), scale)
    recorded = _to_scale(float(check["value"]), scale)
    return _from_scale(trivial + check["min_share"] * (recorded - trivial), scale)


def judge(check: dict, fresh: float) -> tuple[str, float | None]:
    """("ok" | "improved" | "REGRESSED", the limit) for a fresh value of the check's metric."""
    if "trivial" not in check:
        raise ValueError(f"accuracy check {check['key']} has no trivial value: it was made by an "
                         "older version; refresh it with scripts/check_regression.py update")
    limit = limit_of(check)
    if math.isnan(fresh):
        return "REGRESSED", limit
    share = gap_share(check, fresh)
    if share < check["min_share"]:
        return "REGRESSED", limit
    return ("improved" if share > 1 else "ok"), limit
