"""Figures, JSON and Markdown for the hidden-state probes (:mod:`rnnzoo.analysis.probes`).

The text heatmaps follow Karpathy, Johnson & Fei-Fei (2015): the text laid out as it reads,
each character on a background coloured by a value at that character (a unit's activation
after reading it, or the change in the bits needed to predict it). Newlines show as a small
arrow at the end of their line; long lines wrap at ``width`` characters.
"""
from __future__ import annotations


import matplotlib

matplotlib.use("Agg")  # files only; never a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from rnnzoo.analysis.probes import FEATURES  # noqa: E402

SHOWN = {"\n": "\u21b5", "\t": "\u2192", " ": ""}
CELL_W, CELL_H = 0.105, 0.19  # inches per character cell


def layout(text: str, width: int = 80) -> tuple[np.ndarray, np.ndarray, int]:
    """Row and column of every character when ``text`` is laid out ``width`` wide."""
    rows, cols = np.zeros(len(text), int), np.zeros(len(text), int)
    row = col = 0
    for t, c in enumerate(text):
        if col >= width:
            row, col = row + 1, 0
        rows[t], cols[t] = row, col
        if c == "\n":
            row, col = row + 1, 0
        else:
            col += 1
    return rows, cols, (row + 1 if len(text) else 0)


def draw_text(ax, text: str, values: np.ndarray, *, width: int = 80, vmax: float | None = None,
              cmap: str = "RdBu_r", fontsize: float = 6.5):
    """``text`` on cells coloured by ``values`` (NaN: uncoloured), symmetric about zero."""
    rows, cols, n_rows = layout(text, width)
    grid = np.full((max(n_rows, 1), width + 1), np.nan)
    values = np.asarray(values, dtype=float)
    grid[rows, cols] = values
    finite = values[np.isfinite(values)]
    if vmax is None:
        vmax = float(np.abs(finite).max()) if finite.size else 1.0
    vmax = vmax or 1.0
    image = ax.imshow(grid, cmap=cmap, vmin=-vmax, vmax=vmax, aspect="auto",
                      interpolation="nearest")
    for t, c in enumerate(text):
        shown = SHOWN.get(c, c)
        if shown:
            ax.text(cols[t], rows[t], shown, ha="center", va="center", fontsize=fontsize,
                    family="DejaVu Sans Mono", color="0.35" if c in SHOWN else "black")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    return image


def text_panels(text: str, panels: list[tuple[str, np.ndarray]], *, width: int = 80,
                title: str | None = None) -> Figure:
    """One text heatmap per (title, values), stacked, each with its own colour bar."""
    n_rows = layout(text, width)[2]
    height = n_rows * CELL_H + 0.35
    total = height * len(panels) + 0.3
    fig, axes = plt.subplots(len(panels), 1, squeeze=False,
                             figsize=((width + 1) * CELL_W + 0.9, total))
    for ax, (label, values) in zip(axes[:, 0], panels):
        image = draw_text(ax, text, values, width=width)
        ax.set_title(label, fontsize=8, loc="left")
        fig.colorbar(image, ax=ax, fraction=0.02, pad=0.01).ax.tick_params(labelsize=6)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / total) if title else None)
    return fig


def top_units(ranking: dict[str, list[dict]]) -> list[tuple[str, dict]]:
    """(feature, its best unit) for every feature that has one."""
    return [(feature, ranked[0]) for feature, ranked in ranking.items() if ranked]


def shown_name(unit: str) -> str:
    """How a ranked unit's values are shown: an LSTM cell as tanh(C)."""
    layer, _, name = unit.rpartition(".")
    return f"{layer}.tanh({name})" if name.startswith("c") and layer else \
        f"tanh({name})" if name.startswith("c") else unit


def units_figure(text: str, tracks: np.ndarray, names: list[str], ranking: dict, *,
                 features: list[str] | None = None, width: int = 80) -> Figure:
    index = {name: k for k, name in enumerate(names)}
    panels = [(f"{shown_name(unit['unit'])}: {feature} (r = {unit['r']:+.2f})",
               tracks[:len(text), index[unit["unit"]]])
              for feature, unit in top_units(ranking) if features is None or feature in features]
    return text_panels(text, panels, width=width,
                       title="each unit's activation after reading each character")


