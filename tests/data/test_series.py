"""A user's time series: columns, dates, missing values, one-line errors."""
import numpy as np
import pytest

from rnnzoo.data.errors import DataError
from rnnzoo.data.series import read_series, series_from_arrays


def write(tmp_path, text, name="s.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


GAPPY = "date,load,temp\n2020-01-01,1,10\n2020-01-02,,11\n2020-01-03,NA,\n2020-01-04,4,13\n"


def test_target_features_and_dates(tmp_path):
    path = write(tmp_path, "\ufeffday\tload\ttemp\n2020-01-01 00:00\t1.5\t10\n"
                           "2020-01-01 01:00\t2.5\t11\n\n2020-01-01 02:00\t3\t-1e1\n", "s.tsv")
    series = read_series(path, target="load", features=["temp"], date="day")
    assert series.columns == ["load", "temp"] and series.n_targets == 1
    np.testing.assert_array_equal(series.values, [[1.5, 10], [2.5, 11], [3, -10]])
    np.testing.assert_array_equal(series.targets, [[1.5], [2.5], [3]])
    assert series.dates[2] == np.datetime64("2020-01-01T02:00")
    assert (len(series), series.missing, series.missing_line()) == (3, {"load": 0, "temp": 0},
                                                                     None)


@pytest.mark.parametrize("cells,expected", [
    (["1700", "1701"], ["1700-01-01", "1701-01-01"]),
    (["19580329", "19580405"], ["1958-03-29", "1958-04-05"]),
    (["2010/01/01 00:00", "2010/01/01 01:00"], ["2010-01-01T00:00", "2010-01-01T01:00"]),
    (["2010-01", "2010-02"], ["2010-01-01", "2010-02-01"]),
    (["2010-01-01T01:00+01:00", "2010-01-01T01:00Z"], ["2010-01-01T00:00", "2010-01-01T01:00"]),
])
def test_date_forms(tmp_path, cells, expected):
    path = write(tmp_path, "d,y\n" + "".join(f"{c},{i}\n" for i, c in enumerate(cells)))
    dates = read_series(path, target="y", date="d").dates
    assert dates.tolist() == np.array(expected, dtype="datetime64[s]").tolist()
    steps = read_series(write(tmp_path, "t,y\n0.5,1\n1.5,2\n", "n.csv"), target="y", date="t")
    assert steps.dates.tolist() == [0.5, 1.5]


@pytest.mark.parametrize("how,load,temp,dropped", [
    ("drop", [1, 4], [10, 13], 2),
    ("ffill", [1, 1, 1, 4], [10, 11, 11, 13], 0),
    ("interpolate", [1, 2, 3, 4], [10, 11, 12, 13], 0),
])
def test_missing_values_are_counted_and_handled(tmp_path, how, load, temp, dropped):
    series = read_series(write(tmp_path, GAPPY), target="load", features=["temp"], date="date",
                         missing=how)
    np.testing.assert_array_equal(series.values, np.array([load, temp]).T)
    assert series.missing == {"load": 2, "temp": 1} and series.dropped == dropped
    assert len(series.dates) == len(load)
    assert series.missing_line().startswith("missing values: 'load' 2, 'temp' 1 (")


def test_missing_values_error_names_the_first_and_the_option(tmp_path):
    path = write(tmp_path, GAPPY)
    with pytest.raises(DataError) as caught:
        read_series(path, target="load", features=["temp"])
    assert str(caught.value) == (f"data file '{path}', line 3: a value is missing in column "
                                 "'load' (3 in all: 'load' 2, 'temp' 1); set data.missing to "
                                 "drop, ffill or interpolate")


def test_leading_gaps_are_dropped_and_a_trailing_gap_filled_forward():
    values = np.array([[np.nan, 1], [2, np.nan], [3, 5], [np.nan, 6], [np.nan, np.nan]])
    series = series_from_arrays(values, ["a", "b"], missing="interpolate")
    np.testing.assert_array_equal(series.values, [[2, 3], [3, 5], [3, 6], [3, 6]])
    assert series.dropped == 1
    assert series.missing_line() == ("missing values: 'a' 3, 'b' 2 (interpolated; 1 leading row "
                                     "dropped)")
    ffill = series_from_arrays(values, ["a", "b"], missing="ffill")
    np.testing.assert_array_equal(ffill.values, [[2, 1], [3, 5], [3, 6], [3, 6]])


SERIES_PROBLEMS = [
    # file content, options, message (after "data file '...'")
    ("d,y\n1,2\n2,x\n3,4\n4,-\n", {"target": "y"},
     ", line 3: column 'y' is not numeric: it holds 'x' (and 1 more bad cell)"),
    ("d,y\n1,2\n", {"target": "load"},
     ", line 1: the header has no column 'load' (target); it has: 'd', 'y'"),
    ("d,y\n1,2\n", {"target": "y", "features": ["t"]},
     ", line 1: the header has no column 't' (features); it has: 'd', 'y'"),
    ("d,y\n1,2\n", {"target": "y", "date": "day"},
     ", line 1: the header has no column 'day' (date); it has: 'd', 'y'"),
    ("d,y\n2020-01-02,1\n2020-01-01,2\n", {"target": "y", "date": "d"},
     ", line 3: the date '2020-01-01' comes before the previous row's '2020-01-02'; dates must "
     "increase from row to row (sort the file by date)"),
    ("d,y\n2020-01-02,1\n2020-01-02,2\n", {"target": "y", "date": "d"},
     ", line 3: the date '2020-01-02' repeats the previous row's '2020-01-02'; dates must "
     "increase from row to row (sort the file by date)"),
    ("d,y\n2020-01-02,1\n3 May,2\n", {"target": "y", "date": "d"},
     ", line 3: the date '3 May' does not read like the first row's '2020-01-02'"),
    ("d,y\nMay 3,1\n", {"target": "y", "date": "d"},
     ", line 2: the date 'May 3' is not a date or a number (write dates as 2010-01-31 or "
     "2010-01-31 13:00)"),
    ("d,y\n1,2\n2,3,4\n", {"target": "y"}, ", line 3: has 3 comma-separated fields; the header "
     "has 2"),
    ("d,y\n1,\n2,NA\n", {"target": "y", "missing": "ffill"}, ": column 'y' has no values"),
    ("d,y\n", {"target": "y"}, ": has a header but no rows"),
    ("\n\n", {"target": "y"}, ": the file is empty"),
    (b"d,y\n1,2\ncaf\xe9,3\n", {"target": "y"}, ", line 3: has byte 0xe9 (byte 4 of the line), "
     "which is not UTF-8; set data.encoding to the file's encoding (latin-1, say)"),
]


@pytest.mark.parametrize("content,options,message", SERIES_PROBLEMS)
def test_problems_are_one_line(tmp_path, content, options, message):
    path = write(tmp_path, content)
    with pytest.raises(DataError) as caught:
        read_series(path, **options)
    assert str(caught.value) == f"data file '{path}'{message}"


def test_file_level_mistakes(tmp_path):
    with pytest.raises(DataError, match=r"'.*nope.csv': no such file$"):
        read_series(tmp_path / "nope.csv", target="y")
    path = write(tmp_path, "y\n1\n", "s.txt")
    with pytest.raises(DataError, match=r"cannot tell the format from the extension '.txt'"):
        read_series(path, target="y")
    assert read_series(path, target="y", format="csv").values.tolist() == [[1.0]]
    with pytest.raises(ValueError, match="missing must be one of error, drop, ffill, "
                                         "interpolate; got 'mean'"):
        read_series(path, target="y", format="csv", missing="mean")
