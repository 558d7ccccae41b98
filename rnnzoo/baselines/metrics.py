"""Metrics the baselines and the models share: forecast errors (MAE, RMSE, MASE) and the
mean ± standard deviation of per-fold results.

MASE (Hyndman & Koehler 2006) divides the forecast's mean absolute error by the in-sample
mean absolute error of the seasonal naive forecast on the training part,
``mean_t |y_t - y_{t-m}|`` over the training rows (m = 1: the naive forecast). Below 1 the
forecast beats what repeating the last season did on the training data; it has no units, so
it compares across series.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["mae", "rmse", "mase", "mase_scale", "forecast_metrics", "MeanStd",
           "summarize_folds", "format_summary"]


def mae(y_true, y_pred) -> float:
    return float(np.mean(np.abs(np.asarray(y_true) - np.asarray(y_pred))))


def rmse(y_true, y_pred) -> float:
    return float(np.sqrt(np.mean((np.asarray(y_true) - np.asarray(y_pred)) ** 2)))


def mase_scale(train, season: int = 1) -> np.ndarray:
    """Per target column, the in-sample MAE of the seasonal naive forecast on ``train``
    (T, k) or (T,): ``mean |y_t - y_{t-season}|``."""
    train = np.asarray(train, dtype=np.float64)
    train = train.reshape(len(train), -1)
    if season < 1 or len(train) <= season:
        raise ValueError(f"MASE needs more training rows ({len(train)}) than the season "
                         f"({season}), which must be at least 1")
    scale = np.mean(np.abs(train[season:] - train[:-season]), axis=0)  # (k,)
    if not (scale > 0).all():
        raise ValueError(f"the training part repeats itself every {season} steps exactly; "
                         "MASE is undefined (its scale is 0)")
    return scale


def mase(y_true, y_pred, train, season: int = 1) -> float:
    """MASE of forecasts ``y_pred`` (..., k): each target column's MAE over its own scale,
    then averaged over the columns."""
    scale = mase_scale(train, season)
    errors = np.abs(np.asarray(y_true) - np.asarray(y_pred)).reshape(-1, len(scale))
    return float(np.mean(errors.mean(axis=0) / scale))


def forecast_metrics(y_true, y_pred, train, season: int = 1) -> dict[str, float]:
    """``{"mae", "rmse", "mase"}`` on the scale of ``y_true``."""
    return {"mae": mae(y_true, y_pred), "rmse": rmse(y_true, y_pred),
            "mase": mase(y_true, y_pred, train, season)}


@dataclass(frozen=True)
class MeanStd:
    """A metric over folds: mean, sample standard deviation (n - 1; 0 for one fold), count."""
    mean: float
    std: float
    n: int

    def __str__(self) -> str:
        return f"{self.mean:.3f} ± {self.std:.3f}"

    def to_dict(self) -> dict:
        return {"mean": self.mean, "std": self.std, "n": self.n}


def summarize_folds(per_fold: Sequence[Mapping[str, float]]) -> dict[str, MeanStd]:
    """Each metric's mean ± std over the folds that report it, in the order first seen."""
    names = list(dict.fromkeys(name for fold in per_fold for name in fold))
    summary = {}
    for name in names:
        values = np.array([float(fold[name]) for fold in per_fold if name in fold])
        std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        summary[name] = MeanStd(float(values.mean()), std, len(values))
    return summary


def format_summary(summary: Mapping[str, MeanStd], names: Sequence[str] | None = None) -> str:
    """``test/acc 0.777 ± 0.012, test/f1 0.776 ± 0.013 (10 folds)``"""
    names = list(summary) if names is None else [n for n in names if n in summary]
    if not names:
        return "no metrics"
    folds = max(summary[n].n for n in names)
    text = ", ".join(f"{n} {summary[n]}" for n in names)
    return f"{text} ({folds} fold{'s' if folds != 1 else ''})"
