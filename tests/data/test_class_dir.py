"""A directory with one text file per class: labels from the names, encodings, one-line errors."""
import pytest

from rnnzoo.data.classdir import class_label, read_class_dir, read_labelled
from rnnzoo.data.errors import DataError
from rnnzoo.data.labelled import read_labelled_file


def class_dir(tmp_path, files: dict, name="reviews"):
    folder = tmp_path / name
    folder.mkdir()
    for file, content in files.items():
        (folder / file).write_bytes(content if isinstance(content, bytes) else content.encode())
    return folder


@pytest.mark.parametrize("name,label", [
    ("rt-polarity.pos", "pos"), ("negative.txt", "negative"), ("books.neg.txt", "neg"),
    ("spam", "spam"), ("NEWS.TXT", "NEWS"), ("a.b.c", "c"), ("2.txt", "2"),
])
def test_label_from_the_file_name(name, label):
    assert class_label(name) == label


def test_reads_classes_in_label_order_and_skips_blank_lines_and_readme(tmp_path):
    folder = class_dir(tmp_path, {"rt.pos": "a \" fine \" film \n\n  great\n", "rt.neg": "dull\n",
                                  "README": "not a class\n", ".DS_Store": "x", "rt.neg~": "x"})
    (folder / "sub").mkdir()
    data = read_class_dir(folder)
    assert data.texts == ["dull", 'a " fine " film', "great"]  # stray quotes kept as written
    assert data.labels == ["neg", "pos", "pos"] and data.label_ids == [0, 1, 1]
    assert (data.label_names, data.splits, data.skipped) == (["neg", "pos"], None, 0)
    train, val, test = data.split_indices((0.34, 0.33, 0.33), seed=0)
    assert sorted(train + val + test) == [0, 1, 2]


def test_latin1_loads_with_the_encoding_and_utf8_failure_is_one_line(tmp_path):
    latin1 = "ok\nfine\namélie's café\ndéjà vu\n".encode("latin-1")
    folder = class_dir(tmp_path, {"x.pos": latin1, "x.neg": "bad\n"})
    data = read_class_dir(folder, encoding="latin-1")
    assert data.texts[-2:] == ["amélie's café", "déjà vu"]
    with pytest.raises(DataError) as caught:
        read_class_dir(folder)
    assert str(caught.value) == (
        f"data file '{folder / 'x.pos'}', line 3: has byte 0xe9 (byte 3 of the line), which is "
        "not UTF-8; set data.encoding to the file's encoding (latin-1, say) (and 1 more bad line)")
    assert (caught.value.line, caught.value.more) == (3, 1)


def test_a_byte_that_latin1_reads_as_a_line_break_does_not_split_a_line(tmp_path):
    # 0x85 is cp1252's ellipsis and Latin-1's NEL, which str.splitlines() treats as a line end
    folder = class_dir(tmp_path, {"a.pos": b"wait\x85 what\n", "a.neg": b"no\n"})
    assert read_class_dir(folder, encoding="cp1252").texts == ["no", "wait\u2026 what"]
    assert read_class_dir(folder, encoding="latin-1").texts == ["no", "wait\x85 what"]


def test_utf16_and_utf8_byte_order_marks(tmp_path):
    folder = class_dir(tmp_path, {"a.pos": "good\r\nnice\r\n".encode("utf-16"),
                                  "a.neg": "bad\n".encode("utf-16")})
    assert read_class_dir(folder, encoding="utf-16").texts == ["bad", "good", "nice"]
    folder = class_dir(tmp_path, {"a.pos": b"good\n", "a.neg": b"\xef\xbb\xbfbad\n"}, "b")
    assert read_class_dir(folder).texts == ["bad", "good"]  # UTF-8's BOM is dropped


def test_cp1252_byte_that_does_not_decode_names_the_encoding(tmp_path):
    folder = class_dir(tmp_path, {"a.pos": b"good\nx\x81y\n", "a.neg": b"bad\n"})
    with pytest.raises(DataError, match=r"line 2: has byte 0x81 \(byte 2 of the line\), which is "
                                        r"not cp1252; set data.encoding to the file's encoding "
                                        r"\(it is 'cp1252' now\)$"):
        read_class_dir(folder, encoding="cp1252")


