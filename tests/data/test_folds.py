"""Stratified k-fold splits and the mean ± std of per-fold metrics."""
from collections import Counter

import pytest

from rnnzoo.baselines.metrics import MeanStd, format_summary, summarize_folds
from rnnzoo.data.errors import DataError
from rnnzoo.data.splits import stratified_kfold


def test_test_parts_cover_every_row_once_and_val_comes_from_train():
    labels = ["pos"] * 60 + ["neg"] * 40
    folds = stratified_kfold(labels, folds=5, seed=3, val_fraction=0.1)
    assert len(folds) == 5
    tests = sorted(i for _, _, test in folds for i in test)
    assert tests == list(range(100))
    for train, val, test in folds:
        assert not set(train) & set(val) and not set(train + val) & set(test)
        assert sorted(train + val + test) == list(range(100))
        assert Counter(labels[i] for i in test) == {"pos": 12, "neg": 8}  # stratified
        assert Counter(labels[i] for i in val) == {"pos": 5, "neg": 3}  # 10% of each class
        assert len(train) == 72


def test_seeded():
    labels = [i % 3 for i in range(60)]
    assert stratified_kfold(labels, 4, seed=1) == stratified_kfold(labels, 4, seed=1)
    assert stratified_kfold(labels, 4, seed=1) != stratified_kfold(labels, 4, seed=2)
    assert all(val == [] for _, val, _ in stratified_kfold(labels, 4, val_fraction=0.0))


def test_a_class_smaller_than_the_folds_is_one_line():
    with pytest.raises(DataError) as caught:
        stratified_kfold(["a"] * 20 + ["b"] * 3, folds=5)
    assert str(caught.value) == "the class 'b' has 3 rows, fewer than the 5 folds; lower " \
                                "data.folds"
    with pytest.raises(ValueError, match="at least 2"):
        stratified_kfold(["a", "b"] * 5, folds=1)


def test_summary_is_mean_and_sample_std():
    summary = summarize_folds([{"test/acc": 0.7, "test/f1": 0.6}, {"test/acc": 0.8},
                               {"test/acc": 0.9, "test/f1": 0.8}])
    acc, f1 = summary["test/acc"], summary["test/f1"]
    assert (acc.mean, acc.std, acc.n) == (pytest.approx(0.8), pytest.approx(0.1), 3)
    assert (f1.mean, f1.std, f1.n) == (pytest.approx(0.7), pytest.approx(0.1414, abs=1e-4), 2)
    assert str(acc) == "0.800 ± 0.100"
    assert format_summary(summary) == "test/acc 0.800 ± 0.100, test/f1 0.700 ± 0.141 (3 folds)"
    assert summarize_folds([{"a": 0.5}])["a"] == MeanStd(0.5, 0.0, 1)
    assert summary["test/acc"].to_dict() == {"mean": acc.mean, "std": acc.std, "n": 3}
