"""Bytes to lines of text in a chosen encoding, keeping track of the lines that do not decode.

A user's file is often not UTF-8 (the sentence polarity dataset is Latin-1), so every reader
takes an ``encoding`` and, when a byte does not fit it, names the file, the line, the byte and
the option to set, in one line.

Lines are cut on the bytes ``\\n``, ``\\r\\n`` and ``\\r`` *before* decoding, for every encoding
whose line ends are those bytes (UTF-8, Latin-1, cp1252, ...): decoding first and then calling
``str.splitlines`` would also cut at U+0085, which is what Latin-1 makes of the byte 0x85
(cp1252's "…"), and so break one sentence into two.
"""
from __future__ import annotations

import codecs
import re
from pathlib import Path

from rnnzoo.data.errors import DataError

#: The setting that selects the encoding, as messages name it (the config key).
ENCODING_OPTION = "data.encoding"
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def check_encoding(encoding: str) -> str:
    """Python's name for ``encoding`` ("latin-1" -> "iso8859-1"); ValueError if unknown."""
    try:
        return codecs.lookup(encoding).name
    except (LookupError, TypeError):
        raise ValueError(f"encoding {encoding!r} is not one Python knows; try utf-8, latin-1 "
                         "or cp1252") from None


def is_utf8(encoding: str) -> bool:
    return check_encoding(encoding) in ("utf-8", "utf-8-sig")


def display_name(encoding: str) -> str:
    """How a message writes the encoding: UTF-8, Latin-1, or the name as the user gave it."""
    return {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "iso8859-1": "Latin-1"}.get(
        check_encoding(encoding), encoding)


def undecodable_message(byte: int, column: int, encoding: str, hint: str) -> str:
    """``has byte 0xe9 (byte 4 of the line), which is not UTF-8; <hint>``."""
    return (f"has byte 0x{byte:02x} (byte {column} of the line), which is not "
            f"{display_name(encoding)}; {hint}")


def encoding_hint(encoding: str) -> str:
    """What to do about a byte that does not decode: name the option and a likely value."""
    if is_utf8(encoding):
        return f"set {ENCODING_OPTION} to the file's encoding (latin-1, say)"
    return f"set {ENCODING_OPTION} to the file's encoding (it is {encoding!r} now)"


def decode_lines(raw: bytes, encoding: str) -> tuple[list[str], dict[int, tuple[int, int]]]:
    """The physical lines of ``raw`` (ends kept), and for each line that does not decode, by
    1-based number, (the first bad byte, its 1-based position in the line).

    A line that does not decode is kept with U+FFFD in place of its bad bytes, so a reader can
    go on and count the other bad lines. A UTF-8 byte-order mark is dropped.
    """
    name = check_encoding(encoding)
    if name in ("utf-8", "utf-8-sig"):
        raw, name = raw.removeprefix(codecs.BOM_UTF8), "utf-8"
    if not _ascii_line_ends(name):
        return _decode_whole(raw, name), {}
    lines, bad = [], {}
    for number, chunk in enumerate(raw.splitlines(keepends=True), start=1):
        try:
            lines.append(chunk.decode(name))
        except UnicodeDecodeError as err:
            bad[number] = (chunk[err.start], err.start + 1)
            lines.append(chunk.decode(name, errors="replace"))
    return lines, bad


def read_decoded_lines(path, encoding: str) -> list[str]:
    """The physical lines of the file at ``path``, decoded; one DataError for a file that
    cannot be read, or naming the first line that does not decode (and counting the others)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as err:
        raise DataError(f"cannot be read ({err.strerror})", path) from None
    lines, bad = decode_lines(raw, encoding)
    if bad:
        first = min(bad)
        raise DataError(undecodable_message(*bad[first], encoding, encoding_hint(encoding)),
                        path, first, more=len(bad) - 1, unit="bad line")
    return lines


def _ascii_line_ends(name: str) -> bool:
    """Whether the encoding writes line ends as the ASCII bytes (not UTF-16 or UTF-32)."""
    return "a\r\nb\n".encode(name) == b"a\r\nb\n"


def _decode_whole(raw: bytes, name: str) -> list[str]:
    # UTF-16/32: a line end is not a single byte, so decode first. The BOM, when present,
    # tells the byte order; a byte that does not decode is replaced (these encodings accept
    # nearly every byte sequence, so this is rare and is not worth a line number).
    text = raw.decode(name, errors="replace").removeprefix("\ufeff")
    return _LINE.findall(text)
