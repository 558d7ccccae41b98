"""A user's own labelled text file (TSV, CSV or JSON Lines) read into texts and labels.

Every problem is reported as one :class:`DataError` line naming the file and the first bad
physical line, with a count of the other bad rows, so a user fixes the file in one pass.
Line numbers are where a record starts: a CSV text may hold quoted newlines.
"""
from __future__ import annotations

import codecs
import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path

from rnnzoo.data.encoding import (check_encoding, decode_lines, encoding_hint, is_utf8,
                                  undecodable_message)
from rnnzoo.data.errors import DataError, existing_file
from rnnzoo.data.splits import SPLITS, check_fractions, label_sort_key, stratified_split

__all__ = ["LabelledData", "read_labelled_file", "stratified_split"]

FORMATS = {".tsv": "tsv", ".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl"}
#: Spellings of the split column's values, mapped to rnnzoo's names.
SPLIT_ALIASES = {"train": "train", "training": "train", "val": "val", "valid": "val",
                 "validation": "val", "dev": "val", "test": "test"}


@dataclass
class LabelledData:
    """What :func:`read_labelled_file` read: one entry per usable row, in file order."""
    texts: list[str]
    labels: list[str]
    splits: list[str] | None  # "train" / "val" / "test" per row, when the file has a split column
    skipped: int  # bad rows dropped under on_bad_rows="skip"
    label_names: list[str]  # sorted (numerically when all are integers); the class ids' order
    path: str | None = None

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def label_ids(self) -> list[int]:
        index = {name: i for i, name in enumerate(self.label_names)}
        return [index[y] for y in self.labels]

    def split_indices(self, fractions=(0.8, 0.1, 0.1), seed: int = 0):
        """(train, val, test) row indices: the file's split column when it has one, otherwise
        :func:`stratified_split`. A split the column never names (no "val" rows, say) is carved
        out of the train rows in the proportions of ``fractions``."""
        f = check_fractions(fractions)
        if self.splits is None:
            return stratified_split(self.labels, f, seed)
        parts = {name: [i for i, s in enumerate(self.splits) if s == name] for name in SPLITS}
        if not parts["train"]:
            raise DataError("the split column names no 'train' rows", self.path)
        missing = [s for s, name in enumerate(SPLITS) if s and not parts[name]]
        if missing:
            train = parts["train"]
            carve = [f[0]] + [f[s] if s in missing else 0.0 for s in (1, 2)]
            carved = stratified_split([self.labels[i] for i in train],
                                      [c / sum(carve) for c in carve], seed)
            for s, chunk in enumerate(carved):
                if s == 0 or s in missing:
                    parts[SPLITS[s]] = sorted(train[i] for i in chunk)
        return tuple(parts[name] for name in SPLITS)


def read_labelled_file(path: str | os.PathLike, *, format: str = "auto",
                       text_field: str = "text", label_field: str = "label",
                       split_field: str | None = None, labels=None,
                       on_bad_rows: str = "error", encoding: str = "utf-8") -> LabelledData:
    """Read ``path``: one text and one label per row, optionally a train/val/test column.

    ``format`` is "tsv", "csv", "jsonl" or "auto" (by extension: .tsv, .csv, .jsonl, .json).
    TSV and CSV start with a header row naming the columns; TSV fields are split on tabs with
    no quoting, CSV follows RFC 4180 (quoted fields may hold commas and newlines). ``labels``,
    when given, lists the allowed labels (and fixes ``label_names``, so class ids do not depend
    on which labels a file happens to contain). ``on_bad_rows="skip"`` drops malformed rows and
    counts them in ``skipped``; problems with the whole file always raise. ``encoding`` is
    the file's text encoding ("latin-1", "cp1252", ...); a UTF-8 byte-order mark is ignored.
    """
    if on_bad_rows not in ("error", "skip"):
        raise ValueError(f"on_bad_rows must be 'error' or 'skip', got {on_bad_rows!r}")
    check_encoding(encoding)
    existing_file(path)  # before the format is read off a (missing) file's extension
    fmt = _pick_format(path, format)
    lines, undecodable = _read_lines(path, encoding)
    allowed = None if labels is None else sorted({str(y) for y in labels}, key=label_sort_key)
    rows = _Rows(path, text_field, label_field, split_field, allowed)
    if fmt == "jsonl":
        records = _json_records(lines, rows)
    else:
        records = _table_records(lines, fmt, rows, undecodable)
    for line, end, fields in records:
        bad_bytes = [n for n in range(line, end + 1) if n in undecodable]
        if bad_bytes:
            rows.bad(bad_bytes[0], undecodable[bad_bytes[0]])
        elif isinstance(fields, str):
            rows.bad(line, fields)
        else:
            rows.add(line, fields)
    return rows.finish(on_bad_rows)


