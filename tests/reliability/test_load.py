"""char_lm on a large text file: encoded once into a memory-mapped cache, training starts in
seconds and memory does not grow with the file's size. Prints the figures (no timed asserts):

    .venv/bin/python -m pytest -m slow -s tests/reliability/test_load.py
    .venv/bin/python -m tests.reliability.test_load          # the same table, without pytest
"""
from __future__ import annotations

import signal
import sys
import tempfile
import time
from pathlib import Path

import pytest

from rnnzoo.data.corpus import builtin_corpus, open_text_file
from tests.faults import fault
from tests.reliability.common import QUIET, start

ARGS = ["task=char_lm", "cell=lstm", "cell.hidden_size=128", "task.seq_len=100",
        "task.batch_size=32", *QUIET]


def make_text(path: Path, megabytes: int) -> None:
    block = builtin_corpus(2_000_000).encode("utf-8")
    with open(path, "wb") as f:
        written = 0
        while written < megabytes * 1_000_000:
            f.write(block)
            written += len(block)


def first_step(path: Path, cache: Path, run_dir: Path) -> tuple[float, float]:
    """(seconds from launch to the end of training step 1, peak RSS in MB at that point)."""
    began = time.perf_counter()
    process = start(*ARGS, f"data.path={path}", f"data.cache_dir={cache}", f"run_dir={run_dir}",
                    fault("pause", step=1))
    for line in process.stderr:
        if "paused at step 1" in line:
            break
    else:
        raise AssertionError(f"the run ended early (exit {process.wait()})")
    seconds = time.perf_counter() - began
    status = Path(f"/proc/{process.pid}/status").read_text()
    peak = int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1])
    process.send_signal(signal.SIGKILL)
    process.wait()
    return seconds, peak / 1024


def open_seconds(text: Path, cache: Path) -> float:
    began = time.perf_counter()
    open_text_file(text, min_length=101, cache_dir=cache)
    return time.perf_counter() - began


def measure(folder: Path, sizes=(10, 100)) -> list[dict]:
    rows = []
    for megabytes in sizes:
        text = folder / f"corpus_{megabytes}mb.txt"
        make_text(text, megabytes)
        cache = folder / "cache"
        cold = first_step(text, cache, folder / f"run_{megabytes}_cold")
        warm = first_step(text, cache, folder / f"run_{megabytes}_warm")
        # the data layer alone, in this process: encoding into a fresh cache, then opening it
        encode = open_seconds(text, folder / "cache2")
        reopen = open_seconds(text, folder / "cache2")
        rows.append({"MB": text.stat().st_size / 1e6, "cold_s": cold[0], "cold_rss_mb": cold[1],
                     "warm_s": warm[0], "warm_rss_mb": warm[1], "encode_s": encode,
                     "open_s": reopen})
    return rows


def report(rows: list[dict]) -> str:
    lines = ["file | train.py to step 1, first run (s) | peak RSS (MB) | "
             "to step 1, cached (s) | peak RSS (MB) | encode (s) | open cached (s)",
             "---|---|---|---|---|---|---"]
    for r in rows:
        lines.append(f"{r['MB']:.0f} MB | {r['cold_s']:.1f} | {r['cold_rss_mb']:.0f} | "
                     f"{r['warm_s']:.1f} | {r['warm_rss_mb']:.0f} | {r['encode_s']:.2f} | "
                     f"{r['open_s']:.3f}")
    return "\n".join(lines)


@pytest.mark.slow
def test_large_text_starts_fast_in_flat_memory(tmp_path):
    rows = measure(tmp_path)
    print("\n" + report(rows))
    small, large = rows
    # memory, not time: ten times the text may not cost anything like ten times the memory
    assert large["warm_rss_mb"] < small["warm_rss_mb"] + 100
    assert large["cold_rss_mb"] < small["cold_rss_mb"] + 150


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        print(report(measure(Path(folder), tuple(int(a) for a in sys.argv[1:]) or (10, 100))))
