"""Character-level corpora: a built-in one, and a user's text file of any size, encoded once.

A character language model (Karpathy's char-rnn; Graves 2013) reads one long string as ids.
For a user's file (``data.path=FILE``) the ids are computed in two streaming passes (count the
characters, then encode) and kept as a ``.npy`` in a cache directory, keyed by the file's
absolute path, size and modification time and the options. Later runs memory-map that array,
so opening a 10 GB corpus costs nothing and memory never grows with the file's size.
"""
from __future__ import annotations

import codecs
import functools
import hashlib
import json
import os
import re
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnzoo.data.errors import DataError, existing_file
from rnnzoo.data.hangul import compose_hangul, decompose_hangul
from rnnzoo.data.splits import contiguous_split
from rnnzoo.data.text import Vocab
from rnnzoo.utils.io import atomic_path

__all__ = ["builtin_corpus", "decompose_hangul", "compose_hangul", "EncodedText",
           "open_text_file", "encode_text", "resolve_cache_dir"]

CACHE_ENV = "RNNZOO_CACHE"
CACHE_VERSION = 1  # bump when the cached layout or the encoding changes
CHUNK_BYTES = 1 << 20  # 1 MiB read at a time: peak memory is a small multiple of this
_CODE_POINTS = 0x110000
_SKIP_DIRS = {"site-packages", "dist-packages", "test", "tests", "idle_test", "__pycache__"}


@functools.lru_cache(maxsize=4)
def builtin_corpus(max_chars: int = 2_000_000) -> str:
    """Python's standard-library source: a corpus that ships on every machine.

    The ``.py`` files under ``sysconfig.get_paths()["stdlib"]`` (test suites and
    site-packages left out), in sorted order of their relative paths, concatenated up to
    ``max_chars``: the same text for the same Python version, whatever is installed.
    """
    root = Path(sysconfig.get_paths()["stdlib"])
    files = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [d for d in subfolders if d not in _SKIP_DIRS]
        files += [Path(folder, name) for name in names if name.endswith(".py")]
    pieces, total = [], 0
    for path in sorted(files, key=lambda p: p.relative_to(root).as_posix()):
        if total >= max_chars:
            break
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        pieces.append(text)
        total += len(text)
    return "".join(pieces)[:max_chars]


def resolve_cache_dir(override: str | os.PathLike | None = None) -> Path:
    """Where encoded files are kept: ``override``, else $RNNZOO_CACHE, else ~/.cache/rnnzoo."""
    return Path(override or os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "rnnzoo")


@dataclass
class EncodedText:
    """A text as character ids (``ids``: a read-only memmap for a cached file)."""
    ids: np.ndarray  # (N,) uint8 / uint16 / int32, the smallest that holds len(vocab)
    vocab: Vocab
    jamo: bool = False  # Hangul was decomposed into jamo before encoding
    path: str | None = None
    from_cache: bool = False

    def __len__(self) -> int:
        return len(self.ids)

    def split(self, fractions=(0.9, 0.05, 0.05)):
        """(train, val, test): consecutive stretches of ``ids``, as views (nothing copied)."""
        return contiguous_split(self.ids, fractions)

    def encode(self, text: str) -> np.ndarray:
        """Ids of a new text (a prompt); characters never seen map to ``<unk>``."""
        text = decompose_hangul(text) if self.jamo else text
        return np.asarray(self.vocab.encode(text), dtype=self.ids.dtype)

    def decode(self, ids) -> str:
        text = "".join(self.vocab.decode(ids))
        return compose_hangul(text) if self.jamo else text


def encode_text(text: str, *, jamo: bool = False) -> EncodedText:
    """Encode a string held in memory (the built-in corpus, say) the way files are encoded."""
    text = decompose_hangul(text) if jamo else text
    codes = _code_points(text)
    vocab = _vocab_from_counts(np.bincount(codes, minlength=1))
    return EncodedText(_lookup_table(vocab)[codes], vocab, jamo)


def open_text_file(path: str | os.PathLike, *, min_length: int = 2, jamo: bool = False,
                   cache_dir: str | os.PathLike | None = None) -> EncodedText:
    """A UTF-8 text file as character ids, from the cache when it holds this version of it.

    ``min_length`` is the shortest usable text: one training sequence, seq_len + 1 characters.
    ``cache_dir`` overrides the cache directory (see :func:`resolve_cache_dir`).
    """
    source = existing_file(path, nonempty=True)
    stat = source.stat()
    key = {"version": CACHE_VERSION, "source": str(source.resolve()), "size": stat.st_size,
           "mtime_ns": stat.st_mtime_ns, "jamo": jamo}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    folder = resolve_cache_dir(cache_dir) / "text"
    # No dots in the name, so with_suffix() below adds a suffix rather than replacing one.
    stem = folder / f"{re.sub(r'[^A-Za-z0-9_-]', '_', source.stem)[:40]}-{digest}"
    encoded = _load_cached(stem, key)
    if encoded is None:
        encoded = _encode_into_cache(source, stem, key)
    encoded.path = os.fspath(path)
    if len(encoded) < min_length:
        raise DataError(f"the text is {len(encoded)} characters long; training needs at least "
                        f"{min_length} (one sequence of seq_len + 1)", path)
    return encoded


