"""Explicit BPTT for torch.nn's GRU (reset applied after the matmul; blocks r, z, n).

Forward, for each step t (x_proj_t = x_t W_ih^T + b_ih, split into x_r, x_z, x_n):

    s_t = W_hh h_{t-1} + b_hh                        split into s_r, s_z, s_n
    r = sigmoid(x_r + s_r);   z = sigmoid(x_z + s_z)
    n = tanh(x_n + r * s_n)
    h_t = (1 - z) * n + z * h_{t-1}

Backward, with dh_t = (gradient from above) + (what step t+1 sends back), and
q_t = (1 - z) (1 - n^2), the factor that turns dh_t into the gradient of n's pre-activation:

    ds_r = dx_r = dh_t * q_t * s_n * r(1 - r)
    ds_z = dx_z = dh_t * (h_{t-1} - n) * z(1 - z)
    dx_n = dh_t * q_t;   ds_n = dh_t * q_t * r
    dh_{t-1} from step t = dh_t * z + ds_t W_hh;   dL/dW_hh = sum_t ds_t^T h_{t-1} (one GEMM)
    dL/db_ih = sum_t dx_t;   dL/db_hh = sum_t ds_t

The op takes x_proj without b_ih and adds both biases inside the loop.

The forward loop keeps, for every step, r, z, n and s_n (the ``gates``, (N, 4H)): everything
the deltas read besides h_{t-1}. :func:`forward_loop` and :func:`backward_loop` are the
reference; on the CPU the ops run their C++ twins (:mod:`rnnzoo.kernels.native`), which take
and return the same tensors.

The loops run as registered operators, ``rnnzoo::gru_seq`` and ``rnnzoo::gru_seq_backward``
(see :mod:`rnnzoo.kernels.ops`), called by the cells through :func:`gru_bptt`. A second
derivative differentiates :func:`reference_sequence`, the equations in plain torch ops, run
again from the saved inputs.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from rnnzoo.cells.steps import (TimeSteps, final_rows, first_rows, fit_rows, previous_states,
                                recurrent_weight_grad, run_steps)
from rnnzoo.kernels import native
from rnnzoo.kernels.ops import (PARAM, ROWS, SIZES, STATE, check_rows, reference_vjp,
                                 register_folding_vmap, zeros_if_none)


def forward_loop(x_proj: Tensor, bias_ih: Tensor | None, h0: Tensor, w_t: Tensor,
                 bias_hh: Tensor | None, steps: TimeSteps):
    """(outputs h, h_n, gates r, z, n, s_n); ``w_t`` is W_hh^T, contiguous."""
    total, hidden = x_proj.shape[0], h0.shape[1]
    if bias_ih is not None:
        x_proj = x_proj + bias_ih
    gates = x_proj.new_empty(total, 4 * hidden)
    outputs = x_proj.new_empty(total, hidden)
    hidden_proj = x_proj.new_empty(steps.batch, 3 * hidden)  # s_t, one step at a time
    state, finished = first_rows((h0,), steps), []
    for start, rows in steps.order:
        (h_prev,) = fit_rows(state, rows, (h0,), finished)
        end = start + rows
        x, s, kept = x_proj[start:end], hidden_proj[:rows], gates[start:end]
        if bias_hh is None:
            torch.mm(h_prev, w_t, out=s)
        else:
            torch.addmm(bias_hh, h_prev, w_t, out=s)
        rz = torch.add(x[:, : 2 * hidden], s[:, : 2 * hidden], out=kept[:, : 2 * hidden]).sigmoid_()
        reset_gate, update_gate = rz.chunk(2, 1)
        s_n = kept[:, 3 * hidden :].copy_(s[:, 2 * hidden :])
        n = torch.addcmul(x[:, 2 * hidden :], reset_gate, s_n, out=kept[:, 2 * hidden : 3 * hidden])
        n.tanh_()
        h = torch.lerp(n, h_prev, update_gate, out=outputs[start:end])  # (1 - z) n + z h_prev
        state = (h,)
    (h_n,) = final_rows(state, finished)
    return outputs, h_n.clone(), gates


def backward_loop(grad_outputs: Tensor, grad_h_n: Tensor, outputs: Tensor, gates: Tensor,
                  h0: Tensor, weight_hh: Tensor, steps: TimeSteps):
    """(dL/dx_proj, ds: the gradient of every s_t, dL/dh_0)."""
    r, z, n, s_n = gates.chunk(4, 1)
    h_prev = previous_states(outputs, h0, steps)
    through_n = (1 - z) * (1 - n * n)  # q_t
    slopes = torch.cat(
        [through_n * s_n * r * (1 - r), (h_prev - n) * z * (1 - z), through_n * r], 1
    )
    grad_s = torch.empty_like(slopes)  # ds_t
    grad_h = torch.empty_like(outputs)  # dh_t
    back = steps.flipped()
    carry, finished = first_rows((grad_h_n,), back), []
    for start, rows in back.order:
        (from_later,) = fit_rows(carry, rows, (grad_h_n,), finished)
        end = start + rows
        dh = torch.add(grad_outputs[start:end], from_later, out=grad_h[start:end])
        ds = torch.cat([dh, dh, dh], 1, out=grad_s[start:end]).mul_(slopes[start:end])
        carry = (torch.addmm(dh * z[start:end], ds, weight_hh),)
    (grad_h0,) = final_rows(carry, finished)
    hidden = h0.shape[1]
    grad_x_proj = grad_s.clone()
    torch.mul(grad_h, through_n, out=grad_x_proj[:, 2 * hidden :])
    return grad_x_proj, grad_s, grad_h0


def reference_sequence(x_proj: Tensor, bias_ih: Tensor | None, h0: Tensor, weight_hh: Tensor,
                       bias_hh: Tensor | None, steps: TimeSteps) -> tuple[Tensor, Tensor]:
    """(outputs, h_n) through plain, differentiable torch ops: the equations of ``GRUCell.recur``
    written as a function of the weights, run by ``run_steps``. What a second derivative
    differentiates (see rnnzoo.kernels.ops.reference_vjp)."""
    if bias_ih is not None:
        x_proj = x_proj + bias_ih

    def step(x: Tensor, state):
        (h_prev,) = state
        s = h_prev @ weight_hh.t()
        if bias_hh is not None:
            s = s + bias_hh
        x_r, x_z, x_n = x.chunk(3, 1)
        s_r, s_z, s_n = s.chunk(3, 1)
        reset_gate = torch.sigmoid(x_r + s_r)
        update_gate = torch.sigmoid(x_z + s_z)
        candidate = torch.tanh(x_n + reset_gate * s_n)
        return ((1 - update_gate) * candidate + update_gate * h_prev,)

    outputs, (h_n,) = run_steps(step, x_proj, steps, (h0,))
    return outputs, h_n


# -- the registered operators (see rnnzoo.kernels.ops) -----------------------------------------
@torch.library.custom_op("rnnzoo::gru_seq", mutates_args=())
def gru_seq(x_proj: Tensor, bias_ih: Optional[Tensor], h0: Tensor, weight_hh: Tensor,
            bias_hh: Optional[Tensor], batch_sizes: list[int], reverse: bool
            ) -> tuple[Tensor, Tensor, Tensor]:
    """(outputs, h_n, gates r, z, n, s_n): the native loop on the CPU when built,
    :func:`forward_loop` elsewhere. The gates are what the backward reads."""
    steps = TimeSteps(batch_sizes, reverse)
    w_t = weight_hh.t().contiguous()
    x_proj, h0 = x_proj.contiguous(), h0.contiguous()
    loops = native.loops_for(x_proj)
    if loops is None:
        return forward_loop(x_proj, bias_ih, h0, w_t, bias_hh, steps)
    return tuple(loops.gru_forward(x_proj, bias_ih, h0, w_t, bias_hh, steps.batch_sizes, reverse))


@gru_seq.register_fake
def _(x_proj, bias_ih, h0, weight_hh, bias_hh, batch_sizes, reverse):
    check_rows(x_proj, h0, batch_sizes, "rnnzoo::gru_seq")
    total, hidden = x_proj.shape[0], h0.shape[1]
    return (x_proj.new_empty(total, hidden), h0.new_empty(h0.shape),
            x_proj.new_empty(total, 4 * hidden))


@torch.library.custom_op("rnnzoo::gru_seq_backward", mutates_args=())
def gru_seq_backward(grad_outputs: Tensor, grad_h_n: Tensor, outputs: Tensor, gates: Tensor,
                     h0: Tensor, weight_hh: Tensor, batch_sizes: list[int], reverse: bool
                     ) -> tuple[Tensor, Tensor, Tensor]:
    """(dL/dx_proj, dL/ds, dL/dh_0): the native backward loop on the CPU when built,
    :func:`backward_loop` elsewhere."""
    steps = TimeSteps(batch_sizes, reverse)
    grad_outputs, grad_h_n = grad_outputs.contiguous(), grad_h_n.contiguous()
    outputs, gates = outputs.contiguous(), gates.contiguous()
    h0, weight_hh = h0.contiguous(), weight_hh.contiguous()
    loops = native.loops_for(outputs)
    if loops is None:
        return backward_loop(grad_outputs, grad_h_n, outputs, gates, h0, weight_hh, steps)
    return tuple(loops.gru_backward(grad_outputs, grad_h_n, outputs, gates, h0, weight_hh,
                                    steps.batch_sizes, reverse))


@gru_seq_backward.register_fake
def _(grad_outputs, grad_h_n, outputs, gates, h0, weight_hh, batch_sizes, reverse):
    check_rows(outputs, h0, batch_sizes, "rnnzoo::gru_seq_backward")
    total, hidden = outputs.shape[0], h0.shape[1]
    return (outputs.new_empty(total, 3 * hidden), outputs.new_empty(total, 3 * hidden),
            h0.new_empty(h0.shape))


def _setup_context(ctx, inputs, output):
    x_proj, bias_ih, h0, weight_hh, bias_hh, batch_sizes, reverse = inputs
    outputs, _, gates = output
    ctx.mark_non_differentiable(gates)
    ctx.save_for_backward(x_proj, bias_ih, h0, weight_hh, bias_hh, outputs, gates)
    ctx.loop = (batch_sizes, reverse)


def _backward(ctx, grad_outputs, grad_h_n, *unused):
    x_proj, bias_ih, h0, weight_hh, bias_hh, outputs, gates = ctx.saved_tensors
    batch_sizes, reverse = ctx.loop
    steps = TimeSteps(batch_sizes, reverse)
    if torch.is_grad_enabled():  # create_graph=True: differentiate the reference loop
        grads = reference_vjp(
            lambda *a: reference_sequence(*a, steps), (x_proj, bias_ih, h0, weight_hh, bias_hh),
            ctx.needs_input_grad[:5], (grad_outputs, grad_h_n))
        return (*grads, None, None)
    grad_x_proj, grad_s, grad_h0 = torch.ops.rnnzoo.gru_seq_backward(
        zeros_if_none(grad_outputs, outputs), zeros_if_none(grad_h_n, h0), outputs, gates, h0,
        weight_hh, batch_sizes, reverse)
    grad_weight = grad_bias_ih = grad_bias_hh = None
    if ctx.needs_input_grad[3]:
        grad_weight = recurrent_weight_grad(grad_s, outputs, h0, steps)
    if ctx.needs_input_grad[1]:  # False when there is no bias
        grad_bias_ih = grad_x_proj.sum(0)
    if ctx.needs_input_grad[4]:
        grad_bias_hh = grad_s.sum(0)
    return grad_x_proj, grad_bias_ih, grad_h0, grad_weight, grad_bias_hh, None, None


torch.library.register_autograd("rnnzoo::gru_seq", _backward, setup_context=_setup_context)
register_folding_vmap(gru_seq, (ROWS, PARAM, STATE, PARAM, PARAM, SIZES, None),
                      (ROWS, STATE, ROWS))
register_folding_vmap(gru_seq_backward, (ROWS, STATE, ROWS, ROWS, STATE, PARAM, SIZES, None),
                      (ROWS, ROWS, STATE))


class GRUBPTT(torch.autograd.Function):
    """The op with the same formula, as the autograd.Function the cells call (through
    :func:`gru_bptt`) in plain eager mode: a classic ``forward(ctx, ...)``, because
    ``apply`` of a ``setup_context`` Function binds its arguments with ``inspect.signature`` on
    every call (~45 us, as much as a short sequence's whole loop)."""

    @staticmethod
    def forward(ctx, x_proj: Tensor, bias_ih: Tensor | None, h0: Tensor, weight_hh: Tensor,
                bias_hh: Tensor | None, batch_sizes: list[int], reverse: bool):
        output = torch.ops.rnnzoo.gru_seq(x_proj, bias_ih, h0, weight_hh, bias_hh, batch_sizes, reverse)
        _setup_context(ctx, (x_proj, bias_ih, h0, weight_hh, bias_hh, batch_sizes, reverse), output)
        return output

    backward = staticmethod(_backward)


class GRUBPTTForTorchFunc(torch.autograd.Function):
    """The same Function with ``setup_context`` and ``generate_vmap_rule``, which torch.func
    transforms (grad, vjp, vmap, jacrev) require; they refuse an op that carries a
    ``register_autograd`` formula (see rnnzoo.kernels.ops)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x_proj: Tensor, bias_ih: Tensor | None, h0: Tensor, weight_hh: Tensor,
                bias_hh: Tensor | None, batch_sizes: list[int], reverse: bool):
        return torch.ops.rnnzoo.gru_seq(x_proj, bias_ih, h0, weight_hh, bias_hh, batch_sizes, reverse)

    setup_context = staticmethod(_setup_context)
    backward = staticmethod(_backward)


def _function():
    """The Function for the current mode: the setup_context one under torch.func transforms."""
    if torch._C._are_functorch_transforms_active():
        return GRUBPTTForTorchFunc
    return GRUBPTT


def gru_bptt(x_proj: Tensor, bias_ih: Tensor | None, h0: Tensor, weight_hh: Tensor,
             bias_hh: Tensor | None, steps: TimeSteps) -> tuple[Tensor, Tensor]:
    """(outputs, h_n) of the reset-after GRU with the explicit-BPTT backward; ``x_proj`` =
    x W_ih^T (without b_ih) in the packed layout of ``steps``."""
    args = (x_proj, bias_ih, h0, weight_hh, bias_hh, list(steps.batch_sizes), steps.reverse)
    if torch.jit.is_tracing():  # record the op (saveable), not a Python callback to the Function
        outputs, h_n, _ = torch.ops.rnnzoo.gru_seq(*args)
    else:
        outputs, h_n, _ = _function().apply(*args)
    return outputs, h_n
