r"""minGRU and minLSTM (Feng, Tung, Ahmed, Bengio & Hajimirsadeghi 2024, "Were RNNs All We
Needed?", sections 3.1.2 and 3.2.3).

Their gates read only the input, never h_{t-1}, so each step is an affine map of the state,
h_t = a_t * h_{t-1} + b_t, and a whole sequence is computed by a parallel scan
(:mod:`rnnzoo.cells.scan`) instead of a loop; ``fast=False`` runs the step-by-step loop, and
the tests check that both paths agree.

minGRU:

.. math::
    z_t = \sigma(W_z x_t + b_z), \quad \tilde h_t = W_h x_t + b_h, \quad
    h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t

minLSTM (with the paper's normalised gates, which make it time-independent in scale):

.. math::
    f_t = \sigma(W_f x_t + b_f), \quad i_t = \sigma(W_i x_t + b_i), \quad \tilde h_t = W_h x_t + b_h \\
    f'_t = f_t / (f_t + i_t), \quad i'_t = i_t / (f_t + i_t), \quad
    h_t = f'_t \odot h_{t-1} + i'_t \odot \tilde h_t

Parameters: ``weight_ih`` stacks the blocks ((W_z | W_h), shape (2H, I), for minGRU;
(W_f | W_i | W_h), shape (3H, I), for minLSTM) and ``bias_ih`` their biases. There is no
recurrent weight. Departure from the paper: its log-space scan (which needs positive values)
is replaced by the doubling scan on the plain values, which accepts any sign.
"""
from __future__ import annotations

import torch
from torch import Tensor

from rnnzoo.cells.base import RecurrentCell
from rnnzoo.cells.scan import scan_packed
from rnnzoo.cells.steps import State, TimeSteps


class _MinimalCell(RecurrentCell):
    state_size = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 fast: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, fast=fast, device=device, dtype=dtype)
        self.weight_ih = self._parameter(self.blocks * hidden_size, input_size)
        self.register_parameter("bias_ih", self._parameter(self.blocks * hidden_size) if bias else None)
        self.reset_parameters()

    def coefficients(self, x_proj: Tensor) -> tuple[Tensor, Tensor]:
        """a_t, b_t of h_t = a_t * h_{t-1} + b_t."""
        raise NotImplementedError

    def recur(self, x_proj: Tensor, state: State) -> State:
        (h_prev,) = state
        keep, write = self.coefficients(x_proj)
        return (keep * h_prev + write,)

    def sequence(self, x: Tensor, steps: TimeSteps, initial: State):
        if not self.fast:
            return super().sequence(x, steps, initial)
        outputs, h_n = scan_packed(*self.coefficients(self.project_input(x)), steps, initial[0])
        return outputs, (h_n,)


class MinGRUCell(_MinimalCell):
    blocks = 2

    def coefficients(self, x_proj: Tensor) -> tuple[Tensor, Tensor]:
        z, candidate = x_proj.chunk(2, dim=-1)
        update_gate = torch.sigmoid(z)
        return 1 - update_gate, update_gate * candidate


class MinLSTMCell(_MinimalCell):
    blocks = 3
    forget_block = 0

    def coefficients(self, x_proj: Tensor) -> tuple[Tensor, Tensor]:
        f, i, candidate = x_proj.chunk(3, dim=-1)
        forget_gate, input_gate = torch.sigmoid(f), torch.sigmoid(i)
        total = forget_gate + input_gate
        return forget_gate / total, input_gate / total * candidate