def _load_cached(stem: Path, key: dict) -> EncodedText | None:
    """The cached entry, or None when it is missing, stale, truncated or unreadable."""
    try:
        meta = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
        npy = stem.with_suffix(".npy")
        if meta["key"] != key or npy.stat().st_size != meta["npy_bytes"]:
            return None
        ids = np.load(npy, mmap_mode="r")
        if ids.shape != (meta["length"],) or ids.dtype != np.dtype(meta["dtype"]):
            return None
        return EncodedText(ids, Vocab.from_dict(meta["vocab"]), key["jamo"], from_cache=True)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _encode_into_cache(source: Path, stem: Path, key: dict) -> EncodedText:
    counts = np.zeros(128, dtype=np.int64)  # by code point; grows to the largest one seen
    for codes in _stream_code_points(source, key["jamo"]):
        seen = np.bincount(codes)
        if len(seen) > len(counts):
            counts = np.concatenate([counts, np.zeros(len(seen) - len(counts), np.int64)])
        counts[:len(seen)] += seen
    length = int(counts.sum())
    if all(chr(c).isspace() for c in np.flatnonzero(counts)):
        raise DataError("holds only whitespace", source)
    vocab = _vocab_from_counts(counts)
    table = _lookup_table(vocab)
    try:
        stem.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataError(f"cannot create the cache folder {str(stem.parent)!r} ({err.strerror}); "
                        f"point ${CACHE_ENV} at a writable folder", source) from None
    header = {"descr": np.lib.format.dtype_to_descr(table.dtype), "fortran_order": False,
              "shape": (length,)}
    with atomic_path(stem.with_suffix(".npy")) as tmp, open(tmp, "wb") as out:
        np.lib.format.write_array_header_1_0(out, header)
        written = 0
        for codes in _stream_code_points(source, key["jamo"]):
            out.write(table[codes].tobytes())
            written += len(codes)
        npy_bytes = out.tell()
        now = source.stat()
        if written != length or (now.st_size, now.st_mtime_ns) != (key["size"], key["mtime_ns"]):
            raise DataError("changed while it was being read; run again", source)
    meta = {"key": key, "length": length, "dtype": table.dtype.str, "npy_bytes": npy_bytes,
            "vocab": vocab.to_dict()}
    with atomic_path(stem.with_suffix(".json")) as tmp, open(tmp, "w", encoding="utf-8") as out:
        json.dump(meta, out)
    _remove_stale(stem, key)
    return EncodedText(np.load(stem.with_suffix(".npy"), mmap_mode="r"), vocab, key["jamo"])


def _stream_code_points(source: Path, jamo: bool):
    """The file's code points, one chunk (a uint32 array) at a time."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    with open(source, "rb") as f:
        head = f.read(2)
        if head in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            raise DataError("is UTF-16 text; save it as UTF-8", source)
        f.seek(0)
        while True:
            chunk = f.read(CHUNK_BYTES)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError:
                line, bad = _undecodable_lines(source)
                raise DataError("has bytes that are not UTF-8; save the file as UTF-8", source,
                                line, more=bad - 1, unit="bad line") from None
            if text:
                yield _code_points(decompose_hangul(text) if jamo else text)
            if not chunk:
                return


def _undecodable_lines(source: Path) -> tuple[int, int]:
    """(first line that is not UTF-8, how many such lines): the slow path, errors only."""
    first, bad = 0, 0
    with open(source, "rb") as f:
        for number, line in enumerate(f, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                first, bad = first or number, bad + 1
    return first, bad


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype="<u4")


def _vocab_from_counts(counts: np.ndarray) -> Vocab:
    present = np.flatnonzero(counts)
    return Vocab.from_counts({chr(c): int(counts[c]) for c in present})


def _lookup_table(vocab: Vocab) -> np.ndarray:
    """code point -> id, in the smallest unsigned type that holds every id."""
    dtype = np.uint8 if len(vocab) <= 1 << 8 else np.uint16 if len(vocab) <= 1 << 16 else np.int32
    table = np.full(_CODE_POINTS, vocab.unk_id, dtype=dtype)
    for char, i in vocab.stoi.items():
        if len(char) == 1:
            table[ord(char)] = i
    return table


def _remove_stale(stem: Path, key: dict) -> None:
    """Drop entries for earlier versions of the same file with the same options, so editing a
    corpus does not pile up copies of it."""
    def same_options(other: dict) -> bool:
        return all(other[k] == v for k, v in key.items() if k not in ("size", "mtime_ns"))

    for meta_path in stem.parent.glob("*.json"):
        if meta_path.stem == stem.name:
            continue
        try:
            if not same_options(json.loads(meta_path.read_text(encoding="utf-8"))["key"]):
                continue
        except (OSError, ValueError, KeyError, TypeError):
            continue
        for old in (meta_path.with_suffix(".npy"), meta_path):
            old.unlink(missing_ok=True)
