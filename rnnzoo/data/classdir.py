"""A directory of plain text files, one per class, one example per line.

This is how the sentence polarity dataset (Pang & Lee 2005) and many others ship:
``rt-polarity.pos`` and ``rt-polarity.neg``, Latin-1, no header, no quoting. Each line is an
example exactly as written (stray quote characters included); blank lines are skipped.

The label comes from the file name (:func:`class_label`): a final ``.txt``/``.text`` is dropped,
then the label is what follows the last dot, or the whole name when no dot is left::

    rt-polarity.pos -> pos      negative.txt -> negative
    books.neg.txt   -> neg      spam         -> spam

Sub-directories, hidden files (``.DS_Store``), editor backups (``name~``) and ``README*`` files
are not classes and are passed over.
"""
from __future__ import annotations

import os
from pathlib import Path

from rnnzoo.data.encoding import check_encoding, read_decoded_lines
from rnnzoo.data.errors import DataError
from rnnzoo.data.labelled import LabelledData, read_labelled_file
from rnnzoo.data.splits import label_sort_key

__all__ = ["class_label", "read_class_dir", "read_labelled"]

GENERIC_SUFFIXES = (".txt", ".text")


def class_label(name: str) -> str:
    """The class a file named ``name`` holds (see the module docstring for the rule)."""
    for suffix in GENERIC_SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            name = name[:-len(suffix)]
            break
    return name.rsplit(".", 1)[-1] or name


def read_class_dir(path: str | os.PathLike, *, encoding: str = "utf-8",
                   labels=None) -> LabelledData:
    """Read every class file in the directory ``path``: texts, and labels from the file names.

    Classes come in label order (:func:`~rnnzoo.data.splits.label_sort_key`), each file's
    examples in line order. ``labels``, when given, lists the allowed labels and fixes
    ``label_names`` (class ids), as in :func:`~rnnzoo.data.labelled.read_labelled_file`.
    """
    check_encoding(encoding)
    files = _class_files(path)
    allowed = None if labels is None else sorted({str(y) for y in labels}, key=label_sort_key)
    by_label: dict[str, Path] = {}
    for file in files:
        label = class_label(file.name)
        if label in by_label:
            raise DataError(f"gives the label {label!r}, as {by_label[label].name!r} does; name "
                            "each class file differently", file)
        if allowed is not None and label not in allowed:
            raise DataError(f"label {label!r} (from the file name) is not one of: "
                            f"{', '.join(allowed)}", file)
        by_label[label] = file
    if len(by_label) < 2:
        only = next(iter(by_label.values())).name
        raise DataError(f"holds one class file ({only!r}): a classifier needs at least two "
                        "classes, one file each", path)
    texts, found = [], []
    for label in sorted(by_label, key=label_sort_key):
        examples = _examples(by_label[label], encoding)
        texts += examples
        found += [label] * len(examples)
    names = allowed or sorted(by_label, key=label_sort_key)
    return LabelledData(texts, found, None, 0, names, path=os.fspath(path))


def read_labelled(path: str | os.PathLike, *, encoding: str = "utf-8", **options) -> LabelledData:
    """A directory of class files (:func:`read_class_dir`) or one TSV/CSV/JSONL file
    (:func:`~rnnzoo.data.labelled.read_labelled_file`, which takes ``options``)."""
    if Path(path).is_dir():
        # text_field, label_field and on_bad_rows mean nothing here and are let through, so a
        # caller can pass one set of options; a format or split column would be a mistake
        if options.get("format", "auto") != "auto" or options.get("split_field"):
            raise DataError("is a directory of class files: it has no format or split column to "
                            "choose", path)
        return read_class_dir(path, encoding=encoding, labels=options.get("labels"))
    return read_labelled_file(path, encoding=encoding, **options)


def _class_files(path) -> list[Path]:
    folder = Path(path)
    if not folder.exists():
        raise DataError("no such directory", path)
    if not folder.is_dir():
        raise DataError("is a file, not a directory of class files", path)
    try:
        entries = sorted(folder.iterdir())
    except OSError as err:
        raise DataError(f"cannot be read ({err.strerror})", path) from None
    files = [p for p in entries if p.is_file() and not _passed_over(p.name)]
    if not files:
        raise DataError("holds no class files; put one text file per class in it, one example "
                        "per line", path)
    return files


def _passed_over(name: str) -> bool:
    return name.startswith(".") or name.endswith("~") or name.upper().startswith("README")


def _examples(file: Path, encoding: str) -> list[str]:
    """The non-blank lines of ``file``, stripped; one DataError for the first undecodable
    line (with a count of the others) or for a file with no example."""
    lines = read_decoded_lines(file, encoding)
    examples = [line.strip() for line in lines if line.strip()]
    if not examples:
        raise DataError(f"the class file for {class_label(file.name)!r} is empty; it needs one "
                        "example per line", file)
    return examples
