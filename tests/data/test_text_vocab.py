"""Tokenizer and vocabulary: exact ids, deterministic ties, checkpoint-safe round trips."""
import io
import json
import pickle

import pytest
import torch

from rnnzoo.data.errors import DataError
from rnnzoo.data.text import Vocab, tokenize


@pytest.mark.parametrize("text,tokens", [
    ("The plot isn't good, really!", ["the", "plot", "is", "n't", "good", ",", "really", "!"]),
    ("I don\u2019t care", ["i", "do", "n't", "care"]),  # a typographic apostrophe
    ("It's 3.5/10", ["it", "'s", "3", ".", "5", "/", "10"]),
    ("'Quoted' words", ["'", "quoted", "'", "words"]),
    ("Can't WON'T", ["ca", "n't", "wo", "n't"]),
    ("  ", []),
])
def test_tokenize(text, tokens):
    assert tokenize(text) == tokens


def test_vocab_orders_by_frequency_then_alphabet():
    vocab = Vocab.build([["b", "a", "c"], ["a", "c", "d"]], specials=("<bos>",))
    # a and c twice (alphabetical tie), then b and d once
    assert vocab.itos == ["<pad>", "<unk>", "<bos>", "a", "c", "b", "d"]
    assert (vocab.pad_id, vocab.unk_id, len(vocab)) == (0, 1, 7)
    assert vocab.encode(["c", "zzz", "<bos>"]) == [4, 1, 2]
    assert vocab.decode([3, 1, 0]) == ["a", "<unk>", "<pad>"]


def test_min_freq_and_max_size_counting_specials():
    lists = [["x"] * 5 + ["y"] * 3 + ["z"]]
    assert Vocab.build(lists, min_freq=2).itos == ["<pad>", "<unk>", "x", "y"]
    assert Vocab.build(lists, max_size=3).itos == ["<pad>", "<unk>", "x"]
    with pytest.raises(ValueError, match="no room"):
        Vocab.build(lists, max_size=2, specials=("<eos>",))


def test_round_trip_through_json_and_a_weights_only_checkpoint():
    vocab = Vocab.build([tokenize("a b b c, c c")], specials=("<bos>", "<eos>"))
    assert Vocab.from_dict(json.loads(json.dumps(vocab.to_dict()))) == vocab
    buffer = io.BytesIO()
    torch.save({"vocab": vocab.to_dict()}, buffer)
    buffer.seek(0)
    assert Vocab.from_dict(torch.load(buffer, weights_only=True)["vocab"]) == vocab
    assert pickle.loads(pickle.dumps(vocab)) == vocab


def test_character_vocabulary():
    vocab = Vocab.build(["abca", "b!"])  # a string is a sequence of character tokens
    assert vocab.itos == ["<pad>", "<unk>", "a", "b", "!", "c"]
    assert vocab.encode("ab?") == [2, 3, 1]
    assert "".join(vocab.decode(vocab.encode("cab"))) == "cab"


def test_data_error_reads_as_one_line():
    err = DataError("label 'maybe' is not one of: negative, positive", "reviews.csv", 7, more=3)
    assert str(err) == ("data file 'reviews.csv', line 7: label 'maybe' is not one of: "
                        "negative, positive (and 3 more bad rows)")
    assert isinstance(err, ValueError) and (err.path, err.line, err.more) == ("reviews.csv", 7, 3)
    assert str(DataError("the file is empty", "a.tsv")) == "data file 'a.tsv': the file is empty"
    assert str(DataError("x", "a.tsv", 2, more=1)).endswith("(and 1 more bad row)")
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) and again.line == 7
