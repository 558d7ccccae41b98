"""Run the speed benchmark over a grid of configurations: what ``scripts/benchmark.py`` calls.

Implementations (``impls``):

- ``custom``: rnnzoo's cell on its fast path (explicit BPTT with the native loops on the CPU,
  or the parallel scan for minGRU/minLSTM);
- ``custom_py``: the same with the native loops turned off (the Python explicit-BPTT loops);
- ``autograd``: rnnzoo's cell through the plain autograd loop over ``recur``;
- ``torch``: torch.nn.RNN/LSTM/GRU (cells torch.nn lacks are skipped).

Modes: ``forward`` (inference, under ``torch.inference_mode``) and ``train`` (forward, then
backward from a fixed random output gradient; the input requires grad, as behind an
embedding, and parameter gradients are reset to None before each call, as an optimizer's
``zero_grad`` does).
"""
from __future__ import annotations

import itertools
import logging
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

import rnnzoo
from rnnzoo.bench import machine, measure, report
from rnnzoo.bench.flops import gate_blocks, gemm_flops
from rnnzoo.layers.builder import TWINS
from rnnzoo.cells import resolve_cell_name
from rnnzoo.utils.io import write_text
from rnnzoo.kernels import native

log = logging.getLogger(__name__)

IMPLS = ("custom", "custom_py", "autograd", "torch")
MODES = ("forward", "train")
DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16,
          "bfloat16": torch.bfloat16}


@dataclass(frozen=True)
class Config:
    cell: str
    device: str
    dtype: str
    T: int
    B: int
    I: int
    H: int
    layers: int
    bidirectional: bool
    mode: str

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, (str, int, float, bool)):
        return [value]
    return list(value)


def shapes_of(cfg) -> list[tuple[int, int, int, int]]:
    """(T, B, I, H) to run: ``shapes`` when given, else the product of the four size lists."""
    if cfg.get("shapes"):
        return [tuple(int(v) for v in shape) for shape in cfg.shapes]
    return list(itertools.product(*(map(int, _as_list(cfg[k])) for k in
                                    ("seq_lens", "batches", "input_sizes", "hidden_sizes"))))


def configs_of(cfg) -> list[Config]:
    configs = []
    for device in _as_list(cfg.device):
        if device.startswith("cuda") and not torch.cuda.is_available():
            log.warning("skipping device %s: CUDA is not available", device)
            continue
        for dtype, cell, shape, layers, mode in itertools.product(
                _as_list(cfg.dtype), _as_list(cfg.cells), shapes_of(cfg),
                _as_list(cfg.layers), _as_list(cfg.modes)):
            if mode not in MODES:
                raise ValueError(f"unknown mode {mode!r}; choose from {MODES}")
            configs.append(Config(resolve_cell_name(cell), device, dtype, *shape, int(layers),
                                  bool(cfg.get("bidirectional", False)), mode))
    return configs


def supports(impl: str, cell: str) -> bool:
    if impl not in IMPLS:
        raise ValueError(f"unknown impl {impl!r}; choose from {IMPLS}")
    return impl != "torch" or cell in TWINS


def make_call(config: Config, impl: str, seed: int = 0) -> Callable[[], None]:
    """A closure running one forward (or training) call of ``impl`` on ``config``."""
    device, dtype = torch.device(config.device), DTYPES[config.dtype]
    torch.manual_seed(seed)
    model = rnnzoo.build_rnn(config.cell, config.I, config.H,
                             impl="custom" if impl == "custom_py" else impl,
                             num_layers=config.layers, bidirectional=config.bidirectional,
                             device=device, dtype=dtype)
    train = config.mode == "train"
    model.train(train)
    x = torch.randn(config.T, config.B, config.I, device=device, dtype=dtype, requires_grad=train)
    directions = 2 if config.bidirectional else 1
    grad_out = torch.randn(config.T, config.B, directions * config.H, device=device, dtype=dtype)
    native_on = impl != "custom_py"

    def forward():
        with native.use_native(native_on), torch.inference_mode():
            model(x)

    def train_step():
        with native.use_native(native_on):
            model.zero_grad(set_to_none=True)
            x.grad = None
            out, _ = model(x)
            out.backward(grad_out)

    return train_step if train else forward


