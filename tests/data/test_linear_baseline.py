"""The tf-idf + logistic regression baseline: fitted on train only, scored on val and test."""
import pytest

from rnnzoo.baselines.linear import linear_baseline, linear_baseline_folds, linear_baseline_name
from rnnzoo.data.splits import stratified_kfold

GOOD = ["a great film", "lovely and fun", "great fun", "a lovely story", "fun , great cast"]
BAD = ["a dull film", "boring and slow", "dull plot", "a boring story", "slow , dull cast"]
TEXTS = [f"{t} {i}" for i in range(4) for t in GOOD + BAD]
LABELS = (["pos"] * 5 + ["neg"] * 5) * 4


@pytest.mark.parametrize("features", ["word", "char"])
def test_separable_words_score_perfectly(features):
    train, val, test = list(range(20)), list(range(20, 30)), list(range(30, 40))
    scores = linear_baseline(TEXTS, LABELS, train, val, test, features=features)
    assert scores["val/acc"] == scores["test/acc"] == scores["test/f1"] == 1.0
    assert scores["C"] == 1.0  # all tie on val: the smallest C is kept


def test_fixed_c_only_the_parts_given_and_test_plays_no_part():
    flipped = LABELS[:30] + ["neg" if y == "pos" else "pos" for y in LABELS[30:]]
    scores = linear_baseline(TEXTS, flipped, list(range(30)), test=list(range(30, 40)), C=5.0)
    assert set(scores) == {"test/acc", "test/f1", "C"} and scores["C"] == 5.0
    assert scores["test/acc"] == 0.0  # the model learnt from train, not from test's labels


def test_over_folds_and_its_name():
    folds = stratified_kfold(LABELS, folds=4, seed=0, val_fraction=0.2)
    per_fold, summary = linear_baseline_folds(TEXTS, LABELS, folds, C=10.0)
    assert len(per_fold) == 4 and summary["test/acc"].n == 4
    assert summary["test/acc"].mean == pytest.approx(1.0)
    assert linear_baseline_name("char") == "tf-idf char 2-5-grams + logistic regression"
    with pytest.raises(ValueError, match="features must be one of word, char"):
        linear_baseline_name("bpe")
