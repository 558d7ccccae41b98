r"""Diagonal linear recurrences: the LRU (Orvieto, Smith, Gu, Fernando, Gulcehre, Pascanu & De
2023, "Resurrecting Recurrent Neural Networks for Long Sequences", section 3 and appendix A)
and the RG-LRU of Hawk and Griffin (De, Smith, Fernando et al. 2024, "Griffin: Mixing Gated
Linear Recurrences with Local Attention for Efficient Language Models", section 2.4).

Both are h_t = a_t * h_{t-1} + b_t with a diagonal a_t that reads no h, so ``fast=True`` runs
a whole sequence as a parallel scan (:mod:`rnnzoo.cells.scan`, reused unchanged; complex
numbers for the LRU) and ``fast=False`` the step-by-step ``recur``; the tests check both agree.

**LRU** (``cell=lru``), a complex diagonal recurrence with a real read-out:

.. math::
    \lambda = \exp(-e^{\nu^{\log}} + i\, e^{\theta^{\log}}), \qquad \gamma = e^{\gamma^{\log}} \\
    h_t = \lambda \odot h_{t-1} + \gamma \odot (B x_t), \qquad h_t \in \mathbb{C}^N \\
    y_t = \mathrm{Re}(C h_t) + D x_t

The exponential parametrisation keeps |λ| = exp(-exp(ν_log)) < 1 (stable) for any ν_log, with
fine resolution near the unit circle. The ring initialisation draws |λ|^2 uniformly in
[r_min^2, r_max^2] and the phase uniformly in [0, max_phase]; γ starts at sqrt(1 - |λ|^2),
which keeps the state's scale that of the input however close |λ| is to 1, and is trained.
Parameters: ``nu_log``, ``theta_log``, ``gamma_log`` (N,); ``B_re``, ``B_im`` (N, I), entries
N(0, 1/(2I)); ``C_re``, ``C_im`` (H, N), entries N(0, 1/N); ``D`` (H, I). N = ``state_dim``
(default H). The state is (y_t, Re h_t, Im h_t), widths (H, N, N): the layer carries real
tensors, and y_t comes first because the layer reads state[0] as the output.

Departures from the paper: D is a full (H, I) matrix with entries N(0, 1/I), because the
input and output widths may differ (the paper's D is diagonal, widths equal); ``bias`` adds
nothing (the LRU has no bias); the block around the LRU (normalisation, MLP/GLU, skip) belongs
to the network. Half-precision inputs run the complex arithmetic in float32.

**RG-LRU** (``cell=rg_lru``), a gated real diagonal recurrence:

.. math::
    r_t = \sigma(W_a x_t + b_a), \quad i_t = \sigma(W_x x_t + b_x), \quad
    \tilde x_t = W_{in} x_t + b_{in} \\
    a_t = a^{c r_t}, \quad a = \sigma(\Lambda) \\
    h_t = a_t \odot h_{t-1} + \sqrt{1 - a_t^2} \odot (i_t \odot \tilde x_t)

computed in log space, log a_t = -c r_t softplus(-Λ), with c = 8. Λ (``a_logit``, shape (H,))
starts so that a^c is uniform in [a_min, a_max] = [0.9, 0.999], the paper's choice.
Parameters: ``weight_ih`` = (W_a | W_x | W_in), shape (3H, I); ``bias_ih`` (3H,); ``a_logit``.

Departures from the paper: Griffin's W_a and W_x are block-diagonal (per head) and act on an
input that is already H wide; here they are dense, and the input is first projected to
x~_t = W_in x_t + b_in (the third block), since I and H may differ. The recurrent block around
the RG-LRU (its linear layers, short convolution and GeLU gate branch) belongs to the network.
Weights and biases start from torch.nn's uniform default, not the paper's initialisers.
sqrt(1 - a_t^2) has an unbounded derivative as a_t -> 1 (r_t -> 0): its gradient is capped at
1000 (:class:`SqrtBoundedGrad`; the forward value is exact), as Griffin's released code does.
Uncapped, selective copying at lr 0.03 reached a_t = 1 in float32 after 157 steps and the
gradient became inf.
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


def _complex(real: Tensor, imag: Tensor) -> Tensor:
    """real + i imag; torch has no complex half types, so half inputs widen to float32."""
    if real.dtype in (torch.float16, torch.bfloat16):
        real, imag = real.float(), imag.float()
    return torch.complex(real, imag)


class LRUCell(RecurrentCell):
    state_size = 3  # y_t, Re h_t, Im h_t
    blocks = 3  # the input feeds Re(B x), Im(B x) and D x

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 state_dim: int | None = None, r_min: float = 0.0, r_max: float = 1.0,
                 max_phase: float = 2 * math.pi, fast: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, fast=fast, device=device, dtype=dtype)
        if not 0 <= r_min < r_max <= 1:
            raise ValueError(f"the ring needs 0 <= r_min < r_max <= 1, got {r_min}, {r_max}")
        self.state_dim = state_dim or hidden_size
        self.r_min, self.r_max, self.max_phase = r_min, r_max, max_phase
        n = self.state_dim
        for name, shape in (("nu_log", (n,)), ("theta_log", (n,)), ("gamma_log", (n,)),
                            ("B_re", (n, input_size)), ("B_im", (n, input_size)),
                            ("C_re", (hidden_size, n)), ("C_im", (hidden_size, n)),
                            ("D", (hidden_size, input_size))):
            setattr(self, name, self._parameter(*shape))
        self.reset_parameters()

    @property
    def state_sizes(self) -> tuple[int, ...]:
        return (self.hidden_size, self.state_dim, self.state_dim)

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """The ring initialisation (the paper's appendix A)."""
        u1, u2 = torch.rand(2, self.state_dim, dtype=torch.float64)
        radius_squared = u1 * (self.r_max ** 2 - self.r_min ** 2) + self.r_min ** 2  # |λ|^2
        nu = -0.5 * torch.log(radius_squared)  # |λ| = exp(-ν)
        self.nu_log.copy_(torch.log(nu))
        self.theta_log.copy_(torch.log(self.max_phase * u2))
        self.gamma_log.copy_(0.5 * torch.log1p(-radius_squared))  # γ = sqrt(1 - |λ|^2)
        nn.init.normal_(self.B_re, 0.0, (2 * self.input_size) ** -0.5)
        nn.init.normal_(self.B_im, 0.0, (2 * self.input_size) ** -0.5)
        nn.init.normal_(self.C_re, 0.0, self.state_dim ** -0.5)
        nn.init.normal_(self.C_im, 0.0, self.state_dim ** -0.5)
        nn.init.normal_(self.D, 0.0, self.input_size ** -0.5)

    def eigenvalues(self) -> Tensor:
        """λ = exp(-exp(ν_log) + i exp(θ_log)), shape (N,), complex."""
        return torch.exp(_complex(-torch.exp(self.nu_log), torch.exp(self.theta_log)))

    def project_input(self, x: Tensor) -> Tensor:
        """(Re(B x) | Im(B x) | D x), the input's contributions to h_t and y_t."""
        return F.linear(x, torch.cat([self.B_re, self.B_im, self.D]))

    def _split(self, x_proj: Tensor) -> tuple[Tensor, Tensor]:
        """B x_t (complex) and D x_t from the projected input."""
        bx_re, bx_im, dx = x_proj.split([self.state_dim, self.state_dim, self.hidden_size], -1)
        return _complex(bx_re, bx_im), dx

    def _read_out(self, h: Tensor, dx: Tensor) -> Tensor:
        """y = Re(C h) + D x = C_re Re(h) - C_im Im(h) + D x."""
        real = F.linear(h.real, self.C_re.to(h.real.dtype)) \
            - F.linear(h.imag, self.C_im.to(h.real.dtype))
        return real.to(dx.dtype) + dx

    def recur(self, x_proj: Tensor, state: State) -> State:
        _, h_re, h_im = state
        bx, dx = self._split(x_proj)
        gamma = torch.exp(self.gamma_log)
        h = self.eigenvalues() * _complex(h_re, h_im) + gamma * bx
        y = self._read_out(h, dx)
        return (y, h.real.to(h_re.dtype), h.imag.to(h_re.dtype))

    def sequence(self, x: Tensor, steps: TimeSteps, initial: State):
        if not self.fast:
            return super().sequence(x, steps, initial)
        _, h_re0, h_im0 = initial
        bx, dx = self._split(self.project_input(x))
        write = torch.exp(self.gamma_log) * bx  # b_t = γ ⊙ B x_t
        h, h_n = scan_packed(self.eigenvalues().expand_as(write), write, steps,
                             _complex(h_re0, h_im0))
        y = self._read_out(h, dx)
        y_n = y.index_select(0, last_rows(steps, y.device))
        return y, (y_n, h_n.real.to(h_re0.dtype), h_n.imag.to(h_re0.dtype))

    def extra_repr(self) -> str:
        return super().extra_repr() + (f", state_dim={self.state_dim}, r_min={self.r_min}, "
                                       f"r_max={self.r_max}, max_phase={self.max_phase:.4g}")


class SqrtBoundedGrad(torch.autograd.Function):
    """sqrt(x) whose derivative 1 / (2 sqrt(x)) is capped at :attr:`max_grad` (reached where
    x < 1 / (4 max_grad^2)): RG-LRU's sqrt(1 - a_t^2) at a_t -> 1."""
    max_grad = 1000.0
    generate_vmap_rule = True

    @staticmethod
    def forward(x: Tensor) -> Tensor:
        return torch.sqrt(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        floor = 1.0 / (4.0 * SqrtBoundedGrad.max_grad ** 2)
        return grad / (2.0 * torch.sqrt(x.clamp(min=floor)))


class RGLRUCell(RecurrentCell):
    state_size = 1
    blocks = 3  # W_a, W_x, W_in

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 c: float = 8.0, a_min: float = 0.9, a_max: float = 0.999, fast: bool = True,
                 device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, fast=fast, device=device, dtype=dtype)
        if not 0 < a_min < a_max < 1:
            raise ValueError(f"need 0 < a_min < a_max < 1, got {a_min}, {a_max}")
        self.c, self.a_min, self.a_max = c, a_min, a_max
        self.weight_ih = self._parameter(3 * hidden_size, input_size)
        self.register_parameter("bias_ih", self._parameter(3 * hidden_size) if bias else None)
        self.a_logit = self._parameter(hidden_size)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        super().reset_parameters()
        a_to_the_c = torch.empty(self.hidden_size, dtype=torch.float64).uniform_(self.a_min, self.a_max)
        a = a_to_the_c ** (1 / self.c)
        self.a_logit.copy_(torch.log(a) - torch.log1p(-a))  # Λ = logit(a)

    def coefficients(self, x_proj: Tensor) -> tuple[Tensor, Tensor]:
        """a_t and b_t = sqrt(1 - a_t^2) ⊙ i_t ⊙ x~_t of h_t = a_t ⊙ h_{t-1} + b_t."""
        gate_a, gate_x, x_in = x_proj.chunk(3, dim=-1)
        recurrence_gate = torch.sigmoid(gate_a)  # r_t
        input_gate = torch.sigmoid(gate_x)  # i_t
        log_a = -self.c * recurrence_gate * F.softplus(-self.a_logit)  # c r_t log σ(Λ)
        a = torch.exp(log_a)
        # sqrt(1 - a_t^2): expm1 is exact near a_t = 1, where the derivative is capped
        multiplier = SqrtBoundedGrad.apply(-torch.expm1(2 * log_a))
        return a, multiplier * (input_gate * x_in)

    def recur(self, x_proj: Tensor, state: State) -> State:
        (h_prev,) = state
        a, write = self.coefficients(x_proj)
        return (a * h_prev + write,)

    def sequence(self, x: Tensor, steps: TimeSteps, initial: State):
        if not self.fast:
            return super().sequence(x, steps, initial)
        outputs, h_n = scan_packed(*self.coefficients(self.project_input(x)), steps, initial[0])
        return outputs, (h_n,)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", c={self.c}"
