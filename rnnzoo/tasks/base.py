"""The data side of a task: a LightningDataModule that also describes itself (TaskInfo).

A task builds its splits once (``setup`` is idempotent, so the trainer calling it again per
stage costs nothing), hands out batches as dicts of tensors, and can render a few examples
(text or figures) for TensorBoard.
"""
from __future__ import annotations

from typing import Annotated, Any

import lightning as L
import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader, Dataset

from rnnzoo.tasks.info import TaskInfo
from rnnzoo.tasks.loading import EpochSampler, ResumableLoader
from rnnzoo.utils.rules import Rule

#: an argument that counts something: at least one
Count = Annotated[int, Rule(ge=1)]


class TensorDictDataset(Dataset):
    """Rows of equally long tensors, served as dicts: ``{"x": x[i], "y": y[i]}``."""

    def __init__(self, **tensors: torch.Tensor):
        sizes = {len(t) for t in tensors.values()}
        if len(sizes) != 1:
            raise ValueError(f"tensors differ in length: { {k: len(v) for k, v in tensors.items()} }")
        self.tensors = tensors

    @classmethod
    def named(cls, names: tuple[str, ...], tensors) -> "TensorDictDataset":
        """From a generator's tuple of tensors: ``named(("x", "y"), adding_problem(...))``."""
        return cls(**dict(zip(names, tensors, strict=True)))

    def __len__(self) -> int:
        return len(next(iter(self.tensors.values())))

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {k: v[index] for k, v in self.tensors.items()}


def split_rows(n: int, fractions: tuple[float, float, float], seed: int) -> tuple[torch.Tensor, ...]:
    """A seeded random split of range(n) into train/val/test index tensors."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_train, n_val = int(n * fractions[0]), int(n * fractions[1])
    return order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]


def pad_tokens(sequences: list[torch.Tensor], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Variable-length 1-D token tensors -> (B, T_max) padded batch and (B,) lengths."""
    lengths = torch.tensor([len(s) for s in sequences])
    return pad_sequence(sequences, batch_first=True, padding_value=pad), lengths


#: the TensorBoard group of every task's examples (samples, figures): TensorBoard sorts groups
#: by name, and this one sorts after train/, val/ and test/
EXAMPLES = "x_examples"


class TaskData(L.LightningDataModule):
    #: the task's name, sequence shape and kind of target (TaskInfo's), known before any data
    name, shape, target = "task", "many_to_one", "classes"

    def __init__(self, *, batch_size: Count = 64, seed: int = 0, num_workers: int = 0):
        super().__init__()
        self.batch_size, self.seed, self.num_workers = batch_size, seed, num_workers
        self.splits: dict[str, Dataset] | None = None
        self._info: TaskInfo | None = None

    # -- building ----------------------------------------------------------------------------
    def build(self) -> tuple[dict[str, Dataset], TaskInfo]:
        """The train/val/test datasets and the task's description."""
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        if self.splits is None:
            self.splits, self._info = self.build()

    @property
    def info(self) -> TaskInfo:
        self.setup()
        return self._info

    # -- batches -----------------------------------------------------------------------------
    def collate(self, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        return torch.utils.data.default_collate(rows)

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        """A resumable loader over this process's share of ``split`` (see tasks.loading)."""
        self.setup()
        rank, world = self.world()
        dataset = self.splits[split]
        sampler = EpochSampler(len(dataset), shuffle=shuffle, seed=self.seed, rank=rank, world=world)
        return self._resumable(split, dataset, sampler, batch_size=self.batch_size,
                               collate_fn=self.collate)

    def _resumable(self, split: str, dataset, sampler, **options) -> DataLoader:
        """The loader every task uses: it resumes mid-epoch."""
        return ResumableLoader(dataset, sampler=sampler, progress=self._progress,
                               num_workers=self.num_workers,
                               persistent_workers=self.num_workers > 0, **options)

    def world(self) -> tuple[int, int]:
        """(this process's rank, number of processes): (0, 1) outside a distributed run."""
        trainer = getattr(self, "trainer", None)
        if trainer is None:
            return 0, 1
        return trainer.global_rank, trainer.world_size

    def _progress(self) -> int:
        """Training batches finished in the current epoch: where a resumed loader goes on."""
        trainer = getattr(self, "trainer", None)
        return 0 if trainer is None else trainer.fit_loop.epoch_loop.batch_progress.current.processed

    def train_dataloader(self):
        return self._loader("train", shuffle=True)

    def val_dataloader(self):
        return self._loader("val", shuffle=False)

    def test_dataloader(self):
        return self._loader("test", shuffle=False)

    # -- showing -----------------------------------------------------------------------------
    def examples(self, system) -> dict[str, Any]:
        """What to show in TensorBoard after a validation: {"text": {tag: str}, "figures": {tag: fig}};
        the tags go under :data:`EXAMPLES`."""
        return {}


class GeneratedTask(TaskData):
    """A task whose splits are drawn from a seeded generator: ``num_train`` training rows and
    ``num_eval`` for validation and for test, each split from its own seed."""

    def __init__(self, *, num_train: Count = 10000, num_eval: Count = 1000, **kw):
        super().__init__(**kw)
        self.num_train, self.num_eval = num_train, num_eval

    def generate(self, make) -> dict[str, Dataset]:
        """Each split's dataset from ``make(split, n, seed)``."""
        sizes = {"train": self.num_train, "val": self.num_eval, "test": self.num_eval}
        return {split: make(split, n, self.seed * 3 + offset)
                for offset, (split, n) in enumerate(sizes.items())}
