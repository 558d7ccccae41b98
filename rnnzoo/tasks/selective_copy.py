"""Selective copying (Gu & Dao 2023, "Mamba", section 3.1): symbols scattered at random among
noise, then reproduced in order after a run of markers.

The copy task with the symbols' positions varying, so that a model must choose by content what
to keep: time-invariant (LTI) models such as S4 fail it, input-dependent gating solves it.
Only the recalled steps count (the other targets are IGNORE); chance is 1 / n_symbols.
"""
from __future__ import annotations

from rnnzoo.data.recall import selective_copy
from rnnzoo.tasks.base import Count, GeneratedTask, TensorDictDataset
from rnnzoo.tasks.info import TaskInfo


class SelectiveCopyTask(GeneratedTask):
    name, shape, target = "selective_copy", "many_to_many", "classes"

    def __init__(self, *, seq_len: Count = 64, n_symbols: Count = 8, copy_len: Count = 8, **kw):
        super().__init__(**kw)
        self.seq_len, self.n_symbols, self.copy_len = seq_len, n_symbols, copy_len

    def build(self):
        splits = self.generate(lambda split, n, seed: TensorDictDataset.named(("x", "y"), selective_copy(
            n, self.seq_len, n_symbols=self.n_symbols, copy_len=self.copy_len, seed=seed)))
        vocab = self.n_symbols + 2  # noise 0, symbols 1..n, marker n + 1
        info = TaskInfo(
            name=self.name, shape=self.shape, target=self.target, input_size=vocab,
            output_size=vocab, tokens=True, pad_id=None, metrics=("acc", "seq_acc"),
            monitor="val/acc", mode="max", baselines={"test/acc": 1.0 / self.n_symbols})
        return splits, info
