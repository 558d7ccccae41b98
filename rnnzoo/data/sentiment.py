"""Generated movie-review sentences whose label depends on word order, not just on the words.

A small grammar with the constructions Socher et al. (2013) built the Stanford Sentiment
Treebank to study: plain polarity ("the plot was good"), negation, which flips ("the plot was
not good", "wasn't"), intensifiers, which do not ("really good"), contrast, where the clause
after "but" wins ("good but boring" is negative) and the main clause beats an "although"
clause, double negation ("i would not say that the plot was not good" is positive) and
"not only A but also B", where "not" flips nothing.

Half of the sentences come in *minimal pairs* (the idea of contrast sets, Gardner et al. 2020):
two sentences with the same words in a different order and opposite labels: "good but boring"
/ "boring but good"; "A but B" / "B but A"; a negation on the first clause / on the second.
No bag-of-words model can tell the two apart, so its accuracy is capped near 75%, while the
label stays a deterministic function of the word sequence.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DETERMINERS = ("the", "this")
NOUNS = ("plot", "acting", "story", "ending", "music", "cast", "script", "film", "movie",
         "dialogue")
LINKS = ("was", "is", "felt", "seemed")
INTENSIFIERS = ("very", "really", "extremely", "truly", "quite")
POSITIVE = ("good", "great", "brilliant", "charming", "clever", "moving", "funny", "gripping")
NEGATIVE = ("bad", "boring", "dull", "awful", "clumsy", "predictable", "tedious", "weak")
#: How each link verb can be negated: "was not", "wasn't", "was never"; "never felt".
NEGATORS = {"was": ("not", "n't", "never"), "is": ("not", "n't", "never"),
            "felt": ("never",), "seemed": ("never",)}
PAIR_SHARE = 1 / 3  # chance that a draw is a minimal pair: then half the sentences are paired


@dataclass(frozen=True)
class _Clause:
    subject: str  # "the plot"
    link: str
    adjective: str
    intensifier: str | None = None
    negator: str | None = None

    @property
    def positive(self) -> bool:
        return (self.adjective in POSITIVE) != (self.negator is not None)

    def text(self) -> str:
        adjective = f"{self.intensifier} {self.adjective}" if self.intensifier else self.adjective
        if self.negator is None:
            verb = self.link
        elif self.negator == "n't":
            verb = f"{self.link}n't"
        elif self.link in ("felt", "seemed"):
            verb = f"never {self.link}"
        else:
            verb = f"{self.link} {self.negator}"
        return f"{self.subject} {verb} {adjective}"


def generate_sentiment(n: int, seed: int = 0) -> list[tuple[str, int]]:
    """``n`` (sentence, label) pairs, label 1 = positive, 0 = negative, close to balanced.

    Sentences are 4 to 14 tokens from a 49-word vocabulary (tokens as
    :func:`rnnzoo.data.text.tokenize` splits them: "wasn't" is "was", "n't").
    """
    rng = np.random.default_rng(seed)
    out: list[tuple[str, int]] = []
    while len(out) < n:
        if rng.random() < PAIR_SHARE:
            out.extend(_minimal_pair(rng))
        else:
            out.append(_single(rng))
    out = out[:n]
    return [out[i] for i in rng.permutation(len(out))]


def _pick(rng, options):
    return options[rng.integers(len(options))]


def _clause(rng, positive: bool | None = None, negated: bool | None = None,
            links=LINKS, negator: str | None = None) -> _Clause:
    """A random clause; ``positive`` fixes its meaning, ``negated`` whether it has a negator."""
    if negated is None:
        negated = rng.random() < 0.4
    link = _pick(rng, links)
    if negated and negator is None:
        negator = _pick(rng, NEGATORS[link])
    if positive is None:
        positive = bool(rng.random() < 0.5)
    adjectives = POSITIVE if positive != negated else NEGATIVE
    return _Clause(subject=f"{_pick(rng, DETERMINERS)} {_pick(rng, NOUNS)}", link=link,
                   adjective=_pick(rng, adjectives),
                   intensifier=_pick(rng, INTENSIFIERS) if rng.random() < 0.4 else None,
                   negator=negator if negated else None)


def _single(rng) -> tuple[str, int]:
    label = int(rng.random() < 0.5)
    kind = rng.random()
    if kind < 0.6:
        return _clause(rng, positive=bool(label)).text(), label
    if kind < 0.8:  # the frame negates the clause: a negated clause comes out positive
        return f"i would not say that {_clause(rng, positive=not label).text()}", label
    first, second = (_pick(rng, POSITIVE if label else NEGATIVE) for _ in range(2))
    head = _clause(rng, negated=False)
    return f"{head.subject} {head.link} not only {first} but also {second}", label


def _minimal_pair(rng) -> list[tuple[str, int]]:
    kind = rng.integers(3)
    if kind == 0:  # one subject, two adjectives: the one after "but" wins
        head = _clause(rng, negated=False)
        first, second = _pick(rng, POSITIVE), _pick(rng, NEGATIVE)
        if rng.random() < 0.4:
            first = f"{_pick(rng, INTENSIFIERS)} {first}"
        start = f"{head.subject} {head.link}"
        return [(f"{start} {first} but {second}", 0), (f"{start} {second} but {first}", 1)]
    if kind == 1:  # two clauses of opposite meaning, swapped
        a = _clause(rng, positive=True)
        b = _clause(rng, positive=False)
        if rng.random() < 0.5:
            return [(f"{a.text()} but {b.text()}", 0), (f"{b.text()} but {a.text()}", 1)]
        return [(f"although {a.text()} , {b.text()}", 0), (f"although {b.text()} , {a.text()}", 1)]
    # the same two clauses; one negator, on the first clause or on the second
    link_a, link_b = _pick(rng, LINKS), _pick(rng, LINKS)
    negator = _pick(rng, sorted(set(NEGATORS[link_a]) & set(NEGATORS[link_b])))
    a = _clause(rng, negated=False, links=(link_a,))
    b = _clause(rng, negated=False, links=(link_b,))
    a_neg = _Clause(a.subject, a.link, a.adjective, a.intensifier, negator)
    b_neg = _Clause(b.subject, b.link, b.adjective, b.intensifier, negator)
    return [(f"{a_neg.text()} but {b.text()}", int(b.positive)),
            (f"{a.text()} but {b_neg.text()}", int(b_neg.positive))]