def overview_figure(text: str, features: dict[str, np.ndarray], tracks: np.ndarray,
                    names: list[str], ranking: dict, steps: int = 120) -> Figure:
    """Units x time over the first ``steps`` characters: the features, every feature's ranked
    units (labelled), then all units. Each unit's row is scaled by its own largest |value| in
    the window, so h (in [-1, 1]) and C (unbounded) share one colour map.
    """
    steps = min(steps, len(text))
    labels = {}
    for feature, units in ranking.items():
        for u in units:
            labels.setdefault(u["unit"], f"{u['unit']}  {feature} {u['r']:+.2f}")
    index = {name: k for k, name in enumerate(names)}

    def scaled(columns):
        rows = tracks[:steps, columns].T  # (units, steps)
        return rows / np.maximum(np.abs(rows).max(1, keepdims=True), 1e-12)

    feats = np.stack([v[:steps] / max(np.abs(v[:steps]).max(), 1e-12) for v in features.values()])
    ranked, every = scaled([index[u] for u in labels]), scaled(list(range(len(names))))
    fig, axes = plt.subplots(3, 1, figsize=(max(6.0, steps * 0.1 + 2.0), 11), sharex=True,
                             gridspec_kw={"height_ratios": [len(feats) + 1, len(labels) + 1,
                                                            max(12, len(names) // 8)]})
    axes[0].imshow(feats, aspect="auto", cmap="Greys", vmin=0, vmax=1, interpolation="nearest")
    axes[0].set_yticks(range(len(features)), list(features), fontsize=7)
    axes[0].set_title("text features (each scaled to [0, 1])", fontsize=8, loc="left")
    axes[1].imshow(ranked, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
    axes[1].set_yticks(range(len(labels)), list(labels.values()), fontsize=6)
    axes[1].set_title("each feature's top units (Pearson r over the whole text)", fontsize=8, loc="left")
    axes[2].imshow(every, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
    kinds = list(dict.fromkeys(n.rstrip("0123456789") for n in names))
    starts = [next(k for k, n in enumerate(names) if n.rstrip("0123456789") == kind) for kind in kinds]
    axes[2].set_yticks(starts, [f"{kind}0" for kind in kinds], fontsize=6)
    axes[2].set_title(f"all {len(names)} units, in order; each row scaled by its max |value|",
                      fontsize=8, loc="left")
    axes[2].set_xticks(range(steps), [SHOWN.get(c, c) or "\u2423" for c in text[:steps]],
                       fontsize=6, family="DejaVu Sans Mono")
    axes[2].tick_params(axis="x", length=0)
    fig.tight_layout()
    return fig


def clamp_figure(text: str, unit_values: np.ndarray, delta_bits: np.ndarray, effect: dict,
                 clamp_label: str, *, width: int = 80) -> Figure:
    """The clamped unit's free activation, the change in bits for each character, and the
    characters whose mean probability moved most."""
    n = len(text)
    delta = np.concatenate([[np.nan], np.asarray(delta_bits)[:n - 1]])  # shown on the predicted character
    fig = text_panels(text, [
        (f"{clamp_label.split(' ')[0]} without the clamp (its activation)", unit_values[:n]),
        (f"change in -log2 p(character) with {clamp_label} (red: harder to predict); "
         f"mean {effect['delta_bits']:+.3f} bits/char over the whole text", delta)], width=width)
    return fig


def shift_figure(effect: dict, clamp_label: str) -> Figure:
    moved = effect["fell"][::-1] + effect["rose"][::-1]
    fig, ax = plt.subplots(figsize=(6, 0.22 * len(moved) + 1.0))
    ax.barh(range(len(moved)), [m["dp"] for m in moved],
            color=["C3" if m["dp"] > 0 else "C0" for m in moved])
    ax.set_yticks(range(len(moved)), [repr(m["char"]) for m in moved], fontsize=7,
                  family="DejaVu Sans Mono")
    ax.axvline(0, color="black", linewidth=0.6)
    ax.set(xlabel="mean change in the next-character probability",
           title=f"{clamp_label}: KL(free || clamped) = {effect['kl_bits']:.3f} bits/char")
    ax.title.set_fontsize(8)
    fig.tight_layout()
    return fig


def ranking_markdown(ranking: dict, baseline: dict | None = None, bits: float | None = None) -> str:
    """The ranking as a Markdown table (with the untrained twin's best |r| when given)."""
    head = "| feature | top units (Pearson r) |" + (" untrained twin's best \\|r\\| |" if baseline else "")
    lines = [head, "|---|---|" + ("---|" if baseline else "")]
    for feature, ranked in ranking.items():
        cells = ", ".join(f"`{u['unit']}` {u['r']:+.2f}" for u in ranked) or "(constant in this text)"
        row = f"| {feature} | {cells} |"
        if baseline:
            best = baseline.get(feature) or []
            row += f" {abs(best[0]['r']):.2f} |" if best else " - |"
        lines.append(row)
    notes = [f"- `{name}`: {meaning}" for name, meaning in FEATURES.items() if name in ranking]
    if bits is not None:
        notes.append(f"- the model needs {bits:.3f} bits per character on this text")
    return "\n".join(lines + [""] + notes) + "\n"


def _moved(chars: list[dict]) -> str:
    return ", ".join(f"{m['char']!r} ({m['dp']:+.4f})" for m in chars[:5])


def clamp_markdown(clamp: dict) -> str:
    e = clamp["effect"]
    lines = [f"## Clamp: {clamp['label']}", "",
             f"- bits per character: {e['bits_free']:.3f} free, {e['bits_clamped']:.3f} clamped "
             f"({e['delta_bits']:+.3f})",
             f"- KL(free || clamped) of the next-character distribution: {e['kl_bits']:.4f} "
             f"bits/char on average, {e['kl_bits_max']:.3f} at most",
             "- probability rose most for " + _moved(e["rose"]),
             "- and fell most for " + _moved(e["fell"]),
             "", f"Samples (seed {clamp['seed']}, temperature {clamp['temperature']}, prime "
             f"{clamp['prime']!r}), without the clamp:", "", "```", clamp["sample_free"], "```", "",
             "with it:", "", "```", clamp["sample_clamped"], "```"]
    return "\n".join(lines) + "\n"


