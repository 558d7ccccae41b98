"""Words and characters to integer ids: a tokenizer and a vocabulary that fits in a checkpoint.

The tokenizer follows the Penn Treebank habit of splitting the negation clitic ("isn't" ->
"is", "n't"): for sentiment, "n't" is the same signal as "not" and should share its statistics.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping

PAD, UNK = "<pad>", "<unk>"

# Order matters: a word that ends in n't gives up the clitic first; other clitics ('s, 're, ...)
# stay attached to the apostrophe; anything else that is neither a word character nor space is a
# token of its own (punctuation, symbols, emoji).
_TOKEN = re.compile(r"\w+(?=n't\b)|n't\b|'(?:s|re|ve|ll|d|m)\b|\w+|[^\w\s]")


def tokenize(text: str) -> list[str]:
    """Lowercase word tokens; punctuation kept as tokens; "isn't" -> ["is", "n't"]."""
    return _TOKEN.findall(text.lower().replace("\u2019", "'"))


class Vocab:
    """Token <-> id. Id 0 is ``<pad>``, 1 is ``<unk>``, then the extra specials, then tokens
    by descending frequency with ties broken alphabetically (the same corpus always gives the
    same ids)."""

    pad_id = 0
    unk_id = 1

    def __init__(self, tokens: Iterable[str], specials: Iterable[str] = ()):
        self.specials = (PAD, UNK, *specials)
        self.itos = list(self.specials) + [t for t in tokens if t not in self.specials]
        self.stoi = {token: i for i, token in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("a vocabulary cannot list the same token twice")

    @classmethod
    def from_counts(cls, counts: Mapping[str, int], min_freq: int = 1,
                    max_size: int | None = None, specials: Iterable[str] = ()) -> Vocab:
        """``max_size`` caps the whole vocabulary, specials included: it is the embedding size."""
        specials = tuple(specials)
        kept = sorted((t for t, c in counts.items() if c >= min_freq and t not in specials
                       and t not in (PAD, UNK)), key=lambda t: (-counts[t], t))
        if max_size is not None:
            room = max_size - 2 - len(specials)
            if room < 0:
                raise ValueError(f"max_size={max_size} leaves no room for the specials")
            kept = kept[:room]
        return cls(kept, specials)

    @classmethod
    def build(cls, token_lists: Iterable[Iterable[str]], min_freq: int = 1,
              max_size: int | None = None, specials: Iterable[str] = ()) -> Vocab:
        counts = Counter()
        for tokens in token_lists:
            counts.update(tokens)
        return cls.from_counts(counts, min_freq, max_size, specials)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocab) and self.itos == other.itos \
            and self.specials == other.specials

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)}, specials={list(self.specials)})"

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Ids of ``tokens`` (a list of tokens, or a string for a character vocabulary)."""
        get = self.stoi.get
        return [get(t, 1) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.itos[int(i)] for i in ids]

    def to_dict(self) -> dict:
        """Plain lists of strings: safe inside a checkpoint read with weights_only=True."""
        return {"tokens": self.itos[len(self.specials):], "specials": list(self.specials[2:])}

    @classmethod
    def from_dict(cls, d: Mapping) -> Vocab:
        return cls(d["tokens"], d.get("specials", ()))
