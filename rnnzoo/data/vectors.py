"""Pretrained word vectors from a text file (GloVe or word2vec), and an embedding matrix for a
vocabulary.

Two text formats, told apart by the first line:

- GloVe (Pennington et al. 2014): every line is ``word v1 ... vd``;
- word2vec text (Mikolov et al. 2013, ``binary=False``): a first line ``count dim``, then the
  same ``word v1 ... vd`` lines.

Files are large (GloVe 840B: 2.2 million words, 5.6 GB), so the file is streamed once and only
the vectors of the wanted words are parsed and kept; every other line is checked only for its
number of values (a byte count, no float parsing). A word may hold spaces (GloVe 840B has
". . ."): the last ``dim`` fields are the vector and everything before them is the word.

Words absent from the file start as small random vectors with the pretrained vectors' spread
(Kim 2014 draws them with the same variance as the pretrained ones: uniform there, normal here).
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rnnzoo.data.errors import DataError, existing_file
from rnnzoo.data.text import Vocab

__all__ = ["WordVectors", "Coverage", "PretrainedEmbedding", "read_word_vectors",
           "embedding_matrix", "load_pretrained_embedding"]

#: The setting that fixes the embedding size, as messages name it (the config key).
EMBEDDING_DIM_OPTION = "task.embedding_dim"


@dataclass
class WordVectors:
    """What :func:`read_word_vectors` kept: the vectors of the wanted words found in the file."""
    vectors: dict[str, np.ndarray]  # word -> (dim,) float32
    dim: int
    format: str  # "glove" or "word2vec"
    size: int  # vectors in the file, all of them
    path: str
    undecodable: int = 0  # words passed over because their bytes did not decode


@dataclass
class Coverage:
    """How much of a vocabulary (types) and of a corpus (tokens) the vectors cover."""
    types_found: int
    types_total: int
    tokens_found: int | None = None  # None when no token counts were given
    tokens_total: int | None = None

    @property
    def types_share(self) -> float:
        return self.types_found / max(self.types_total, 1)

    @property
    def tokens_share(self) -> float | None:
        return None if self.tokens_total is None else self.tokens_found / max(self.tokens_total, 1)

    def line(self) -> str:
        """``vectors cover 150 of 200 word types (75.0%) and 9,500 of 10,000 tokens (95.0%)``"""
        text = (f"vectors cover {self.types_found:,} of {self.types_total:,} word types "
                f"({self.types_share:.1%})")
        if self.tokens_total is not None:
            text += (f" and {self.tokens_found:,} of {self.tokens_total:,} tokens "
                     f"({self.tokens_share:.1%})")
        return text


@dataclass
class PretrainedEmbedding:
    weight: torch.Tensor  # (V, dim) float32, row i for vocab id i; <pad> is all zeros
    found: torch.Tensor  # (V,) bool: the row came from the file
    coverage: Coverage
    vectors: WordVectors


def read_word_vectors(path: str | os.PathLike, words: Iterable[str] | None = None, *,
                      expected_dim: int | None = None, encoding: str = "utf-8",
                      fold_case: bool = True) -> WordVectors:
    """Stream a GloVe or word2vec text file (told apart by its first line) and keep the vectors
    of ``words`` (all of them when ``words`` is None).

    ``fold_case``: a wanted word missing from the file in its own casing takes the vector of
    the first line whose word lowercases to it (files list words by frequency, so that is the
    commonest casing): a lowercased vocabulary can then use cased vectors (word2vec's).
    ``expected_dim`` checks the vectors' size against the model's before the long read.
    """
    source = existing_file(path, nonempty=True)
    wanted = None if words is None else set(words)
    exact: dict[str, np.ndarray] = {}
    folded: dict[str, np.ndarray] = {}
    with open(source, "rb") as f:
        first = f.readline()
        fmt, dim, promised, number = _read_header(first, source)
        if expected_dim is not None and dim != expected_dim:
            raise DataError(f"holds {dim}-dimensional vectors; the embedding is {expected_dim}-"
                            f"dimensional: set {EMBEDDING_DIM_OPTION}={dim}", source)
        lines = f if fmt == "word2vec" else _chain(first, f)
        size, undecodable = 0, 0
        for number, raw in enumerate(lines, start=number):
            line = raw.rstrip()
            if not line:
                continue
            size += 1
            word_bytes = _word_of(line, dim, fmt, source, number)
            try:
                word = word_bytes.decode(encoding)
            except UnicodeDecodeError:
                undecodable += 1  # a handful of broken words must not stop a long read
                continue
            if wanted is None or word in wanted:
                if word not in exact:
                    exact[word] = _vector(line, dim, source, number)
            elif fold_case:
                lower = word.lower()
                if lower in wanted and lower not in folded:
                    folded[lower] = _vector(line, dim, source, number)
    if promised is not None and size != promised:
        raise DataError(f"the first line promises {promised:,} vectors but the file holds "
                        f"{size:,}; was the download cut short?", source)
    if size == 0:
        raise DataError("holds a header but no vectors", source)
    return WordVectors({**folded, **exact}, dim, fmt, size, os.fspath(path), undecodable)


def embedding_matrix(vocab: Vocab, vectors: WordVectors, *,
                     token_counts: Mapping[str, int] | None = None, seed: int = 0,
                     unknown_std: float | None = None) -> PretrainedEmbedding:
    """An embedding matrix for ``vocab``: the file's vector where there is one, zeros for
    ``<pad>``, and N(0, unknown_std^2) draws (from ``seed``) for every other row, ``<unk>``
    included. ``unknown_std`` defaults to the standard deviation of the vectors found.

    ``token_counts`` (training-token frequencies) adds token coverage to the report; the
    specials are not counted as word types.
    """
    dim = vectors.dim
    rows = [vectors.vectors.get(token) for token in vocab.itos]
    found = np.array([row is not None for row in rows])
    found[list(range(len(vocab.specials)))] = False  # a file line "<unk>" is not a word
    if unknown_std is None:
        kept = [rows[i] for i in np.flatnonzero(found)]
        unknown_std = float(np.std(np.stack(kept))) if kept else 0.1
    rng = np.random.default_rng(seed)
    weight = rng.normal(0.0, unknown_std, size=(len(vocab), dim)).astype(np.float32)
    for i in np.flatnonzero(found):
        weight[i] = rows[i]
    weight[vocab.pad_id] = 0.0
    coverage = _coverage(vocab, found, token_counts)
    return PretrainedEmbedding(torch.from_numpy(weight), torch.from_numpy(found), coverage,
                               vectors)


def load_pretrained_embedding(path: str | os.PathLike, vocab: Vocab, *,
                              token_counts: Mapping[str, int] | None = None,
                              expected_dim: int | None = None, seed: int = 0,
                              encoding: str = "utf-8", fold_case: bool = True,
                              unknown_std: float | None = None) -> PretrainedEmbedding:
    """:func:`read_word_vectors` for the vocabulary's words, then :func:`embedding_matrix`."""
    words = vocab.itos[len(vocab.specials):]
    vectors = read_word_vectors(path, words, expected_dim=expected_dim, encoding=encoding,
                                fold_case=fold_case)
    return embedding_matrix(vocab, vectors, token_counts=token_counts, seed=seed,
                            unknown_std=unknown_std)



def _read_header(first: bytes, source: Path) -> tuple[str, int, int | None, int]:
    """(format, dim, vectors promised by a word2vec header, number of the first vector line)."""
    fields = first.split()
    if not fields:
        raise DataError("the first line is blank; expected a GloVe line (word v1 ... vd) or a "
                        "word2vec header (count dim)", source, 1)
    if len(fields) == 2 and fields[0].isdigit() and fields[1].isdigit():
        count, dim = int(fields[0]), int(fields[1])
        if dim == 0:
            raise DataError("the word2vec header says the vectors have 0 dimensions", source, 1)
        _refuse_binary(source, len(first))
        return "word2vec", dim, count, 2
    if len(fields) == 1:
        raise DataError("holds a word and no numbers; expected GloVe (word v1 ... vd) or "
                        "word2vec text (a first line 'count dim')", source, 1)
    return "glove", len(fields) - 1, None, 1


def _refuse_binary(source: Path, offset: int) -> None:
    with open(source, "rb") as f:
        f.seek(offset)
        if b"\x00" in f.read(4096):
            raise DataError("is in word2vec's binary format; only text formats are read (gensim: "
                            "save_word2vec_format(path, binary=False))", source)


def _chain(first: bytes, rest):
    yield first
    yield from rest


def _word_of(line: bytes, dim: int, fmt: str, source: Path, number: int) -> bytes:
    """The word of a vector line, after checking it has ``dim`` values."""
    if line.count(b" ") == dim and b"\t" not in line:  # the common case, no list built
        return line[:line.index(b" ")]
    parts = line.split()
    extra = len(parts) - 1 - dim
    if extra > 0 and not all(_is_number(p) for p in parts[1:1 + extra]):
        return b" ".join(parts[:1 + extra])  # a word with spaces in it
    if extra != 0:
        where = "the header says" if fmt == "word2vec" else "line 1 has"
        raise DataError(f"has {len(parts) - 1} values after the word; {where} {dim}", source,
                        number)
    return parts[0]


def _is_number(field: bytes) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _vector(line: bytes, dim: int, source: Path, number: int) -> np.ndarray:
    values = line.split()[-dim:]
    try:
        return np.array(values, dtype=np.float32)
    except ValueError:
        bad = next(v for v in values if not _is_number(v))
        raise DataError(f"the vector holds {bad.decode('utf-8', 'replace')!r}, which is not a "
                        "number", source, number) from None


def _coverage(vocab: Vocab, found: np.ndarray, token_counts) -> Coverage:
    words = range(len(vocab.specials), len(vocab))
    coverage = Coverage(int(found[len(vocab.specials):].sum()), len(words))
    if token_counts is not None:
        coverage.tokens_total = int(sum(token_counts.values()))
        coverage.tokens_found = int(sum(c for t, c in token_counts.items()
                                        if t in vocab.stoi and found[vocab.stoi[t]]))
    return coverage
