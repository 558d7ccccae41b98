"""The copy task (Hochreiter & Schmidhuber 1997; Arjovsky, Shah & Bengio 2016 formulation).

Ten symbols, then T blanks with a delimiter at the last, then the network must reproduce the
symbols. A memoryless strategy (blanks, then uniform guesses) scores a cross entropy of
copy_len * log(n_symbols) / (T + 2 copy_len): the baseline a model must beat.
"""
from __future__ import annotations

from rnnzoo.data.synthetic import copy_memoryless_loss, copy_task
from rnnzoo.tasks.base import TaskData, TensorDictDataset
from rnnzoo.tasks.info import TaskInfo


class CopyTask(TaskData):
    name = "copy"

    def __init__(self, *, seq_len: int = 50, n_symbols: int = 8, copy_len: int = 10,
                 num_train: int = 10000, num_eval: int = 1000, **kw):
        super().__init__(**kw)
        self.seq_len, self.n_symbols, self.copy_len = seq_len, n_symbols, copy_len
        self.num_train, self.num_eval = num_train, num_eval

    def build(self):
        splits = {}
        for offset, (split, n) in enumerate((("train", self.num_train), ("val", self.num_eval),
                                              ("test", self.num_eval))):
            x, y = copy_task(n, self.seq_len, n_symbols=self.n_symbols, copy_len=self.copy_len,
                             seed=self.seed * 3 + offset)
            splits[split] = TensorDictDataset(x=x, y=y)
        vocab = self.n_symbols + 2  # blank 0, symbols 1..n, delimiter n + 1
        baseline = copy_memoryless_loss(self.seq_len, self.n_symbols, self.copy_len)
        info = TaskInfo(
            name=self.name, shape="many_to_many", target="classes", input_size=vocab,
            output_size=vocab, tokens=True, pad_id=None, metrics=("acc", "seq_acc"),
            monitor="val/loss", mode="min", baselines={"test/loss": baseline})
        return splits, info
