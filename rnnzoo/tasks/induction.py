"""Induction heads (Olsson et al. 2022; the synthetic task of Gu & Dao 2023, section 4.1.2):
after a special token, recall the token that followed its previous occurrence.

Only the last step counts (the other targets are IGNORE); chance is 1 / n_symbols. To test
length generalisation, ``test_len`` draws the test split at another length than training and
validation: then ``val/acc`` (and ``val/acc_best``) is the accuracy at the training length and
``test/acc`` the accuracy at ``test_len`` (Gu & Dao train at 256 and test up to 2^20).
"""
from __future__ import annotations

from typing import Annotated

from rnnzoo.data.recall import induction_heads
from rnnzoo.tasks.base import Count, GeneratedTask, TensorDictDataset
from rnnzoo.tasks.info import TaskInfo
from rnnzoo.utils.rules import Rule

_AT_LEAST_3 = Rule(ge=3, why="must be >= 3 (special, answer, special)")


class InductionTask(GeneratedTask):
    name, shape, target = "induction", "many_to_many", "classes"

    def __init__(self, *, seq_len: Annotated[int, _AT_LEAST_3] = 64, n_symbols: Count = 16,
                 test_len: Annotated[int | None, _AT_LEAST_3] = None, **kw):
        super().__init__(**kw)
        self.seq_len, self.n_symbols, self.test_len = seq_len, n_symbols, test_len

    def build(self):
        def make(split, n, seed):
            length = self.test_len if split == "test" and self.test_len else self.seq_len
            return TensorDictDataset.named(("x", "y"), induction_heads(
                n, length, n_symbols=self.n_symbols, seed=seed))

        vocab = self.n_symbols + 2  # 0 unused, symbols 1..n, special n + 1
        info = TaskInfo(
            name=self.name, shape=self.shape, target=self.target, input_size=vocab,
            output_size=vocab, tokens=True, pad_id=None, metrics=("acc",),
            monitor="val/acc", mode="max", baselines={"test/acc": 1.0 / self.n_symbols},
            artifacts={"train_len": self.seq_len, "test_len": self.test_len or self.seq_len})
        return self.generate(make), info
