"""Bad time-series files through ``train.py task=forecast``: one line naming the file (and the
line where there is one), exit code 2, nothing written."""
import pytest

from tests.reliability.common import QUIET, cli, error_line


def series_csv(n=60, bad=None):
    """``date,value,temp`` rows; ``bad``: {row index: replacement line}."""
    rows = [f"2020-01-{1 + i % 28:02d} {i // 28:02d}:00,{10 + i % 7},{i * 0.5}" for i in range(n)]
    for index, line in (bad or {}).items():
        rows[index] = line
    return "date,value,temp\n" + "\n".join(rows) + "\n"


CASES = {  # name -> (file text, extra overrides, expected line)
    "non-numeric target": (series_csv(bad={4: "2020-01-05 00:00,high,2.0"}), [],
                           "data error: data file '{path}', line 6: column 'value' is not numeric: "
                           "it holds 'high'"),
    "shorter than one window": (series_csv(n=10), ["task.seq_len=24"],
                                "data error: data file '{path}': the series has 10 rows, fewer than "
                                "one window (seq_len 24 + horizon 1 = 25)"),
    "unknown target column": (series_csv(), ["data.target=price"],
                              "data error: data file '{path}', line 1: the header has no column "
                              "'price' (target); it has: 'date', 'value', 'temp'"),
    "unknown feature column": (series_csv(), ["data.features=[humidity]"],
                               "data error: data file '{path}', line 1: the header has no column "
                               "'humidity' (features)"),
    "no target named": (series_csv(), ["data.target=null"],
                        "data error: data file '{path}': name the column to forecast: "
                        "data.target=COLUMN"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_series_is_one_line_and_exit_2(capsys, tmp_path, case):
    text, extra, expected = CASES[case]
    path = tmp_path / "series.csv"
    path.write_text(text)
    code, _, err = cli(capsys, "task=forecast", f"data.path={path}", "data.target=value",
                       "task.seq_len=8", *extra, f"run_dir={tmp_path / 'run'}", *QUIET)
    assert code == 2, err
    assert error_line(err).startswith(expected.format(path=path)), err
    assert not (tmp_path / "run" / "results.json").exists()


def test_unknown_bundled_series_is_a_config_error(capsys, tmp_path):
    code, _, err = cli(capsys, "task=forecast", "task.series=tides", f"run_dir={tmp_path}", *QUIET)
    assert code == 2, err
    assert "task.series" in error_line(err) and "sunspots" in error_line(err), err