def _pick_format(path, format: str) -> str:
    if format != "auto":
        if format not in ("tsv", "csv", "jsonl"):
            raise ValueError(f"format must be 'auto', 'tsv', 'csv' or 'jsonl', got {format!r}")
        return format
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise DataError(f"cannot tell the format from the extension {suffix or '(none)'!r}; "
                        "name the file .tsv, .csv or .jsonl, or pass the format", path)
    return FORMATS[suffix]



def _read_lines(path, encoding: str = "utf-8") -> tuple[list[str], dict[int, str]]:
    """The file's physical lines (ends kept) and, by 1-based line number, why a line does not
    decode. Bytes are decoded line by line so the error can name the line."""
    p = Path(path)
    existing_file(p)
    try:
        raw = p.read_bytes()
    except OSError as err:
        raise DataError(f"cannot be read ({err.strerror})", path) from None
    utf8 = is_utf8(encoding)
    if utf8 and raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise DataError("is UTF-16 text; save it as UTF-8", path)
    lines, bad = decode_lines(raw, encoding)
    if not "".join(lines).strip(" \t\n\r\x0b\x0c"):  # what bytes.strip() took as blank
        raise DataError("the file is empty", path)
    # UTF-8 keeps the message it always had; another encoding was chosen, so name the option
    hint = "save the file as UTF-8" if utf8 else encoding_hint(encoding)
    undecodable = {number: undecodable_message(byte, column, encoding, hint)
                   for number, (byte, column) in bad.items()}
    return lines, undecodable


def _table_records(lines: list[str], fmt: str, rows: _Rows, undecodable: dict[int, str]):
    """(first line, last line, fields by column name or why the record is bad) per record,
    after the header."""
    records = _csv_rows(lines) if fmt == "csv" else _tsv_rows(lines)
    header = None
    for line, end, cells in records:
        if header is None:
            if isinstance(cells, str) or line in undecodable:
                why = cells if isinstance(cells, str) else undecodable[line]
                raise DataError(f"the header row {why}", rows.path, line)
            header = [c.strip() for c in cells]
            rows.set_header(line, header, fmt)
            continue
        if isinstance(cells, str):
            yield line, end, cells
        elif len(cells) != len(header):
            kind = "tab-separated fields" if fmt == "tsv" else "comma-separated fields"
            span = f" (the record runs to line {end}: an unclosed quote?)" if end > line else ""
            yield line, end, f"has {len(cells)} {kind}; the header has {len(header)}{span}"
        else:
            yield line, end, dict(zip(header, cells))
    if header is None:
        raise DataError("the file is empty", rows.path)


def _tsv_rows(lines: list[str]):
    for number, text in enumerate(lines, start=1):
        if text.strip():
            yield number, number, text.rstrip("\r\n").split("\t")


def _csv_rows(lines: list[str]):
    # strict=True: a quote that never closes raises instead of swallowing the rest of the file.
    reader = csv.reader(lines, strict=True)
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            yield start, max(start, reader.line_num), f"is not valid CSV ({err})"
            if reader.line_num < start:
                return
            continue
        if any(c.strip() for c in cells):
            yield start, reader.line_num, cells


