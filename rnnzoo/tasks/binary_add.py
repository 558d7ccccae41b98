"""Binary addition (equations.md section 8): the bits of a and b enter one pair per step,
least significant first, and the network emits the bits of a + b — it must learn the carry.
Many-to-many aligned; sequence accuracy counts sums with every bit right.
"""
from __future__ import annotations

from rnnzoo.data.synthetic import binary_addition
from rnnzoo.tasks.base import GeneratedTask, TensorDictDataset
from rnnzoo.tasks.info import TaskInfo


class BinaryAddTask(GeneratedTask):
    name = "binary_add"

    def __init__(self, *, n_bits: int = 8, num_train: int = 5000, **kw):
        super().__init__(num_train=num_train, **kw)
        self.n_bits = n_bits

    def build(self):
        splits = self.generate(lambda split, n, seed: TensorDictDataset.named(
            ("x", "y"), binary_addition(n, self.n_bits, seed=seed)))
        info = TaskInfo(
            name=self.name, shape="many_to_many", target="classes", input_size=2, output_size=2,
            tokens=False, metrics=("acc", "seq_acc"), monitor="val/loss", mode="min")
        return splits, info
