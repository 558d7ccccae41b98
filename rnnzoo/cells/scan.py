"""A parallel scan for the linear recurrence h_t = a_t * h_{t-1} + b_t.

Composing two steps gives another step of the same form,
(a1, b1) then (a2, b2) = (a1 * a2, a2 * b1 + b2), so all prefixes can be computed in
ceil(log2 T) rounds of whole-sequence tensor operations (Hillis & Steele's doubling scan)
instead of T sequential steps. Work is O(T log T); depth is O(log T), which is what a GPU
rewards.

The gradient is a scan too, run backwards in time: with g_t = dL/dh_t (all paths),
g_t = dL/dh_t(direct) + a_{t+1} g_{t+1}, then dL/db_t = g_t, dL/da_t = g_t h_{t-1} and
dL/dh0 = a_0 g_0 (conjugated for complex a, PyTorch's convention). :class:`LinearScan` says so
to autograd: differentiating the doubling rounds op by op instead kept every round's slices,
and each slice's backward filled a whole-sequence tensor of zeros (S6's training step spent
about half its time there). The backward calls the same Function, so second derivatives work;
the tests gradcheck and gradgradcheck it against the step-by-step recurrence.

Which algorithm runs, forward and backward: on the CPU the plain loop, :func:`sequential_scan`
(O(T) work in cache-sized steps; measured on an AMD EPYC, 2 threads, it beat the doubling
rounds 4.8x at T=4096, B=8, H=128 and 20x at S6's T=256, B=16, H*N=1024); on a GPU the
doubling rounds, a few whole-tensor launches instead of T small ones.
"""
from __future__ import annotations

import torch
from torch import Tensor

from rnnzoo.cells.steps import TimeSteps


def linear_scan(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    """All h_t for h_t = a_t * h_{t-1} + b_t with h_{-1} = h0; a, b: (T, B, H), h0: (B, H)."""
    return LinearScan.apply(a, b, h0)


class LinearScan(torch.autograd.Function):
    """The scan (:func:`sequential_scan` on the CPU, :func:`doubling_scan` elsewhere) with its
    gradient written as the reverse scan (module docstring)."""
    generate_vmap_rule = True

    @staticmethod
    def forward(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
        if a.device.type == "cpu":
            return sequential_scan(a, b, h0)
        return doubling_scan(a, b, h0)

    @staticmethod
    def setup_context(ctx, inputs, output):
        a, _, h0 = inputs
        ctx.save_for_backward(a, h0, output)

    @staticmethod
    def backward(ctx, grad_h: Tensor):
        a, h0, h = ctx.saved_tensors
        a_next = torch.cat([a[1:], torch.zeros_like(a[:1])]).conj()  # a_{t+1}; none after T-1
        g = LinearScan.apply(a_next.flip(0), grad_h.flip(0), torch.zeros_like(grad_h[0])).flip(0)
        h_prev = torch.cat([h0.unsqueeze(0).expand_as(h[:1]), h[:-1]])
        return g * h_prev.conj(), g, a[0].conj() * g[0]


def sequential_scan(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    """:func:`linear_scan` step by step, outside autograd (the Function's forward): T small
    elementwise steps that stay in cache, where the doubling rounds stream whole-sequence
    tensors through memory ceil(log2 T) times."""
    h, steps = h0, []
    for t in range(a.shape[0]):
        h = torch.addcmul(b[t], a[t], h)
        steps.append(h)
    return torch.stack(steps)


def doubling_scan(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    """Hillis & Steele's doubling rounds for :func:`linear_scan` (out-of-place ops)."""
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
