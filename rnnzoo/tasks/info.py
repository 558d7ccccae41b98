"""What a task tells the network builder and the training system about its data."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SHAPES = ("many_to_one", "many_to_many", "one_to_many", "seq2seq")


@dataclass
class TaskInfo:
    name: str
    #: which outputs are used (equations.md section 4)
    shape: str
    #: "classes" (softmax over output_size) or "values" (linear regression output)
    target: str
    #: vocabulary size when ``tokens``, else features per step (or of the one input vector)
    input_size: int
    #: number of classes, or number of values per output
    output_size: int
    tokens: bool
    #: metric names the system computes, besides the loss (see rnnzoo.tasks.metrics)
    metrics: tuple[str, ...] = ()
    #: the metric that picks the best checkpoint, and whether higher is better
    monitor: str = "val/loss"
    mode: str = "min"
    pad_id: int = 0
    #: output length for one-to-many, maximum decoded length for seq2seq
    steps: int | None = None
    #: carry the recurrent state across consecutive batches (truncated BPTT over a long text)
    carry_state: bool = False
    #: trivial reference results (e.g. {"test/mse": 0.167}) printed beside the real ones
    baselines: dict[str, float] = field(default_factory=dict)
    #: JSON-safe extras the checkpoint keeps for inference (vocabularies, label names)
    artifacts: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if self.shape not in SHAPES:
            raise ValueError(f"unknown sequence shape {self.shape!r}; one of {SHAPES}")
        if self.target not in ("classes", "values"):
            raise ValueError(f"target must be 'classes' or 'values', got {self.target!r}")
