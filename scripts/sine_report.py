"""The sine questions for a trained ``task=sine`` model: unseen frequencies, smoothing, damping.

    python scripts/sine_report.py ckpt=outputs/sine/lstm/<run>/checkpoints/best.ckpt
    python scripts/sine_report.py                     # trains a small GRU first (~20 s, 2 CPU cores)
    python scripts/sine_report.py ckpt=... freqs=0.25,0.5,1,2,4 noise_stds=0,0.5,1 tol=0.02

Arguments are key=value pairs:

- ``ckpt``: a sine checkpoint; without one, a small model is trained first through the real
  runner (``cell``, ``hidden_size``, ``max_epochs``, ``train_steps``, ``train_seed``, and any
  Hydra override of a config group or a dotted key, e.g. ``logger=none``,
  ``task.noise_std=0.5``), into ``out_dir/train``;
- ``out_dir``: default ``<run dir>/sine_report`` for a checkpoint, else
  outputs/sine_report/<timestamp>;
- ``freqs`` (Hz, comma-separated; default 0.25 to 3 in steps of 0.25) and ``noise_std`` (default:
  the model's training noise) for the frequency sweep; ``noise_stds`` for the smoothing sweep;
  ``n`` waves per row, ``seq_len`` (default: the training length), ``warmup`` steps left out
  of every error, ``seed``;
- damping: ``damping_steps`` at the level (and after it), ``before`` zeros before the step,
  ``level``, ``tol`` (the settling band, a fraction of the largest distance from the final value);
- ``example_freqs`` for example.png; ``threads`` (torch CPU threads, default 1).

Writes frequency.png, noise.png, damping.png, example.png, sine_report.md and sine_report.json
under out_dir and prints the tables.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

from rnnzoo.analysis.quick_train import parse_options, trained_model
from rnnzoo.analysis.sine_report import markdown, write_report
from rnnzoo.analysis.sine_response import (damping, examples, frequency_sweep, network_predictor,
                                           noise_sweep)
from rnnzoo.data.synthetic import SINE_FREQ_RANGES

LISTS = ("freqs", "noise_stds", "example_freqs")
DEFAULTS = {
    "ckpt": None, "out_dir": None,
    "freqs": tuple(0.25 * k for k in range(1, 13)), "noise_std": None,
    "noise_stds": (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0), "n": 64, "seq_len": None, "warmup": 20,
    "seed": 1234, "damping_steps": 150, "before": 50, "level": 1.0, "tol": 0.05,
    "example_freqs": (1.0, 2.0, 3.0), "threads": 1,
}
TRAINING = {  # when no checkpoint is given
    "cell": "gru", "hidden_size": 32, "max_epochs": 8, "train_steps": -1, "train_seed": 0,
}
DEFAULTS.update(TRAINING)
TYPES = {"ckpt": str, "out_dir": str, "noise_std": float, "seq_len": int, "n": int, "warmup": int,
         "seed": int, "damping_steps": int, "before": int, "level": float, "tol": float,
         "threads": int, "cell": str, "hidden_size": int, "max_epochs": int, "train_steps": int,
         "train_seed": int}


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split(",") if v)


def parse(argv: list[str]) -> tuple[dict, list[str]]:
    """key=value pairs into the options and the Hydra overrides for training."""
    return parse_options(argv, DEFAULTS, {**TYPES, **{key: _floats for key in LISTS}})


def main(argv: list[str] | None = None) -> dict:
    options, extra = parse(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(options["threads"])
    started = time.perf_counter()
    network, info, config, out, ckpt, trained_here = trained_model(
        options, extra, task="sine", report="sine_report")

    task = config["task"]
    train_range = tuple(task.get("train_freqs", SINE_FREQ_RANGES["train"]))
    noise_std = options["noise_std"] if options["noise_std"] is not None else task.get("noise_std", 0.3)
    seq_len = options["seq_len"] or task.get("seq_len", 100)
    common = dict(n=options["n"], seq_len=seq_len, warmup=options["warmup"], seed=options["seed"])
    predict = network_predictor(network)
    result = {
        "checkpoint": str(ckpt), "cell": config["cell"]["name"], "trained_with": trained_here,
        "config": {**{k: v for k, v in options.items() if k not in ("ckpt", "out_dir", *TRAINING)},
                   "noise_std": noise_std, "seq_len": seq_len, "train_range": list(train_range)},
        "frequency": frequency_sweep(predict, options["freqs"], noise_std=noise_std,
                                     train_range=train_range, **common),
        "noise": noise_sweep(predict, options["noise_stds"], freq_range=train_range, **common),
        "damping": damping(predict, steps=options["damping_steps"], before=options["before"],
                           level=options["level"], tol=options["tol"]),
        "examples": examples(predict, options["example_freqs"], seq_len=seq_len,
                             noise_std=noise_std, seed=options["seed"]),
    }
    written = write_report(out, result)
    print("\n" + markdown(result))
    print(f"wrote {', '.join(written)} in {out} ({time.perf_counter() - started:.0f} s)")
    return {"out_dir": out, "written": written, "result": result, "checkpoint": Path(ckpt)}


if __name__ == "__main__":
    main()
