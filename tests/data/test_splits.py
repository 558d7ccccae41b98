"""Stratified and contiguous splits: proportions, determinism, no empty split, no copies."""
from collections import Counter

import numpy as np
import pytest

from rnnzoo.data.splits import contiguous_split, stratified_split


def test_each_class_is_split_in_proportion():
    labels = ["a"] * 500 + ["b"] * 300 + ["c"] * 37 + ["d"] * 3
    train, val, test = stratified_split(labels, (0.8, 0.1, 0.1), seed=0)
    assert sorted(train + val + test) == list(range(len(labels)))  # a partition
    for part, share in ((train, 0.8), (val, 0.1), (test, 0.1)):
        per_class = Counter(labels[i] for i in part)
        for y, n in Counter(labels).items():
            assert abs(per_class[y] - share * n) < 1 + 1e-9, (y, per_class[y], share * n)
        assert abs(len(part) - share * len(labels)) <= 1
    assert (len(train), len(val), len(test)) == (672, 84, 84)


def test_seeded_and_only_by_the_seed():
    labels = [i % 3 for i in range(90)]
    assert stratified_split(labels, seed=1) == stratified_split(labels, seed=1)
    assert stratified_split(labels, seed=1) != stratified_split(labels, seed=2)
    np.random.seed(0)
    first = stratified_split(labels, seed=5)
    np.random.seed(123)  # the global state must not matter
    assert stratified_split(labels, seed=5) == first


@pytest.mark.parametrize("labels", [[0, 1, 1], [0] * 4 + [1], ["x"] * 5, [0, 0, 1, 1, 2, 2]])
def test_every_split_gets_a_row_when_there_are_enough(labels):
    parts = stratified_split(labels, (0.8, 0.1, 0.1), seed=0)
    assert all(parts) and sorted(sum(parts, [])) == list(range(len(labels)))


def test_zero_fraction_and_too_few_rows():
    assert stratified_split([0, 1, 0, 1], (1.0, 0.0, 0.0)) == ([0, 1, 2, 3], [], [])
    train, val, test = stratified_split([0, 1], (0.8, 0.1, 0.1))
    assert len(train) + len(val) + len(test) == 2 and len(train) >= 1
    with pytest.raises(ValueError, match="three non-negative numbers summing to 1"):
        stratified_split([0, 1], (0.8, 0.3, 0.1))


def test_contiguous_split_is_three_views_in_order():
    ids = np.arange(1000, dtype=np.uint16)
    train, val, test = contiguous_split(ids, (0.9, 0.05, 0.05))
    assert (len(train), len(val), len(test)) == (900, 50, 50)
    assert all(np.shares_memory(part, ids) for part in (train, val, test))
    assert np.array_equal(np.concatenate([train, val, test]), ids)
