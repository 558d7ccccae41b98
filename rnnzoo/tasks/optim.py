"""A system's optimiser and learning-rate schedule, from the config's ``_partial_`` entries.

``conf/optimizer/<name>.yaml`` and ``conf/scheduler/<name>.yaml`` each name their class
(``_target_: torch.optim.Adam``) and its arguments, so adding one is one file; the system calls
them with what only the run knows: the parameters, the optimiser, the schedule's length.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import partial
from typing import Any

import torch
from torch.optim.lr_scheduler import ReduceLROnPlateau

#: scheduler arguments that are the schedule's length: the run's optimiser steps unless given
LENGTH = ("T_max", "total_steps")


def build_optimizer(make: Callable[..., torch.optim.Optimizer], parameters) -> torch.optim.Optimizer:
    return make(parameters)


def build_scheduler(make: Callable | None, optimizer, *, interval: str, total_steps: Callable[[], int],
                    monitor: str, mode: str) -> dict[str, Any] | None:
    """A Lightning lr_scheduler dict, or None without a schedule. A plateau schedule watches the
    task's monitored metric (and its mode); ``total_steps()`` is asked only for a schedule
    whose length the config leaves out."""
    if make is None:
        return None
    cls = make.func if isinstance(make, partial) else make
    given = set(make.keywords) if isinstance(make, partial) else set()
    accepts = inspect.signature(cls).parameters
    extra = {k: max(1, total_steps()) for k in LENGTH if k in accepts and k not in given}
    plateau = isinstance(cls, type) and issubclass(cls, ReduceLROnPlateau)
    if plateau and "mode" not in given:
        extra["mode"] = mode
    scheduler = {"scheduler": make(optimizer, **extra), "interval": interval}
    if plateau:
        scheduler["monitor"] = monitor
    return scheduler
