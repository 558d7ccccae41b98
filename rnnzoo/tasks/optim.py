"""Optimizers and learning-rate schedules by name (the ``optimizer`` and ``scheduler`` groups)."""
from __future__ import annotations

from typing import Any

import torch

#: name -> (class, defaults that make the name mean what it says)
OPTIMIZERS = {
    "sgd": (torch.optim.SGD, {}),
    "sgd_momentum": (torch.optim.SGD, {"momentum": 0.9}),
    "adam": (torch.optim.Adam, {}),
    "adamw": (torch.optim.AdamW, {}),
    "adagrad": (torch.optim.Adagrad, {}),
    "adadelta": (torch.optim.Adadelta, {}),
    "rmsprop": (torch.optim.RMSprop, {}),
}
SCHEDULERS = ("none", "step", "exponential", "cosine", "plateau")


def build_optimizer(params, config: dict[str, Any]) -> torch.optim.Optimizer:
    options = dict(config)
    name = options.pop("name")
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    cls, defaults = OPTIMIZERS[name]
    return cls(params, **{**defaults, **options})


def build_scheduler(optimizer, config: dict[str, Any], total_steps: int, monitor: str, mode: str):
    """A Lightning lr_scheduler dict, or None; ``total_steps`` sizes the cosine schedule."""
    options = dict(config)
    name = options.pop("name", "none")
    if name == "none":
        return None
    if name == "step":
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, **options)
        return {"scheduler": scheduler, "interval": "epoch"}
    if name == "exponential":
        scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, **options)
        return {"scheduler": scheduler, "interval": "epoch"}
    if name == "cosine":
        options.setdefault("T_max", max(1, total_steps))
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, **options)
        return {"scheduler": scheduler, "interval": "step"}
    if name == "plateau":
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode=mode, **options)
        return {"scheduler": scheduler, "interval": "epoch", "monitor": monitor}
    raise ValueError(f"unknown scheduler {name!r}; choose one of {', '.join(SCHEDULERS)}")
