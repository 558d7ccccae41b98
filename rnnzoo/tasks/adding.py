"""The adding problem (Hochreiter & Schmidhuber 1997; as set by Le et al. 2015): many-to-one
regression. Two of T values are marked; the target is their sum. A model without memory of the
marked values can do no better than predicting the mean sum, 1.0: MSE = Var = 1/6 ~ 0.167.
"""
from __future__ import annotations

from rnnzoo.data.synthetic import adding_problem
from rnnzoo.tasks.base import TaskData, TensorDictDataset
from rnnzoo.tasks.info import TaskInfo


class AddingTask(TaskData):
    name = "adding"

    def __init__(self, *, seq_len: int = 50, num_train: int = 10000, num_eval: int = 1000, **kw):
        super().__init__(**kw)
        self.seq_len, self.num_train, self.num_eval = seq_len, num_train, num_eval

    def build(self):
        splits = {}
        for offset, (split, n) in enumerate((("train", self.num_train), ("val", self.num_eval),
                                              ("test", self.num_eval))):
            x, y = adding_problem(n, self.seq_len, seed=self.seed * 3 + offset)
            splits[split] = TensorDictDataset(x=x, y=y)
        test_y = splits["test"].tensors["y"]
        info = TaskInfo(
            name=self.name, shape="many_to_one", target="values", input_size=2, output_size=1,
            tokens=False, metrics=("mse",), monitor="val/mse", mode="min",
            baselines={"test/mse": float(((test_y - 1.0) ** 2).mean())})
        return splits, info
