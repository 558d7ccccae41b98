"""Numerical gradient check of rnnzoo's cells and layers (centred differences, float64).

    python scripts/gradcheck.py                      # every cell in rnnzoo.cells.CELLS
    python scripts/gradcheck.py lstm gru --layer --impl torch --layers 2 --bidirectional
    python scripts/gradcheck.py rnn_tanh --points 2 --epsilon 1e-5   # the classic stencil

Prints one table per model (max and mean relative error per parameter) and exits with
status 1 when any parameter's max relative error reaches the threshold.
"""
from __future__ import annotations

import argparse
import sys

import torch

import rnnzoo
from rnnzoo.cells import CELLS, cell_names, resolve_cell_name
from rnnzoo.learning.gradcheck import gradient_check, sequence_loss


def build(name: str, args: argparse.Namespace) -> torch.nn.Module:
    torch.manual_seed(args.seed)
    if not args.layer:
        return CELLS[resolve_cell_name(name)](args.input_size, args.hidden_size, dtype=torch.float64)
    return rnnzoo.build_rnn(name, args.input_size, args.hidden_size, impl=args.impl,
                            num_layers=args.layers, bidirectional=args.bidirectional,
                            dtype=torch.float64)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cells", nargs="*", default=sorted(CELLS), metavar="CELL",
                        help=f"cells to check (default: all); one of {', '.join(cell_names())}")
    parser.add_argument("--layer", action="store_true", help="check a layer built by build_rnn")
    parser.add_argument("--impl", default="custom", choices=rnnzoo.layers.IMPLEMENTATIONS)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--bidirectional", action="store_true")
    parser.add_argument("--input-size", type=int, default=3)
    parser.add_argument("--hidden-size", type=int, default=4)
    parser.add_argument("--seq-len", type=int, default=5)
    parser.add_argument("--batch", type=int, default=3)
    parser.add_argument("--points", type=int, default=4, choices=(2, 4))
    parser.add_argument("--epsilon", type=float, default=None,
                        help="step (default 1e-4 with 4 points, 1e-5 with 2)")
    parser.add_argument("--threshold", type=float, default=1e-6)
    parser.add_argument("--max-entries", type=int, default=None,
                        help="check this many random entries per parameter (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    epsilon = args.epsilon or (1e-4 if args.points == 4 else 1e-5)

    failed = []
    for name in args.cells:
        model = build(name, args)
        loss = sequence_loss(model, seq_len=args.seq_len, batch=args.batch, seed=args.seed)
        report = gradient_check(model, loss, epsilon=epsilon, points=args.points,
                                threshold=args.threshold, max_entries=args.max_entries,
                                seed=args.seed)
        kind = f"layer (impl={args.impl})" if args.layer else "cell"
        print(f"\n== {name} {kind}\n{report.table()}")
        if not report.passed:
            failed.append(name)
    print(f"\n{len(args.cells) - len(failed)}/{len(args.cells)} passed"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
