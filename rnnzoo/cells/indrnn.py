r"""IndRNN: the independently recurrent network (Li, Li, Cook, Zhu & Gao, CVPR 2018, eq. 2).

Each unit sees only its own past, through a scalar recurrent weight:

.. math::
    h_t = f(W x_t + u \odot h_{t-1} + b)

Parameters: ``weight_ih`` = W, shape (H, I); ``weight_hh`` = u, a *vector* of shape (H,) (the
Hadamard product replaces the matmul); ``bias_ih`` = b, shape (H,); f is ReLU by default.
Because the recurrent Jacobian is diagonal, the gradient over k steps is u^k * prod f', so
|u| <= 2^(1/T)-style bounds keep it from vanishing or exploding (section 3.1 of the paper);
``reset_parameters`` draws u uniformly in [0, 1] as the paper's experiments do.
"""
from __future__ import annotations

import math

from torch import Tensor, nn

from rnnzoo.cells.base import RecurrentCell
from rnnzoo.cells.rnn import NONLINEARITIES
from rnnzoo.cells.steps import State


class IndRNNCell(RecurrentCell):
    state_size = 1
    blocks = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "relu", *, fast: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, fast=fast, device=device, dtype=dtype)
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(
                f"unknown nonlinearity {nonlinearity!r}; choose one of {sorted(NONLINEARITIES)}"
            )
        self.nonlinearity = nonlinearity
        self.activation = NONLINEARITIES[nonlinearity]
        self.weight_ih = self._parameter(hidden_size, input_size)
        self.weight_hh = self._parameter(hidden_size)
        self.register_parameter("bias_ih", self._parameter(hidden_size) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        nn.init.uniform_(self.weight_ih, -bound, bound)
        nn.init.uniform_(self.weight_hh, 0.0, 1.0)
        if self.bias_ih is not None:
            nn.init.zeros_(self.bias_ih)

    def recur(self, x_proj: Tensor, state: State) -> State:
        (h_prev,) = state
        h = self.activation(x_proj + self.weight_hh * h_prev)
        return (h,)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", nonlinearity={self.nonlinearity!r}"
