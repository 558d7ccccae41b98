"""How the benchmark times a call and measures its peak memory.

Time: ``torch.utils.benchmark.Timer.blocked_autorange`` (which synchronises CUDA around every
block), after two warm-up calls. The implementations being compared are measured in turns,
several rounds each (A B A B ...), and each one's runs are pooled: a shared machine's slow
phases then land on all of them alike, so their ratio stays meaningful. Reported: the median
and the interquartile range of the pooled per-call times.

Allocator: glibc's malloc hands big freed blocks back to the system (munmap, or trimming
the heap top) and every later call then page-faults its buffers in again, which on a VM costs
microseconds per 4 KiB page: for a training step at T=100, B=32, H=128 it is a third of the
time, and the heuristics that decide it depend on the sizes of past allocations, so two
implementations with different buffer sizes are hit differently. ``allocator=retain``
(:func:`retain_freed_memory`) sets ``M_MMAP_MAX=0`` and a huge ``M_TRIM_THRESHOLD`` with
``mallopt`` at the start of the run, for every implementation alike: freed memory stays in
the process and is reused, as jemalloc or tcmalloc (which PyTorch's CPU performance guide
recommends) would do. ``allocator=default`` measures glibc as it comes.

Peak memory of one call, on top of what was allocated before it:

- CUDA: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats`` (tensors only).
- CPU (Linux): the resident-set high-water mark. Before the call, ``malloc_trim`` hands the C
  allocator's free pages back to the system and writing "5" to ``/proc/self/clear_refs``
  resets the mark (VmHWM) to the current size, so ``VmHWM - VmRSS`` after the call is
  everything the call touched at its peak: tensors, but also oneDNN's and the allocator's own
  buffers, which a tensor-level count (the profiler's) would miss for torch.nn.LSTM. Elsewhere
  it is not measured (NaN).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import math
import os
import sys
import time
from typing import Callable

import numpy as np
import torch
from torch.utils import benchmark


def _cpu_ticks() -> tuple[int, int, int]:
    """(busy, total) jiffies of the whole machine and this process's own busy jiffies."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    with open("/proc/self/stat") as own:
        parts = own.read().rsplit(")", 1)[1].split()
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields), int(parts[11]) + int(parts[12])


def wait_until_idle(max_wait_s: float, busy_fraction: float = 0.15, quiet_s: float = 2.0) -> float:
    """Wait (at most ``max_wait_s``) until other processes have used under ``busy_fraction``
    of the machine's CPU for ``quiet_s`` seconds; returns the seconds waited. For shared
    machines, where another job's threads would otherwise land in the middle of a round."""
    if max_wait_s <= 0 or not os.path.exists("/proc/stat"):
        return 0.0
    start = time.monotonic()
    quiet_since = None
    while time.monotonic() - start < max_wait_s:
        busy0, total0, own0 = _cpu_ticks()
        time.sleep(0.5)
        busy1, total1, own1 = _cpu_ticks()
        others = (busy1 - busy0) - (own1 - own0)
        if total1 > total0 and others < busy_fraction * (total1 - total0):
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= quiet_s:
                break
        else:
            quiet_since = None
    return time.monotonic() - start


def time_calls(calls: dict[str, Callable[[], object]], *, threads: int, min_run_time: float,
               rounds: int, idle_wait_s: float = 0.0) -> dict[str, list[float]]:
    """Per-call times in seconds of every callable, measured in interleaved rounds (each
    round starting when the machine is idle, if ``idle_wait_s`` > 0)."""
    for call in calls.values():  # warm-up: lazy initialisation, caches, the native build
        call()
        call()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(max(1, rounds)):
        wait_until_idle(idle_wait_s)
        for name, call in calls.items():
            timer = benchmark.Timer("call()", globals={"call": call}, num_threads=threads)
            times[name] += list(timer.blocked_autorange(min_run_time=min_run_time).times)
    return times


def summarize(times: list[float]) -> dict[str, float]:
    """median_ms, iqr_ms and min_ms of per-call times in seconds."""
    values = np.asarray(times) * 1e3
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    return {"median_ms": float(median), "iqr_ms": float(q3 - q1), "min_ms": float(values.min()),
            "runs": int(values.size)}


def gemm_rate(rows: int, inner: int, cols: int, *, device, dtype, threads: int,
              min_run_time: float = 0.2) -> float:
    """The machine's matrix-multiply rate in GFLOP/s for a (rows, inner) @ (inner, cols) GEMM."""
    a = torch.randn(rows, inner, device=device, dtype=dtype)
    b = torch.randn(inner, cols, device=device, dtype=dtype)
    # into a preallocated output: a fresh one per call would time glibc's page faults (big
    # blocks are mmap'd and returned on free), not the multiply
    c = torch.empty(rows, cols, device=device, dtype=dtype)
    timer = benchmark.Timer("torch.mm(a, b, out=c)", globals={"torch": torch, "a": a, "b": b, "c": c},
                            num_threads=threads)
    timer.timeit(2)  # warm-up
    # the fastest run: the machine's rate, not how busy it happened to be
    best = min(timer.blocked_autorange(min_run_time=min_run_time).times)
    return 2 * rows * inner * cols / best / 1e9


# ---- peak memory ------------------------------------------------------------------------------
def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    raise KeyError(field)


def _libc():
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name) if name else None


M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # glibc's mallopt parameters


def retain_freed_memory() -> bool:
    """Make glibc's malloc keep freed memory for reuse (see above); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    libc = _libc()
    if libc is None or not hasattr(libc, "mallopt"):
        return False
    return bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(libc.mallopt(M_TRIM_THRESHOLD, 2**31 - 1))


def rss_peak_supported() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        _status_mb("VmHWM")
        return True
    except OSError:
        return False


def peak_memory_mb(call: Callable[[], object], device) -> float:
    """The peak memory of one ``call`` beyond what was in use before it, in MiB (see above)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        call()
        torch.cuda.synchronize(device)
        return (torch.cuda.max_memory_allocated(device) - before) / 2**20
    if device.type != "cpu" or not rss_peak_supported():
        return math.nan
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # VmHWM := VmRSS
    before = _status_mb("VmRSS")
    call()
    return max(0.0, _status_mb("VmHWM") - before)
