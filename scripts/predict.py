"""Use a trained checkpoint: label sentences (sentiment), sample text (char_lm) or forecast the
next values of a series (forecast).

    python scripts/predict.py outputs/sentiment/lstm/<run>/checkpoints/best.ckpt "not bad at all" "good but boring"
    python scripts/predict.py outputs/char_lm/lstm/<run>/checkpoints/best.ckpt --length 400 --temperature 0.7 --prime "def "
    python scripts/predict.py outputs/forecast/lstm/<run>/checkpoints/best.ckpt --series sales.csv
    python scripts/predict.py outputs/forecast/lstm/<run>/checkpoints/best.ckpt --series sunspots

A forecast reads the last ``task.seq_len`` rows of the file (the columns the model was trained
on) and prints the next ``task.horizon`` values on the original scale, dated when the file
has a date column.
"""
from __future__ import annotations

import argparse
import sys

from pathlib import Path

import numpy as np
import torch

from rnnzoo.checkpoints import CheckpointError, load_trained
from rnnzoo.data.errors import DataError
from rnnzoo.data.real_series import REAL_SERIES, load_real_series
from rnnzoo.data.series import read_series
from rnnzoo.data.text import Vocab, tokenize
from rnnzoo.tasks.char_lm import sample_text


def label_sentences(network, info, sentences: list[str]) -> list[str]:
    vocab = Vocab.from_dict(info.artifacts["vocab"])
    labels = info.artifacts["labels"]
    lines = []
    with torch.no_grad():
        for sentence in sentences:
            ids = vocab.encode(tokenize(sentence)) or [vocab.unk_id]
            probs = network(torch.tensor([ids]), torch.tensor([len(ids)])).softmax(-1)[0]
            best = int(probs.argmax())
            lines.append(f"{labels[best]:<10} {float(probs[best]):.3f}  {sentence}")
    return lines


def read_history(info, config, source: str, missing: str | None):
    """The series a forecast starts from: a file with the training columns, or a bundled name."""
    if source in REAL_SERIES and not Path(source).exists():
        return load_real_series(source, missing=missing or "interpolate")
    columns, k = info.artifacts["columns"], info.artifacts["n_targets"]
    data = config.get("data") or {}
    return read_series(source, target=columns[:k], features=columns[k:],
                       date=info.artifacts.get("date"), format=data.get("format") or "auto",
                       encoding=data.get("encoding") or "utf-8",
                       missing=missing or data.get("missing") or "error")


def forecast_lines(network, info, series) -> list[str]:
    """The next ``horizon`` values after the series' last ``seq_len`` rows, one line a step."""
    art = info.artifacts
    seq_len, horizon, k = art["seq_len"], art["horizon"], art["n_targets"]
    if len(series) < seq_len:
        raise DataError(f"has {len(series)} rows; the model reads the last {seq_len} "
                        f"(task.seq_len)", series.path)
    mean, std = np.asarray(art["mean"]), np.asarray(art["std"])
    window = (series.values[-seq_len:] - mean) / std  # scaled as in training: train-row statistics
    with torch.no_grad():
        out = network(torch.tensor(window[None], dtype=torch.float32))  # (1, horizon * k)
    scaled = out.numpy().reshape(horizon, k)
    if art.get("residual"):  # the network gave the change since the window's last row
        scaled = scaled + window[-1, :k]
    values = scaled * std[:k] + mean[:k]  # (horizon, k)
    return [f"{label}  " + "  ".join(f"{v:.6g}" for v in row)
            for label, row in zip(step_labels(series, horizon), values)]


def step_labels(series, horizon: int) -> list[str]:
    """The dates of the forecast steps, one spacing after the file's last date; t+1... without one."""
    dates = series.dates
    if dates is None or len(dates) < 2:
        return [f"t+{h + 1}" for h in range(horizon)]
    if not np.issubdtype(dates.dtype, np.datetime64):  # time steps or decimal years
        step = dates[-1] - dates[-2]
        return [f"{dates[-1] + step * (h + 1):g}" for h in range(horizon)]
    months = dates[-2:].astype("datetime64[M]")
    if (months == dates[-2:]).all():  # monthly or yearly dates: step in calendar months
        step = months[1] - months[0]
        ahead = [months[1] + step * (h + 1) for h in range(horizon)]
        yearly = int(step.astype(int)) % 12 == 0
        return [str(d.astype("datetime64[Y]") if yearly else d) for d in ahead]
    step = dates[-1] - dates[-2]
    ahead = [dates[-1] + step * (h + 1) for h in range(horizon)]
    whole_days = all(d == d.astype("datetime64[D]") for d in ahead)  # print as dates
    return [str(d.astype("datetime64[D]") if whole_days else d) for d in ahead]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("sentences", nargs="*", help="sentences to label (sentiment checkpoints)")
    parser.add_argument("--length", type=int, default=300, help="characters to sample (char_lm)")
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--prime", default="\n", help="text to start sampling from (char_lm)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--series", help="forecast: a CSV/TSV file with the training columns, "
                                          "or a bundled series name (sunspots, co2, ...)")
    parser.add_argument("--missing", choices=("error", "drop", "ffill", "interpolate"),
                        help="forecast: missing cells (default: the training run's data.missing)")
    args = parser.parse_args(argv)
    try:
        network, info, config = load_trained(args.checkpoint)
    except CheckpointError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if info.name == "forecast":
        return forecast(network, info, config, args)
    if info.name == "char_lm":
        if args.temperature <= 0:
            print("error: --temperature must be positive", file=sys.stderr)
            return 2
        vocab = Vocab.from_dict(info.artifacts["vocab"])
        print(args.prime + sample_text(network, vocab, prime=args.prime, length=args.length,
                                       temperature=args.temperature, seed=args.seed,
                                       jamo=info.artifacts.get("jamo", False)))
        return 0
    if "labels" in info.artifacts and info.tokens:
        if not args.sentences:
            print("error: give one or more sentences to label", file=sys.stderr)
            return 2
        print("\n".join(label_sentences(network, info, args.sentences)))
        return 0
    print(f"error: predict.py handles sentiment and char_lm checkpoints; this one is task "
          f"{info.name!r}", file=sys.stderr)
    return 2


def forecast(network, info, config, args) -> int:
    if not args.series:
        print("error: give the series to forecast from: --series FILE (or a bundled name)",
              file=sys.stderr)
        return 2
    try:
        series = read_history(info, config, args.series, args.missing)
        lines = forecast_lines(network, info, series)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    columns = info.artifacts["columns"][:info.artifacts["n_targets"]]
    print(f"# next {info.artifacts['horizon']} values of {', '.join(columns)} after "
          f"{len(series)} rows of {args.series}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
