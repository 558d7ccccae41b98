"""Metrics by name, per stage, on torchmetrics (bits per character and perplexity derived)."""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torchmetrics import MeanMetric, MeanSquaredError
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

from rnnzoo.tasks.losses import IGNORE


class StageMetrics(nn.Module):
    """The named metrics of one stage (train/val/test); ``update`` takes outputs and targets.

    Names: ``acc`` (per output or per step), ``f1`` (macro), ``mse``, ``seq_acc`` (every step
    of a sequence right), ``bpc`` and ``ppl`` (from the mean per-character cross entropy),
    ``exact`` (a decoded sequence equals the target).
    """

    def __init__(self, names, num_classes: int):
        super().__init__()
        self.names = tuple(names)
        made = {}
        for name in self.names:
            if name == "acc":
                made[name] = MulticlassAccuracy(num_classes, average="micro", ignore_index=IGNORE)
            elif name == "f1":
                made[name] = MulticlassF1Score(num_classes, average="macro", ignore_index=IGNORE)
            elif name == "mse":
                made[name] = MeanSquaredError()
            elif name in ("seq_acc", "exact"):
                made[name] = MeanMetric()
            elif name in ("bpc", "ppl"):
                made.setdefault("_nats", MeanMetric())
            else:
                raise ValueError(f"unknown metric {name!r}")
        self.parts = nn.ModuleDict(made)

    def update(self, output: Tensor, target: Tensor, mask: Tensor | None = None) -> None:
        for key, metric in self.parts.items():
            if key in ("acc", "f1"):
                metric.update(output.reshape(-1, output.shape[-1]), target.reshape(-1))
            elif key == "mse":
                if mask is None:
                    metric.update(output, target)
                else:
                    keep = mask.bool()
                    metric.update(output[keep], target[keep])
            elif key == "seq_acc":
                right = (output.argmax(-1) == target) | (target == IGNORE)
                metric.update(right.reshape(right.shape[0], -1).all(1).float())
            elif key == "_nats":
                valid = target != IGNORE
                nats = nn.functional.cross_entropy(
                    output.reshape(-1, output.shape[-1]), target.reshape(-1),
                    ignore_index=IGNORE, reduction="sum")
                count = valid.sum()
                metric.update(nats / count.clamp(min=1), weight=count)

    def update_exact(self, decoded_right: Tensor) -> None:
        self.parts["exact"].update(decoded_right.float())

    def compute(self) -> dict[str, Tensor]:
        """Every metric that saw at least one update this epoch."""
        results = {}
        for name in self.names:
            if self.parts["_nats" if name in ("bpc", "ppl") else name].update_count == 0:
                continue
            if name in ("bpc", "ppl"):
                nats = self.parts["_nats"].compute()
                results[name] = nats / math.log(2) if name == "bpc" else torch.exp(nats)
            else:
                results[name] = self.parts[name].compute()
        return results

    def reset(self) -> None:
        for metric in self.parts.values():
            metric.reset()
