"""RTRL against BPTT: memory and time per time step, for a few hidden sizes.

    python scripts/rtrl_benchmark.py                      # Elman (tanh), H = 8 .. 128
    python scripts/rtrl_benchmark.py --cell gru --hidden 8 16 32 64

Both compute the gradient of sum_t L_t for one cell + linear head + cross entropy, on the
same random sequence. RTRL's memory is its sensitivity tensor S (batch x H x P numbers, P the
recurrent parameters); BPTT's is what its backward keeps per sequence, the activations of all
T steps (rnnzoo's explicit BPTT saves T x batch x H for Elman, T x batch x 7H for the GRU).
Times are medians over repeats after a warm-up, on one CPU thread unless --threads says more.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from rnnzoo.cells import CELLS
from rnnzoo.cells.steps import TimeSteps
from rnnzoo.learning.rtrl import RTRL

#: numbers per step and batch row that rnnzoo's explicit BPTT saves for backward, per H
SAVED_PER_STEP = {"rnn_tanh": 1, "rnn_relu": 1, "rnn_sigmoid": 1, "gru": 7}


def median_time(run, repeats: int) -> float:
    run()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(cell_name: str, hidden: int, batch: int, seq_len: int, classes: int, repeats: int):
    torch.manual_seed(0)
    cell, head = CELLS[cell_name](2, hidden), nn.Linear(hidden, classes)
    x, y = torch.randn(seq_len, batch, 2), torch.randint(0, classes, (seq_len, batch))
    learner = RTRL(cell, head, F.cross_entropy)

    def rtrl():
        learner.reset(batch)
        for x_t, y_t in zip(x, y):
            learner.step(x_t, y_t)

    steps = TimeSteps.full(seq_len, batch)

    def bptt():
        out, _ = cell.sequence(x.reshape(-1, 2), steps, cell.initial_state(batch, x))
        loss = F.cross_entropy(head(out), y.reshape(-1), reduction="sum") / batch
        loss.backward()

    rtrl_step = median_time(rtrl, repeats) / seq_len
    bptt_step = median_time(bptt, repeats) / seq_len
    params = learner.num_params
    return {
        "H": hidden, "P": params,
        "rtrl_memory": batch * hidden * params * 4,  # float32 bytes, independent of T
        "bptt_memory": seq_len * batch * hidden * SAVED_PER_STEP[cell_name] * 4,
        "rtrl_step": rtrl_step, "bptt_step": bptt_step,
    }


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cell", default="rnn_tanh", choices=sorted(SAVED_PER_STEP))
    parser.add_argument("--hidden", type=int, nargs="+", default=[8, 16, 32, 64, 128])
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--seq-len", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    print(f"{args.cell}, batch {args.batch}, T = {args.seq_len}, input 2, 2 classes, "
          f"{args.threads} thread(s), float32")
    print(f"{'H':>5} {'P':>8} {'RTRL mem (S)':>13} {'BPTT mem':>10} {'RTRL ms/step':>13} "
          f"{'BPTT ms/step':>13} {'ratio':>7}")
    rows = []
    for hidden in args.hidden:
        r = measure(args.cell, hidden, args.batch, args.seq_len, 2, args.repeats)
        rows.append(r)
        print(f"{r['H']:>5} {r['P']:>8} {human_bytes(r['rtrl_memory']):>13} "
              f"{human_bytes(r['bptt_memory']):>10} {1e3 * r['rtrl_step']:>13.3f} "
              f"{1e3 * r['bptt_step']:>13.3f} {r['rtrl_step'] / r['bptt_step']:>6.0f}x")
    return rows


if __name__ == "__main__":
    main()
