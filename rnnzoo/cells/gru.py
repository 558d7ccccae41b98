r"""GRU cells (Cho et al. 2014) in their two published forms.

**Reset-after** (:class:`GRUCell`, the torch.nn / cuDNN form; block order r, z, n):

.. math::
    r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr})  && \text{reset gate} \\
    z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz})  && \text{update gate (share kept)} \\
    n_t &= \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn}))  && \text{candidate} \\
    h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}

**Reset-before** (:class:`GRUResetBeforeCell`, the texts' form of equations.md section 3):

.. math::
    z_t &= \sigma(W_z [h_{t-1}, x_t]) && \text{update gate (share of new content)} \\
    r_t &= \sigma(W_r [h_{t-1}, x_t]) \\
    \tilde h_t &= \tanh(W [r_t \odot h_{t-1}, x_t]) \\
    h_t &= (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t

Where the symbols live (both cells, torch.nn.GRU's names and shapes):

- ``weight_ih`` = (W_ir | W_iz | W_in), shape (3H, I): the x halves of W_r, W_z, W;
- ``weight_hh`` = (W_hr | W_hz | W_hn), shape (3H, H): the h halves;
- ``bias_ih``, ``bias_hh``, shape (3H,) each; the texts write no bias.

Departures: the reset-after form multiplies r_t *after* the matmul (so W_hn h_{t-1} can be
computed together with the other gates; this is what torch.nn and cuDNN run, and parity with
torch.nn holds only for it), and its z_t is the share of the old state kept, where the texts'
z_t is the share of the new candidate. The reset-before cell follows the texts in both, so the
same weights give a different function in the two cells; its biases are an rnnzoo addition.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnzoo.cells.base import RecurrentCell
from rnnzoo.cells.steps import State, TimeSteps
from rnnzoo.kernels.bptt_gru import gru_bptt
from rnnzoo.kernels.dense import linear


class GRUCell(RecurrentCell):
    """Reset-after GRU: exactly torch.nn.GRUCell."""

    state_size = 1
    blocks = 3

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 fast: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, fast=fast, device=device, dtype=dtype)
        self._standard_parameters()
        self.reset_parameters()

    def recur(self, x_proj: Tensor, state: State) -> State:
        (h_prev,) = state
        x_r, x_z, x_n = x_proj.chunk(3, dim=-1)
        s_r, s_z, s_n = F.linear(h_prev, self.weight_hh, self.bias_hh).chunk(3, dim=-1)
        reset_gate = torch.sigmoid(x_r + s_r)
        update_gate = torch.sigmoid(x_z + s_z)
        candidate = torch.tanh(x_n + reset_gate * s_n)
        h = (1 - update_gate) * candidate + update_gate * h_prev
        return (h,)

    def sequence(self, x: Tensor, steps: TimeSteps, initial: State):
        if not self.fast:
            return super().sequence(x, steps, initial)
        x_proj = linear(x, self.weight_ih)  # the loop adds b_ih (and b_hh)
        outputs, h_n = gru_bptt(x_proj, self.bias_ih, initial[0], self.weight_hh,
                                self.bias_hh, steps)
        return outputs, (h_n,)


class GRUResetBeforeCell(RecurrentCell):
    """Reset-before GRU: the texts' h~ = tanh(W [r * h, x])."""

    state_size = 1
    blocks = 3

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 fast: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, fast=fast, device=device, dtype=dtype)
        self._standard_parameters()
        self.reset_parameters()

    def recur(self, x_proj: Tensor, state: State) -> State:
        (h_prev,) = state
        hidden = self.hidden_size
        x_r, x_z, x_n = x_proj.chunk(3, dim=-1)
        w_r, w_z, w_n = self.weight_hh.split(hidden)
        b_r, b_z, b_n = self.bias_hh.split(hidden) if self.bias else (None, None, None)
        reset_gate = torch.sigmoid(x_r + F.linear(h_prev, w_r, b_r))
        update_gate = torch.sigmoid(x_z + F.linear(h_prev, w_z, b_z))
        candidate = torch.tanh(x_n + F.linear(reset_gate * h_prev, w_n, b_n))
        h = (1 - update_gate) * h_prev + update_gate * candidate
        return (h,)
