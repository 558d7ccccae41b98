"""A user's time series: numeric columns of a CSV/TSV file, with an optional date column.

The file has a header row. ``target`` names the column(s) to forecast, ``features`` other
numeric columns given as inputs, ``date`` a column that orders the rows: it must increase
strictly from row to row (the file is never re-sorted behind the user's back). A date reads as
ISO 8601 (``2010-01-31``, ``2010-01-31 13:00``, ``20100131``, with or without a UTC offset),
``2010/01/31[ 13:00[:00]]``, ``2010-01``, a year (``1700``), or a plain number (a time step or a
decimal year).

Missing cells (empty, ``NA``, ``NaN``, ``null``, ``None``, ``?``) are counted per column and
handled by ``missing``:

- ``"error"``: one line naming the first missing cell and the counts;
- ``"drop"``: rows with a missing cell are removed (the spacing in time is then uneven);
- ``"ffill"``: each gap takes the last value before it (never looks ahead);
- ``"interpolate"``: straight line between the values either side of the gap, by row; a gap
  that straddles a later train/val boundary so borrows one value from after it.

Rows before every column has been seen once cannot be filled without looking ahead and are
dropped under ``ffill`` and ``interpolate``; a gap at the end is filled forward.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from rnnzoo.data.encoding import check_encoding, read_decoded_lines
from rnnzoo.data.errors import DataError, existing_file

__all__ = ["Series", "read_series", "series_from_arrays", "MISSING_CHOICES"]

MISSING_CHOICES = ("error", "drop", "ffill", "interpolate")
#: The setting that chooses the missing-value handling, as messages name it (the config key).
MISSING_OPTION = "data.missing"
NA_CELLS = {"", "na", "n/a", "nan", "null", "none", "?"}
_DATE_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y-%m", "%Y/%m", "%Y")
_DELIMITERS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}


@dataclass
class Series:
    """Rows in time order: the target column(s) first, then the features."""
    values: np.ndarray  # (T, C) float64, no NaN left
    columns: list[str]
    n_targets: int = 1
    dates: np.ndarray | None = None  # (T,) datetime64[s], or float64 for numeric time
    missing: dict[str, int] = field(default_factory=dict)  # per used column, as read
    dropped: int = 0  # rows removed by the missing-value handling
    handling: str = "error"
    path: str | None = None

    def __len__(self) -> int:
        return len(self.values)

    @property
    def targets(self) -> np.ndarray:
        return self.values[:, :self.n_targets]  # (T, k)

    def missing_line(self) -> str | None:
        """``missing values: 'co2' 59 (interpolated; 2 rows dropped)``, or None when complete."""
        counts = {c: n for c, n in self.missing.items() if n}
        if not counts:
            return None
        done = {"drop": "rows dropped", "ffill": "filled forward",
                "interpolate": "interpolated"}[self.handling]
        if self.dropped and self.handling != "drop":
            done += f"; {self.dropped} leading row{'s' if self.dropped != 1 else ''} dropped"
        elif self.handling == "drop":
            done = f"{self.dropped} {done}"
        return f"missing values: {', '.join(f'{c!r} {n}' for c, n in counts.items())} ({done})"


def read_series(path: str | os.PathLike, *, target: str | list[str],
                features: list[str] | tuple[str, ...] = (), date: str | None = None,
                format: str = "auto", encoding: str = "utf-8",
                missing: str = "error") -> Series:
    """Read the ``target`` (one column name or several), ``features`` and ``date`` columns of
    a CSV/TSV file (``format``: "csv", "tsv" or "auto", by extension)."""
    targets = [target] if isinstance(target, str) else list(target)
    if not targets:
        raise ValueError("target must name at least one column")
    _check_missing_choice(missing)
    check_encoding(encoding)
    source = existing_file(path)
    rows = _records(source, _delimiter(source, format), encoding)
    header_line, header = next(rows, (None, None))
    if header is None:
        raise DataError("the file is empty", path)
    wanted = [("target", c) for c in targets] + [("features", c) for c in features]
    index = _column_index(header, wanted + ([("date", date)] if date else []), path, header_line)
    body = list(rows)
    if not body:
        raise DataError("has a header but no rows", path)
    lines = [line for line, _ in body]
    names = [c for _, c in wanted]
    values = np.full((len(body), len(names)), np.nan)
    for j, name in enumerate(names):
        values[:, j] = _numbers(body, index[name], name, path)
    dates = _dates(body, index[date], path) if date else None
    return series_from_arrays(values, names, len(targets), dates, missing=missing,
                              path=os.fspath(path), lines=lines)


def series_from_arrays(values, columns: list[str], n_targets: int = 1, dates=None, *,
                       missing: str = "error", path: str | None = None,
                       lines: list[int] | None = None) -> Series:
    """A :class:`Series` from an array (T, C) whose NaNs are missing values, handled as
    ``missing`` says. ``lines`` (the file line of each row) lets an error name a line."""
    _check_missing_choice(missing)
    values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    gaps = np.isnan(values)
    counts = {c: int(n) for c, n in zip(columns, gaps.sum(axis=0))}
    if gaps.any() and missing == "error":
        raise _missing_error(gaps, columns, counts, path, lines)
    empty = [c for c, n in counts.items() if n == len(values)]
    if empty:
        raise DataError(f"column {empty[0]!r} has no values", path)
    keep = np.ones(len(values), dtype=bool)
    if missing == "drop":
        keep = ~gaps.any(axis=1)
    elif gaps.any():
        start = int(np.max(np.argmax(~gaps, axis=0)))  # every column has been seen by then
        keep[:start] = False
        values = _fill(values, missing, start)
    if not keep.any():
        raise DataError("no row is left once the rows with missing values are dropped", path)
    dates = None if dates is None else np.asarray(dates)[keep]
    return Series(values[keep], list(columns), n_targets, dates, counts,
                  int((~keep).sum()), missing, path)


def _check_missing_choice(missing: str) -> None:
    if missing not in MISSING_CHOICES:
        raise ValueError(f"missing must be one of {', '.join(MISSING_CHOICES)}; got {missing!r}")



def _delimiter(source: Path, format: str) -> str:
    if format != "auto":
        if format not in ("csv", "tsv"):
            raise ValueError(f"format must be 'auto', 'csv' or 'tsv', got {format!r}")
        return "," if format == "csv" else "\t"
    suffix = source.suffix.lower()
    if suffix not in _DELIMITERS:
        raise DataError(f"cannot tell the format from the extension {suffix or '(none)'!r}; name "
                        "the file .csv or .tsv, or pass the format", source)
    return _DELIMITERS[suffix]


def _records(source: Path, delimiter: str, encoding: str):
    """(line number, stripped cells) for each non-blank row, the header first."""
    lines = read_decoded_lines(source, encoding)
    reader = csv.reader(lines, delimiter=delimiter)
    width = None
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        cells = [c.strip() for c in cells]
        width = width or len(cells)
        if len(cells) != width:
            kind = "tab-separated" if delimiter == "\t" else "comma-separated"
            raise DataError(f"has {len(cells)} {kind} fields; the header has {width}", source,
                            reader.line_num)
        yield reader.line_num, cells


def _column_index(header: list[str], wanted, path, line: int) -> dict[str, int]:
    index = {}
    for option, name in wanted:
        if name not in header:
            raise DataError(f"the header has no column {name!r} ({option}); it has: "
                            f"{', '.join(repr(h) for h in header)}", path, line)
        index[name] = header.index(name)
    return index


def _numbers(body, j: int, name: str, path) -> np.ndarray:
    """Column ``j`` as floats, NaN where a cell is missing; a cell that is neither is an error
    naming the column, its first line and how many more there are."""
    out = np.empty(len(body))
    bad = []
    for i, (line, cells) in enumerate(body):
        cell = cells[j]
        if cell.lower() in NA_CELLS:
            out[i] = np.nan
            continue
        try:
            out[i] = float(cell)
        except ValueError:
            bad.append((line, cell))
            continue
        if not np.isfinite(out[i]):
            bad.append((line, cell))
    if bad:
        line, cell = bad[0]
        raise DataError(f"column {name!r} is not numeric: it holds {cell[:40]!r}", path, line,
                        more=len(bad) - 1, unit="bad cell")
    return out


def _dates(body, j: int, path) -> np.ndarray:
    """The date column, checked to increase strictly; datetime64[s] or float64."""
    first_line, first_cells = body[0]
    parse = _date_parser(first_cells[j], path, first_line)
    stamps = []
    for line, cells in body:
        try:
            stamps.append(parse(cells[j]))
        except ValueError:
            raise DataError(f"the date {cells[j]!r} does not read like the first row's "
                            f"{first_cells[j]!r}", path, line) from None
    dates = np.array(stamps, dtype="datetime64[s]" if isinstance(stamps[0], datetime) else float)
    steps = np.diff(dates)
    if len(steps) and not (steps > steps.dtype.type(0)).all():
        k = int(np.argmax(~(steps > steps.dtype.type(0))))
        (line, cells), (_, before) = body[k + 1], body[k]
        how = "repeats" if dates[k + 1] == dates[k] else "comes before"
        raise DataError(f"the date {cells[j]!r} {how} the previous row's {before[j]!r}; dates "
                        "must increase from row to row (sort the file by date)", path, line)
    return dates


def _date_parser(cell: str, path, line: int):
    """The first reading of ``cell`` that works, to be applied to every row."""
    candidates = [_iso] + [lambda c, f=f: datetime.strptime(c, f) for f in _DATE_FORMATS] + [float]
    for parse in candidates:
        try:
            value = parse(cell)
        except ValueError:
            continue
        if not (isinstance(value, float) and not np.isfinite(value)):
            return parse
    raise DataError(f"the date {cell!r} is not a date or a number (write dates as 2010-01-31 "
                    "or 2010-01-31 13:00)", path, line)


def _iso(cell: str) -> datetime:
    value = datetime.fromisoformat(cell)
    if value.tzinfo is not None:  # compare instants: UTC, without the offset
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def _missing_error(gaps, columns, counts, path, lines) -> DataError:
    row, col = np.argwhere(gaps)[0]
    total = sum(counts.values())
    per_column = [f"{c!r} {n}" for c, n in counts.items() if n]
    detail = f"{total} in all" + (f": {', '.join(per_column)}" if len(per_column) > 1 else "")
    line = None if lines is None else lines[row]
    return DataError(f"a value is missing in column {columns[col]!r} ({detail}); set "
                     f"{MISSING_OPTION} to drop, ffill or interpolate", path, line)


def _fill(values: np.ndarray, how: str, start: int) -> np.ndarray:
    """Fill NaNs from row ``start`` on (every column has a value at or before it)."""
    out = values.copy()
    rows = np.arange(len(out))
    for j in range(out.shape[1]):
        seen = ~np.isnan(out[:, j])
        if how == "ffill":
            last = np.maximum.accumulate(np.where(seen, rows, 0))
            out[start:, j] = out[last[start:], j]
        else:  # np.interp holds the last value past the end: a trailing gap is filled forward
            out[start:, j] = np.interp(rows[start:], rows[seen], out[seen, j])
    return out
