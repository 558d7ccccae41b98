"""Probe a character language model's hidden state: which units track what, and what one does.

    python scripts/probe_hidden.py ckpt=outputs/char_lm/lstm/<run>/checkpoints/best.ckpt
    python scripts/probe_hidden.py                    # trains a small LSTM first (~1 min, 2 CPU cores)
    python scripts/probe_hidden.py ckpt=... text_file=some.py clamp_unit=c61 clamp_value=min
    python scripts/probe_hidden.py ckpt=... text="x = (1, [2, 3])  # note" chars=2000

Arguments are key=value pairs:

- ``ckpt``: a char_lm checkpoint; without one, a small model is trained first through the
  real runner (``cell``, ``hidden_size``, ``max_epochs``, ``train_steps``, ``max_chars``,
  ``train_seed``, and any Hydra override of a config group or a dotted key, e.g.
  ``logger=none``, ``optimizer.lr=0.01``), into ``out_dir/train``;
- ``out_dir``: default ``<run dir>/probes`` for a checkpoint, else outputs/probes/<timestamp>;
- the text: ``text`` (a string), ``text_file``, or by default ``chars`` characters of the
  built-in corpus (Python's standard library) just past what the model was trained on (for a
  model trained on ``data.path``, that file's last ``chars`` characters, its test split);
- ``top`` units per feature; ``heatmap_chars``, ``heatmap_features`` (comma-separated),
  ``width`` and ``overview_steps`` for the figures; ``baseline`` (true: also rank the units of
  an untrained twin, to tell learned tracking from what the input alone drives);
- the clamp: ``clamp_unit`` (h17, c17, l1.h17; ``auto``: the best h unit for ``clamp_feature``
  among the ``top`` ranked; an LSTM's C acts only through h = o * tanh(C), so a C unit behind a
  closed output gate can track a feature while nothing reads it),
  ``clamp_value`` (a number, ``max``, ``min``, or ``auto``: the unit's extreme on the feature's
  side), and ``prime``, ``sample_length``, ``temperature``, ``seed`` for the samples;
- ``threads``: torch CPU threads (default 1: small steps run fastest on one).

Writes under out_dir: probes.json, probes.md (the ranking table, the clamp, samples),
units.png (each feature's best unit over the text), overview.png (units x time),
clamp.png and clamp_shift.png, and prints the ranking.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

from rnnzoo.analysis import probe_report as report
from rnnzoo.utils.io import save_figure, write_json, write_text
from rnnzoo.analysis.probes import (FEATURES, Clamp, clamp_effect, parse_unit, rank_units,
                                    run_stepwise, sample_with_clamp, text_features)
from rnnzoo.analysis.quick_train import parse_options, trained_model
from rnnzoo.data.hangul import decompose_hangul
from rnnzoo.data.text import Vocab

DEFAULTS = {
    "ckpt": None, "out_dir": None, "text": None, "text_file": None, "chars": 10000, "top": 5,
    "heatmap_chars": 700, "heatmap_features": None, "width": 80, "overview_steps": 120,
    "baseline": True, "clamp_unit": "auto", "clamp_feature": "bracket_depth", "clamp_value": "auto",
    "prime": "\n", "sample_length": 300, "temperature": 0.8, "seed": 0, "threads": 1,
    # training, when no checkpoint is given
    "cell": "lstm", "hidden_size": 128, "max_epochs": 2, "train_steps": -1,
    "max_chars": 1_000_000, "train_seed": 0,
}


def _reader(default):
    """How to read a key's text: as its default's type (strings for keys without one)."""
    if isinstance(default, bool):
        return lambda text: text.lower() in ("1", "true", "yes")
    return type(default) if isinstance(default, (int, float)) else str


def parse(argv: list[str]) -> tuple[dict, list[str]]:
    """key=value pairs into the options and the Hydra overrides for training."""
    return parse_options(argv, DEFAULTS, {key: _reader(value) for key, value in DEFAULTS.items()})


def probe_text(options: dict, config: dict) -> tuple[str, str]:
    """The text to probe and where it came from."""
    if options["text"] is not None:
        return options["text"], "text="
    if options["text_file"]:
        return Path(options["text_file"]).read_text(encoding="utf-8")[:options["chars"]], options["text_file"]
    path = (config.get("data") or {}).get("path")
    chars = options["chars"]
    if path:
        tail = Path(path).read_text(encoding="utf-8")[-chars - 200:]
        return tail[tail.find("\n") + 1:][-chars:], f"the last {chars} characters of {path}"
    from rnnzoo.data.corpus import builtin_corpus

    seen = config["task"].get("max_chars", 1_000_000)
    corpus = builtin_corpus(seen + chars + 50_000)
    start = neutral_start(corpus, seen)
    return corpus[start:start + chars], f"the built-in corpus past the {seen:,} characters trained on"


def neutral_start(corpus: str, after: int) -> int:
    """The first top-level line at or after ``after``: outside any string, comment or bracket
    (scanned from the corpus' start), so that features and h_0 = 0 both start clean."""
    features = text_features(corpus)
    for t in range(max(after - 1, 0), len(corpus) - 1):
        if (corpus[t] == "\n" and not corpus[t + 1].isspace() and features["bracket_depth"][t] == 0
                and not features["in_quote"][t] and not features["in_docstring"][t]):
            return t + 1
    return after


def untrained_twin(network, info, config):
    """The same architecture, freshly initialised as the config says (seeded)."""
    from rnnzoo.init import initialize
    from rnnzoo.models.factory import network_from_config

    torch.manual_seed(config.get("seed", 0))
    twin = network_from_config(info, config)
    initialize(twin, **dict(config.get("init") or {"scheme": "default"}))
    return twin.eval()


def choose_clamp(options: dict, ranking: dict, raw: np.ndarray, names: list[str]) -> tuple[Clamp, str]:
    """The clamp the options ask for, and the clamped unit's name; ``raw``: the recorded
    states (C itself, not tanh(C)), which max and min refer to."""
    unit = options["clamp_unit"]
    feature = options["clamp_feature"]
    sign = 1.0
    if unit == "auto":  # the feature's best h unit: what the head and the gates read
        hidden = {f: [u for u in ranked if u["unit"].split(".")[-1].startswith("h")]
                  for f, ranked in ranking.items()}
        candidates = hidden if any(hidden.values()) else ranking
        if not candidates.get(feature):  # not ranked in this text: the strongest feature instead
            ranked = [f for f in candidates if candidates[f]]
            if not ranked:
                raise SystemExit("error: every feature is constant over this text; give a longer "
                                 "text or clamp_unit=... clamp_value=...")
            feature = max(ranked, key=lambda f: abs(candidates[f][0]["r"]))
        unit, sign = candidates[feature][0]["unit"], np.sign(candidates[feature][0]["r"])
    if unit not in names:
        raise SystemExit(f"clamp_unit {unit!r} is not a unit of this model ({names[0]} .. {names[-1]})")
    column = raw[:, names.index(unit)]
    value = options["clamp_value"]
    if value == "auto":
        value = "max" if sign >= 0 else "min"
    value = {"max": column.max(), "min": column.min()}.get(value, value)
    return parse_unit(unit, float(value)), unit


def main(argv: list[str] | None = None) -> dict:
    options, extra = parse(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(options["threads"])
    started = time.perf_counter()
    corpus = [f"task.max_chars={options['max_chars']}"]
    network, info, config, out, ckpt, trained_here = trained_model(
        options, [*corpus, *extra], task="char_lm", report="probes")
    vocab = Vocab.from_dict(info.artifacts["vocab"])
    jamo = bool(info.artifacts.get("jamo", False))
    text, source = probe_text(options, config)
    text = decompose_hangul(text) if jamo else text
    if len(text) < 2:
        raise SystemExit("error: the text to probe needs at least two characters")
    ids = vocab.encode(list(text))

    # which units track what
    free = run_stepwise(network, ids)
    tracks, names = free.tracks()
    features = text_features(text)
    ranking = rank_units(features, tracks, names, options["top"])
    baseline = None
    if options["baseline"]:
        twin_tracks, twin_names = run_stepwise(untrained_twin(network, info, config), ids).tracks()
        baseline = rank_units(features, twin_tracks, twin_names, 1)

    # what one unit does
    clamp, unit = choose_clamp(options, ranking, free.tracks(cell_tanh=False)[0], names)
    clamped = run_stepwise(network, ids, clamp=clamp, record=False)
    effect = clamp_effect(free, clamped, vocab)
    label = f"{unit} clamped to {clamp.value:+.3f}"
    sampling = dict(prime=options["prime"], length=options["sample_length"],
                    temperature=options["temperature"], seed=options["seed"], jamo=jamo)
    clamp_result = {
        "label": label, "unit": unit, "value": clamp.value, "state": clamp.state,
        "seed": options["seed"], "temperature": options["temperature"], "prime": options["prime"],
        "note": "the unit is overwritten after every step (from h_0 on), before the head reads "
                "h_t and before the state is carried on; a clamped LSTM cell C shows in h from "
                "the next step",
        "effect": {k: v for k, v in effect.items() if k != "delta_bits_per_char"},
        "sample_free": sample_with_clamp(network, vocab, **sampling),
        "sample_clamped": sample_with_clamp(network, vocab, clamp=clamp, **sampling),
    }

    # files
    shown = text[:options["heatmap_chars"]]
    chosen = options["heatmap_features"].split(",") if options["heatmap_features"] else None
    written = {
        "units.png": save_figure(report.units_figure(shown, tracks, names, ranking, features=chosen,
                                                     width=options["width"]), out / "units.png"),
        "overview.png": save_figure(report.overview_figure(text, features, tracks, names, ranking,
                                                           options["overview_steps"]), out / "overview.png"),
        "clamp.png": save_figure(report.clamp_figure(shown, tracks[:, names.index(unit)],
                                                     np.array(effect["delta_bits_per_char"]), effect,
                                                     label, width=options["width"]), out / "clamp.png"),
        "clamp_shift.png": save_figure(report.shift_figure(effect, label), out / "clamp_shift.png"),
    }
    bits = float(free.bits().mean())
    summary = {
        "checkpoint": str(ckpt), "trained_with": trained_here, "cell": config["cell"]["name"],
        "hidden_size": network.rnn.hidden_size,
        "text_source": source, "chars": len(text), "unknown_chars": ids.count(vocab.unk_id),
        "bits_per_char": bits, "features": FEATURES, "ranking": ranking,
        "untrained_twin_best": baseline, "clamp": clamp_result,
    }
    written["probes.json"] = write_json(out / "probes.json", summary)
    markdown = (f"# Hidden-state probes\n\n{config['cell']['name']} ({network.rnn.hidden_size} units) "
                f"from `{ckpt}`, over {len(text):,} characters of {source}.\n\n"
                + report.ranking_markdown(ranking, baseline, bits) + "\n"
                + report.clamp_markdown(clamp_result))
    written["probes.md"] = write_text(out / "probes.md", markdown)

    print(f"\n{len(text):,} characters of {source}; {bits:.3f} bits/char")
    for feature, ranked in ranking.items():
        twin = (f"   (untrained twin: {abs(baseline[feature][0]['r']):.2f})"
                if baseline and baseline[feature] else "")
        print(f"  {feature:<14} " + "  ".join(f"{u['unit']} {u['r']:+.2f}" for u in ranked[:3]) + twin)
    print(f"\n{label}: {effect['delta_bits']:+.3f} bits/char, KL {effect['kl_bits']:.4f} bits/char")
    print(f"sample without the clamp: {clamp_result['sample_free'][:100]!r}")
    print(f"sample with it:           {clamp_result['sample_clamped'][:100]!r}")
    print(f"\nwrote {', '.join(written)} in {out} ({time.perf_counter() - started:.0f} s)")
    return {"out_dir": out, "written": written, "summary": summary, "checkpoint": Path(ckpt)}


if __name__ == "__main__":
    main()
