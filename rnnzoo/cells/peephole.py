r"""LSTM with peephole connections (Gers & Schmidhuber 2000; Gers, Schraudolph & Schmidhuber 2002).

The gates also look at the cell state through diagonal ("peephole") weights p:

.. math::
    i_t &= \sigma(W_{ii} x_t + W_{hi} h_{t-1} + p_i \odot C_{t-1} + b_i) \\
    f_t &= \sigma(W_{if} x_t + W_{hf} h_{t-1} + p_f \odot C_{t-1} + b_f) \\
    g_t &= \tanh(W_{ig} x_t + W_{hg} h_{t-1} + b_g) \\
    C_t &= f_t \odot C_{t-1} + i_t \odot g_t \\
    o_t &= \sigma(W_{io} x_t + W_{ho} h_{t-1} + p_o \odot C_t + b_o) && \text{(sees the new cell)} \\
    h_t &= o_t \odot \tanh(C_t)

Parameters: ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh`` exactly as torch.nn.LSTM
(gate order i, f, g, o; b = bias_ih + bias_hh), plus ``weight_peephole`` of shape (3, H) with
rows p_i, p_f, p_o. With the peepholes at zero this is the plain LSTM, so torch.nn.LSTM's
weights load into it unchanged (``strict=False`` leaves the peepholes as they are).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnzoo.cells.base import RecurrentCell
from rnnzoo.cells.steps import State


class PeepholeLSTMCell(RecurrentCell):
    state_size = 2
    blocks = 4
    forget_block = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 fast: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, fast=fast, device=device, dtype=dtype)
        self._standard_parameters()
        self.weight_peephole = self._parameter(3, hidden_size)
        self.reset_parameters()

    def recur(self, x_proj: Tensor, state: State) -> State:
        h_prev, c_prev = state
        peep_i, peep_f, peep_o = self.weight_peephole
        gates = x_proj + F.linear(h_prev, self.weight_hh, self.bias_hh)
        i, f, g, o = gates.chunk(4, dim=-1)
        input_gate = torch.sigmoid(i + peep_i * c_prev)
        forget_gate = torch.sigmoid(f + peep_f * c_prev)
        candidate = torch.tanh(g)
        c = forget_gate * c_prev + input_gate * candidate
        output_gate = torch.sigmoid(o + peep_o * c)
        h = output_gate * torch.tanh(c)
        return h, c
