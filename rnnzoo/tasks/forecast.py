"""Forecasting a real time series: ``task.seq_len`` rows in, the next ``task.horizon`` values out.

Many-to-one regression: the network reads a window of the target column(s) and features (each
scaled by statistics of the train rows only) and outputs ``horizon x k`` values at once (the
direct multi-step strategy). The data is a user's CSV/TSV file (``data.path``, ``data.target``,
``data.features``, ``data.date``, ``data.missing``), a series bundled in a registry package
(``task.series=sunspots``; rnnzoo.data.real_series), or, with neither, a built-in noisy
seasonal series. The split is chronological (rnnzoo.data.windows).

The model is scored on the test windows on the original scale (MAE, RMSE, MASE) beside the
naive (last value) and seasonal naive (``task.season``) forecasts of the same windows
(rnnzoo.baselines); the training loss and ``val/mse`` are on the scaled values.

``task.residual=true`` trains the network on the change since the window's last value rather
than on the level (the naive forecast plus a learned correction). A series with a trend, such
as CO2, leaves the range of its training rows in the test part, where a network that outputs
levels has never been; changes stay in range.
"""
from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import torch
from lightning.pytorch.loggers import TensorBoardLogger

from rnnzoo.baselines import forecast_baselines, forecast_metrics, naive_forecast
from rnnzoo.data.errors import DataError
from rnnzoo.data.real_series import REAL_SERIES, load_real_series
from rnnzoo.data.series import Series, read_series, series_from_arrays
from rnnzoo.data.windows import ForecastSplits, forecast_splits
from rnnzoo.tasks.base import EXAMPLES, Count, TaskData, TensorDictDataset
from rnnzoo.tasks.info import TaskInfo
from rnnzoo.tasks.plots import plt  # the Agg backend: no screen needed
from rnnzoo.utils.rules import Rule

BUILTIN_SEASON = 12
BASELINES = ("naive", "seasonal_naive")


def builtin_series(n: int = 1200, seed: int = 0) -> np.ndarray:
    """(n,) a noisy seasonal signal: a slow trend, a season of 12 steps, a 50-step cycle."""
    t = np.arange(n)
    noise = np.random.default_rng(seed).normal(0.0, 0.5, n)
    return (10 + 0.005 * t + 3 * np.sin(2 * np.pi * t / BUILTIN_SEASON)
            + 1.5 * np.sin(2 * np.pi * t / 50) + noise)


def forecast_figure(truth: np.ndarray, pred: np.ndarray, *, dates=None, title: str = "",
                    baseline: np.ndarray | None = None):
    """The truth and the model's forecast (and optionally a baseline's) over time."""
    fig, ax = plt.subplots(figsize=(7, 2.6))
    x = np.arange(len(truth)) if dates is None else dates
    ax.plot(x, truth, lw=1.2, label="truth")
    if baseline is not None:
        ax.plot(x, baseline, lw=1, ls=":", alpha=0.8, label="naive")
    ax.plot(x, pred, lw=1.2, ls="--", label="forecast")
    ax.legend(loc="upper left", fontsize=7)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


