"""Faults on purpose, for the tests: ``RNNZOO_INJECT="nan_loss@3,data_error@5,pause@7"``.

Unset (always, outside the tests) every hook here is a no-op. Each entry is ``name@value``:

- ``nan_loss@S``: the training loss of global step S is NaN (a poisoned batch);
- ``data_error@I``: reading item I of the training set raises a DataError (in a loader worker
  when ``data.num_workers`` > 0);
- ``pause@S``: after step S has finished (and its checkpoint, if one is due, is written), print
  ``rnnzoo-inject: paused at step S`` and sleep, so a test can kill the process right there.
"""
from __future__ import annotations

import os
import sys
import time

from torch.utils.data import Dataset

ENV = "RNNZOO_INJECT"


def injected(name: str) -> set[int]:
    """The values given for ``name`` in $RNNZOO_INJECT (empty when none)."""
    values = set()
    for entry in os.environ.get(ENV, "").split(","):
        key, _, value = entry.strip().partition("@")
        if key == name and value:
            values.add(int(value))
    return values


def faulty_dataset(dataset: Dataset) -> Dataset:
    bad = injected("data_error")
    return _FaultyDataset(dataset, bad) if bad else dataset


class _FaultyDataset(Dataset):
    def __init__(self, dataset: Dataset, bad: set[int]):
        self.dataset, self.bad = dataset, bad

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        if index in self.bad:
            from rnnzoo.data.errors import DataError

            raise DataError(f"item {index} cannot be read (injected fault)", "<injected>", index + 1)
        return self.dataset[index]


def maybe_pause(step: int) -> None:
    if step in injected("pause"):
        print(f"rnnzoo-inject: paused at step {step}", file=sys.stderr, flush=True)
        time.sleep(600)
