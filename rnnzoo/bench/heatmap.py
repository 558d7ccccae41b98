"""The leaderboard as a heatmap: one row per task setting, one column per cell, each square
coloured by the share of the gap from the trivial value to a perfect one that the cell closed
(1 - value / trivial for losses and MSE, whose perfect value is 0; (value - chance) /
(1 - chance) for accuracies), and labelled with the metric itself."""
from __future__ import annotations

import math
from pathlib import Path


def gap_closed(row: dict) -> float | None:
    """The share of the gap from trivial to perfect that a row's value closed, in [0, 1]
    (None: the row has no trivial value to measure from)."""
    trivial, value = row.get("baseline_trivial"), row["value"]
    if trivial is None or value is None or math.isnan(value):
        return None
    if row["better"] == "higher":  # accuracies: perfect is 1
        share = (value - trivial) / (1.0 - trivial) if trivial < 1 else 0.0
    else:  # losses and MSE: perfect is 0
        share = 1.0 - value / trivial if trivial > 0 else 0.0
    return min(max(share, 0.0), 1.0)


def leaderboard_heatmap(rows: list[dict], tasks: list[str], cells: list[str], path: Path,
                        title: str = "") -> Path:
    """Write the heatmap of ``rows`` (accuracy rows) to ``path`` (PNG) and return it."""
    import numpy as np

    from rnnzoo.tasks.plots import plt  # the Agg backend: no screen needed

    by = {(r["task"], r["cell"]): r for r in rows}
    share = np.full((len(tasks), len(cells)), np.nan)
    fig, ax = plt.subplots(figsize=(1.1 * len(cells) + 2.5, 0.6 * len(tasks) + 1.6))
    for i, task in enumerate(tasks):
        for j, cell in enumerate(cells):
            row = by.get((task, cell))
            if row is None:
                continue
            closed = gap_closed(row)
            share[i, j] = np.nan if closed is None else closed
            colour = "black" if closed is None or closed > 0.6 else "white"
            label = "diverged" if row.get("diverged") else f"{row['value']:.3g}"
            ax.text(j, i, label, ha="center", va="center", fontsize=8, color=colour)
    image = ax.imshow(share, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(cells)), cells, rotation=30, ha="right")
    ax.set_yticks(range(len(tasks)), [f"{t}\n({_metric_of(rows, t)})" for t in tasks], fontsize=8)
    fig.colorbar(image, ax=ax, label="share of the gap from trivial to perfect closed")
    ax.set_title(title or "test metric (label) and the gap it closed (colour)", fontsize=9)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _metric_of(rows: list[dict], task: str) -> str:
    return next((r["metric"] for r in rows if r["task"] == task), "")
