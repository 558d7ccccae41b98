"""Measure vanishing and exploding gradients: ||dL_T/ds_t|| against T - t, per cell and init.

    python scripts/gradient_flow.py                                  # everything, ~40 s on CPU
    python scripts/gradient_flow.py out_dir=outputs/flow cells=rnn_tanh,lstm,gru inits=default
    python scripts/gradient_flow.py study=explosion explode_gains=1,2,3 max_norm=0.5
    python scripts/gradient_flow.py train_steps=0 forget_bias=1      # init only, LSTM forget bias 1

Arguments are key=value pairs: ``out_dir`` (default outputs/gradient_flow/<timestamp>),
``study`` (both, vanishing, explosion), ``threads`` (torch CPU threads, default 1), and every
field of rnnzoo.analysis.gradient_flow.FlowConfig (lists comma-separated). Writes
vanishing.png/.json, explosion.png/.json and TensorBoard events under out_dir
(``tensorboard --logdir outputs/gradient_flow``) and prints the fitted per-step rates.
"""
from __future__ import annotations

import dataclasses
import sys
import time
import types
import typing
from datetime import datetime
from pathlib import Path

import torch

from rnnzoo.analysis.gradient_flow import FlowConfig, explosion_study, vanishing_study
from rnnzoo.analysis.reporting import rates_table, write_report

STUDIES = ("both", "vanishing", "explosion")


def parse(argv: list[str]) -> tuple[FlowConfig, dict]:
    """key=value pairs into a FlowConfig and the script's own options."""
    fields = {f.name: f for f in dataclasses.fields(FlowConfig)}
    hints = typing.get_type_hints(FlowConfig)
    values, options = {}, {"out_dir": None, "study": "both", "threads": 1}
    for arg in argv:
        key, sep, text = arg.partition("=")
        if not sep:
            raise SystemExit(f"expected key=value, got {arg!r}")
        if key in options:
            options[key] = int(text) if key == "threads" else text
        elif key in fields:
            values[key] = convert(text, hints[key])
        else:
            raise SystemExit(f"unknown key {key!r}; choose from {', '.join([*options, *fields])}")
    if options["study"] not in STUDIES:
        raise SystemExit(f"study must be one of {', '.join(STUDIES)}")
    return FlowConfig(**values), options


def convert(text: str, hint):
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is tuple:
        return tuple(convert(item, args[0]) for item in text.split(",") if item)
    if origin in (typing.Union, types.UnionType):  # float | None
        return None if text.lower() in ("none", "null") else convert(text, args[0])
    return hint(text)


def main(argv: list[str] | None = None) -> dict:
    cfg, options = parse(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(options["threads"])
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    out_dir = Path(options["out_dir"] or Path("outputs") / "gradient_flow" / stamp)
    start = time.perf_counter()
    curves = vanishing_study(cfg) if options["study"] in ("both", "vanishing") else None
    explosion = explosion_study(cfg) if options["study"] in ("both", "explosion") else None
    written = write_report(out_dir, dataclasses.asdict(cfg), curves, explosion)

    if curves:
        print("\nfitted per-step log-rate of ||dL_T/ds_t|| (negative: vanishing)")
        for phase, by_cell in rates_table(curves).items():
            for cell, by_init in by_cell.items():
                print(f"  {phase:<8} {cell:<10} " + "  ".join(f"{i} {r:+.3f}" for i, r in by_init.items()))
    print(f"\nwrote {', '.join(str(p) for p in written.values())} "
          f"(and TensorBoard events) in {time.perf_counter() - start:.0f} s")
    return {"curves": curves, "explosion": explosion, "written": written, "out_dir": out_dir}


if __name__ == "__main__":
    main()
