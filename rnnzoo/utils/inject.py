"""Faults on purpose, for the tests: ``RNNZOO_INJECT="nan_loss@3,data_error@5,pause@7"``.

Unset (always, outside the tests) every hook here is a no-op. Each entry is ``name@value``:

- ``nan_loss@S``: the training loss of global step S is NaN (a poisoned batch);
- ``data_error@I``: reading item I of the training set raises a DataError (in a loader worker
  when ``data.num_workers`` > 0);
- ``pause@S``: after step S has finished (and its checkpoint, if one is due, is written), print
  ``rnnzoo-inject: paused at step S`` and wait for a signal, so a test can kill or signal the
  process right there (a handled signal, SIGTERM say, ends the pause);
- ``crash@S``: at the same point raise :class:`InjectedCrash`, a crash a test can catch in
  the same process (the checkpoints on disk are all a resume sees either way).
"""
from __future__ import annotations

import os
import signal
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


class InjectedCrash(BaseException):
    """A crash on purpose (BaseException: nothing on the way catches it as an error)."""


def after_step(step: int) -> None:
    if step in injected("crash"):
        raise InjectedCrash(f"injected crash after step {step}")
    if step in injected("pause"):
        _pause_until_signal(step)


def _pause_until_signal(step: int) -> None:
    """Sleep until SIGTERM or SIGINT has been handled (by whatever handler is installed).
    Short sleeps, not signal.pause(): another thread may take the signal, and Python runs the
    handler in the main thread at its next chance."""
    woken = []
    previous = {}

    def wake(signum, frame):
        woken.append(signum)
        handler = previous[signum]
        if callable(handler):
            handler(signum, frame)

    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, wake)
    try:
        print(f"rnnzoo-inject: paused at step {step}", file=sys.stderr, flush=True)
        while not woken:
            time.sleep(0.05)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
