"""A parallel scan for the linear recurrence h_t = a_t * h_{t-1} + b_t.

Composing two steps gives another step of the same form,
(a1, b1) then (a2, b2) = (a1 * a2, a2 * b1 + b2), so all prefixes can be computed in
ceil(log2 T) rounds of whole-sequence tensor operations (Hillis & Steele's doubling scan)
instead of T sequential steps. Work is O(T log T); depth is O(log T), which is what a GPU
(and, for long T, a CPU) rewards. Written with out-of-place ops, so autograd differentiates it.
"""
from __future__ import annotations

import torch
from torch import Tensor

from rnnzoo.cells.steps import TimeSteps


def linear_scan(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    """All h_t for h_t = a_t * h_{t-1} + b_t with h_{-1} = h0; a, b: (T, B, H), h0: (B, H)."""
    length = a.shape[0]
    b = torch.cat([(a[0] * h0 + b[0]).unsqueeze(0), b[1:]])  # step 0 absorbs h0
    shift = 1
    while shift < length:
        b = torch.cat([b[:shift], torch.addcmul(b[shift:], a[shift:], b[:-shift])])
        if shift * 2 < length:
            a = torch.cat([a[:shift], a[shift:] * a[:-shift]])
        shift *= 2
    return b


def scan_packed(a: Tensor, b: Tensor, steps: TimeSteps, h0: Tensor) -> tuple[Tensor, Tensor]:
    """linear_scan over a packed sequence (a, b: (N, H)); returns packed outputs and final h."""
    length, batch, hidden = steps.length, steps.batch, a.shape[1]
    if steps.uniform and not steps.reverse:
        h = linear_scan(a.view(length, batch, hidden), b.view(length, batch, hidden), h0)
        return h.reshape(-1, hidden), h[-1]
    index = steps.padded_index(a.device)
    padded_a = a.new_zeros(length * batch, hidden).index_copy(0, index, a)
    padded_b = b.new_zeros(length * batch, hidden).index_copy(0, index, b)
    h = linear_scan(padded_a.view(length, batch, hidden), padded_b.view(length, batch, hidden), h0)
    h = h.reshape(length * batch, hidden)
    return h.index_select(0, index), h.index_select(0, steps.last_index(a.device))