DIR_PROBLEMS = [
    # files, message about the directory (None) or about a file (its name)
    ({"a.pos": "good\n", "a.neg": " \n\n"}, "a.neg", "the class file for 'neg' is empty; it "
     "needs one example per line"),
    ({"a.pos": "good\n"}, None, "holds one class file ('a.pos'): a classifier needs at least two "
     "classes, one file each"),
    ({}, None, "holds no class files; put one text file per class in it, one example per line"),
    ({"a.pos": "x\n", "b.pos.txt": "y\n"}, "b.pos.txt", "gives the label 'pos', as 'a.pos' does; "
     "name each class file differently"),
]


@pytest.mark.parametrize("files,where,message", DIR_PROBLEMS)
def test_problems_with_the_directory_are_one_line(tmp_path, files, where, message):
    folder = class_dir(tmp_path, files)
    with pytest.raises(DataError) as caught:
        read_class_dir(folder)
    path = folder if where is None else folder / where
    assert str(caught.value) == f"data file '{path}': {message}"


def test_missing_unreadable_and_not_a_directory(tmp_path):
    with pytest.raises(DataError, match=r"^data file '.*nope': no such directory$"):
        read_class_dir(tmp_path / "nope")
    (tmp_path / "f.txt").write_text("x\n")
    with pytest.raises(DataError, match=r"is a file, not a directory of class files$"):
        read_class_dir(tmp_path / "f.txt")
    folder = class_dir(tmp_path, {"a.pos": "x\n", "a.neg": "y\n"})
    folder.chmod(0o000)
    try:
        if not list(_readable(folder)):  # root can read anything; the check needs a user
            with pytest.raises(DataError, match=r"^data file '.*reviews': cannot be read "
                                                r"\(Permission denied\)$"):
                read_class_dir(folder)
    finally:
        folder.chmod(0o755)


def _readable(folder):
    try:
        yield from folder.iterdir()
    except PermissionError:
        return


def test_allowed_labels_fix_the_ids(tmp_path):
    folder = class_dir(tmp_path, {"a.pos": "x\n", "a.neg": "y\n"})
    data = read_class_dir(folder, labels=["pos", "neg", "neutral"])
    assert data.label_names == ["neg", "neutral", "pos"] and data.label_ids == [0, 2]
    with pytest.raises(DataError, match=r"a.pos': label 'pos' \(from the file name\) is not one "
                                        r"of: neg, other$"):
        read_class_dir(folder, labels=["neg", "other"])


def test_read_labelled_dispatches_on_directory_or_file(tmp_path):
    folder = class_dir(tmp_path, {"a.pos": "x\n", "a.neg": "y\n"})
    assert read_labelled(folder, text_field="text", on_bad_rows="error").texts == ["y", "x"]
    with pytest.raises(DataError, match="has no format or split column to choose"):
        read_labelled(folder, split_field="split")
    table = tmp_path / "r.tsv"
    table.write_bytes("text\tlabel\ncafé\tpos\nthé\tneg\n".encode("latin-1"))
    assert read_labelled(table, encoding="latin-1").texts == ["café", "thé"]


def test_tsv_keeps_its_utf8_message_and_reads_other_encodings(tmp_path):
    table = tmp_path / "r.tsv"
    table.write_bytes("text\tlabel\ncafé\tpos\nthé\tneg\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"line 2: has byte 0xe9 \(byte 4 of the line\), which "
                                        r"is not UTF-8; save the file as UTF-8 \(and 1 more bad "
                                        r"row\)$"):
        read_labelled_file(table)
    assert read_labelled_file(table, encoding="latin-1").texts == ["café", "thé"]
    table.write_bytes("text\tlabel\ncafé\tpos\nthé\tneg\n".encode("utf-16"))
    assert read_labelled_file(table, encoding="utf-16").labels == ["pos", "neg"]
    with pytest.raises(ValueError, match="encoding 'klingon' is not one Python knows"):
        read_labelled_file(table, encoding="klingon")
