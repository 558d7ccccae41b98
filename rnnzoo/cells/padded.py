"""Moving a packed sequence to a padded (T, B, ...) layout and back, for fast paths that work on
whole sequences at once (the mLSTM's parallel form), and finding each row's last step.

In the padded layout row b's steps sit at t = 0 .. L_b - 1 in the order this direction visits
them (a reverse direction's sequences are reversed within their own length, as
:meth:`TimeSteps.padded_index` lays them out), so a causal computation over t never mixes
padding into a row's real steps: padding only ever comes after them.
"""
from __future__ import annotations

import torch
from torch import Tensor

from rnnzoo.cells.steps import TimeSteps


def _dense_forward(steps: TimeSteps) -> bool:
    return steps.uniform and not steps.reverse


def to_padded(rows: Tensor, steps: TimeSteps) -> Tensor:
    """Packed rows (N, *rest) -> (T, B, *rest), zeros after each row's end."""
    shape = (steps.length, steps.batch, *rows.shape[1:])
    if _dense_forward(steps):
        return rows.view(shape)
    index = steps.padded_index(rows.device)
    padded = rows.new_zeros(steps.length * steps.batch, *rows.shape[1:])
    return padded.index_copy(0, index, rows).view(shape)


def from_padded(padded: Tensor, steps: TimeSteps) -> Tensor:
    """(T, B, *rest) -> packed rows (N, *rest): the inverse of :func:`to_padded`."""
    flat = padded.reshape(steps.length * steps.batch, *padded.shape[2:])
    if _dense_forward(steps):
        return flat
    return flat.index_select(0, steps.padded_index(padded.device))


def last_rows(steps: TimeSteps, device=None) -> Tensor:
    """For every row b, the packed index of the last step this direction visits."""
    if steps.reverse:  # the last block visited is time step 0, rows 0 .. B-1
        return torch.arange(steps.batch, device=device)
    return torch.tensor([steps.starts[n - 1] + row for row, n in enumerate(steps.lengths())],
                        dtype=torch.long, device=device)
