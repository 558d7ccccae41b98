"""Bad data files through train.py: one line naming the file and the first bad line (with a
count of the others), exit code 2; data.on_bad_rows=skip trains on the good rows and reports
how many it dropped."""
import pytest

from tests.faults import fault
from tests.reliability.common import QUIET, cli, error_line, results, run

GOOD = ["good fine movie", "great lovely film", "bad dull movie", "awful boring film"]


def table(rows, header="text\tlabel"):
    return header + "\n" + "\n".join(rows) + "\n"


def reviews(n=40, bad=None):
    """n rows alternating positive/negative; ``bad``: {row index: replacement line}."""
    rows = [f"{GOOD[i % 4]} {i}\t{'positive' if i % 4 < 2 else 'negative'}" for i in range(n)]
    for index, line in (bad or {}).items():
        rows[index] = line
    return table(rows)


CASES = {  # name -> (file name, bytes, extra overrides, expected line)
    "missing file": ("nope.tsv", None, [], "data error: data file '{path}': no such file"),
    "empty file": ("empty.tsv", b"", [], "data error: data file '{path}': the file is empty"),
    "empty directory": ("folder", "dir", [], "data error: data file '{path}': holds no class files"),
    "wrong column count": ("cols.tsv", reviews(bad={3: "no label here", 9: "x\ty\tz"}).encode(), [],
                           "data error: data file '{path}', line 5: has 1 tab-separated fields; "
                           "the header has 2 (and 1 more bad row)"),
    "missing text": ("blank.tsv", reviews(bad={6: "\tpositive"}).encode(), [],
                     "data error: data file '{path}', line 8: the text is blank"),
    "label not in the set": ("labels.tsv", reviews(bad={2: "so so\tmaybe"}).encode(),
                             ["data.labels=[negative,positive]"],
                             "data error: data file '{path}', line 4: label 'maybe' is not one of: "
                             "negative, positive"),
    "undecodable bytes": ("bytes.tsv", reviews().encode().replace(b"great lovely film 1",
                                                                   b"great \xff film 1"), [],
                          "data error: data file '{path}', line 3: has byte 0xff"),
    "single class": ("one.tsv", table([f"good {i}\tpositive" for i in range(20)]).encode(), [],
                     "data error: data file '{path}': every row has the label 'positive': a "
                     "classifier needs at least two classes"),
    "text shorter than a sequence": ("short.txt", b"just a few characters\n", ["task=char_lm"],
                                     "data error: data file '{path}': the text is 22 characters "
                                     "long; training needs at least 101"),
    "char_lm split shorter than a sequence": ("split.txt", ("abcdefghij" * 120).encode(),
                                              ["task=char_lm"],
                                              "data error: data file '{path}': the val split (5% "
                                              "of the text, 60 characters) is shorter than one "
                                              "sequence of task.seq_len=100 + 1"),
    "char_lm undecodable": ("latin1.txt", ("plain text\n" * 50).encode() + b"caf\xe9\n", ["task=char_lm"],
                            "data error: data file '{path}', line 51: has bytes that are not UTF-8"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_file_is_one_line_naming_file_and_line(capsys, tmp_path, case):
    name, content, extra, expected = CASES[case]
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    code, _, err = cli(capsys, "task=sentiment", *extra, f"data.path={path}",
                       f"data.cache_dir={tmp_path / 'cache'}", f"run_dir={tmp_path / 'run'}", *QUIET)
    assert code == 2
    assert error_line(err).startswith(expected.format(path=path)), err
    assert not (tmp_path / "run" / "results.json").exists()


def test_csv_with_quoted_newlines_is_read_whole(capsys, tmp_path):
    rows = ['"a review\nover two lines, with a comma",positive', '"bad\nvery bad",negative']
    rows += [f'"{GOOD[i % 4]} {i}",{"positive" if i % 4 < 2 else "negative"}' for i in range(38)]
    path = tmp_path / "quoted.csv"
    path.write_text("text,label\n" + "\n".join(rows) + "\n")
    code, _, err = cli(capsys, "task=sentiment", f"data.path={path}", "trainer.fast_dev_run=1",
                       "cell.hidden_size=8", f"run_dir={tmp_path / 'run'}", *QUIET)
    assert code == 0, err
    assert results(tmp_path / "run")["data"]["skipped_rows"] == 0
    from rnnzoo.data.labelled import read_labelled_file

    data = read_labelled_file(path)
    assert len(data) == 40 and data.texts[0] == "a review\nover two lines, with a comma"


def test_skip_bad_rows_trains_and_reports_the_count(capsys, tmp_path):
    path = tmp_path / "mixed.tsv"
    path.write_text(reviews(60, bad={1: "no tab", 7: "x\ty\tz", 20: "\tpositive", 33: "meh\tmaybe"}))
    code, out, err = cli(capsys, "task=sentiment", f"data.path={path}", "data.on_bad_rows=skip",
                         "data.labels=[negative,positive]", "trainer.fast_dev_run=1",
                         "cell.hidden_size=8", f"run_dir={tmp_path / 'run'}", *QUIET)
    assert code == 0, err
    assert f"rnnzoo: skipped 4 bad rows of data file '{path}'" in err
    assert "skipped rows       4" in out
    assert results(tmp_path / "run")["data"] == {"path": str(path), "skipped_rows": 4}


def test_error_inside_a_loader_worker_is_the_same_one_line(capsys, tmp_path):
    code, _, err = cli(capsys, "task=adding", "task.num_train=64", "task.num_eval=32",
                       "task.seq_len=5", "cell.hidden_size=4", "data.num_workers=2",
                       f"run_dir={tmp_path}", *QUIET, fault("data_error", index=5))
    assert code == 2
    assert error_line(err) == ("data error: data file '<injected>', line 6: item 5 cannot be read "
                               "(injected fault)")


def test_real_command_line(tmp_path):
    path = tmp_path / "cols.tsv"
    path.write_text(reviews(bad={3: "no label here"}))
    done = run("task=sentiment", f"data.path={path}", f"run_dir={tmp_path / 'run'}", *QUIET)
    assert done.returncode == 2
    assert done.stderr.strip() == (f"data error: data file '{path}', line 5: has 1 tab-separated "
                                   "fields; the header has 2")
