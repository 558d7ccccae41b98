"""The adding problem (Hochreiter & Schmidhuber 1997; as set by Le et al. 2015): many-to-one
regression. Two of T values are marked; the target is their sum. A model without memory of the
marked values can do no better than predicting the mean sum, 1.0: MSE = Var = 1/6 ~ 0.167.
"""
from __future__ import annotations

from typing import Annotated

from rnnzoo.data.synthetic import adding_problem
from rnnzoo.tasks.base import GeneratedTask, TensorDictDataset
from rnnzoo.tasks.info import TaskInfo
from rnnzoo.utils.rules import Rule


class AddingTask(GeneratedTask):
    name, shape, target = "adding", "many_to_one", "values"

    def __init__(self, *, seq_len: Annotated[int, Rule(ge=2, why="must be >= 2 (one marked value in each half)")] = 50, **kw):
        super().__init__(**kw)
        self.seq_len = seq_len

    def build(self):
        splits = self.generate(lambda split, n, seed: TensorDictDataset.named(
            ("x", "y"), adding_problem(n, self.seq_len, seed=seed)))
        test_y = splits["test"].tensors["y"]
        info = TaskInfo(
            name=self.name, shape=self.shape, target=self.target, input_size=2, output_size=1,
            tokens=False, metrics=("mse",), monitor="val/mse", mode="min",
            baselines={"test/mse": float(((test_y - 1.0) ** 2).mean())})
        return splits, info
