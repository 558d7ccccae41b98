"""Figures, JSON and TensorBoard events for the gradient-flow studies.

Files written under ``out_dir``: ``vanishing.png`` / ``vanishing.json`` (every cell x init,
at initialisation and after training), ``explosion.png`` / ``explosion.json`` (a ReLU RNN with
growing recurrent gain, and update norms with and without clipping), and TensorBoard events
(the same figures via ``add_figure``, the curves and fitted rates as scalars).
"""
from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never a window
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from rnnzoo.analysis.gradient_flow import Curve  # noqa: E402
from rnnzoo.utils.io import save_figure, write_json  # noqa: E402

LINESTYLES = ["-", "--", ":", "-."]


def _positive(values: list[float]) -> tuple[list[int], list[float]]:
    """The points a log axis can show."""
    kept = [(d, v) for d, v in enumerate(values) if v > 0 and math.isfinite(v)]
    return [d for d, _ in kept], [v for _, v in kept]


def plot_vanishing(curves: list[Curve]) -> Figure:
    phases = [p for p in ("init", "trained") if any(c.phase == p for c in curves)]
    cells = list(dict.fromkeys(c.cell for c in curves))
    inits = list(dict.fromkeys(c.init for c in curves))
    colors = {cell: f"C{k}" for k, cell in enumerate(cells)}
    fig, axes = plt.subplots(1, len(phases), figsize=(7 * len(phases), 5.5), sharey=True,
                             squeeze=False)
    for ax, phase in zip(axes[0], phases):
        for c in (c for c in curves if c.phase == phase):
            distances, norms = _positive(c.norms)
            ax.semilogy(distances, norms, color=colors[c.cell],
                        linestyle=LINESTYLES[inits.index(c.init) % len(LINESTYLES)],
                        label=f"{c.label} ({c.rate:+.3f}/step)")
        title = "at initialisation" if phase == "init" else "after training on the adding problem"
        ax.set(title=title, xlabel="distance T - t (steps back from the loss)",
               ylabel="||dL_T / ds_t|| (RMS over sequences)")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7, ncol=2, title="cell / init (fitted log-rate)", title_fontsize=7)
    fig.suptitle("Gradient reaching earlier states: vanishing in the plain RNN, kept by gates")
    fig.tight_layout()
    return fig


def plot_explosion(result: dict) -> Figure:
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    for k, c in enumerate(result["curves"]):
        distances, norms = _positive(c.norms)
        left.semilogy(distances, norms, color=f"C{k}", label=f"{c.label} ({c.rate:+.3f}/step)")
    left.set(title="ReLU RNN, recurrent weights scaled by a gain", xlabel="distance T - t",
             ylabel="||dL_T / ds_t|| (RMS over sequences)")
    left.legend(fontsize=8)
    for k, run in enumerate(result["training"]):
        for name, style, marker in (("unclipped", "-", "o"), ("clipped", ":", "x")):
            steps, norms = _positive(run[name]["update_norms"])
            right.semilogy(steps, norms, linestyle=style, marker=marker, markersize=5,
                           color=f"C{k}", label=f"gain {run['gain']:g}, {name}")
    right.axhline(result["update_bound"], color="black", linewidth=0.8,
                  label=f"lr x max_norm = {result['update_bound']:g}")
    right.set(title=f"SGD update norms, lr {result['lr']:g}, clipping at {result['max_norm']:g}",
              xlabel="training step (a run that stops has diverged to NaN)",
              ylabel="||theta' - theta||")
    right.legend(fontsize=7, ncol=2)
    for ax in (left, right):
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig


def rates_table(curves: list[Curve]) -> dict:
    """{phase: {cell: {init: rate}}}, for JSON and the console."""
    table: dict = {}
    for c in curves:
        key = c.init if c.gain == 1.0 else f"{c.init} x{c.gain:g}"
        table.setdefault(c.phase, {}).setdefault(c.cell, {})[key] = c.rate
    return table


def write_report(out_dir: str | Path, config: dict, curves: list[Curve] | None = None,
                 explosion: dict | None = None) -> dict[str, Path]:
    """Write PNGs, JSON and TensorBoard events; returns the written files by name."""
    from torch.utils.tensorboard import SummaryWriter  # imported late: it is slow to import

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    writer = SummaryWriter(str(out))
    try:
        if curves:
            fig = plot_vanishing(curves)
            written["vanishing.png"] = save_figure(fig, out / "vanishing.png")
            writer.add_figure("gradient_flow/vanishing", fig)
            data = {"config": config, "rates": rates_table(curves), "curves": [asdict(c) for c in curves]}
            written["vanishing.json"] = write_json(out / "vanishing.json", data)
            _scalars(writer, curves, "vanishing")
        if explosion:
            fig = plot_explosion(explosion)
            written["explosion.png"] = save_figure(fig, out / "explosion.png")
            writer.add_figure("gradient_flow/explosion", fig)
            data = {**explosion, "config": config, "rates": rates_table(explosion["curves"]),
                    "curves": [asdict(c) for c in explosion["curves"]]}
            written["explosion.json"] = write_json(out / "explosion.json", data)
            _scalars(writer, explosion["curves"], "explosion")
            for run in explosion["training"]:
                for name in ("unclipped", "clipped"):
                    for step, norm in enumerate(run[name]["update_norms"]):
                        if math.isfinite(norm):
                            writer.add_scalar(f"update_norm/gain_{run['gain']:g}/{name}", norm, step)
    finally:
        writer.close()
    return written


def _scalars(writer, curves: list[Curve], study: str) -> None:
    for c in curves:
        tag = f"{c.phase}/{c.cell}/{c.init}" + (f"_x{c.gain:g}" if c.gain != 1.0 else "")
        if math.isfinite(c.rate):
            writer.add_scalar(f"{study}/rate/{tag}", c.rate, 0)
        for distance, norm in enumerate(c.norms):
            if norm > 0 and math.isfinite(norm):
                writer.add_scalar(f"{study}/log10_grad_norm/{tag}", math.log10(norm), distance)
