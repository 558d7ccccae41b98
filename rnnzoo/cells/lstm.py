r"""The LSTM cell (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000).

Equations (equations.md section 2, written per gate; [h, x] products split as torch stores them):

.. math::
    i_t &= \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi})   && \text{input gate: whether to write} \\
    f_t &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf})   && \text{forget gate: what to erase} \\
    g_t &= \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg})    && \text{candidate ("gate gate")} \\
    o_t &= \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho})   && \text{output gate} \\
    C_t &= f_t \odot C_{t-1} + i_t \odot g_t \\
    h_t &= o_t \odot \tanh(C_t)

Where the symbols live (torch.nn.LSTM / LSTMCell, gate order i, f, g, o):

- ``weight_ih`` = (W_ii | W_if | W_ig | W_io), shape (4H, I): the x half of the texts' W_i,
  W_f, W_C, W_o, which act on the concatenation [h_{t-1}, x_t];
- ``weight_hh`` = (W_hi | W_hf | W_hg | W_ho), shape (4H, H): the h half;
- ``bias_ih + bias_hh`` = the texts' b_i, b_f, b_C, b_o, shape (4H,) each.

Departures from the texts: the texts' W_C is torch's g block (the candidate), and torch keeps
two biases whose sum is the texts' one. Nothing else differs.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnzoo.cells.base import RecurrentCell
from rnnzoo.cells.steps import State, TimeSteps
from rnnzoo.learning.bptt_lstm import lstm_bptt


class LSTMCell(RecurrentCell):
    state_size = 2
    blocks = 4
    forget_block = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 fast: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, fast=fast, device=device, dtype=dtype)
        self._standard_parameters()
        self.reset_parameters()

    def recur(self, x_proj: Tensor, state: State) -> State:
        h_prev, c_prev = state
        gates = x_proj + F.linear(h_prev, self.weight_hh, self.bias_hh)
        i, f, g, o = gates.chunk(4, dim=-1)
        input_gate = torch.sigmoid(i)
        forget_gate = torch.sigmoid(f)
        candidate = torch.tanh(g)
        output_gate = torch.sigmoid(o)
        c = forget_gate * c_prev + input_gate * candidate
        h = output_gate * torch.tanh(c)
        return h, c

    def sequence(self, x: Tensor, steps: TimeSteps, initial: State):
        if not self.fast:
            return super().sequence(x, steps, initial)
        x_proj = F.linear(x, self.weight_ih)  # the loop adds b_ih + b_hh
        outputs, h_n, c_n = lstm_bptt(x_proj, self._folded_bias(), *initial, self.weight_hh,
                                           steps)
        return outputs, (h_n, c_n)
