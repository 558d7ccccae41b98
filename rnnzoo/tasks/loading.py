"""Data loaders that can stop mid-epoch and carry on exactly where they stopped, on any number
of processes.

Lightning restores a run's counters from a checkpoint (epoch, batches done this epoch) but
replays the data order only for loaders with ``state_dict``/``load_state_dict``. Here:

- :class:`EpochSampler` draws each epoch's order from ``(seed, epoch)`` alone — never from the
  global random state — so an epoch's order can be drawn again after a crash; it hands this
  process its share of the order (every ``world``-th index from ``rank``), padded so every
  process gets the same number of batches (DDP needs that).
- :class:`ResumableLoader` is a ``DataLoader`` whose state is (epoch, batches the training loop
  has processed); on resume it skips that many batches by index, without loading them.

Striding the order over processes keeps the global batch: with 2 processes of batch 32, step k
sees the same 64 rows as one process of batch 64 (rows 64k .. 64k+63 of the epoch's order).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler


def epoch_seed(seed: int, epoch: int) -> int:
    """One 63-bit seed per (seed, epoch); distinct pairs give distinct seeds."""
    return (seed * 0x9E3779B97F4A7C15 + epoch * 0xBF58476D1CE4E5B9 + 1) % (1 << 63)


class EpochSampler(Sampler[int]):
    def __init__(self, size: int, *, shuffle: bool, seed: int = 0, rank: int = 0, world: int = 1):
        self.size, self.shuffle, self.seed = size, shuffle, seed
        self.rank, self.world = rank, world
        self.epoch = 0
        self.start = 0  # positions of this process's share to skip (a resumed epoch)

    def set_epoch(self, epoch: int) -> None:  # Lightning calls it before each epoch
        self.epoch = epoch

    def order(self) -> list[int]:
        """This process's indices for the current epoch, in order."""
        if self.shuffle:
            generator = torch.Generator().manual_seed(epoch_seed(self.seed, self.epoch))
            indices = torch.randperm(self.size, generator=generator).tolist()
        else:
            indices = list(range(self.size))
        padded = math.ceil(self.size / self.world) * self.world
        indices += indices[:padded - self.size]  # repeat a few rows so shares are equal
        return indices[self.rank::self.world]

    def __len__(self) -> int:
        return math.ceil(self.size / self.world)

    def __iter__(self) -> Iterator[int]:
        # ``start`` stays until the loader's next iteration sets it: a DataLoader with workers
        # asks for the sampler's iterator more than once per epoch
        return iter(self.order()[self.start:])


class ResumableLoader(DataLoader):
    """A DataLoader over an :class:`EpochSampler` that Lightning can checkpoint mid-epoch.

    ``progress()`` says how many batches of the current epoch the training loop has finished
    (the loader itself cannot tell: Lightning fetches a batch ahead). ``batch_size=None`` means
    each dataset item is already a batch (char_lm's chunks).
    """

    def __init__(self, dataset: Dataset, *, sampler: EpochSampler,
                 progress: Callable[[], int] | None = None, **kwargs):
        kwargs.setdefault("generator", torch.Generator())
        super().__init__(dataset, sampler=sampler, **kwargs)
        self.progress = progress
        self._skip = 0

    def state_dict(self) -> dict[str, int]:
        batches = self.progress() if self.progress is not None else 0
        return {"epoch": self.sampler.epoch, "batches": int(batches)}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.sampler.epoch = int(state["epoch"])
        self._skip = int(state["batches"])

    def __iter__(self):
        # worker seeds follow the epoch too, so a resumed epoch gets the same ones
        self.generator.manual_seed(epoch_seed(self.sampler.seed + 1, self.sampler.epoch))
        skip, self._skip = self._skip, 0
        self.sampler.start = skip * (self.batch_size or 1)
        return super().__iter__()