class ForecastTask(TaskData):
    name, shape, target = "forecast", "many_to_one", "values"

    def __init__(self, *, seq_len: Count = 24, horizon: Count = 1,
                 season: Annotated[int | None, Rule(ge=1)] = None,
                 series: Annotated[str | None, Rule(check=lambda s: s in REAL_SERIES,
                                                    why="must be one of: " + ", ".join(REAL_SERIES))] = None,
                 residual: bool = False,
                 val_fraction: Annotated[float, Rule(gt=0.0, lt=0.5)] = 0.15,
                 test_fraction: Annotated[float, Rule(gt=0.0, lt=0.5)] = 0.15,
                 source: dict[str, Any] | None = None, batch_size: Count = 32, **kw):
        super().__init__(batch_size=batch_size, **kw)
        self.seq_len, self.horizon, self.season_option = seq_len, horizon, season
        self.series_name, self.residual = series, residual
        self.fractions = (1.0 - val_fraction - test_fraction, val_fraction, test_fraction)
        self.source = dict(source or {})
        self.forecast: ForecastSplits | None = None

    # -- the series ----------------------------------------------------------------------------
    def _series(self) -> tuple[Series, int]:
        """The series and its natural season (seasonal naive and MASE use it)."""
        path, missing = self.source.get("path"), self.source.get("missing")
        if path and self.series_name:
            raise DataError(f"give data.path or task.series, not both (task.series={self.series_name})")
        if self.series_name:  # CO2 has known gaps: interpolated unless data.missing says otherwise
            return (load_real_series(self.series_name, missing=missing or "interpolate"),
                    REAL_SERIES[self.series_name].season)
        if path:
            target = self.source.get("target")
            if not target:
                raise DataError("name the column to forecast: data.target=COLUMN", path)
            return read_series(path, target=target, features=list(self.source.get("features") or ()),
                               date=self.source.get("date"), format=self.source.get("format", "auto"),
                               encoding=self.source.get("encoding") or "utf-8",
                               missing=missing or "error"), 1
        values = builtin_series(seed=self.seed)[:, None]
        return series_from_arrays(values, ["value"], missing=missing or "error"), BUILTIN_SEASON

    @property
    def season(self) -> int:
        self.setup()
        return self._season

    def build(self):
        series, natural = self._series()
        self._season = self.season_option or natural
        self.forecast = splits = forecast_splits(series, self.seq_len, self.horizon, self.fractions)
        parts = {}
        for part in ("train", "val", "test"):
            x, y = splits.windows(part)  # (N, seq_len, C), (N, horizon, k)
            k = series.n_targets
            if self.residual:  # the change since the last input row: a trend needs no new levels
                y = y - x[:, -1:, :k]
            parts[part] = TensorDictDataset(x=torch.from_numpy(x),
                                            y=torch.from_numpy(y.reshape(len(y), -1)))
        info = TaskInfo(
            name=self.name, shape=self.shape, target=self.target,
            input_size=series.values.shape[1], output_size=self.horizon * k, tokens=False,
            metrics=("mse",), monitor="val/mse", mode="min",
            baselines=self._baseline_scores(splits),
            artifacts={"columns": series.columns, "n_targets": k, "seq_len": self.seq_len,
                       "horizon": self.horizon, "mean": splits.scaler.mean.tolist(),
                       "std": splits.scaler.std.tolist(), "date": self.source.get("date"),
                       "season": self._season, "residual": self.residual})
        self._report_data(series, splits)
        return parts, info

    def _baseline_scores(self, splits: ForecastSplits) -> dict[str, float]:
        """``{"test/mae naive": ..., ...}``: each baseline's metrics on the test windows."""
        self._check_season(splits)
        scores = forecast_baselines(splits, "test", self._season)
        return {f"test/{metric} {name}": value
                for name in BASELINES for metric, value in scores[name].items()}

    def _check_season(self, splits: ForecastSplits) -> None:
        """Seasonal naive and MASE need one season before the first test window and within
        the train rows."""
        first = int(splits.starts["test"].min())
        if self._season > min(first, splits.bounds[0] - 1):
            raise DataError(f"task.season={self._season} is longer than the history the seasonal "
                            f"naive forecast has ({min(first, splits.bounds[0] - 1)} train rows); "
                            "use a shorter season", splits.series.path)

    def _report_data(self, series: Series, splits: ForecastSplits) -> None:
        if self.world()[0] != 0:
            return
        sizes = ", ".join(f"{p} {len(splits.starts[p])}" for p in ("train", "val", "test"))
        print(f"rnnzoo: forecast {'/'.join(series.columns[:series.n_targets])}: {len(series)} rows, "
              f"windows {sizes} (seq_len {self.seq_len}, horizon {self.horizon}, "
              f"season {self._season})", flush=True)
        line = series.missing_line()
        if line:
            print(f"rnnzoo: {line}", flush=True)

    # -- scoring on the original scale -----------------------------------------------------------
    @torch.no_grad()
    def predict(self, system, part: str) -> np.ndarray:
        """The model's forecasts of one part on the original scale: (N, horizon, k)."""
        x = self.splits[part].tensors["x"]
        was_training = system.network.training
        system.network.eval()
        out = torch.cat([system.network(x[i:i + 1024].to(system.device)).float().cpu()
                         for i in range(0, len(x), 1024)])
        system.network.train(was_training)
        k = self.forecast.series.n_targets
        out = out.numpy().astype(np.float64).reshape(len(x), self.horizon, k)
        if self.residual:
            out = out + x[:, -1:, :k].numpy()
        return self.forecast.unscale(out)

    def test_scores(self, system) -> dict[str, float]:
        """The model's MAE, RMSE and MASE on the test windows, on the original scale; called by
        the system after testing. Also draws the test forecast for TensorBoard."""
        splits = self.forecast
        pred = self.predict(system, "test")
        scores = forecast_metrics(splits.truth("test"), pred, splits.train_targets, self.season)
        self._show_test(system, pred)
        return {f"test/{metric}": value for metric, value in scores.items()}

    def _show_test(self, system, pred: np.ndarray) -> None:
        trainer = getattr(system, "_trainer", None)
        if trainer is None or not trainer.is_global_zero:
            return
        writers = [log.experiment for log in trainer.loggers if isinstance(log, TensorBoardLogger)]
        if not writers:
            return
        writer = writers[0]
        # the baselines' numbers reach TensorBoard as the run's trivial baselines (experiment)
        writer.add_figure(f"{EXAMPLES}/forecast/test", self.figure(pred, "test"), trainer.global_step, close=True)

    def figure(self, pred: np.ndarray, part: str):
        """The first step of each window's forecast against the truth, over one part."""
        splits = self.forecast
        starts = splits.starts[part]
        dates = None if splits.series.dates is None else splits.series.dates[starts]
        naive = naive_forecast(splits.series.targets, starts, self.horizon)[:, 0, 0]
        return forecast_figure(splits.truth(part)[:, 0, 0], pred[:, 0, 0], dates=dates, baseline=naive,
                               title=f"{self.name}: {part} part, one step ahead"
                                     + (f" (of {self.horizon})" if self.horizon > 1 else ""))

    def examples(self, system):
        return {"figures": {"forecast/val": self.figure(self.predict(system, "val"), "val")}}
