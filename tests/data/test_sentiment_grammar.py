"""The generated sentiment set: labels follow from word order, and bags of words fall short.

The rule parser below is written from the grammar's description, not from the generator's
code: if it reproduces every label, the label is a function of the word sequence.
"""
from collections import Counter, defaultdict

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

from rnnzoo.data.sentiment import generate_sentiment
from rnnzoo.data.text import tokenize

POSITIVE = set("good great brilliant charming clever moving funny gripping".split())
NEGATIVE = set("bad boring dull awful clumsy predictable tedious weak".split())
NEGATORS = {"not", "never", "n't"}
FRAME = ["i", "would", "not", "say", "that"]


def rule_label(sentence: str) -> int:
    tokens = tokenize(sentence)
    flip = tokens[:5] == FRAME  # "i would not say that X" means not X
    if flip:
        tokens = tokens[5:]
    if "only" in tokens:  # "not only A but also B": both agree, and that "not" negates nothing
        tokens = tokens[tokens.index("also") + 1:]
    elif tokens[0] == "although":  # the main clause, after the comma, wins
        tokens = tokens[tokens.index(",") + 1:]
    elif "but" in tokens:  # the part after "but" wins
        tokens = tokens[tokens.index("but") + 1:]
    adjectives = [t for t in tokens if t in POSITIVE | NEGATIVE]
    assert len(adjectives) == 1, sentence
    positive = adjectives[0] in POSITIVE
    negations = sum(t in NEGATORS for t in tokens)
    return int(positive ^ (negations % 2 == 1) ^ flip)


DATA = generate_sentiment(20_000, seed=0)


def test_the_rule_parser_reproduces_every_label():
    wrong = [(s, y) for s, y in DATA if rule_label(s) != y]
    assert not wrong, wrong[:5]


def test_size_balance_length_vocabulary_and_seed():
    assert len(DATA) == 20_000 and len(generate_sentiment(7, seed=0)) == 7
    assert abs(np.mean([y for _, y in DATA]) - 0.5) < 0.02
    tokens = [tokenize(s) for s, _ in DATA]
    lengths = [len(t) for t in tokens]
    assert 4 <= min(lengths) and max(lengths) <= 20
    assert 40 <= len({t for ts in tokens for t in ts}) <= 80
    assert generate_sentiment(500, seed=3) == generate_sentiment(500, seed=3)
    assert generate_sentiment(500, seed=3) != generate_sentiment(500, seed=4)


def test_every_construction_is_there():
    text = "\n".join(s for s, _ in DATA)
    for phrase in ("but", "although", "n't", "never", "not only", "but also",
                   "i would not say that", "very", "extremely"):
        assert phrase in text, phrase
    labels = dict(DATA)
    # the minimal pairs: same words, other order, other label
    assert any(f"{b} but {a}" in labels and labels[f"{b} but {a}"] != y
               for s, y in DATA if s.count(" but ") == 1 and "only" not in s
               for a, b in [s.split(" but ")])


def bag_of_words_ceiling(data) -> float:
    """The best accuracy any function of the word multiset can reach on ``data``: the majority
    label of each group of sentences that share a multiset."""
    groups = defaultdict(Counter)
    for sentence, label in data:
        groups[tuple(sorted(tokenize(sentence)))][label] += 1
    return sum(max(c.values()) for c in groups.values()) / len(data)


def test_a_bag_of_words_cannot_do_well():
    ceiling = bag_of_words_ceiling(DATA)
    print(f"bag-of-words ceiling on 20,000 sentences: {ceiling:.4f}")
    assert 0.65 <= ceiling <= 0.80  # measured 0.7526 (seed 0)
    # and a trained bag-of-words model, on held-out sentences, does no better
    texts, labels = [s for s, _ in DATA], [y for _, y in DATA]
    counts = CountVectorizer(tokenizer=tokenize, token_pattern=None, lowercase=False)
    features = counts.fit_transform(texts)
    model = LogisticRegression(max_iter=2000).fit(features[:16_000], labels[:16_000])
    accuracy = model.score(features[16_000:], labels[16_000:])
    print(f"logistic regression on word counts, held out: {accuracy:.4f}")
    assert accuracy <= ceiling + 0.02
    # while the same model with word bigrams (a little order) does clearly better
    bigrams = CountVectorizer(tokenizer=tokenize, token_pattern=None, lowercase=False,
                              ngram_range=(1, 2)).fit_transform(texts)
    model = LogisticRegression(max_iter=2000).fit(bigrams[:16_000], labels[:16_000])
    with_order = model.score(bigrams[16_000:], labels[16_000:])
    print(f"the same with word bigrams: {with_order:.4f}")
    assert with_order > accuracy + 0.05
