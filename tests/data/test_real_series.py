"""Real series bundled in statsmodels / vega_datasets: located without importing, read as files."""
import importlib.util

import numpy as np
import pytest

from rnnzoo.data.errors import DataError
from rnnzoo.data.real_series import REAL_SERIES, load_real_series

MONTHS = "JAN,FEB,MAR,APR,MAY,JUN,JUL,AUG,SEP,OCT,NOV,DEC"


@pytest.fixture
def fake_statsmodels(tmp_path, monkeypatch):
    """A stand-in package that holds the files where statsmodels keeps them."""
    root = tmp_path / "statsmodels"
    (root / "datasets" / "elnino").mkdir(parents=True)
    (root / "datasets" / "sunspots").mkdir()
    (root / "__init__.py").write_text("raise ImportError('never imported')\n")
    (root / "datasets" / "elnino" / "elnino.csv").write_text(
        f'"YEAR",{MONTHS}\n1950,' + ",".join(str(m) for m in range(12)) + "\n"
        "1951," + ",".join(str(100 + m) for m in range(12)) + "\n")
    (root / "datasets" / "sunspots" / "sunspots.csv").write_text(
        '"YEAR","SUNACTIVITY"\n1700,5\n1701,11\n1702,16\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    return root


def test_bundled_files_are_read_without_importing_the_package(fake_statsmodels):
    sunspots = load_real_series("sunspots")
    assert sunspots.values[:, 0].tolist() == [5, 11, 16]
    assert str(sunspots.dates[0]) == "1700-01-01T00:00:00"
    elnino = load_real_series("elnino")  # a year x month table becomes one monthly series
    assert elnino.values[:, 0].tolist() == list(range(12)) + list(range(100, 112))
    assert str(elnino.dates[13]) == "1951-02-01T00:00:00" and elnino.columns == ["temperature"]


def test_a_missing_package_names_the_extra(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DataError) as caught:
        load_real_series("co2")
    assert str(caught.value) == ("the series 'co2' ships with the package statsmodels, which is "
                                 'not installed; pip install -e ".[data]"')
    with pytest.raises(ValueError, match="no real series 'nile'; there are: sunspots, co2"):
        load_real_series("nile")


@pytest.mark.skipif(importlib.util.find_spec("statsmodels") is None, reason="needs statsmodels")
def test_the_real_statsmodels_files():
    sunspots = load_real_series("sunspots")
    assert len(sunspots) == 309 and sunspots.values[0, 0] == 5.0
    co2 = load_real_series("co2")
    assert co2.missing == {"co2": 59} and not np.isnan(co2.values).any()
    assert REAL_SERIES["co2"].season == 52
