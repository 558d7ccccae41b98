r"""The Elman (vanilla) RNN cell, with tanh, ReLU or sigmoid, with or without bias.

Equation (notation D of equations.md, torch-like column vectors):

.. math::
    h_t = f(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}),  \quad f \in \{\tanh, \mathrm{ReLU}, \sigma\}

Where the symbols live (the torch.nn.RNN / RNNCell weight blocks, same names and shapes):

=========  ==================  =====================  ==========================
symbol     notation A (U,W,V)  notation B (W_ax, ...) parameter, shape
=========  ==================  =====================  ==========================
W_ih       U                   W_ax                   ``weight_ih`` (H, I)
W_hh       W                   W_aa                   ``weight_hh`` (H, H)
b_ih+b_hh  (none in A)         b_a                    ``bias_ih``, ``bias_hh`` (H,)
=========  ==================  =====================  ==========================

Notation C writes row vectors, z_t = f(z_{t-1} W_re + x_t W_in + b): there W_in = weight_ih^T
and W_re = weight_hh^T. Departures from the texts: torch keeps two biases whose sum is the
texts' single b (kept for weight compatibility); ``bias=False`` gives the texts' bias-free
char-RNN update. The sigmoid variant is one text's H_t; torch.nn.RNN has only tanh and ReLU.

The output layer (V s_t, W_ya a_t) is not part of the cell: rnnzoo's task heads add it.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnzoo.cells.base import RecurrentCell
from rnnzoo.cells.steps import State, TimeSteps
from rnnzoo.kernels.bptt_elman import elman_bptt
from rnnzoo.kernels.dense import linear

NONLINEARITIES = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}


class ElmanCell(RecurrentCell):
    state_size = 1
    blocks = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", *, fast: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, fast=fast, device=device, dtype=dtype)
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(
                f"unknown nonlinearity {nonlinearity!r}; choose one of {sorted(NONLINEARITIES)}"
            )
        self.nonlinearity = nonlinearity
        self.activation = NONLINEARITIES[nonlinearity]
        self._standard_parameters()
        self.reset_parameters()

    def recur(self, x_proj: Tensor, state: State) -> State:
        (h_prev,) = state
        pre_activation = x_proj + F.linear(h_prev, self.weight_hh, self.bias_hh)
        h = self.activation(pre_activation)
        return (h,)

    def sequence(self, x: Tensor, steps: TimeSteps, initial: State):
        if not self.fast:
            return super().sequence(x, steps, initial)
        x_proj = linear(x, self.weight_ih)  # the loop adds b_ih + b_hh
        outputs, h_n = elman_bptt(x_proj, self._folded_bias(), initial[0], self.weight_hh,
                                  steps, self.nonlinearity)
        return outputs, (h_n,)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", nonlinearity={self.nonlinearity!r}"
