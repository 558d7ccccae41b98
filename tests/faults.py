"""Faults on purpose, as callbacks a test adds to a run: ``fault("pause", step=5)`` is the
override ``+callbacks.fault_pause={_target_:tests.faults.Pause,step:5}``, for ``train.py`` run
in this process or as a subprocess (from the repository root, where ``tests`` imports).

A fault fires in a fresh run only: a resumed run (``resume=...`` re-applies the overrides its
run was started with) goes on untouched.
"""
from __future__ import annotations

import signal
import sys
import time

import lightning as L
import torch
from torch.utils.data import Dataset

from rnnzoo.errors import DataError


def fault(name: str, **arguments) -> str:
    """The override that adds fault ``name`` (a class below, lower-cased) to a run."""
    cls = {"pause": "Pause", "crash": "Crash", "nan_loss": "PoisonBatch", "data_error": "BadItem"}[name]
    values = ",".join(f"{k}:{v}" for k, v in arguments.items())
    return f"+callbacks.fault_{name}={{_target_:tests.faults.{cls},{values}}}"


def _fresh(trainer) -> bool:
    return trainer.ckpt_path is None


class InjectedCrash(BaseException):
    """A crash on purpose (BaseException: nothing on the way catches it as an error)."""


class Pause(L.Callback):
    """Once ``step`` optimiser steps are done (and the checkpoint due then is written), print
    ``rnnzoo-inject: paused at step S`` and wait for a signal, so that a test can kill or
    signal the process right there; a handled signal (SIGTERM, SIGINT) ends the pause."""

    def __init__(self, step: int):
        self.step = step

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == self.step and _fresh(trainer):
            _pause_until_signal(self.step)


class Crash(L.Callback):
    """Raise :class:`InjectedCrash` once ``step`` optimiser steps are done."""

    def __init__(self, step: int):
        self.step = step

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == self.step and _fresh(trainer):
            raise InjectedCrash(f"injected crash after step {self.step}")


class PoisonBatch(L.Callback):
    """The batches of the given global steps become NaN (a poisoned batch: its loss is NaN)."""

    def __init__(self, steps):
        self.steps = {int(s) for s in (steps if isinstance(steps, (list, tuple)) else [steps])}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step in self.steps and _fresh(trainer):
            for value in batch.values():
                if torch.is_floating_point(value):
                    value.mul_(float("nan"))


class BadItem(L.Callback):
    """Reading item ``index`` of the training set raises a DataError (in a loader worker when
    ``data.num_workers`` > 0)."""

    def __init__(self, index: int):
        self.index = index

    def setup(self, trainer, pl_module, stage):
        splits = trainer.datamodule.splits
        if stage == "fit" and not isinstance(splits["train"], _Faulty):
            splits["train"] = _Faulty(splits["train"], self.index)


class _Faulty(Dataset):
    def __init__(self, dataset: Dataset, bad: int):
        self.dataset, self.bad = dataset, bad

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        if index == self.bad:
            raise DataError(f"item {index} cannot be read (injected fault)", "<injected>", index + 1)
        return self.dataset[index]


def _pause_until_signal(step: int) -> None:
    """Sleep until SIGTERM or SIGINT has been handled (by whatever handler is installed).
    Short sleeps, not signal.pause(): another thread may take the signal, and Python runs the
    handler in the main thread at its next chance."""
    woken, previous = [], {}

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
