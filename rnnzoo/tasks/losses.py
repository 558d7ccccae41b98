"""The losses the texts name (equations.md section 5), selectable by config where a task allows.

The total loss over time is the sum of per-step losses; here it is normalised per element
(``cross_entropy``, ``nll``, ``mse``: mean over every step and value) or per sequence (``sse``:
the sum of squares over steps and values, averaged over the batch), so learning rates do not
have to change with the sequence length.
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

IGNORE = -100  # target value of padded steps, skipped by the classification losses

LOSSES = {"classes": ("cross_entropy", "nll"), "values": ("mse", "sse")}


def check_loss(name: str, target: str, task: str) -> str:
    allowed = LOSSES[target]
    if name is None:
        return allowed[0]
    if name not in allowed:
        raise ValueError(
            f"loss={name} does not apply to task {task} ({target}); choose one of {', '.join(allowed)}")
    return name


def compute_loss(name: str, output: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """``output``: logits (..., C) for classes, predictions (..., K) for values."""
    if name == "cross_entropy":
        return F.cross_entropy(output.reshape(-1, output.shape[-1]), target.reshape(-1), ignore_index=IGNORE)
    if name == "nll":
        log_probs = F.log_softmax(output, dim=-1)  # a softmax output layer, then -log p(target)
        return F.nll_loss(log_probs.reshape(-1, output.shape[-1]), target.reshape(-1), ignore_index=IGNORE)
    squared = (output - target) ** 2
    if mask is not None:
        squared = squared * mask.unsqueeze(-1)
        if name == "mse":
            return squared.sum() / (mask.sum() * output.shape[-1]).clamp(min=1)
    if name == "mse":
        return squared.mean()
    if name == "sse":
        return squared.sum() / output.shape[0]
    raise ValueError(f"unknown loss {name!r}")
