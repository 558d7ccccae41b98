"""The copy task (Hochreiter & Schmidhuber 1997; Arjovsky, Shah & Bengio 2016 formulation).

Ten symbols, then T blanks with a delimiter at the last, then the network must reproduce the
symbols. A memoryless strategy (blanks, then uniform guesses) scores a cross entropy of
copy_len * log(n_symbols) / (T + 2 copy_len): the baseline a model must beat.
"""
from __future__ import annotations

from rnnzoo.data.synthetic import copy_memoryless_loss, copy_task
from rnnzoo.tasks.base import Count, GeneratedTask, TensorDictDataset
from rnnzoo.tasks.info import TaskInfo


class CopyTask(GeneratedTask):
    name, shape, target = "copy", "many_to_many", "classes"

    def __init__(self, *, seq_len: Count = 50, n_symbols: Count = 8, copy_len: Count = 10, **kw):
        super().__init__(**kw)
        self.seq_len, self.n_symbols, self.copy_len = seq_len, n_symbols, copy_len

    def build(self):
        splits = self.generate(lambda split, n, seed: TensorDictDataset.named(("x", "y"), copy_task(
            n, self.seq_len, n_symbols=self.n_symbols, copy_len=self.copy_len, seed=seed)))
        vocab = self.n_symbols + 2  # blank 0, symbols 1..n, delimiter n + 1
        baseline = copy_memoryless_loss(self.seq_len, self.n_symbols, self.copy_len)
        info = TaskInfo(
            name=self.name, shape=self.shape, target=self.target, input_size=vocab,
            output_size=vocab, tokens=True, pad_id=None, metrics=("acc", "seq_acc"),
            monitor="val/loss", mode="min", baselines={"test/loss": baseline})
        return splits, info