def _json_records(lines: list[str], rows: _Rows):
    rows.is_json = True
    first = True
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        if first and text.lstrip().startswith("["):
            raise DataError("holds a JSON array; expected JSON Lines, one object per line",
                            rows.path, number)
        first = False
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as err:
            yield number, number, f"is not valid JSON ({err.msg} at column {err.colno})"
            continue
        if not isinstance(obj, dict):
            kind = {list: "array", str: "string"}.get(type(obj), type(obj).__name__)
            yield number, number, (f"is a JSON {kind}, not an object with "
                                   f"{rows.text_field!r} and {rows.label_field!r}")
            continue
        yield number, number, obj


class _Rows:
    """Collects good rows and the bad ones' line numbers and reasons."""

    def __init__(self, path, text_field, label_field, split_field, allowed):
        self.path, self.allowed = path, allowed
        self.text_field, self.label_field, self.split_field = text_field, label_field, split_field
        self.is_json = False
        self.texts, self.labels, self.splits, self.problems = [], [], [], []

    def set_header(self, line: int, header: list[str], fmt: str) -> None:
        for option, name in (("text_field", self.text_field), ("label_field", self.label_field),
                             ("split_field", self.split_field)):
            if name is not None and name not in header:
                hint = ""
                if len(header) == 1 and ("," in header[0] or "\t" in header[0]):
                    hint = f"; is this really a {fmt.upper()} file?"
                raise DataError(f"the header has no column {name!r} ({option}); it has: "
                                f"{', '.join(repr(h) for h in header)}{hint}", self.path, line)

    def bad(self, line: int, reason: str) -> None:
        self.problems.append((line, reason))

    def add(self, line: int, fields: dict) -> None:
        """Keep the row, or record the first thing wrong with it (one problem per row)."""
        try:
            text = self._string(fields, self.text_field, "text")
            label = self._string(fields, self.label_field, "label", integers=True)
            split = "train"
            if self.split_field is not None:
                value = self._string(fields, self.split_field, "split")
                split = SPLIT_ALIASES.get(value.lower())
                if split is None:
                    raise _BadRow(f"split {value!r} is not one of: train, val, test")
            if self.allowed is not None and label not in self.allowed:
                raise _BadRow(f"label {label!r} is not one of: {', '.join(self.allowed)}")
        except _BadRow as why:
            return self.bad(line, str(why))
        self.texts.append(text)
        self.labels.append(label)
        self.splits.append(split)

    def _string(self, fields: dict, name: str, what: str, integers: bool = False) -> str:
        value = fields.get(name)
        if value is None:
            if not self.is_json:
                raise _BadRow(f"has no {name!r} value")
            raise _BadRow(f"has no {name!r} field (it has: {', '.join(map(repr, fields))})")
        if integers and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            kinds = "a string or an integer" if integers else "a string"
            raise _BadRow(f"the {what} must be {kinds}, got {json.dumps(value)[:40]}")
        if not value.strip():
            raise _BadRow(f"the {what} is blank")
        return value.strip()

    def finish(self, on_bad_rows: str) -> LabelledData:
        problems = sorted(self.problems)
        if problems and (on_bad_rows == "error" or not self.texts):
            line, reason = problems[0]
            raise DataError(reason, self.path, line, more=len(problems) - 1)
        if not self.texts:
            raise DataError("has a header but no rows", self.path)
        found = sorted(set(self.labels), key=label_sort_key)
        if len(found) < 2:
            raise DataError(f"every row has the label {found[0]!r}: a classifier needs at "
                            "least two classes", self.path)
        return LabelledData(
            texts=self.texts, labels=self.labels,
            splits=self.splits if self.split_field is not None else None,
            skipped=len(problems), label_names=self.allowed or found,
            path=os.fspath(self.path))


class _BadRow(Exception):
    """Why one row is unusable (internal: becomes part of a DataError)."""
