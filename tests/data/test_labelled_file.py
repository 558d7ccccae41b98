"""A user's labelled file: what it reads, and the one line it says about each kind of mistake."""
import codecs
import gzip

import pytest

from rnnzoo.data.errors import DataError
from rnnzoo.data.labelled import read_labelled_file


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def test_tsv_with_crlf_bom_and_custom_columns(tmp_path):
    path = write(tmp_path, "r.tsv", "\ufeffid\tsentence\tsentiment\r\n1\tA fine film \tpos\r\n"
                                    "2\tdull\tneg\r\n\r\n3\tgreat\tpos\r\n")
    data = read_labelled_file(path, text_field="sentence", label_field="sentiment")
    assert data.texts == ["A fine film", "dull", "great"]
    assert data.labels == ["pos", "neg", "pos"]
    assert data.label_names == ["neg", "pos"] and data.label_ids == [1, 0, 1]
    assert (data.splits, data.skipped, len(data)) == (None, 0, 3)


def test_csv_quoted_newlines_and_line_numbers_of_later_records(tmp_path):
    path = write(tmp_path, "r.csv", 'text,label\n"a film,\nin two lines",positive\n'
                                    'plain,negative\n"three\n\nlines",positive\n,negative\n')
    data = read_labelled_file(path, on_bad_rows="skip")
    assert data.texts == ["a film,\nin two lines", "plain", "three\n\nlines"]
    assert data.skipped == 1
    with pytest.raises(DataError) as caught:
        read_labelled_file(path)
    assert caught.value.line == 8  # the record after the 3-line one starts on physical line 8
    assert str(caught.value) == f"data file '{path}', line 8: the text is blank"


def test_jsonl_integer_labels_sort_numerically(tmp_path):
    rows = [f'{{"text": "t{i}", "label": {y}}}' for i, y in enumerate([10, 2, 2, 10, 1])]
    data = read_labelled_file(write(tmp_path, "r.jsonl", "\n".join(rows) + "\n\n"))
    assert data.labels == ["10", "2", "2", "10", "1"]
    assert data.label_names == ["1", "2", "10"] and data.label_ids == [2, 1, 1, 2, 0]


def test_spec_example_message_and_skip_mode(tmp_path):
    lines = ["text,label", "a,positive", "b,negative", "c,positive", "d,negative", "e,neutral",
             "f,maybe", "g,positive", "h,nope", "i,", "j,x,y"]
    path = write(tmp_path, "reviews.csv", "\n".join(lines) + "\n")
    with pytest.raises(DataError) as caught:
        read_labelled_file(path, labels=["positive", "negative"])
    assert str(caught.value) == (f"data file '{path}', line 6: label 'neutral' is not one of: "
                                 "negative, positive (and 4 more bad rows)")
    assert (caught.value.line, caught.value.more) == (6, 4)
    data = read_labelled_file(path, labels=["positive", "negative", "other"],
                              on_bad_rows="skip")
    assert data.texts == ["a", "b", "c", "d", "g"] and data.skipped == 5
    assert data.label_names == ["negative", "other", "positive"]  # the given labels fix the ids


def test_split_column_aliases_and_carving_a_missing_split(tmp_path):
    rows = ["text\tlabel\tfold"] + [f"t{i}\t{'ab'[i % 2]}\t{'train' if i < 40 else 'Dev'}"
                                    for i in range(50)]
    data = read_labelled_file(write(tmp_path, "r.tsv", "\n".join(rows)), split_field="fold")
    assert data.splits == ["train"] * 40 + ["val"] * 10
    train, val, test = data.split_indices(fractions=(0.8, 0.1, 0.1), seed=0)
    assert val == list(range(40, 50))
    assert len(test) == 4 and set(test) < set(range(40))  # a ninth of train, per class
    assert sorted(train + test) == list(range(40))
    assert {data.labels[i] for i in test} == {"a", "b"}


def test_split_indices_without_a_split_column_is_stratified(tmp_path):
    rows = ["text,label"] + [f"t{i},{'pos' if i % 4 else 'neg'}" for i in range(100)]
    data = read_labelled_file(write(tmp_path, "r.csv", "\n".join(rows)))
    train, val, test = data.split_indices(seed=3)
    assert (len(train), len(val), len(test)) == (80, 10, 10)
    assert sum(data.labels[i] == "neg" for i in val) in (2, 3)


FILE_PROBLEMS = [
    # name, content, options, message (after "data file '...', "), also in skip mode
    ("a.csv", "", {}, "the file is empty", True),
    ("a.csv", "\n  \n", {}, "the file is empty", True),
    ("a.csv", "text,label\n", {}, "has a header but no rows", True),
    ("a.csv", "text,label\nx,pos\ny,pos\n", {},
     "every row has the label 'pos': a classifier needs at least two classes", True),
    ("a.csv", "text,sentiment\nx,pos\n", {}, "line 1: the header has no column 'label' "
     "(label_field); it has: 'text', 'sentiment'", True),
    ("a.tsv", "text,label\nx,pos\n", {}, "line 1: the header has no column 'text' (text_field); "
     "it has: 'text,label'; is this really a TSV file?", True),
    ("a.csv", "text,label\nx,pos\n", {"split_field": "split"},
     "line 1: the header has no column 'split' (split_field); it has: 'text', 'label'", True),
    ("a.csv", b"t\xe9xt,label\nx,pos\n", {}, "line 1: the header row has byte 0xe9 (byte 2 of "
     "the line), which is not UTF-8; save the file as UTF-8", True),
    ("a.csv", codecs.BOM_UTF16_LE + "text,label\n".encode("utf-16-le"), {},
     "is UTF-16 text; save it as UTF-8", True),
    ("a.json", '[{"text": "x", "label": 1}]\n', {},
     "line 1: holds a JSON array; expected JSON Lines, one object per line", True),
    ("a.txt", "text,label\n", {}, "cannot tell the format from the extension '.txt'; name the "
     "file .tsv, .csv or .jsonl, or pass the format", True),
]


