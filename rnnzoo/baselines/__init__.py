"""Baselines a model has to beat, and the metrics they are scored with.

- :mod:`~rnnzoo.baselines.linear`: tf-idf n-grams + logistic regression for text classes;
- :mod:`~rnnzoo.baselines.forecast`: naive and seasonal naive forecasts;
- :mod:`~rnnzoo.baselines.metrics`: MAE, RMSE, MASE, and mean ± std over folds.
"""
from rnnzoo.baselines.forecast import forecast_baselines, naive_forecast, seasonal_naive_forecast
from rnnzoo.baselines.linear import (C_GRID, FEATURES, linear_baseline, linear_baseline_folds,
                                     linear_baseline_name, make_vectorizer)
from rnnzoo.baselines.metrics import (MeanStd, format_summary, forecast_metrics, mae, mase,
                                      mase_scale, rmse, summarize_folds)

__all__ = [
    "linear_baseline", "linear_baseline_folds", "linear_baseline_name", "make_vectorizer",
    "FEATURES", "C_GRID", "naive_forecast", "seasonal_naive_forecast", "forecast_baselines",
    "mae", "rmse", "mase", "mase_scale", "forecast_metrics", "MeanStd", "summarize_folds",
    "format_summary",
]
