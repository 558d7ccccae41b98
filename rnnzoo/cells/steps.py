"""Where each time step lives in a time-major packed tensor, and how state rows follow it.

rnnzoo runs every sequence in the layout of ``PackedSequence.data``: step t occupies
``batch_sizes[t]`` consecutive rows, and the batch sizes never increase, because sequences are
sorted by length (longest first). A plain (T, B, ...) tensor is the special case where every
batch size is B. Working on this layout means padding is never computed, and a sequence's final
state is the state after its own last step.

Going forward in time the active rows shrink: a row that drops out is finished, and its state
is final. Going backward in time (the reverse direction of a bidirectional layer, or the
backward pass of BPTT over a forward layer) the active rows grow, and a row that joins starts
from its initial value. ``fit_rows`` and ``final_rows`` implement both moves, so the same two
functions serve the forward loop, the reverse loop, and the explicit BPTT backward loops.
"""
from __future__ import annotations

from itertools import accumulate
from typing import Sequence

import torch
from torch import Tensor

State = tuple[Tensor, ...]


class TimeSteps:
    """The row blocks of a packed sequence, in the order one direction visits them.

    ``order`` lists ``(start, rows)`` pairs: step t's rows are ``data[start:start + rows]``.
    """

    def __init__(self, batch_sizes: Sequence[int], reverse: bool = False):
        sizes = tuple(int(b) for b in batch_sizes)
        if not sizes or sizes[0] < 1:
            raise ValueError("a sequence needs at least one time step")
        if any(b < a for a, b in zip(sizes[1:], sizes)):
            raise ValueError(f"batch sizes must not increase over time, got {sizes}")
        self.batch_sizes = sizes
        self.reverse = reverse
        self.starts = (0, *accumulate(sizes))[:-1]
        blocks = list(zip(self.starts, sizes))
        self.order = tuple(reversed(blocks)) if reverse else tuple(blocks)
        self.batch = sizes[0]
        self.length = len(sizes)
        self.total = sum(sizes)
        self.uniform = sizes[-1] == sizes[0]
        self._padded_index: Tensor | None = None

    @classmethod
    def full(cls, length: int, batch: int, reverse: bool = False) -> "TimeSteps":
        return cls([batch] * length, reverse)

    def flipped(self) -> "TimeSteps":
        """The same blocks visited in the opposite order (what BPTT's backward loop walks)."""
        return TimeSteps(self.batch_sizes, not self.reverse)

    def lengths(self) -> list[int]:
        """Each row's sequence length (rows are sorted longest first)."""
        return [sum(1 for b in self.batch_sizes if b > row) for row in range(self.batch)]

    def padded_index(self, device=None) -> Tensor:
        """For every packed row, its index in a (T * B) padded layout of this direction.

        In the reverse direction each sequence is reversed within its own length, so that a
        scan running forward over the padded layout visits every sequence from its end.
        """
        if self._padded_index is None:
            self._padded_index = self._make_padded_index()
        return self._padded_index.to(device)

    def _make_padded_index(self) -> Tensor:
        lengths = self.lengths()
        index = []
        for t, (start, rows) in enumerate(zip(self.starts, self.batch_sizes)):
            for row in range(rows):
                step = lengths[row] - 1 - t if self.reverse else t
                index.append(step * self.batch + row)
        return torch.tensor(index, dtype=torch.long)

    def last_index(self, device=None) -> Tensor:
        """For every row, the padded index of its last step in this direction's time order."""
        return torch.tensor(
            [(n - 1) * self.batch + row for row, n in enumerate(self.lengths())],
            dtype=torch.long,
            device=device,
        )


def first_rows(initial: State, steps: TimeSteps) -> State:
    """The state rows that are active at the first step this direction visits."""
    rows = steps.order[0][1]
    return tuple(s[:rows] for s in initial)


def fit_rows(state: State, rows: int, initial: State, finished: list[State]) -> State:
    """Resize the active state to ``rows`` rows before a step.

    Fewer rows: the dropped rows' sequences have ended; their state is final (kept in
    ``finished``). More rows: new sequences join, starting from their rows of ``initial``.
    """
    active = state[0].shape[0]
    if rows == active:
        return state
    if rows < active:
        finished.append(tuple(s[rows:] for s in state))
        return tuple(s[:rows] for s in state)
    return tuple(torch.cat([s, s0[active:rows]]) for s, s0 in zip(state, initial))


def final_rows(state: State, finished: list[State]) -> State:
    """Every row's final state, in row order, after the last step."""
    if not finished:
        return state
    return tuple(
        torch.cat([s, *(done[k] for done in reversed(finished))]) for k, s in enumerate(state)
    )


def previous_states(outputs: Tensor, initial: Tensor, steps: TimeSteps) -> Tensor:
    """The state each step started from, in the packed layout of ``outputs``.

    Row block t holds h_{t-1} (h_{t+1} in the reverse direction): what the weight gradient
    dL/dW_hh = sum_t delta_t^T h_prev_t multiplies by.
    """
    if steps.uniform:
        rows = steps.batch
        if steps.reverse:
            return torch.cat([outputs[rows:], initial])
        return torch.cat([initial, outputs[:-rows]])
    pieces = [None] * steps.length
    times = range(steps.length - 1, -1, -1) if steps.reverse else range(steps.length)
    before = None  # the time step visited just before
    for t in times:
        rows = steps.batch_sizes[t]
        if before is None:
            pieces[t] = initial[:rows]
        else:
            b_start, b_rows = steps.starts[before], steps.batch_sizes[before]
            carried = outputs[b_start:b_start + min(rows, b_rows)]
            pieces[t] = carried if rows <= b_rows else torch.cat([carried, initial[b_rows:rows]])
        before = t
    return torch.cat(pieces)


def recurrent_weight_grad(delta: Tensor, outputs: Tensor, initial: Tensor, steps: TimeSteps) -> Tensor:
    """dL/dW_hh = sum_t delta_t^T h_{t-1}: one GEMM over all the steps at once.

    For a dense batch h_{t-1} is the outputs shifted by one step, so the sum is split in two
    GEMMs (the step that starts from ``initial``, and all the others reading ``outputs`` in
    place) rather than copying the shifted outputs out first.
    """
    if not steps.uniform:
        return delta.t() @ previous_states(outputs, initial, steps)
    rows = steps.batch
    if steps.reverse:  # step t starts from h_{t+1}; the last step from the initial state
        return torch.addmm(delta[-rows:].t() @ initial, delta[:-rows].t(), outputs[rows:])
    return torch.addmm(delta[:rows].t() @ initial, delta[rows:].t(), outputs[:-rows])


def run_steps(step, x_proj: Tensor, steps: TimeSteps, initial: State) -> tuple[Tensor, State]:
    """Run ``state = step(x_proj_t, state)`` over every time step, with autograd.

    This is the reference loop any cell can use; state[0] is the output at each step.
    """
    state = first_rows(initial, steps)
    finished: list[State] = []
    outputs: list[Tensor] = []
    for start, rows in steps.order:
        state = fit_rows(state, rows, initial, finished)
        state = step(x_proj[start:start + rows], state)
        outputs.append(state[0])
    if steps.reverse:
        outputs.reverse()
    return torch.cat(outputs), final_rows(state, finished)
