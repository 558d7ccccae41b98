"""Binary addition (equations.md section 8): the bits of a and b enter one pair per step,
least significant first, and the network emits the bits of a + b — it must learn the carry.
Many-to-many aligned; sequence accuracy counts sums with every bit right.
"""
from __future__ import annotations

from rnnzoo.data.synthetic import binary_addition
from rnnzoo.tasks.base import TaskData, TensorDictDataset
from rnnzoo.tasks.info import TaskInfo


class BinaryAddTask(TaskData):
    name = "binary_add"

    def __init__(self, *, n_bits: int = 8, num_train: int = 5000, num_eval: int = 1000, **kw):
        super().__init__(**kw)
        self.n_bits, self.num_train, self.num_eval = n_bits, num_train, num_eval

    def build(self):
        splits = {}
        for offset, (split, n) in enumerate((("train", self.num_train), ("val", self.num_eval),
                                              ("test", self.num_eval))):
            x, y = binary_addition(n, self.n_bits, seed=self.seed * 3 + offset)
            splits[split] = TensorDictDataset(x=x, y=y)
        info = TaskInfo(
            name=self.name, shape="many_to_many", target="classes", input_size=2, output_size=2,
            tokens=False, metrics=("acc", "seq_acc"), monitor="val/loss", mode="min")
        return splits, info
