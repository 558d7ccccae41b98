"""Small matplotlib figures for TensorBoard (Agg backend: no screen needed)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def waves_figure(series: list[dict[str, list[float]]], title: str, panels: list[str] | None = None):
    """One panel per example; each dict maps a label ("input", "target", "prediction") to values.
    ``panels``: a title per panel (which split it comes from, its error beside the baseline's)."""
    fig, axes = plt.subplots(len(series), 1, figsize=(7, 1.8 * len(series)), sharex=True, squeeze=False)
    for i, (ax, lines) in enumerate(zip(axes[:, 0], series)):
        if panels:
            ax.set_title(panels[i], fontsize=8, loc="left")
        for label, values in lines.items():
            style = {"input": dict(alpha=0.35, lw=1), "target": dict(lw=1.5),
                     "prediction": dict(lw=1.5, ls="--")}.get(label, {})
            ax.plot(values, label=label, **style)
    axes[0, 0].legend(loc="upper right", fontsize=7)
    fig.suptitle(title, fontsize=9)
    axes[-1, 0].set_xlabel("step")
    fig.tight_layout()
    return fig
