"""Binary addition (equations.md section 8): the bits of a and b enter one pair per step,
least significant first, and the network emits the bits of a + b — it must learn the carry.
Many-to-many aligned; sequence accuracy counts sums with every bit right.
"""
from __future__ import annotations

from typing import Annotated

from rnnzoo.data.synthetic import binary_addition
from rnnzoo.tasks.base import Count, GeneratedTask, TensorDictDataset
from rnnzoo.tasks.info import TaskInfo
from rnnzoo.utils.rules import Rule


class BinaryAddTask(GeneratedTask):
    name, shape, target = "binary_add", "many_to_many", "classes"

    def __init__(self, *, n_bits: Annotated[int, Rule(ge=1, le=62)] = 8, num_train: Count = 5000,
                 batch_size: Count = 32, **kw):
        super().__init__(num_train=num_train, batch_size=batch_size, **kw)
        self.n_bits = n_bits

    def build(self):
        splits = self.generate(lambda split, n, seed: TensorDictDataset.named(
            ("x", "y"), binary_addition(n, self.n_bits, seed=seed)))
        info = TaskInfo(
            name=self.name, shape=self.shape, target=self.target, input_size=2, output_size=2,
            tokens=False, metrics=("acc", "seq_acc"), monitor="val/loss", mode="min")
        return splits, info
