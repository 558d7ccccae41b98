r"""Layer-normalised LSTM (Ba, Kiros & Hinton 2016, "Layer Normalization", section 6 / appendix).

Layer normalisation LN(a; gamma, beta) = gamma * (a - mean(a)) / std(a) + beta is applied to the
input and recurrent contributions separately, and to the cell state before its tanh:

.. math::
    (i, f, g, o) &= LN(W_{ih} x_t;\ \gamma_x, \beta_x) + LN(W_{hh} h_{t-1};\ \gamma_h, \beta_h) \\
    C_t &= \sigma(f) \odot C_{t-1} + \sigma(i) \odot \tanh(g) \\
    h_t &= \sigma(o) \odot \tanh(LN(C_t;\ \gamma_c, \beta_c))

Parameters: ``weight_ih`` (4H, I) and ``weight_hh`` (4H, H) as in torch.nn.LSTM (gate order
i, f, g, o); ``ln_ih_weight``/``ln_ih_bias`` and ``ln_hh_weight``/``ln_hh_bias`` (4H,), and
``ln_cell_weight``/``ln_cell_bias`` (H,). The paper's gate bias b is beta_x + beta_h, so there is
no separate bias_ih / bias_hh; ``bias=False`` removes the betas. Each LN normalises over all 4H
pre-activations of a step at once, as the paper's formula does.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnzoo.cells.base import RecurrentCell
from rnnzoo.cells.steps import State


class LayerNormLSTMCell(RecurrentCell):
    state_size = 2
    blocks = 4
    forget_block = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 eps: float = 1e-5, fast: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, fast=fast, device=device, dtype=dtype)
        self.eps = eps
        gates = 4 * hidden_size
        self.weight_ih = self._parameter(gates, input_size)
        self.weight_hh = self._parameter(gates, hidden_size)
        for name, size in (("ln_ih", gates), ("ln_hh", gates), ("ln_cell", hidden_size)):
            setattr(self, f"{name}_weight", self._parameter(size))
            if bias:
                setattr(self, f"{name}_bias", self._parameter(size))
            else:
                self.register_parameter(f"{name}_bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for name, p in self.named_parameters():
            if name.startswith("ln_"):
                nn.init.ones_(p) if name.endswith("weight") else nn.init.zeros_(p)

    def _norm(self, a: Tensor, name: str) -> Tensor:
        weight, bias = getattr(self, f"{name}_weight"), getattr(self, f"{name}_bias")
        return F.layer_norm(a, a.shape[-1:], weight, bias, self.eps)

    def project_input(self, x: Tensor) -> Tensor:
        return self._norm(F.linear(x, self.weight_ih), "ln_ih")

    def recur(self, x_proj: Tensor, state: State) -> State:
        h_prev, c_prev = state
        gates = x_proj + self._norm(F.linear(h_prev, self.weight_hh), "ln_hh")
        i, f, g, o = gates.chunk(4, dim=-1)
        input_gate = torch.sigmoid(i)
        forget_gate = torch.sigmoid(f)
        candidate = torch.tanh(g)
        output_gate = torch.sigmoid(o)
        c = forget_gate * c_prev + input_gate * candidate
        h = output_gate * torch.tanh(self._norm(c, "ln_cell"))
        return h, c
