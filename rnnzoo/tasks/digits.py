"""Handwritten digits read row by row: scikit-learn's bundled 8x8 images (1797 of them) as
8 steps of 8 pixels, many-to-one classification — a small real sequential-image task.
"""
from __future__ import annotations

from rnnzoo.data.synthetic import digits_sequences
from rnnzoo.tasks.base import TaskData, TensorDictDataset, split_rows
from rnnzoo.tasks.info import TaskInfo


class DigitsTask(TaskData):
    name, shape, target = "digits", "many_to_one", "classes"

    def build(self):
        x, y = digits_sequences()
        splits = {name: TensorDictDataset(x=x[index], y=y[index]) for name, index in
                  zip(("train", "val", "test"), split_rows(len(y), (0.7, 0.15, 0.15), self.seed))}
        info = TaskInfo(
            name=self.name, shape=self.shape, target=self.target, input_size=8, output_size=10,
            tokens=False, metrics=("acc", "f1"), monitor="val/acc", mode="max",
            artifacts={"labels": [str(d) for d in range(10)]})
        return splits, info