@pytest.mark.parametrize("name,content,options,message,in_skip_mode", FILE_PROBLEMS)
def test_problems_with_the_whole_file(tmp_path, name, content, options, message, in_skip_mode):
    path = write(tmp_path, name, content)
    for mode in ("error", "skip") if in_skip_mode else ("error",):
        with pytest.raises(DataError) as caught:
            read_labelled_file(path, on_bad_rows=mode, **options)
        where = ", " if message.startswith("line ") else ": "
        assert str(caught.value) == f"data file '{path}'{where}{message}"


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(DataError, match=r"^data file '.*nope.csv': no such file$"):
        read_labelled_file(tmp_path / "nope.csv")
    with pytest.raises(DataError, match=r"is a directory, not a file$"):
        read_labelled_file(tmp_path, format="csv")


GOOD = "text,label\nok,pos\nfine,neg\n"
ROW_PROBLEMS = [
    # name, content (a bad row on line 4, a second bad row after it), options, message
    ("r.csv", GOOD + "a,b,c\nz\n", {}, "has 3 comma-separated fields; the header has 2"),
    ("r.tsv", GOOD.replace(",", "\t") + "a\tb\tc\nz\n", {},
     "has 3 tab-separated fields; the header has 2"),
    ("r.csv", GOOD + ' ,pos\n,neg\n', {}, "the text is blank"),
    ("r.csv", GOOD + 'x, \nx,\n', {}, "the label is blank"),
    ("r.csv", GOOD + 'x,meh\nx,nah\n', {"labels": ["pos", "neg"]},
     "label 'meh' is not one of: neg, pos"),
    ("r.csv", GOOD + '"x\n"y",pos\na,b,c\n', {}, 'is not valid CSV (\',\' expected after \'"\')'),
    ("r.csv", GOOD + b"x\xff,pos\n".decode("latin-1") + "\xe9,neg\n", {}, "has byte 0xff (byte 2 "
     "of the line), which is not UTF-8; save the file as UTF-8"),
    ("r.csv", "text,label,split\nok,pos,train\nfine,neg,test\nx,pos,holdout\ny,neg,\n",
     {"split_field": "split"}, "split 'holdout' is not one of: train, val, test"),
    ("r.jsonl", '{"text": "ok", "label": "pos"}\n\n{"text": "f", "label": "neg"}\n{"text": '
     '"x" "label": 1}\n[1]\n', {}, "is not valid JSON (Expecting ',' delimiter at column 14)"),
    ("r.jsonl", '{"text": "ok", "label": "pos"}\n\n{"text": "f", "label": "neg"}\n[1, 2]\n"s"\n',
     {}, "is a JSON array, not an object with 'text' and 'label'"),
    ("r.jsonl", '{"text": "ok", "label": "pos"}\n\n{"text": "f", "label": "neg"}\n'
     '{"review": "x", "label": 1}\n{}\n', {}, "has no 'text' field (it has: 'review', 'label')"),
    ("r.jsonl", '{"text": "ok", "label": "pos"}\n\n{"text": "f", "label": "neg"}\n'
     '{"text": "x", "label": 0.5}\n{"text": "x", "label": null}\n', {},
     "the label must be a string or an integer, got 0.5"),
]


@pytest.mark.parametrize("name,content,options,message", ROW_PROBLEMS)
def test_bad_rows_name_the_first_line_and_count_the_rest(tmp_path, name, content, options,
                                                        message):
    path = tmp_path / name
    path.write_bytes(content.encode("latin-1" if "\xff" in content else "utf-8"))
    with pytest.raises(DataError) as caught:
        read_labelled_file(path, **options)
    assert str(caught.value) == f"data file '{path}', line 4: {message} (and 1 more bad row)"
    data = read_labelled_file(path, on_bad_rows="skip", **options)
    assert (data.texts, data.skipped) == (["ok", "fine"] if name != "r.jsonl" else ["ok", "f"], 2)


def test_a_quote_that_never_closes_is_reported_where_it_opens(tmp_path):
    path = write(tmp_path, "r.csv", 'label,text\npos,ok\nneg,"unclosed\npos,more\nneg,rows\n')
    with pytest.raises(DataError, match=r"line 3: is not valid CSV \(unexpected end of data\)"):
        read_labelled_file(path)


def test_skip_mode_still_refuses_a_file_with_no_usable_row(tmp_path):
    path = write(tmp_path, "r.tsv", "text\tlabel\n\tpos\n\tneg\n")
    with pytest.raises(DataError, match=r"line 2: the text is blank \(and 1 more bad row\)"):
        read_labelled_file(path, on_bad_rows="skip")


def test_a_compressed_file_is_one_line_of_error(tmp_path):
    path = write(tmp_path, "r.jsonl", gzip.compress(b'{"text": "x", "label": 1}\n' * 50, mtime=0))
    with pytest.raises(DataError, match=r"^data file '.*', line 1: has byte 0x8b \(byte 2 of the "
                                        r"line\), which is not UTF-8; save the file as UTF-8"):
        read_labelled_file(path, on_bad_rows="skip")


def test_programming_mistakes_are_plain_value_errors(tmp_path):
    path = write(tmp_path, "r.csv", GOOD)
    with pytest.raises(ValueError, match="on_bad_rows"):
        read_labelled_file(path, on_bad_rows="ignore")
    with pytest.raises(ValueError, match="format"):
        read_labelled_file(path, format="xlsx")
