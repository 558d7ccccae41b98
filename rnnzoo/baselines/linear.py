"""The linear baseline for text classification: tf-idf n-grams + logistic regression.

On small sentence datasets this is the number a neural model has to beat (Wang & Manning 2012
found bag-of-n-gram models hard to beat on short snippets; on the sentence polarity data it
scores 0.77-0.78 in 10-fold cross-validation). It is fitted on the same train rows as the
model, and its C is chosen on the same val rows, so the two numbers compare.

Features: ``"word"``, 1-2-grams of rnnzoo's own tokens (:func:`~rnnzoo.data.text.tokenize`,
the tokens the recurrent models see); ``"char"``, 2-5-grams of characters within word
boundaries. Both use sublinear term frequency (1 + log tf).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rnnzoo.baselines.metrics import MeanStd, summarize_folds
from rnnzoo.data.text import tokenize

__all__ = ["FEATURES", "C_GRID", "linear_baseline_name", "make_vectorizer", "linear_baseline",
           "linear_baseline_folds"]

FEATURES = {"word": "tf-idf word 1-2-grams", "char": "tf-idf char 2-5-grams"}
#: Values of C tried by ``C="auto"``; scikit-learn's default (1) underfits tf-idf n-grams.
C_GRID = (1.0, 3.0, 10.0, 30.0)
DEFAULT_C = 3.0  # "auto" without val rows: a value inside the grid, not at its edge


def linear_baseline_name(features: str = "word") -> str:
    """``tf-idf word 1-2-grams + logistic regression``: the baseline's name in a report."""
    _check_features(features)
    return f"{FEATURES[features]} + logistic regression"


def make_vectorizer(features: str = "word"):
    """An unfitted tf-idf vectoriser for ``features`` ("word" or "char")."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    _check_features(features)
    if features == "word":
        return TfidfVectorizer(tokenizer=tokenize, lowercase=False, token_pattern=None,
                               ngram_range=(1, 2), sublinear_tf=True)
    return TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)


def linear_baseline(texts: Sequence[str], labels: Sequence, train: Sequence[int],
                    val: Sequence[int] = (), test: Sequence[int] = (), *,
                    features: str = "word", C: float | str = "auto") -> dict[str, float]:
    """Fit on the ``train`` rows; accuracy and macro F1 on ``val`` and ``test`` (those given).

    ``C`` is the inverse regularisation strength; ``"auto"`` fits one model per value in
    :data:`C_GRID` and keeps the best on val accuracy (the smaller C on a tie), or uses
    :data:`DEFAULT_C` when there are no val rows. Test rows never take part in the choice.
    Returns ``{"val/acc", "val/f1", "test/acc", "test/f1", "C"}`` (the parts given, and the C
    used), with the metric names the tasks log.
    """
    from sklearn.linear_model import LogisticRegression

    if not len(train):
        raise ValueError("the linear baseline needs train rows")
    y = np.asarray([str(label) for label in labels])
    vectorizer = make_vectorizer(features)
    x_train = vectorizer.fit_transform([texts[i] for i in train])
    parts = {name: (vectorizer.transform([texts[i] for i in rows]), y[list(rows)])
             for name, rows in (("val", val), ("test", test)) if len(rows)}
    grid = (C_GRID if "val" in parts else (DEFAULT_C,)) if C == "auto" else (float(C),)
    best = None
    for c in grid:
        # lbfgs is deterministic: the same rows give the same model, so no seed is needed
        model = LogisticRegression(C=c, max_iter=1000).fit(x_train, y[list(train)])
        metrics = {**_scores(model, parts), "C": c}
        if best is None or metrics["val/acc"] > best["val/acc"]:
            best = metrics
    return best


def linear_baseline_folds(texts: Sequence[str], labels: Sequence,
                          folds: Sequence[tuple[Sequence[int], Sequence[int], Sequence[int]]],
                          **options) -> tuple[list[dict[str, float]], dict[str, MeanStd]]:
    """:func:`linear_baseline` on each (train, val, test) fold (from
    :func:`~rnnzoo.data.splits.stratified_kfold`): the per-fold metrics and their mean ± std."""
    per_fold = [linear_baseline(texts, labels, *fold, **options) for fold in folds]
    return per_fold, summarize_folds(per_fold)


def _check_features(features: str) -> None:
    if features not in FEATURES:
        raise ValueError(f"features must be one of {', '.join(FEATURES)}; got {features!r}")


def _scores(model, parts) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    metrics = {}
    for name, (x, truth) in parts.items():
        predicted = model.predict(x)
        metrics[f"{name}/acc"] = float(accuracy_score(truth, predicted))
        metrics[f"{name}/f1"] = float(f1_score(truth, predicted, average="macro"))
    return metrics
