"""The naive forecasts every forecasting model has to beat (Hyndman & Athanasopoulos,
"Forecasting: Principles and Practice", section 5.2).

For a window whose first target row is ``s`` (see :mod:`rnnzoo.data.windows`), step ``h``
(0-based) of the forecast is

- naive: ``y[s - 1]``, the last value seen, for every step;
- seasonal naive (season m): ``y[s + h - m * (h // m + 1)]``, the value one season before
  the target step, from the last season seen.

Both read the whole history before ``s``, not only the window's inputs, so a season longer
than ``seq_len`` still works: that history is known when the forecast is made.
"""
from __future__ import annotations

import numpy as np

from rnnzoo.baselines.metrics import forecast_metrics

__all__ = ["naive_forecast", "seasonal_naive_forecast", "forecast_baselines"]


def naive_forecast(targets: np.ndarray, starts: np.ndarray, horizon: int) -> np.ndarray:
    """(N, horizon, k): the row before each start, repeated."""
    targets = np.asarray(targets).reshape(len(targets), -1)
    if len(starts) and min(starts) < 1:
        raise ValueError("the naive forecast needs one row before each start")
    return np.repeat(targets[np.asarray(starts) - 1][:, None], horizon, axis=1)


def seasonal_naive_forecast(targets: np.ndarray, starts: np.ndarray, horizon: int,
                            season: int) -> np.ndarray:
    """(N, horizon, k): for each step, the value one season earlier in the last season seen."""
    targets = np.asarray(targets).reshape(len(targets), -1)
    if season < 1:
        raise ValueError(f"season must be at least 1, got {season}")
    if len(starts) and min(starts) < season:
        raise ValueError(f"the seasonal naive forecast needs a full season ({season} rows) "
                         f"before each window; the first starts at row {min(starts)}")
    h = np.arange(horizon)
    index = np.asarray(starts)[:, None] + h - season * (h // season + 1)  # (N, horizon)
    return targets[index]


def forecast_baselines(splits, part: str = "test", season: int = 1) -> dict[str, dict]:
    """Both baselines on one part of a :class:`~rnnzoo.data.windows.ForecastSplits`:
    ``{"naive": {"mae", "rmse", "mase"}, "seasonal_naive": {...}}``, on the original scale,
    MASE scaled by the seasonal naive's in-sample error on the train part (season m; with
    m = 1 the seasonal naive is the naive forecast)."""
    targets, starts = splits.series.targets, splits.starts[part]
    truth = splits.truth(part)
    forecasts = {"naive": naive_forecast(targets, starts, splits.horizon),
                 "seasonal_naive": seasonal_naive_forecast(targets, starts, splits.horizon,
                                                           season)}
    return {name: forecast_metrics(truth, pred, splits.train_targets, season)
            for name, pred in forecasts.items()}