def set_allocator(name: str) -> str:
    """Apply the ``allocator`` option (see rnnzoo.bench.measure) once, before measuring."""
    if name == "default":
        return "default"
    if name == "retain":
        if measure.retain_freed_memory():
            return "retain (glibc mallopt: M_MMAP_MAX=0, M_TRIM_THRESHOLD=2^31-1)"
        log.warning("allocator=retain is not supported here (glibc only); using the default")
        return "default (retain unsupported)"
    raise ValueError(f"unknown allocator {name!r}; choose default or retain")


def machine_facts(cfg) -> dict:
    """What the run's results depend on besides the code: the machine (its fingerprint keys the
    speed baseline, see rnnzoo.bench.machine), torch and the benchmark's settings."""
    threads = int(cfg.threads)
    facts = {"torch": torch.__version__, "python": platform.python_version(),
             "platform": platform.platform(), "threads": threads,
             "native": native.available() if "custom" in _as_list(cfg.impls) else None,
             "allocator": str(cfg.get("allocator", "default")),
             "cpu": machine.cpu_model(), "vector_width": machine.vector_width(),
             "machine": machine.facts(threads), "fingerprint": machine.fingerprint(threads)}
    if torch.cuda.is_available():
        facts["cuda_device"] = torch.cuda.get_device_name()
    return facts


def run_benchmark(cfg) -> list[dict]:
    """Measure every configuration of ``cfg`` (see conf/benchmark.yaml); returns the rows.
    Runs with ``cfg.threads`` torch threads and gives the caller back its own count."""
    previous = torch.get_num_threads()
    torch.set_num_threads(int(cfg.threads))
    try:
        return _measure_all(cfg)
    finally:
        torch.set_num_threads(previous)


def _measure_all(cfg) -> list[dict]:
    threads = int(cfg.threads)
    allocator = set_allocator(str(cfg.get("allocator", "default")))
    impls = _as_list(cfg.impls)
    rows: list[dict] = []
    peaks: dict[tuple, float] = {}
    for config in configs_of(cfg):
        calls = {impl: make_call(config, impl, int(cfg.get("seed", 0)))
                 for impl in impls if supports(impl, config.cell)}
        if not calls:
            log.warning("no implementation of %s to run", config.cell)
            continue
        log.info("measuring %s", config)
        times = measure.time_calls(calls, threads=threads, min_run_time=float(cfg.min_run_time),
                                   rounds=int(cfg.rounds),
                                   idle_wait_s=float(cfg.get("idle_wait_s", 0)))
        flops = gemm_flops(config.cell, config.T, config.B, config.I, config.H,
                           layers=config.layers, bidirectional=config.bidirectional,
                           mode=config.mode)
        peak = None
        if cfg.get("gemm_reference", True):
            blocks = gate_blocks(config.cell)
            key = (config.device, config.dtype, config.T * config.B, config.H, blocks)
            if key not in peaks:  # the best of three, each after the machine went quiet
                rates = []
                for _ in range(3):
                    measure.wait_until_idle(float(cfg.get("idle_wait_s", 0)))
                    rates.append(measure.gemm_rate(config.T * config.B, config.H,
                                                   blocks * config.H, device=config.device,
                                                   dtype=DTYPES[config.dtype], threads=threads))
                peaks[key] = max(rates)
            peak = peaks[key]
        tokens = config.T * config.B
        for impl, call in calls.items():
            stats = measure.summarize(times[impl])
            seconds = stats["median_ms"] / 1e3
            gflops = flops / seconds / 1e9
            mem = measure.peak_memory_mb(call, config.device) if cfg.get("memory", True) else None
            rows.append({"kind": "speed", **config.as_dict(), "impl": impl, "threads": threads,
                         "allocator": allocator.split(" ")[0],
                         **stats,
                         "tokens_per_s": tokens / seconds,
                         "us_per_token": stats["median_ms"] * 1e3 / tokens,
                         "gflops": gflops,
                         "gemm_peak_gflops": peak,
                         "roofline_frac": None if peak is None else gflops / peak,
                         "peak_mem_mb": mem,
                         "kb_per_token": None if mem is None else mem * 1024 / tokens})
    report.add_ratios(rows)
    return rows


def write_outputs(rows: list[dict], out_dir, meta: dict | None = None, plots: bool = True) -> dict[str, Path]:
    """results.json, results.md and (with ``plots``) time_per_token.png and ratio.png."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"json": report.write_results(out_dir / "results.json", rows, meta),
             "markdown": write_text(out_dir / "results.md", report.markdown_report(rows, meta) + "\n")}
    if plots:
        for path in report.plot(rows, out_dir):
            files[path.stem] = path
    return files


def command_line() -> str:
    return " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:])
