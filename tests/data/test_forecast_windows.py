"""Forecast windows split in time order, scaling from the train part, naive baselines, MASE."""
import numpy as np
import pytest

from rnnzoo.baselines.forecast import (forecast_baselines, naive_forecast,
                                       seasonal_naive_forecast)
from rnnzoo.baselines.metrics import forecast_metrics, mae, mase, mase_scale, rmse
from rnnzoo.data.errors import DataError
from rnnzoo.data.series import series_from_arrays
from rnnzoo.data.windows import forecast_splits


def ramp(n, columns=1):
    values = np.arange(n, dtype=float)[:, None] * np.arange(1, columns + 1)  # (n, C)
    return series_from_arrays(values, [f"c{j}" for j in range(columns)])


def test_windows_never_train_on_a_later_target():
    splits = forecast_splits(ramp(100, 2), seq_len=8, horizon=3, fractions=(0.6, 0.2, 0.2))
    assert splits.bounds == (60, 80)
    starts = splits.starts
    assert (starts["train"][0], starts["train"][-1]) == (8, 57)  # targets 57..59 < 60
    assert (starts["val"][0], starts["val"][-1]) == (60, 77)  # inputs may reach back into train
    assert (starts["test"][0], starts["test"][-1]) == (80, 97)
    x, y = splits.windows("val")
    assert x.shape == (18, 8, 2) and y.shape == (18, 3, 1) and x.dtype == np.float32
    raw_x = splits.scaler.inverse(x)
    np.testing.assert_allclose(raw_x[0, :, 0], np.arange(52, 60), atol=1e-4)
    np.testing.assert_allclose(splits.unscale(y)[0, :, 0], [60, 61, 62], atol=1e-4)
    np.testing.assert_array_equal(splits.truth("test")[-1, :, 0], [97, 98, 99])


def test_scaler_is_fitted_on_the_train_rows_only():
    splits = forecast_splits(ramp(100), seq_len=4, fractions=(0.5, 0.25, 0.25))
    np.testing.assert_allclose(splits.scaler.mean, [24.5])  # rows 0..49, not 0..99
    np.testing.assert_allclose(splits.scaler.std, [np.arange(50).std()])
    x, _ = splits.windows("train")
    assert abs(float(np.concatenate([x[0, :, 0], x[-1, -3:, 0]]).mean())) < 1  # roughly centred
    flat = forecast_splits(series_from_arrays(np.ones((30, 1)), ["c"]), seq_len=2)
    assert np.isfinite(flat.windows("train")[0]).all()  # a constant column does not divide by 0


def test_a_series_shorter_than_one_window_is_one_line():
    series = series_from_arrays(np.arange(40.0)[:, None], ["y"], path="s.csv")
    with pytest.raises(DataError) as caught:
        forecast_splits(series, seq_len=32, horizon=16)
    assert str(caught.value) == ("data file 's.csv': the series has 40 rows, fewer than one "
                                 "window (seq_len 32 + horizon 16 = 48)")
    with pytest.raises(DataError, match=r"^data file 's.csv': the train part \(70% of the rows: "
                                        r"28\) is shorter than one window \(seq_len 30 \+ "
                                        r"horizon 1 = 31\); use a longer series"):
        forecast_splits(series, seq_len=30)
    with pytest.raises(DataError, match=r"the test part \(5% of the rows: 2\) is shorter than "
                                        r"the horizon \(3\)"):
        forecast_splits(series, seq_len=4, horizon=3, fractions=(0.8, 0.15, 0.05))


def test_naive_and_seasonal_naive_forecasts():
    y = np.array([0, 10, 20, 1, 11, 21, 2, 12, 22, 3], dtype=float)  # season 3
    starts = np.array([6, 7])
    np.testing.assert_array_equal(naive_forecast(y, starts, 2)[:, :, 0], [[21, 21], [2, 2]])
    # step h looks one season back from its own target row, within the last season seen
    np.testing.assert_array_equal(seasonal_naive_forecast(y, starts, 4, 3)[:, :, 0],
                                  [[1, 11, 21, 1], [11, 21, 2, 11]])
    with pytest.raises(ValueError, match="needs a full season"):
        seasonal_naive_forecast(y, np.array([2]), 1, 3)


def test_metrics_by_hand():
    truth, pred = np.array([1.0, 2, 3, 4]), np.array([2.0, 2, 1, 4])
    assert mae(truth, pred) == 0.75 and rmse(truth, pred) == pytest.approx(np.sqrt(5 / 4))
    train = np.array([0.0, 2, 1, 3, 2])  # one-step changes 2, 1, 2, 1: scale 1.5
    assert mase_scale(train, 1).tolist() == [1.5]
    assert mase(truth, pred, train) == pytest.approx(0.5)
    assert mase(truth, pred, train, season=2) == pytest.approx(0.75)  # lag-2 changes: 1, 1, 1
    assert forecast_metrics(truth, pred, train)["mase"] == pytest.approx(0.5)
    two = np.stack([train, 2 * train], axis=1)  # MASE has no units: scaling a column keeps it
    assert mase(np.stack([truth, 2 * truth], 1), np.stack([pred, 2 * pred], 1), two) == \
        pytest.approx(0.5)
    with pytest.raises(ValueError, match="MASE is undefined"):
        mase_scale(np.ones(5))


def test_baselines_on_a_seasonal_series():
    t = np.arange(120)
    values = (10 * np.sin(2 * np.pi * t / 12) + 0.1 * t)[:, None]
    splits = forecast_splits(series_from_arrays(values, ["y"]), seq_len=24, horizon=1)
    scores = forecast_baselines(splits, "test", season=12)
    seasonal, naive = scores["seasonal_naive"], scores["naive"]
    assert seasonal["mae"] == pytest.approx(1.2)  # one season of trend, 12 * 0.1
    assert seasonal["mase"] == pytest.approx(1.0)  # the same as on the train part
    assert naive["mae"] > 2 * seasonal["mae"] and set(naive) == {"mae", "rmse", "mase"}
