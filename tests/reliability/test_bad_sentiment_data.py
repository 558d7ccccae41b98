"""Bad input for task=sentiment on a user's files, through train.py: one line, exit code 2, and
nothing written -- a file that is not UTF-8, an empty class file, a vectors file whose size is
not the embedding's."""
from tests.reliability.common import QUIET, cli, error_line


def classes(tmp_path, pos: bytes, neg: bytes):
    folder = tmp_path / "reviews"
    folder.mkdir()
    (folder / "r.pos").write_bytes(pos)
    (folder / "r.neg").write_bytes(neg)
    return folder


def bad_run(capsys, tmp_path, *argv):
    code, _, err = cli(capsys, "task=sentiment", *argv, f"run_dir={tmp_path / 'run'}", *QUIET)
    assert code == 2, err
    assert not (tmp_path / "run" / "results.json").exists()
    return error_line(err)


def test_latin1_file_read_as_utf8_names_the_option(capsys, tmp_path):
    folder = classes(tmp_path, "un film charmant, très beau\n".encode("latin-1") * 5, b"bad film\n" * 5)
    line = bad_run(capsys, tmp_path, f"data.path={folder}")
    assert line.startswith(f"data error: data file '{folder / 'r.pos'}', line 1: has byte 0xe8")
    assert "data.encoding" in line


def test_latin1_file_loads_with_the_encoding(capsys, tmp_path):
    folder = classes(tmp_path, "très beau\n".encode("latin-1") * 5, b"bad film\n" * 5)
    code, _, err = cli(capsys, "task=sentiment", f"data.path={folder}", "data.encoding=latin-1",
                       "cell.hidden_size=8", "trainer.fast_dev_run=1", f"run_dir={tmp_path / 'run'}", *QUIET)
    assert code == 0, err


def test_empty_class_file(capsys, tmp_path):
    folder = classes(tmp_path, b"good film\n" * 5, b"\n\n")
    line = bad_run(capsys, tmp_path, f"data.path={folder}")
    assert line == (f"data error: data file '{folder / 'r.neg'}': the class file for 'neg' is "
                    "empty; it needs one example per line")


def test_vectors_of_the_wrong_dimension(capsys, tmp_path):
    folder = classes(tmp_path, b"good film\n" * 5, b"bad film\n" * 5)
    vectors = tmp_path / "glove.txt"
    vectors.write_text("good 0.1 0.2 0.3\nbad 0.3 0.2 0.1\n")
    line = bad_run(capsys, tmp_path, f"data.path={folder}", f"data.embeddings={vectors}",
                   "task.embedding_dim=8")
    assert line.startswith(f"data error: data file '{vectors}'")
    assert "holds 3-dimensional vectors" in line and "task.embedding_dim=3" in line


def test_folds_beyond_the_smallest_class(capsys, tmp_path):
    folder = classes(tmp_path, b"good film\n" * 3, b"bad film\n" * 30)
    line = bad_run(capsys, tmp_path, f"data.path={folder}", "data.folds=5")
    assert "fewer than the 5 folds" in line and "data.folds" in line


def test_folds_for_a_task_without_labels(capsys, tmp_path):
    code, _, err = cli(capsys, "task=adding", "data.folds=3", f"run_dir={tmp_path / 'run'}", *QUIET)
    assert code == 2
    assert error_line(err).startswith("config error: data.folds=3: cross-validation applies to")
