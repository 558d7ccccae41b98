r"""Real-time recurrent learning (Williams & Zipser 1989) for the Elman RNN and the GRU.

RTRL is forward-mode differentiation through time (equations.md section 6): instead of
storing the past and sending errors back (BPTT), it carries the sensitivity of the state to
every recurrent parameter forward, S_t = dh_t/dtheta, a (H x P) matrix per sequence, and turns
each step's error into a gradient at once:

.. math::
    S_t = J_t S_{t-1} + E_t, \qquad
    \frac{dL}{d\theta} \mathrel{+}= \frac{\partial L_t}{\partial h_t} S_t, \qquad S_0 = 0

where J_t = dh_t/dh_{t-1} is the recurrent Jacobian (H x H) and E_t the explicit
(immediate) derivative d+h_t/dtheta with h_{t-1} held fixed, the d+S_k/dW of equations.md.
Unrolled, S_t = sum_k (J_t ... J_{k+1}) E_k is exactly the BPTT sum of equations.md, so the
gradient is the same; what differs is the cost: O(H^2 P) = O(H^4) time and H P memory per
step and sequence, independent of the sequence length, against BPTT's O(H^2) per step and
O(T H) memory.

Both cells are in torch's notation (D): x_proj = W_ih x_t + b_ih, s = W_hh h_{t-1} + b_hh, the
weight blocks stacked as torch.nn stores them (G = 1 block for Elman, 3 for the GRU: r, z, n).
Every pre-activation row (g, k) feeds only unit k, so E_t has one non-zero row per unit:

    dh_k/dW_ih[g,k,j] = c_ih[g,k] x_j,     dh_k/db_ih[g,k] = c_ih[g,k]
    dh_k/dW_hh[g,k,j] = c_hh[g,k] h_{t-1,j}, dh_k/db_hh[g,k] = c_hh[g,k]

with c = dh_k / d(pre-activation row (g, k)):

- Elman, h_t = f(x_proj + s):  c_ih = c_hh = f'(u_t);  J_t = diag(f'(u_t)) W_hh.
- GRU (reset-after, torch.nn.GRU), r = sigmoid(x_r + s_r), z = sigmoid(x_z + s_z),
  n = tanh(x_n + r * s_n), h_t = (1 - z) n + z h_{t-1}; with q = (1 - z)(1 - n^2):
  c_r = q s_n r (1 - r),  c_z = (h_{t-1} - n) z (1 - z),  c_ih,n = q,  c_hh,n = q r;
  J_t = diag(z) + diag(c_r) W_hr + diag(c_z) W_hz + diag(q r) W_hn.

The readout (head) is not recurrent: its gradient, and dL_t/dh_t, come from autograd on
that one step. Online learning (an update after every step) keeps carrying S through the
updates, as Williams & Zipser's continually running network does; S then mixes derivatives
taken at slightly different weights, which is the usual RTRL approximation for small rates.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnzoo.cells.gru import GRUCell
from rnnzoo.cells.rnn import NONLINEARITIES, ElmanCell
from rnnzoo.kernels.bptt_elman import slope_from_output

StepTerms = tuple[Tensor, Tensor, Tensor, Tensor]  # h_t, J_t (B,H,H), c_ih (B,G,H), c_hh (B,G,H)


def elman_terms(cell: nn.Module, x: Tensor, h_prev: Tensor) -> StepTerms:
    """One Elman step and its RTRL terms: h_t = f(W_ih x + b_ih + W_hh h_{t-1} + b_hh)."""
    u = F.linear(x, cell.weight_ih, cell.bias_ih) + F.linear(h_prev, cell.weight_hh, cell.bias_hh)
    nonlinearity = getattr(cell, "nonlinearity", "tanh")
    h = NONLINEARITIES[nonlinearity](u)
    slope = slope_from_output(h, nonlinearity)  # f'(u_t), (B, H)
    jacobian = slope.unsqueeze(2) * cell.weight_hh  # diag(f') W_hh, (B, H, H)
    coefficient = slope.unsqueeze(1)  # (B, 1, H): one block
    return h, jacobian, coefficient, coefficient


def gru_terms(cell: nn.Module, x: Tensor, h_prev: Tensor) -> StepTerms:
    """One reset-after GRU step (torch.nn.GRU) and its RTRL terms."""
    hidden = h_prev.shape[1]
    x_r, x_z, x_n = F.linear(x, cell.weight_ih, cell.bias_ih).chunk(3, 1)
    s_r, s_z, s_n = F.linear(h_prev, cell.weight_hh, cell.bias_hh).chunk(3, 1)
    reset_gate = torch.sigmoid(x_r + s_r)
    update_gate = torch.sigmoid(x_z + s_z)
    candidate = torch.tanh(x_n + reset_gate * s_n)
    h = (1 - update_gate) * candidate + update_gate * h_prev
    through_n = (1 - update_gate) * (1 - candidate * candidate)  # q = dh / d(n's pre-activation)
    c_r = through_n * s_n * reset_gate * (1 - reset_gate)
    c_z = (h_prev - candidate) * update_gate * (1 - update_gate)
    c_ih = torch.stack([c_r, c_z, through_n], 1)  # (B, 3, H)
    c_hh = torch.stack([c_r, c_z, through_n * reset_gate], 1)
    blocks = cell.weight_hh.view(3, hidden, hidden)
    jacobian = torch.einsum("bgk,gkj->bkj", c_hh, blocks) + torch.diag_embed(update_gate)
    return h, jacobian, c_ih, c_hh


def terms_for(cell: nn.Module) -> Callable[[nn.Module, Tensor, Tensor], StepTerms]:
    if isinstance(cell, ElmanCell) or isinstance(cell, nn.RNNCell):
        return elman_terms
    if isinstance(cell, (GRUCell, nn.GRUCell)):
        return gru_terms
    raise TypeError(f"RTRL is written for Elman and (reset-after) GRU cells, got {type(cell).__name__}")


class RTRL:
    """Online RTRL for one recurrent cell with a readout head and a per-step loss.

    ``cell``: rnnzoo's ElmanCell or GRUCell, or torch.nn.RNNCell / GRUCell. ``step(x_t,
    target_t)`` advances the state one step, adds dL_t/dtheta to ``.grad`` of the cell's and the
    head's parameters, and returns L_t = loss_fn(head(h_t), target_t). Call ``reset`` at the
    start of every independent sequence; the caller steps the optimizer when it likes (after
    every step for online learning).
    """

    def __init__(self, cell: nn.Module, head: nn.Module, loss_fn: Callable[[Tensor, Tensor], Tensor]):
        self.cell, self.head, self.loss_fn = cell, head, loss_fn
        self.terms = terms_for(cell)
        self.params = [p for p in cell.parameters()]
        self.names = [n for n, _ in cell.named_parameters()]
        self.hidden = cell.hidden_size
        self.blocks = cell.weight_hh.shape[0] // self.hidden
        self.state: Tensor | None = None
        self.sensitivity: Tensor | None = None  # S_t, (B, H, P)

    @property
    def num_params(self) -> int:
        return sum(p.numel() for p in self.params)

    def reset(self, batch: int, h0: Tensor | None = None) -> None:
        """h_0 (zero unless given) and S_0 = 0: the initial state does not depend on theta."""
        like = self.params[0]
        self.state = like.new_zeros(batch, self.hidden) if h0 is None else h0.detach()
        self.sensitivity = like.new_zeros(batch, self.hidden, self.num_params)

    @torch.no_grad()
    def _advance(self, x: Tensor) -> None:
        h_prev = self.state
        h, jacobian, c_ih, c_hh = self.terms(self.cell, x, h_prev)
        sensitivity = torch.bmm(jacobian, self.sensitivity)  # J_t S_{t-1}
        # + E_t: one non-zero row per unit in each parameter's block (see the module docstring)
        ones = h.new_ones(h.shape[0], 1)
        inputs = {"weight_ih": (c_ih, x), "weight_hh": (c_hh, h_prev),
                  "bias_ih": (c_ih, ones), "bias_hh": (c_hh, ones)}
        units = torch.arange(self.hidden, device=h.device)
        offset = 0
        for name, p in zip(self.names, self.params):
            coefficient, feeding = inputs[name]
            block = sensitivity[:, :, offset:offset + p.numel()]
            block = block.view(h.shape[0], self.hidden, self.blocks, self.hidden, -1)  # (B,H,G,H,J)
            block[:, units, :, units, :] += torch.einsum("bgk,bj->kbgj", coefficient, feeding)
            offset += p.numel()
        self.state, self.sensitivity = h, sensitivity

    def step(self, x: Tensor, target: Tensor) -> Tensor:
        if self.state is None:
            self.reset(x.shape[0])
        self._advance(x)
        h = self.state.detach().requires_grad_()
        loss = self.loss_fn(self.head(h), target)
        loss.backward()  # the head's gradient, and dL_t/dh_t in h.grad
        with torch.no_grad():
            flat = torch.einsum("bk,bkp->p", h.grad, self.sensitivity)  # dL_t/dh_t S_t
            for p, g in zip(self.params, flat.split([p.numel() for p in self.params])):
                g = g.view_as(p)
                p.grad = g.clone() if p.grad is None else p.grad.add_(g)
        return loss.detach()


def rtrl_sequence_gradients(cell: nn.Module, head: nn.Module, loss_fn, inputs: Tensor,
                            targets: Tensor, h0: Tensor | None = None) -> Tensor:
    """Run RTRL over a whole (T, B, I) sequence without updating; the total loss.

    The gradient of sum_t L_t is left in ``.grad``: what BPTT's backward would leave there.
    """
    learner = RTRL(cell, head, loss_fn)
    learner.reset(inputs.shape[1], h0)
    return sum(learner.step(x_t, y_t) for x_t, y_t in zip(inputs, targets))
