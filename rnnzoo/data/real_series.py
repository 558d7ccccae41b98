"""Real time series that ship inside registry packages, read as a user's file would be.

statsmodels bundles yearly sunspot numbers (1700-2008), weekly CO2 at Mauna Loa (1958-2001) and
monthly El Niño sea temperatures (1950-2010); vega_datasets bundles Seattle's hourly
temperatures (2010). They are CSV files inside the installed packages, so nothing is
downloaded at run time. The packages are an optional extra (``pip install -e ".[data]"``); they
are only located, never imported, so their own dependencies are not needed here.
"""
from __future__ import annotations

import csv
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnzoo.data.errors import DataError
from rnnzoo.data.series import Series, read_series, series_from_arrays

__all__ = ["RealSeries", "REAL_SERIES", "real_series_path", "load_real_series"]

INSTALL_HINT = 'pip install -e ".[data]"'


@dataclass(frozen=True)
class RealSeries:
    package: str
    file: str  # inside the package
    target: str
    date: str
    season: int  # the natural season for the seasonal naive baseline and MASE
    about: str


REAL_SERIES = {
    "sunspots": RealSeries("statsmodels", "datasets/sunspots/sunspots.csv", "SUNACTIVITY",
                           "YEAR", 11, "yearly mean sunspot number, 1700-2008 (11-year cycle)"),
    "co2": RealSeries("statsmodels", "datasets/co2/co2.csv", "co2", "date", 52,
                      "weekly CO2 at Mauna Loa in ppm, 1958-2001 (59 weeks missing)"),
    "elnino": RealSeries("statsmodels", "datasets/elnino/elnino.csv", "temperature", "month", 12,
                         "monthly sea surface temperature in the Nino 1+2 region, 1950-2010"),
    "seattle-temps": RealSeries("vega_datasets", "_data/seattle-temps.csv", "temp", "date", 24,
                                "hourly temperature in Seattle in degrees F, 2010"),
}


def real_series_path(name: str) -> Path:
    """The bundled CSV file of series ``name`` (for El Niño: a year x month table)."""
    info = _info(name)
    spec = importlib.util.find_spec(info.package)  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"the series {name!r} ships with the package {info.package}, which is "
                        f"not installed; {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations)), info.file)
    if not path.is_file():
        raise DataError(f"the installed {info.package} has no {info.file}; reinstall it "
                        f"({INSTALL_HINT})")
    return path


def load_real_series(name: str, *, missing: str = "interpolate") -> Series:
    """Series ``name`` (a key of :data:`REAL_SERIES`) as a one-column :class:`Series` with
    dates; ``missing`` as in :func:`~rnnzoo.data.series.read_series` (CO2 has gaps)."""
    info, path = _info(name), real_series_path(name)
    if name == "elnino":
        return _year_by_month(path, info.target, missing)
    return read_series(path, target=info.target, date=info.date, missing=missing)


def _info(name: str) -> RealSeries:
    if name not in REAL_SERIES:
        raise ValueError(f"no real series {name!r}; there are: {', '.join(REAL_SERIES)}")
    return REAL_SERIES[name]


def _year_by_month(path: Path, column: str, missing: str) -> Series:
    """A table with a YEAR column and one column per month, as one monthly series."""
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    header, body = rows[0], [r for r in rows[1:] if r]
    if header[1:13] != ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT",
                        "NOV", "DEC"]:
        raise DataError("is not a year x month table (YEAR, JAN, ..., DEC)", path, 1)
    values = np.array([[float(v) for v in r[1:13]] for r in body]).reshape(-1, 1)  # (12Y, 1)
    years = np.array([int(float(r[0])) for r in body])
    months = (years[:, None] - 1970) * 12 + np.arange(12)  # months since 1970-01
    dates = months.reshape(-1).astype("datetime64[M]").astype("datetime64[s]")
    return series_from_arrays(values, [column], 1, dates, missing=missing, path=str(path))
