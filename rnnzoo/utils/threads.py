"""How many threads each training process gives torch, so that processes sharing a machine do
not oversubscribe its cores.

torch's default is one thread per core in every process. Two processes on a 2-core machine then
run four threads on two cores; their OpenMP threads spin at each barrier waiting for a partner
that is descheduled, and measured at (T=100, B=32, I=64, H=128) an LSTM training step went from
15-21 ms alone to 72-113 ms each with two at once. Several training processes on one machine
come from DDP on the CPU (one per device), so a DDP run on the CPU gives each process its share
of the cores. Data-loading workers already run one thread each (PyTorch's DataLoader sets it).
Runs you start side by side yourself (two terminals, a parallel sweep launcher): set
``threads=`` (or OMP_NUM_THREADS) to cores / processes.
"""
from __future__ import annotations

import os
from typing import Any

import torch


def cpu_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def local_processes(trainer: dict[str, Any]) -> int:
    """The training processes this run starts on this machine: DDP on the CPU starts one per
    device; anything else (one process, or DDP on GPUs, whose work is on the devices) one."""
    strategy, accelerator = str(trainer.get("strategy", "auto")), str(trainer.get("accelerator", "auto"))
    devices = trainer.get("devices", 1)
    on_cpu = accelerator == "cpu" or (accelerator == "auto" and not torch.cuda.is_available())
    if not strategy.startswith("ddp") or not on_cpu or not isinstance(devices, int) or devices < 1:
        return 1
    return devices


def threads_for(requested: int | None, trainer: dict[str, Any]) -> int | None:
    """The thread count to set: ``requested`` when given; else the cores shared out between
    the local processes when there are several; else None (torch's own default)."""
    if requested is not None:
        return int(requested)
    processes = local_processes(trainer)
    return max(1, cpu_cores() // processes) if processes > 1 else None


def apply_threads(requested: int | None, trainer: dict[str, Any]) -> int:
    """Set torch's intra-op threads for this process; returns the count in force."""
    threads = threads_for(requested, trainer)
    if threads is not None and threads != torch.get_num_threads():
        torch.set_num_threads(threads)
    return torch.get_num_threads()
