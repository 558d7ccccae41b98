"""Pretrained word vectors: both text formats, the embedding matrix, coverage, one-line errors."""
from collections import Counter

import numpy as np
import pytest
import torch

from rnnzoo.data.errors import DataError
from rnnzoo.data.text import Vocab
from rnnzoo.data.vectors import embedding_matrix, load_pretrained_embedding, read_word_vectors

ROWS = ["the 0.1 0.2 0.3", "Good 1 2 3", "good 4 5 6", ". . . 7 8 9", "film -1 -2 -3e-1"]


def write(tmp_path, lines, name="vec.txt", header=None):
    path = tmp_path / name
    text = "\n".join(([header] if header else []) + lines) + "\n"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


@pytest.mark.parametrize("header", [None, "5 3"])
def test_glove_and_word2vec_text_are_told_apart(tmp_path, header):
    vectors = read_word_vectors(write(tmp_path, ROWS, header=header))
    assert (vectors.format, vectors.dim, vectors.size) == (
        "word2vec" if header else "glove", 3, 5)
    assert set(vectors.vectors) == {"the", "Good", "good", ". . .", "film"}  # spaces in a word
    np.testing.assert_allclose(vectors.vectors["film"], [-1, -2, -0.3])
    assert vectors.vectors["the"].dtype == np.float32


def test_only_wanted_words_are_kept_and_case_folds_to_the_first_casing(tmp_path):
    path = write(tmp_path, ["The 9 9 9"] + ROWS)
    kept = read_word_vectors(path, ["good", "the", "film", "absent"])
    assert set(kept.vectors) == {"good", "the", "film"}
    np.testing.assert_allclose(kept.vectors["good"], [4, 5, 6])  # its own casing wins
    np.testing.assert_allclose(kept.vectors["the"], [0.1, 0.2, 0.3])
    assert set(read_word_vectors(path, ["great", "good"], fold_case=False).vectors) == {"good"}
    only_cased = read_word_vectors(write(tmp_path, ["Great 1 1 1", "GREAT 2 2 2"], "c.txt"),
                                   ["great"])
    np.testing.assert_allclose(only_cased.vectors["great"], [1, 1, 1])


def test_embedding_matrix_rows_coverage_and_seed(tmp_path):
    vocab = Vocab(["good", "film", "boring"])  # <pad>, <unk>, good, film, boring
    counts = Counter({"good": 5, "film": 3, "boring": 2, "zzz": 10})  # zzz: not in the vocab
    emb = load_pretrained_embedding(write(tmp_path, ROWS), vocab, token_counts=counts, seed=1)
    assert emb.weight.shape == (5, 3) and emb.weight.dtype == torch.float32
    assert torch.equal(emb.weight[0], torch.zeros(3))  # padding
    assert torch.allclose(emb.weight[2], torch.tensor([4.0, 5, 6]))
    assert emb.found.tolist() == [False, False, True, True, False]
    c = emb.coverage
    assert (c.types_found, c.types_total, c.tokens_found, c.tokens_total) == (2, 3, 8, 20)
    assert c.line() == "vectors cover 2 of 3 word types (66.7%) and 8 of 20 tokens (40.0%)"
    again = load_pretrained_embedding(write(tmp_path, ROWS), vocab, token_counts=counts, seed=1)
    assert torch.equal(emb.weight, again.weight)
    other = embedding_matrix(vocab, emb.vectors, seed=2, unknown_std=0.01)
    assert not torch.equal(other.weight[4], emb.weight[4])
    assert other.weight[[1, 4]].abs().max() < 0.1  # small draws for <unk> and unknown words
    assert other.coverage.line() == "vectors cover 2 of 3 word types (66.7%)"


def test_unknown_rows_match_the_spread_of_the_vectors_found(tmp_path):
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(400)]
    lines = [w + " " + " ".join(f"{v:.4f}" for v in rng.normal(0, 2.0, 50)) for w in words]
    vocab = Vocab(words[:200] + [f"new{i}" for i in range(200)])
    emb = load_pretrained_embedding(write(tmp_path, lines), vocab)
    assert emb.weight[~emb.found][1:].std().item() == pytest.approx(2.0, rel=0.05)


VECTOR_PROBLEMS = [
    # lines, header, message (after "data file '...'")
    (["a 1 2 3", "b 1 2", "c 1"], None, ", line 2: has 2 values after the word; line 1 has 3"),
    (["a 1 2 3", "b 1 2 3 4"], None, ", line 2: has 4 values after the word; line 1 has 3"),
    (["a 1 2 3", "b 1 2"], "2 3", ", line 3: has 2 values after the word; the header says 3"),
    (["a 1 x 3"], None, ", line 1: the vector holds 'x', which is not a number"),
    (["a 1 2 3"], "5 3", ": the first line promises 5 vectors but the file holds 1; was the "
     "download cut short?"),
    (["a"], None, ", line 1: holds a word and no numbers; expected GloVe (word v1 ... vd) or "
     "word2vec text (a first line 'count dim')"),
    ([], "0 3", ": holds a header but no vectors"),
]


@pytest.mark.parametrize("lines,header,message", VECTOR_PROBLEMS)
def test_problems_are_one_line_naming_the_line(tmp_path, lines, header, message):
    path = write(tmp_path, lines, header=header)
    with pytest.raises(DataError) as caught:
        read_word_vectors(path, ["a"])
    assert str(caught.value) == f"data file '{path}'{message}"


def test_empty_file_expected_dim_and_binary_format(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match=r"^data file '.*empty.txt': the file is empty$"):
        read_word_vectors(empty)
    path = write(tmp_path, ROWS)
    with pytest.raises(DataError) as caught:
        read_word_vectors(path, expected_dim=100)
    assert str(caught.value) == (f"data file '{path}': holds 3-dimensional vectors; the "
                                 "embedding is 100-dimensional: set task.embedding_dim=3")
    binary = tmp_path / "vec.bin"
    binary.write_bytes(b"2 3\nthe " + np.zeros(3, np.float32).tobytes() + b"\n")
    with pytest.raises(DataError, match="is in word2vec's binary format; only text formats"):
        read_word_vectors(binary)


def test_undecodable_words_are_passed_over_and_counted(tmp_path):
    path = tmp_path / "v.txt"
    path.write_bytes(b"caf\xe9 1 2\nthe 3 4\n")
    vectors = read_word_vectors(path)
    assert (set(vectors.vectors), vectors.undecodable) == ({"the"}, 1)
    assert set(read_word_vectors(path, encoding="latin-1").vectors) == {"café", "the"}
