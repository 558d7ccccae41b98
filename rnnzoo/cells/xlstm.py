r"""The xLSTM cells (Beck, Pöppel, Spanring, Auer, Prudnikova, Kopp, Klambauer, Brandstetter &
Hochreiter 2024, "xLSTM: Extended Long Short-Term Memory", section 2.2 (sLSTM), section 2.3
(mLSTM) and appendix A (stabilisation, the mLSTM's parallel form)).

Both use an exponential input gate, i_t = exp(ĩ_t), and either a sigmoid or an exponential
forget gate (``forget_gate="sigmoid"`` (default) or ``"exp"``), so log f_t = log σ(f̃_t) or
f̃_t. exp() overflows, so the state is stored divided by exp(m_t), with the stabiliser

.. math::
    m_t = \max(\log f_t + m_{t-1}, \tilde\imath_t), \quad
    i'_t = \exp(\tilde\imath_t - m_t), \quad f'_t = \exp(\log f_t + m_{t-1} - m_t)

and i'_t, f'_t used in place of i_t, f_t. Both are <= 1, and the outputs are unchanged: the
normaliser n_t is scaled by the same exp(-m_t), and h_t reads only ratios.

**sLSTM** (``cell=slstm``), gates read x_t and h_{t-1} (memory mixing):

.. math::
    \tilde\imath_t, \tilde f_t, \tilde z_t, \tilde o_t = W x_t + R h_{t-1} + b
        \qquad \text{(blocks i, f, z, o)} \\
    z_t = \tanh(\tilde z_t), \quad o_t = \sigma(\tilde o_t) \\
    c_t = f'_t \odot c_{t-1} + i'_t \odot z_t, \quad n_t = f'_t \odot n_{t-1} + i'_t, \quad
    h_t = o_t \odot c_t / n_t

State (h, c, n, m); ``weight_ih`` = W (4H, I), ``weight_hh`` = R (4H, H), ``bias_ih`` +
``bias_hh`` = b, as torch.nn.LSTM lays them out. ``stabilise=False`` runs the textbook form
(m_t = 0, i'_t = i_t, f'_t = f_t), which overflows once ĩ_t passes ~88 (float32) or ~709
(float64); the tests check both forms agree wherever it does not. No parallel form: h_{t-1}
enters the gates.

**mLSTM** (``cell=mlstm``), a matrix memory per head, gates from x_t only:

.. math::
    q_t = W_q x_t + b_q, \quad k_t = (W_k x_t + b_k) / \sqrt{d}, \quad v_t = W_v x_t + b_v,
    \quad o_t = \sigma(W_o x_t + b_o) \\
    \tilde\imath_t = w_i^\top x_t + b_i, \quad \tilde f_t = w_f^\top x_t + b_f
        \qquad \text{(one scalar per head)} \\
    C_t = f'_t C_{t-1} + i'_t\, v_t k_t^\top, \quad n_t = f'_t n_{t-1} + i'_t k_t \\
    h_t = o_t \odot \frac{C_t q_t}{\max(|n_t^\top q_t|, \exp(-m_t))}

(the stabilised form of max(|n_t^T q_t|, 1)), per head of width d = H / ``num_heads``.
exp(-m_t) is taken with -m_t capped at 60 (:data:`MAX_NEG_M`): extreme gate pre-activations
(training at lr 0.03 reached them in a few steps) drive m_t below -88, where exp(-m_t)
overflows float32 to inf and h_t's gradient becomes 0 * inf = NaN.
``weight_ih`` = (W_q | W_k | W_v | W_o) (4H, I), ``bias_ih`` (4H,); ``weight_gate`` = (w_i | w_f)
(2 * heads, I), ``bias_gate`` (2 * heads,), forget biases starting spread over [3, 6] across
heads (σ ≈ 0.95 .. 0.998, a long memory from the start; our choice). ``fast=True`` runs the
parallel form, chunk by chunk (``chunk_size`` steps; None: the whole sequence at once): with
D_ts = sum_{j=s+1..t} log f_j + ĩ_s (s <= t) and the carried state's weight
D_t0 = sum_{j<=t} log f_j + m_0,

.. math::
    m_t = \max(D_{t0}, \max_s D_{ts}), \quad
    \mathrm{numerator}_t = \sum_s e^{D_{ts} - m_t} (q_t^\top k_s) v_s + e^{D_{t0} - m_t} C_0 q_t

and likewise for n_t^T q_t: the same m_t as the recurrence, so both forms agree to rounding.
The state (h, n, m, C[:, :, :, 0], ..., C[:, :, :, d-1]) is H-wide tensors, as the layer carries
them: n is (heads, d), m is repeated over each head's d units, C (heads, d, d) goes by columns.

Departures from the paper: the sLSTM has one head (dense R; the paper's R can be
block-diagonal over heads); the blocks around both cells (up/down projections, causal
convolution, group norm, skip, gating) belong to the network. Weights start from torch.nn's
uniform default, not the paper's initialisers.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnzoo.cells.base import RecurrentCell
from rnnzoo.cells.padded import from_padded, to_padded
from rnnzoo.cells.steps import State, TimeSteps

FORGET_GATES = ("sigmoid", "exp")


def _log_forget(f_pre: Tensor, kind: str) -> Tensor:
    return F.logsigmoid(f_pre) if kind == "sigmoid" else f_pre


def _check_forget_gate(kind: str) -> None:
    if kind not in FORGET_GATES:
        raise ValueError(f"forget_gate must be one of {FORGET_GATES}, got {kind!r}")


class SLSTMCell(RecurrentCell):
    state_size = 4  # h, c, n, m
    blocks = 4  # i, f, z, o
    additive_state = False  # c and n are scaled by exp(-m), m a log scale
    forget_block = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 forget_gate: str = "sigmoid", stabilise: bool = True, fast: bool = True,
                 device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, fast=fast, device=device, dtype=dtype)
        _check_forget_gate(forget_gate)
        self.forget_gate, self.stabilise = forget_gate, stabilise
        self._standard_parameters()
        self.reset_parameters()

    def recur(self, x_proj: Tensor, state: State) -> State:
        h_prev, c_prev, n_prev, m_prev = state
        gates = x_proj + F.linear(h_prev, self.weight_hh, self.bias_hh)
        i_pre, f_pre, z_pre, o_pre = gates.chunk(4, dim=-1)
        log_f = _log_forget(f_pre, self.forget_gate)
        m = torch.maximum(log_f + m_prev, i_pre) if self.stabilise else torch.zeros_like(m_prev)
        input_gate = torch.exp(i_pre - m)  # i'_t
        forget_gate = torch.exp(log_f + m_prev - m)  # f'_t
        cell_input = torch.tanh(z_pre)  # z_t
        output_gate = torch.sigmoid(o_pre)  # o_t
        c = forget_gate * c_prev + input_gate * cell_input
        n = forget_gate * n_prev + input_gate
        h = output_gate * (c / n)
        return h, c, n, m

    def extra_repr(self) -> str:
        return super().extra_repr() + f", forget_gate={self.forget_gate!r}" + \
            ("" if self.stabilise else ", stabilise=False")


def _segment_sums(log_f: Tensor) -> Tensor:
    """(..., L) -> (..., L, L): [t, s] = sum_{j=s+1..t} log_f_j for s <= t, -inf above.

    A cumulative sum per column rather than a difference of prefix sums, which would lose
    float32 precision to cancellation once the prefix sums grow large.
    """
    length = log_f.shape[-1]
    below = torch.ones(length, length, dtype=torch.bool, device=log_f.device).tril(-1)
    repeated = log_f.unsqueeze(-1).expand(*log_f.shape, length)  # [j, s] = log_f_j
    sums = torch.cumsum(repeated.masked_fill(~below, 0), dim=-2)  # sum over s < j <= t
    return sums.masked_fill(below.t(), float("-inf"))  # s > t: the future


#: exp(-m_t) is taken at -m_t <= this: past it (extreme gate pre-activations drive m_t below
#: -88) exp overflows float32 to inf, h_t becomes 0 and its gradient 0 * inf = NaN; the cap
#: keeps the normaliser at e^60 there, where h_t is ~1e-26 of C_t q_t, and the gradient finite
MAX_NEG_M = 60.0


def _normaliser(n_dot_q: Tensor, m: Tensor) -> Tensor:
    """max(|n_t^T q_t|, exp(-m_t)), with a trailing axis to divide C_t q_t by."""
    return torch.maximum(n_dot_q.abs(), torch.exp((-m).clamp(max=MAX_NEG_M))).unsqueeze(-1)


class MLSTMCell(RecurrentCell):
    blocks = 4  # weight_ih: q, k, v, o
    additive_state = False  # C and n are scaled by exp(-m), m a log scale

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 num_heads: int = 1, forget_gate: str = "sigmoid", chunk_size: int | None = 64,
                 fast: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, fast=fast, device=device, dtype=dtype)
        _check_forget_gate(forget_gate)
        if num_heads < 1 or hidden_size % num_heads:
            raise ValueError(f"num_heads ({num_heads}) must divide hidden_size ({hidden_size})")
        if chunk_size is not None and chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1 or None, got {chunk_size}")
        self.num_heads, self.head_dim = num_heads, hidden_size // num_heads
        self.forget_gate, self.chunk_size = forget_gate, chunk_size
        self.state_size = 3 + self.head_dim  # h, n, m and the d columns of C
        self.weight_ih = self._parameter(4 * hidden_size, input_size)
        self.weight_gate = self._parameter(2 * num_heads, input_size)
        if bias:
            self.bias_ih = self._parameter(4 * hidden_size)
            self.bias_gate = self._parameter(2 * num_heads)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_gate", None)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.bias_gate is not None:
            self.bias_gate[self.num_heads:] = torch.linspace(3.0, 6.0, self.num_heads)

    def project_input(self, x: Tensor) -> Tensor:
        """(q | k | v | õ) and then (ĩ | f̃), before any nonlinearity."""
        return torch.cat([F.linear(x, self.weight_ih, self.bias_ih),
                          F.linear(x, self.weight_gate, self.bias_gate)], -1)

    def _inputs(self, x_proj: Tensor):
        """q, k, v, õ (..., heads, d) and ĩ, log f (..., heads) from the projected input."""
        lead, heads = x_proj.shape[:-1], (self.num_heads, self.head_dim)
        q, k, v, o_pre = (t.reshape(*lead, *heads) for t in
                          x_proj[..., :4 * self.hidden_size].chunk(4, dim=-1))
        i_pre, f_pre = x_proj[..., 4 * self.hidden_size:].chunk(2, dim=-1)
        return q, k / math.sqrt(self.head_dim), v, o_pre, i_pre, _log_forget(f_pre, self.forget_gate)

    def _unpack(self, state: State) -> tuple[Tensor, Tensor, Tensor]:
        """C (rows, heads, d, d), n (rows, heads, d), m (rows, heads) from the H-wide state."""
        _, n, m, *columns = state
        shape = (n.shape[0], self.num_heads, self.head_dim)
        C = torch.stack([column.reshape(shape) for column in columns], -1)
        return C, n.reshape(shape), m.reshape(shape)[..., 0]

    def _pack(self, h: Tensor, C: Tensor, n: Tensor, m: Tensor) -> State:
        rows = h.shape[0]
        m_wide = m.unsqueeze(-1).expand(rows, self.num_heads, self.head_dim)
        return (h.reshape(rows, self.hidden_size), n.reshape(rows, self.hidden_size),
                m_wide.reshape(rows, self.hidden_size),
                *(column.reshape(rows, self.hidden_size) for column in C.unbind(-1)))

    def recur(self, x_proj: Tensor, state: State) -> State:
        C_prev, n_prev, m_prev = self._unpack(state)
        q, k, v, o_pre, i_pre, log_f = self._inputs(x_proj)
        m = torch.maximum(log_f + m_prev, i_pre)  # stabiliser m_t
        input_gate = torch.exp(i_pre - m).unsqueeze(-1)  # i'_t
        forget_gate = torch.exp(log_f + m_prev - m).unsqueeze(-1)  # f'_t
        C = forget_gate.unsqueeze(-1) * C_prev + input_gate.unsqueeze(-1) * (
            v.unsqueeze(-1) * k.unsqueeze(-2))  # f' C + i' v k^T
        n = forget_gate * n_prev + input_gate * k
        n_dot_q = (n * q).sum(-1)
        h_tilde = (C @ q.unsqueeze(-1)).squeeze(-1) / _normaliser(n_dot_q, m)
        h = torch.sigmoid(o_pre) * h_tilde
        return self._pack(h, C, n, m)

    def sequence(self, x: Tensor, steps: TimeSteps, initial: State):
        if not self.fast:
            return super().sequence(x, steps, initial)
        q, k, v, o_pre, i_pre, log_f = self._inputs(to_padded(self.project_input(x), steps))
        # time next to last: (B, heads, T, d) and (B, heads, T)
        q, k, v = (t.permute(1, 2, 0, 3) for t in (q, k, v))
        i_pre, log_f = (t.permute(1, 2, 0) for t in (i_pre, log_f))
        C, n, m = self._unpack(initial)
        length, size = steps.length, self.chunk_size or steps.length
        last = torch.tensor(steps.lengths(), device=x.device) - 1  # each row's last step
        h_tilde, final = [], None
        for start in range(0, length, size):
            stop = min(start + size, length)
            # the state after each row's last step in this chunk (the chunk's end if later)
            at = (last - start).clamp(0, stop - start - 1)
            out, C, n, m = self._parallel(*(t[:, :, start:stop] for t in (q, k, v, i_pre, log_f)),
                                          C, n, m, at)
            h_tilde.append(out)
            ends_here = ((last >= start) & (last < stop)).view(-1, 1)
            state = (C.flatten(1), n.flatten(1), m)
            final = state if final is None else tuple(
                torch.where(ends_here, new, old) for new, old in zip(state, final))
        h = torch.sigmoid(o_pre) * torch.cat(h_tilde, 2).permute(2, 0, 1, 3)  # (T, B, heads, d)
        h = h.reshape(length, steps.batch, self.hidden_size)
        h_n = h[last, torch.arange(steps.batch, device=x.device)]
        shape = (steps.batch, self.num_heads, self.head_dim)
        C_n, n_n, m_n = final[0].view(*shape, self.head_dim), final[1].view(shape), final[2]
        return from_padded(h, steps), self._pack(h_n, C_n, n_n, m_n)

    @staticmethod
    def _parallel(q: Tensor, k: Tensor, v: Tensor, i_pre: Tensor, log_f: Tensor, C0: Tensor,
                  n0: Tensor, m0: Tensor, at: Tensor):
        """The parallel form over L steps from the state (C0, n0, m0): h~_t for every step,
        and the state after step ``at[b]`` of each row b. q, k, v: (B, heads, L, d)."""
        log_w = _segment_sums(log_f) + i_pre.unsqueeze(-2)  # D_ts, (B, heads, L, L)
        log_w0 = torch.cumsum(log_f, -1) + m0.unsqueeze(-1)  # D_t0, (B, heads, L)
        m = torch.maximum(log_w.amax(-1), log_w0)  # m_t, as the recurrence has it
        w, w0 = torch.exp(log_w - m.unsqueeze(-1)), torch.exp(log_w0 - m)
        scores = (q @ k.transpose(-1, -2)) * w  # e^{D_ts - m_t} q_t.k_s
        numerator = scores @ v + w0.unsqueeze(-1) * (q @ C0.transpose(-1, -2))  # C_t q_t
        n_dot_q = scores.sum(-1) + w0 * (q @ n0.unsqueeze(-1)).squeeze(-1)  # n_t.q_t
        h_tilde = numerator / _normaliser(n_dot_q, m)
        rows = torch.arange(q.shape[0], device=q.device)
        w_at, w0_at = w[rows, :, at], w0[rows, :, at]  # (B, heads, L), (B, heads)
        C = torch.einsum("bhs,bhsv,bhsk->bhvk", w_at, v, k) + w0_at[..., None, None] * C0
        n = torch.einsum("bhs,bhsk->bhk", w_at, k) + w0_at.unsqueeze(-1) * n0
        return h_tilde, C, n, m[rows, :, at]

    def extra_repr(self) -> str:
        return super().extra_repr() + (f", num_heads={self.num_heads}, "
                                       f"forget_gate={self.forget_gate!r}, chunk_size={self.chunk_size}")
