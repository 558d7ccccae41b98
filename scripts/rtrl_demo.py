"""Learn binary addition online with RTRL: one parameter update after every time step.

    python scripts/rtrl_demo.py                    # Elman (tanh), H = 8, Adam 0.005, seed 0
    python scripts/rtrl_demo.py --cell gru --hidden 8

An Elman RNN reads the bits of a and b (least significant first, rnnzoo.data.synthetic's
binary_addition with 8 bits, so 9 steps) and emits a bit of a + b at every step. Training
is online: sequences are presented one at a time, and after each step RTRL's gradient of
that step's loss drives one optimizer step (no sequence is ever unrolled backward). The
sensitivities are reset with the state at the start of each sequence. Every ``--eval-every``
sequences the model is tested on held-out additions (another seed); training stops at 100%
sequence accuracy (every bit of the sum right).
"""
from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from torch import nn

from rnnzoo.cells import CELLS
from rnnzoo.data.synthetic import binary_addition
from rnnzoo.learning.rtrl import RTRL


@torch.no_grad()
def sequence_accuracy(cell: nn.Module, head: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """The share of sequences whose every output bit is right; x (n, T, 2), y (n, T)."""
    h, predictions = None, []
    for t in range(x.shape[1]):
        h = cell(x[:, t], h)
        predictions.append(head(h).argmax(-1))
    return (torch.stack(predictions, 1) == y).all(1).float().mean().item()


def train(cell_name: str = "rnn_tanh", hidden: int = 8, lr: float = 0.005, n_bits: int = 8,
          max_sequences: int = 4000, batch: int = 1, eval_every: int = 250, n_test: int = 1000,
          seed: int = 0, log=print) -> dict:
    torch.manual_seed(seed)
    cell, head = CELLS[cell_name](2, hidden), nn.Linear(hidden, 2)
    optimizer = torch.optim.Adam(list(cell.parameters()) + list(head.parameters()), lr=lr)
    learner = RTRL(cell, head, F.cross_entropy)
    x, y = binary_addition(max_sequences * batch, n_bits, seed=seed)
    x_test, y_test = binary_addition(n_test, n_bits, seed=seed + 10_000)

    start, accuracy, seen, updates = time.perf_counter(), 0.0, 0, 0
    for seen in range(1, max_sequences + 1):
        rows = slice((seen - 1) * batch, seen * batch)
        learner.reset(batch)
        for x_t, y_t in zip(x[rows].transpose(0, 1), y[rows].transpose(0, 1)):
            learner.step(x_t, y_t)
            optimizer.step()
            optimizer.zero_grad()
            updates += 1
        if seen % eval_every == 0 or seen == max_sequences:
            accuracy = sequence_accuracy(cell, head, x_test, y_test)
            log(f"{seen:6d} sequences  {updates:7d} updates  held-out sequence accuracy "
                f"{100 * accuracy:6.2f}%  {time.perf_counter() - start:6.1f} s")
            if accuracy == 1.0:
                break
    seconds = time.perf_counter() - start
    return {"accuracy": accuracy, "sequences": seen, "updates": updates, "seconds": seconds,
            "sensitivity_shape": (batch, hidden, learner.num_params)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cell", default="rnn_tanh", choices=["rnn_tanh", "rnn_relu", "rnn_sigmoid", "gru"])
    parser.add_argument("--hidden", type=int, default=8)
    parser.add_argument("--lr", type=float, default=0.005)
    parser.add_argument("--bits", type=int, default=8)
    parser.add_argument("--max-sequences", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=1, help="sequences per update (1: purely online)")
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    result = train(args.cell, args.hidden, args.lr, args.bits, args.max_sequences, args.batch,
                   args.eval_every, seed=args.seed)
    b, h, p = result["sensitivity_shape"]
    print(f"RTRL {args.cell} H={h}: {100 * result['accuracy']:.2f}% of held-out {args.bits}-bit "
          f"additions right after {result['sequences']} sequences ({result['updates']} online "
          f"updates) in {result['seconds']:.1f} s; sensitivity S is {b} x {h} x {p}")
    return result


if __name__ == "__main__":
    main()
