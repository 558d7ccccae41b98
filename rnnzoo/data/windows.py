"""Forecasting windows over a series, split in time order with nothing leaking backwards.

A window is ``seq_len`` input rows followed by ``horizon`` target rows. Its *start* ``s`` is
the first target row: inputs are rows ``[s - seq_len, s)``, targets rows ``[s, s + horizon)``.

The split rule. The rows are cut in time order into train ``[0, b1)``, val ``[b1, b2)`` and
test ``[b2, T)``. A window belongs to the part that holds *all* of its target rows; windows
whose targets straddle a boundary are not used. So no training target lies at or after
``b1``, and the model never trains on a value it is later scored on. Inputs of a val or test
window may reach back into earlier parts: that is history, known when the forecast is made.

Scaling (standardisation per column) is fitted on the train rows ``[0, b1)`` only, so the
val and test rows do not shape it either. Metrics are computed on the original scale.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnzoo.data.errors import DataError
from rnnzoo.data.series import Series
from rnnzoo.data.splits import SPLITS, check_fractions

__all__ = ["Standardizer", "ForecastSplits", "forecast_splits", "window_starts"]


@dataclass
class Standardizer:
    """(x - mean) / std per column, with statistics from the rows it was fitted on."""
    mean: np.ndarray  # (C,)
    std: np.ndarray  # (C,); 1 for a constant column, so it maps to zeros rather than NaN

    @classmethod
    def fit(cls, rows: np.ndarray) -> Standardizer:
        std = rows.std(axis=0)
        return cls(rows.mean(axis=0), np.where(std > 0, std, 1.0))

    def transform(self, x: np.ndarray, columns=slice(None)) -> np.ndarray:
        return (x - self.mean[columns]) / self.std[columns]

    def inverse(self, x: np.ndarray, columns=slice(None)) -> np.ndarray:
        return x * self.std[columns] + self.mean[columns]


@dataclass
class ForecastSplits:
    """A series cut into train/val/test windows; see the module docstring for the rule."""
    series: Series
    seq_len: int
    horizon: int
    bounds: tuple[int, int]  # (b1, b2): val starts at row b1, test at row b2
    scaler: Standardizer  # fitted on rows [0, b1)
    starts: dict[str, np.ndarray]  # part -> the start (first target row) of each window

    @property
    def train_targets(self) -> np.ndarray:
        """The target columns of the train rows, unscaled: MASE's in-sample scale uses them."""
        return self.series.targets[:self.bounds[0]]  # (b1, k)

    def windows(self, part: str) -> tuple[np.ndarray, np.ndarray]:
        """Scaled ``x`` (N, seq_len, C) and ``y`` (N, horizon, k), float32, for one part."""
        scaled = self.scaler.transform(self.series.values).astype(np.float32)  # (T, C)
        starts = self.starts[part]
        x = _gather(scaled, starts - self.seq_len, self.seq_len)
        y = _gather(scaled[:, :self.series.n_targets], starts, self.horizon)
        return x, y

    def truth(self, part: str) -> np.ndarray:
        """The targets of one part on the original scale: (N, horizon, k)."""
        return _gather(self.series.targets, self.starts[part], self.horizon)

    def unscale(self, y: np.ndarray) -> np.ndarray:
        """A model's scaled target predictions (..., k) back to the original scale."""
        return self.scaler.inverse(y, slice(0, self.series.n_targets))


def window_starts(first: int, end: int, seq_len: int, horizon: int) -> np.ndarray:
    """Starts ``s`` of every window whose targets lie in rows ``[first, end)`` and whose
    inputs begin at row 0 or later."""
    return np.arange(max(first, seq_len), end - horizon + 1)


def forecast_splits(series: Series, seq_len: int, horizon: int = 1,
                    fractions=(0.7, 0.15, 0.15)) -> ForecastSplits:
    """Cut ``series`` by ``fractions`` of its rows and list each part's windows."""
    if seq_len < 1 or horizon < 1:
        raise ValueError(f"seq_len and horizon must be at least 1, got {seq_len}, {horizon}")
    n, window = len(series), seq_len + horizon
    if n < window:
        raise DataError(f"the series has {n} rows, fewer than one window (seq_len {seq_len} + "
                        f"horizon {horizon} = {window})", series.path)
    f = check_fractions(fractions)
    b1, b2 = (int(round(c * n)) for c in np.cumsum(f)[:2])
    edges = {"train": (0, b1), "val": (b1, b2), "test": (b2, n)}
    starts = {part: window_starts(*edges[part], seq_len, horizon) for part in SPLITS}
    for part, share in zip(SPLITS, f):
        if share > 0 and len(starts[part]) == 0:
            raise DataError(_too_short(part, share, edges[part], seq_len, horizon), series.path)
    scaler = Standardizer.fit(series.values[:b1])
    return ForecastSplits(series, seq_len, horizon, (b1, b2), scaler, starts)


def _too_short(part: str, share: float, edge: tuple[int, int], seq_len: int,
               horizon: int) -> str:
    rows = edge[1] - edge[0]
    need = (f"one window (seq_len {seq_len} + horizon {horizon} = {seq_len + horizon})"
            if part == "train" else f"the horizon ({horizon})")
    return (f"the {part} part ({share:.0%} of the rows: {rows}) is shorter than {need}; use a "
            "longer series or a shorter window")


def _gather(rows: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """rows[s : s + length] for each s: (N, length, C)."""
    index = starts[:, None] + np.arange(length)  # (N, length)
    return rows[index]
