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

With ``proj_size=P > 0`` (torch.nn.LSTM's projection, Sak et al. 2014) the output is projected:

.. math::
    h_t = W_{hr} (o_t \odot \tanh(C_t))

``weight_hr`` has shape (P, H), h_t (the output and the recurrent input) has size P, so
``weight_hh`` is (4H, P); C_t keeps size H. The explicit-BPTT fast path has no projection, so a
projected LSTM always runs ``recur`` through autograd: correct and differentiable, but the
slow path.
"""
from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnzoo.cells.base import RecurrentCell
from rnnzoo.cells.steps import State, TimeSteps
from rnnzoo.kernels.bptt_lstm import lstm_bptt
from rnnzoo.kernels.dense import linear


class LSTMCell(RecurrentCell):
    state_size = 2
    blocks = 4
    forget_block = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 proj_size: int = 0, fast: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, fast=fast, device=device, dtype=dtype)
        if not isinstance(proj_size, numbers.Integral) or isinstance(proj_size, bool):
            raise TypeError(f"proj_size should be of type int, got: {type(proj_size).__name__}")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        self.proj_size = proj_size
        self._standard_parameters()
        if proj_size:
            self.weight_hr = self._parameter(proj_size, hidden_size)
        self.reset_parameters()

    @property
    def output_size(self) -> int:
        return self.proj_size or self.hidden_size

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
        if self.proj_size:
            h = F.linear(h, self.weight_hr)  # h_t = W_hr (o_t * tanh(C_t))
        return h, c

    def sequence(self, x: Tensor, steps: TimeSteps, initial: State):
        if not self.fast or self.proj_size:  # the explicit-BPTT loop has no projection
            return super().sequence(x, steps, initial)
        x_proj = linear(x, self.weight_ih)  # the loop adds b_ih + b_hh
        outputs, h_n, c_n = lstm_bptt(x_proj, self._folded_bias(), *initial, self.weight_hh,
                                      steps)
        return outputs, (h_n, c_n)

    def extra_repr(self) -> str:
        return super().extra_repr() + (f", proj_size={self.proj_size}" if self.proj_size else "")
