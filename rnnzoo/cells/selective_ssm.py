r"""A selective state-space cell in the style of Mamba's S6 (Gu & Dao 2023, "Mamba: Linear-Time
Sequence Modeling with Selective State Spaces": section 2, equation 4, for the discretisation;
section 3.2 and algorithm 2 for the selection).

Each of H channels carries an N-dimensional state with its own diagonal A; the step size Δ and
the maps B and C depend on the input, which is what lets the model select what to remember:

.. math::
    u_t = W_u x_t + b_u, \qquad \Delta_t = \mathrm{softplus}(W_\Delta x_t + b_\Delta)
        \qquad (H,) \\
    B_t = W_B x_t, \qquad C_t = W_C x_t \qquad (N,), \text{ shared by the channels} \\
    A = -\exp(A^{\log}) \qquad (H, N) \\
    \bar A_t = \exp(\Delta_t A), \qquad
    \bar B_t = (\Delta_t A)^{-1} (\exp(\Delta_t A) - I)\, \Delta_t B_t
             = \frac{\exp(\Delta_t A) - 1}{A}\, B_t \qquad \text{(zero-order hold)} \\
    h_t = \bar A_t \odot h_{t-1} + \bar B_t\, u_t \qquad (H, N):\;
        h_t[d] = \bar A_t[d] \odot h_{t-1}[d] + \bar B_t[d]\, u_t[d] \\
    y_t = h_t C_t + D \odot u_t \qquad (H,)

No a_t reads h, so ``fast=True`` runs the recurrence as a parallel scan over the (rows, H * N)
coefficients (:mod:`rnnzoo.cells.scan`, reused unchanged); ``fast=False`` is the sequential
reference, ``recur`` step by step. The tests check both agree.

Parameters: ``weight_ih`` = (W_u | W_Δ), shape (2H, I); ``bias_ih`` = (b_u | b_Δ), (2H,);
``weight_bc`` = (W_B | W_C), (2N, I); ``A_log`` (H, N); ``D`` (H,). N = ``state_dim`` (16, as
in Mamba). Initialisation: S4D-real, A[d] = -(1, 2, ..., N); D = 1; b_Δ such that
softplus(b_Δ) is log-uniform in [dt_min, dt_max] = [0.001, 0.1]; b_u = 0; weights torch.nn's
uniform default. The state is (y_t, h_t[:, :, 0], ..., h_t[:, :, N-1]): the layer carries state
tensors H wide, so the (H, N) state travels as N of them, one per state index.

Departures from the paper: the block around S6 (input projection, causal depthwise convolution,
SiLU, the multiplicative gate branch, output projection) is the network's, not the cell's;
u_t = W_u x_t + b_u stands in for its input path, and Δ, B, C are full-rank maps of the cell's
input x_t (Mamba computes Δ through a rank-ceil(D/16) projection, from the convolution's
output). B̄ is the exact zero-order hold of equation 4, where Mamba's reference code uses the
simpler Δ B. The hardware-aware fused scan becomes the doubling scan in plain PyTorch, O(T log T)
work. ``bias=False`` removes b_u and b_Δ (Δ then starts at softplus(W_Δ x)).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnzoo.cells.base import RecurrentCell
from rnnzoo.cells.padded import last_rows
from rnnzoo.cells.scan import scan_packed
from rnnzoo.cells.steps import State, TimeSteps


class SelectiveSSMCell(RecurrentCell):
    blocks = 2  # weight_ih: W_u, W_Δ
    kept_bias_blocks = (1,)  # b_Δ: softplus(b_Δ) is the initial step size, not a bias to zero

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 state_dim: int = 16, dt_min: float = 1e-3, dt_max: float = 0.1,
                 fast: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, fast=fast, device=device, dtype=dtype)
        if not 0 < dt_min <= dt_max:
            raise ValueError(f"need 0 < dt_min <= dt_max, got {dt_min}, {dt_max}")
        self.state_dim, self.dt_min, self.dt_max = state_dim, dt_min, dt_max
        self.state_size = 1 + state_dim  # y_t and the N columns of h_t
        self.weight_ih = self._parameter(2 * hidden_size, input_size)
        self.register_parameter("bias_ih", self._parameter(2 * hidden_size) if bias else None)
        self.weight_bc = self._parameter(2 * state_dim, input_size)
        self.A_log = self._parameter(hidden_size, state_dim)
        self.D = self._parameter(hidden_size)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.A_log.copy_(torch.log(torch.arange(1, self.state_dim + 1, dtype=torch.float64))
                         .expand(self.hidden_size, -1))
        nn.init.ones_(self.D)
        if self.bias_ih is not None:
            log_dt = torch.empty(self.hidden_size, dtype=torch.float64).uniform_(
                math.log(self.dt_min), math.log(self.dt_max))
            dt = torch.exp(log_dt)
            nn.init.zeros_(self.bias_ih[:self.hidden_size])
            self.bias_ih[self.hidden_size:] = dt + torch.log(-torch.expm1(-dt))  # softplus^-1

    def project_input(self, x: Tensor) -> Tensor:
        """(W_u x + b_u | W_Δ x + b_Δ | W_B x | W_C x)."""
        return torch.cat([F.linear(x, self.weight_ih, self.bias_ih), F.linear(x, self.weight_bc)], -1)

    def _selection(self, x_proj: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """u_t, Δ_t (rows, H) and B_t, C_t (rows, N)."""
        hidden, n = self.hidden_size, self.state_dim
        u, delta_pre, B, C = x_proj.split([hidden, hidden, n, n], -1)
        return u, F.softplus(delta_pre), B, C

    def discretise(self, delta: Tensor, B: Tensor) -> tuple[Tensor, Tensor]:
        """Zero-order hold: Ā = exp(ΔA), B̄ = (exp(ΔA) - 1) / A · B, each (rows, H, N)."""
        A = -torch.exp(self.A_log)
        delta_A = delta.unsqueeze(-1) * A
        A_bar = torch.exp(delta_A)
        B_bar = torch.expm1(delta_A) / A * B.unsqueeze(-2)  # expm1: exact for small ΔA
        return A_bar, B_bar

    def _read_out(self, h: Tensor, u: Tensor, C: Tensor) -> Tensor:
        """y = h C + D ⊙ u, per channel."""
        return (h * C.unsqueeze(-2)).sum(-1) + self.D * u

    def recur(self, x_proj: Tensor, state: State) -> State:
        h_prev = torch.stack(state[1:], -1)  # (rows, H, N)
        u, delta, B, C = self._selection(x_proj)
        A_bar, B_bar = self.discretise(delta, B)
        h = A_bar * h_prev + B_bar * u.unsqueeze(-1)
        y = self._read_out(h, u, C)
        return (y, *h.unbind(-1))

    def sequence(self, x: Tensor, steps: TimeSteps, initial: State):
        if not self.fast:
            return super().sequence(x, steps, initial)
        rows, batch, width = x.shape[0], steps.batch, self.hidden_size * self.state_dim
        u, delta, B, C = self._selection(self.project_input(x))
        A_bar, B_bar = self.discretise(delta, B)
        write = B_bar * u.unsqueeze(-1)
        h0 = torch.stack(initial[1:], -1).reshape(batch, width)
        h, h_n = scan_packed(A_bar.reshape(rows, width), write.reshape(rows, width), steps, h0)
        y = self._read_out(h.view(rows, self.hidden_size, self.state_dim), u, C)
        y_n = y.index_select(0, last_rows(steps, y.device))
        return y, (y_n, *h_n.view(batch, self.hidden_size, self.state_dim).unbind(-1))

    def extra_repr(self) -> str:
        return super().extra_repr() + f", state_dim={self.state_dim}"
