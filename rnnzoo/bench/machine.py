"""Which machine a speed measurement comes from: the fingerprint that speed baselines are keyed by.

A custom/torch time ratio measured side by side is stable on one machine, but not across CPU
models: the per-step GEMM that dominates a recurrent layer runs in oneDNN's kernels for
torch.nn and in MKL's for rnnzoo, and how far apart those are depends on the vendor and the
vector width. So a speed result is only ever compared with a baseline from a machine with the
same fingerprint: the CPU model, its vector instruction sets, the core count, the torch build
and the thread count the benchmark ran with.
"""
from __future__ import annotations

import hashlib
import os
import platform
import re
from pathlib import Path

import torch

#: the instruction-set flags (of /proc/cpuinfo) that decide which kernels torch and rnnzoo run
VECTOR_FLAGS = ("avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16",
                "amx_tile", "amx_bf16", "asimd", "sve")


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo ({} where there is none)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    fields = {}
    for line in text.split("\n\n", 1)[0].splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            fields.setdefault(key.strip(), value.strip())
    return fields


def cpu_model() -> str:
    info = _cpuinfo()
    return info.get("model name") or platform.processor() or platform.machine()


def vector_flags() -> list[str]:
    flags = set((_cpuinfo().get("flags") or _cpuinfo().get("Features") or "").split())
    return [flag for flag in VECTOR_FLAGS if flag in flags]


def vector_width() -> int:
    """The widest SIMD registers the CPU has, in bits (what the benchmark prints beside the CPU)."""
    flags = set(vector_flags())
    if "avx512f" in flags:
        return 512
    if flags & {"avx", "avx2"}:
        return 256
    return 128


def facts(threads: int) -> dict:
    """The fields that make the fingerprint, readable."""
    return {"cpu": cpu_model(), "vector_flags": vector_flags(), "vector_width": vector_width(),
            "cores": os.cpu_count(), "torch": torch.__version__, "threads": int(threads)}


def fingerprint(threads: int) -> str:
    """A file-name-safe id of this machine for a benchmark run with ``threads`` threads, e.g.
    ``amd-epyc-2c-512b-t2-torch2.13.0-1f3a9c02``; the hash covers every field of :func:`facts`."""
    f = facts(threads)
    digest = hashlib.sha256(repr(sorted(f.items())).encode()).hexdigest()[:8]
    name = re.sub(r"\(r\)|\(tm\)|cpu|processor|@.*$", "", f["cpu"].lower())
    name = re.sub(r"[^a-z0-9]+", "-", name).strip("-")[:40] or "cpu"
    return f"{name}-{f['cores']}c-{f['vector_width']}b-t{f['threads']}-torch{f['torch']}-{digest}"
