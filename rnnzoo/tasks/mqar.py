"""Multi-query associative recall, MQAR (Arora, Eyuboglu et al. 2023, "Zoology").

Key-value pairs, then every key asked again after a power-law-distributed gap; the target at a
query is the key's value. Only the answers count (the other targets are IGNORE), in the loss
and in ``acc``; ``seq_acc`` is every query of a row answered right. Zoology found recurrent
models very sensitive to the learning rate on it: sweep ``optimizer.lr``.
"""
from __future__ import annotations

from typing import Annotated

from rnnzoo.data.recall import mqar
from rnnzoo.tasks.base import Count, GeneratedTask, TensorDictDataset
from rnnzoo.tasks.info import TaskInfo
from rnnzoo.utils.rules import Rule


_POWER = Rule(gt=0, le=1, why="must be in (0, 1] (1: uniform gaps)")


class MQARTask(GeneratedTask):
    name, shape, target = "mqar", "many_to_many", "classes"

    def __init__(self, *, seq_len: Count = 64, vocab_size: Count = 128, num_kv_pairs: Count = 8,
                 power_a: Annotated[float, _POWER] = 0.01, **kw):
        super().__init__(**kw)
        self.seq_len, self.vocab_size = seq_len, vocab_size
        self.num_kv_pairs, self.power_a = num_kv_pairs, power_a

    def build(self):
        splits = self.generate(lambda split, n, seed: TensorDictDataset.named(("x", "y"), mqar(
            n, self.seq_len, vocab_size=self.vocab_size, num_kv_pairs=self.num_kv_pairs,
            power_a=self.power_a, seed=seed)))
        n_values = self.vocab_size - self.vocab_size // 2
        info = TaskInfo(
            name=self.name, shape=self.shape, target=self.target, input_size=self.vocab_size,
            output_size=self.vocab_size, tokens=True, pad_id=None, metrics=("acc", "seq_acc"),
            monitor="val/acc", mode="max", baselines={"test/acc": 1.0 / n_values})
        return splits, info
