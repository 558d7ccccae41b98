"""Train/val/test splits: stratified by class for labelled rows (once, or k-fold), contiguous for
one long text."""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence

import numpy as np

from rnnzoo.data.errors import DataError

SPLITS = ("train", "val", "test")


def check_fractions(fractions: Sequence[float]) -> np.ndarray:
    f = np.asarray(fractions, dtype=float)
    if f.shape != (3,) or (f < 0).any() or abs(f.sum() - 1) > 1e-6:
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got "
                         f"{tuple(fractions)}")
    return f / f.sum()


def label_sort_key(label):
    """Sort labels numerically when every label is an integer ("2" before "10")."""
    text = str(label)
    return (0, int(text), "") if text.lstrip("-").isdigit() else (1, 0, text)


def stratified_split(labels: Sequence[Hashable], fractions=(0.8, 0.1, 0.1),
                     seed: int = 0) -> tuple[list[int], list[int], list[int]]:
    """Indices of (train, val, test), each class divided in the given proportions.

    Each class is shuffled (a generator seeded by ``seed``) and cut by largest remainder; the
    rounding left over from one class is carried to the next, so the overall sizes also match
    the fractions to within one row. When a split would come out empty although it has a
    positive fraction and there are enough rows, one row moves into it from the largest split.
    """
    f = check_fractions(fractions)
    rng = np.random.default_rng(seed)
    members = defaultdict(list)
    for i, y in enumerate(labels):
        members[y].append(i)
    parts = [[], [], []]
    carry = np.zeros(3)
    for y in sorted(members, key=label_sort_key):
        rows = rng.permutation(members[y])
        want = f * len(rows) + carry
        take = np.floor(np.clip(want, 0, None)).astype(int)
        # Rows left over by rounding go to the splits furthest below their share.
        while take.sum() < len(rows):
            take[np.argmax(want - take)] += 1
        while take.sum() > len(rows):
            take[np.argmin(np.where(take > 0, want - take, np.inf))] -= 1
        carry = want - take
        for s, chunk in enumerate(np.split(rows, np.cumsum(take)[:-1])):
            parts[s].extend(int(i) for i in chunk)
    _fill_empty(parts, f, labels)
    return tuple(sorted(p) for p in parts)


def _fill_empty(parts: list[list[int]], f: np.ndarray, labels) -> None:
    wanted = [s for s in range(3) if f[s] > 0]
    for s in wanted:
        if parts[s]:
            continue
        donor = max(wanted, key=lambda d: (len(parts[d]), -d))
        if len(parts[donor]) < 2:
            return  # too few rows to give every split one
        counts = defaultdict(int)
        for i in parts[donor]:
            counts[labels[i]] += 1
        common = max(sorted(counts, key=label_sort_key), key=counts.__getitem__)
        row = max(i for i in parts[donor] if labels[i] == common)
        parts[donor].remove(row)
        parts[s].append(row)


def contiguous_split(array, fractions=(0.9, 0.05, 0.05)):
    """(train, val, test) as consecutive slices of ``array`` by position: views, not copies."""
    f = check_fractions(fractions)
    n = len(array)
    first, second = (np.round(np.cumsum(f)[:2] * n)).astype(int)
    return array[:first], array[first:second], array[second:]


def stratified_kfold(labels: Sequence[Hashable], folds: int = 10, seed: int = 0,
                     val_fraction: float = 0.1) -> list[tuple[list[int], list[int], list[int]]]:
    """(train, val, test) row indices for each of ``folds`` folds, as the small-data literature
    evaluates (Kim 2014: 10-fold cross-validation on MR).

    The test parts come from scikit-learn's ``StratifiedKFold(shuffle=True,
    random_state=seed)``: together they cover every row exactly once. Each fold's val part is
    then carved from its train part, ``val_fraction`` of it per class
    (:func:`stratified_split`), for early stopping and model choice; test is never looked at.
    """
    from sklearn.model_selection import StratifiedKFold

    if not isinstance(folds, (int, np.integer)) or folds < 2:
        raise ValueError(f"folds must be an integer of at least 2, got {folds!r}")
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    counts = Counter(labels)
    smallest = min(sorted(counts, key=label_sort_key), key=counts.__getitem__)
    if counts[smallest] < folds:
        # scikit-learn would only warn, and some test folds would miss the class
        raise DataError(f"the class {str(smallest)!r} has {counts[smallest]} rows, fewer than "
                        f"the {folds} folds; lower data.folds")
    y = np.asarray([str(label) for label in labels])
    splitter = StratifiedKFold(n_splits=int(folds), shuffle=True, random_state=seed)
    result = []
    for train_rows, test_rows in splitter.split(np.zeros(len(y)), y):
        keep, val, _ = stratified_split(y[train_rows].tolist(),
                                        (1 - val_fraction, val_fraction, 0.0), seed)
        result.append((sorted(int(train_rows[i]) for i in keep),
                       sorted(int(train_rows[i]) for i in val),
                       sorted(int(i) for i in test_rows)))
    return result
