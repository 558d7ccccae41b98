"""Explicit BPTT for the Elman RNN, from the delta rule of equations.md section 6.

Forward, for each step t (torch notation, row vectors per batch row):

    u_t = x_proj_t + b + h_{t-1} W_hh^T      (x_proj_t = x_t W_ih^T, b = b_ih + b_hh)
    h_t = f(u_t)

Backward, with g_t = dL/dh_t from the layer above (the output gradient) and delta_t = dL/du_t:

    delta_t  = f'(u_t) * (g_t + delta_{t+1} W_hh)       (the recurrent delta of the texts)
    dL/dW_hh = sum_t delta_t^T h_{t-1}                   (one GEMM over all steps)
    dL/dx_proj_t = delta_t,   dL/db = sum_t delta_t,   dL/dh_0 = delta_1 W_hh

f'(u_t) is written from h_t alone (tanh: 1 - h^2, sigmoid: h (1 - h), ReLU: [h > 0]), so the
forward pass keeps nothing but the outputs.

The two loops over time are :func:`forward_loop` and :func:`backward_loop`, the reference; on
the CPU the ops run their C++ twins (:mod:`rnnzoo.kernels.native`), which take and return the
same tensors. They are registered operators, ``rnnzoo::elman_seq`` and
``rnnzoo::elman_seq_backward`` (see :mod:`rnnzoo.kernels.ops`), called by the cells through
:func:`elman_bptt`. A second derivative differentiates :func:`backward_reference`, the backward
loop in out-of-place ops.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from rnnzoo.cells.steps import TimeSteps, final_rows, first_rows, fit_rows, recurrent_weight_grad
from rnnzoo.kernels import native
from rnnzoo.kernels.ops import (PARAM, ROWS, SIZES, STATE, check_rows, register_folding_vmap,
                                 zeros_if_none)

ACTIVATE_ = {"tanh": torch.tanh_, "relu": torch.relu_, "sigmoid": torch.sigmoid_}
NATIVE_CODE = {"tanh": 0, "relu": 1, "sigmoid": 2}  # loops.cpp's Activation


def slope_from_output(h: Tensor, nonlinearity: str) -> Tensor:
    """f'(u) for h = f(u), computed from h."""
    if nonlinearity == "tanh":
        return 1 - h * h
    if nonlinearity == "sigmoid":
        return h * (1 - h)
    return (h > 0).to(h.dtype)


def forward_loop(x_proj: Tensor, bias: Tensor | None, h0: Tensor, w_t: Tensor, steps: TimeSteps,
                 nonlinearity: str) -> tuple[Tensor, Tensor]:
    """Every h_t, and each row's final state. ``w_t`` is W_hh^T, contiguous."""
    activate_ = ACTIVATE_[nonlinearity]
    if bias is not None:
        x_proj = x_proj + bias
    outputs = torch.empty_like(x_proj)  # (N, H)
    state, finished = first_rows((h0,), steps), []
    for start, rows in steps.order:
        (h_prev,) = fit_rows(state, rows, (h0,), finished)
        h = outputs[start:start + rows]
        torch.addmm(x_proj[start:start + rows], h_prev, w_t, out=h)  # u_t
        activate_(h)  # h_t = f(u_t)
        state = (h,)
    (h_n,) = final_rows(state, finished)
    return outputs, h_n.clone()


def backward_loop(grad_outputs: Tensor, grad_h_n: Tensor, outputs: Tensor, weight_hh: Tensor,
                  steps: TimeSteps, nonlinearity: str) -> tuple[Tensor, Tensor]:
    """Every delta_t, and dL/dh_0."""
    slope = slope_from_output(outputs, nonlinearity)
    delta = torch.empty_like(outputs)
    back = steps.flipped()
    carry, finished = first_rows((grad_h_n,), back), []
    for start, rows in back.order:
        (from_later,) = fit_rows(carry, rows, (grad_h_n,), finished)
        d = delta[start:start + rows]
        torch.add(grad_outputs[start:start + rows], from_later, out=d)
        d.mul_(slope[start:start + rows])  # delta_t
        carry = (d @ weight_hh,)  # what delta_t sends back to h_{t-1}
    (grad_h0,) = final_rows(carry, finished)
    return delta, grad_h0


def backward_reference(grad_outputs: Tensor, grad_h_n: Tensor, outputs: Tensor, weight_hh: Tensor,
                       steps: TimeSteps, nonlinearity: str) -> tuple[Tensor, Tensor]:
    """:func:`backward_loop` written with out-of-place ops only, so autograd can differentiate it.

    It reads nothing but the outputs h_t (a differentiable output of the op), W_hh and the
    incoming gradients, so the gradients it returns carry a graph back to every input: what a
    second derivative (``create_graph=True``) differentiates.
    """
    slope = slope_from_output(outputs, nonlinearity)
    back = steps.flipped()
    deltas = {}
    carry, finished = first_rows((grad_h_n,), back), []
    for start, rows in back.order:
        (from_later,) = fit_rows(carry, rows, (grad_h_n,), finished)
        d = (grad_outputs[start:start + rows] + from_later) * slope[start:start + rows]
        deltas[start] = d
        carry = (d @ weight_hh,)
    (grad_h0,) = final_rows(carry, finished)
    return torch.cat([deltas[start] for start in steps.starts]), grad_h0


# -- the registered operators (see rnnzoo.kernels.ops) -----------------------------------------
@torch.library.custom_op("rnnzoo::elman_seq", mutates_args=())
def elman_seq(x_proj: Tensor, bias: Optional[Tensor], h0: Tensor, weight_hh: Tensor,
              batch_sizes: list[int], reverse: bool, nonlinearity: str) -> tuple[Tensor, Tensor]:
    """(outputs, h_n) of the Elman recurrence over packed rows: the native loop on the CPU when
    built, :func:`forward_loop` elsewhere."""
    steps = TimeSteps(batch_sizes, reverse)
    w_t = weight_hh.t().contiguous()
    x_proj, h0 = x_proj.contiguous(), h0.contiguous()
    loops = native.loops_for(x_proj)
    if loops is None:
        return forward_loop(x_proj, bias, h0, w_t, steps, nonlinearity)
    outputs, h_n = loops.elman_forward(x_proj, bias, h0, w_t, steps.batch_sizes, reverse,
                                       NATIVE_CODE[nonlinearity])
    return outputs, h_n


@elman_seq.register_fake
def _(x_proj, bias, h0, weight_hh, batch_sizes, reverse, nonlinearity):
    check_rows(x_proj, h0, batch_sizes, "rnnzoo::elman_seq")
    return x_proj.new_empty(x_proj.shape[0], h0.shape[1]), h0.new_empty(h0.shape)


@torch.library.custom_op("rnnzoo::elman_seq_backward", mutates_args=())
def elman_seq_backward(grad_outputs: Tensor, grad_h_n: Tensor, outputs: Tensor,
                       weight_hh: Tensor, batch_sizes: list[int], reverse: bool,
                       nonlinearity: str) -> tuple[Tensor, Tensor]:
    """(delta, dL/dh_0): the native backward loop on the CPU when built, :func:`backward_loop`
    elsewhere."""
    steps = TimeSteps(batch_sizes, reverse)
    grad_outputs, grad_h_n = grad_outputs.contiguous(), grad_h_n.contiguous()
    outputs, weight_hh = outputs.contiguous(), weight_hh.contiguous()
    loops = native.loops_for(outputs)
    if loops is None:
        return backward_loop(grad_outputs, grad_h_n, outputs, weight_hh, steps, nonlinearity)
    delta, grad_h0 = loops.elman_backward(grad_outputs, grad_h_n, outputs, weight_hh,
                                          steps.batch_sizes, reverse, NATIVE_CODE[nonlinearity])
    return delta, grad_h0


@elman_seq_backward.register_fake
def _(grad_outputs, grad_h_n, outputs, weight_hh, batch_sizes, reverse, nonlinearity):
    check_rows(outputs, grad_h_n, batch_sizes, "rnnzoo::elman_seq_backward")
    return outputs.new_empty(outputs.shape), grad_h_n.new_empty(grad_h_n.shape)


def _setup_context(ctx, inputs, output):
    x_proj, bias, h0, weight_hh, batch_sizes, reverse, nonlinearity = inputs
    ctx.save_for_backward(bias, h0, weight_hh, output[0])
    ctx.loop = (batch_sizes, reverse, nonlinearity)


def _backward(ctx, grad_outputs, grad_h_n):
    bias, h0, weight_hh, outputs = ctx.saved_tensors
    batch_sizes, reverse, nonlinearity = ctx.loop
    steps = TimeSteps(batch_sizes, reverse)
    grad_outputs = zeros_if_none(grad_outputs, outputs)
    grad_h_n = zeros_if_none(grad_h_n, h0)
    if torch.is_grad_enabled():  # create_graph=True: a differentiable backward
        delta, grad_h0 = backward_reference(grad_outputs, grad_h_n, outputs, weight_hh, steps,
                                            nonlinearity)
    else:
        delta, grad_h0 = torch.ops.rnnzoo.elman_seq_backward(
            grad_outputs, grad_h_n, outputs, weight_hh, batch_sizes, reverse, nonlinearity)
    grad_bias = grad_weight = None
    if ctx.needs_input_grad[1]:  # False when there is no bias
        grad_bias = delta.sum(0)
    if ctx.needs_input_grad[3]:
        grad_weight = recurrent_weight_grad(delta, outputs, h0, steps)
    return delta, grad_bias, grad_h0, grad_weight, None, None, None


torch.library.register_autograd("rnnzoo::elman_seq", _backward, setup_context=_setup_context)
register_folding_vmap(elman_seq, (ROWS, PARAM, STATE, PARAM, SIZES, None, None), (ROWS, STATE))
register_folding_vmap(elman_seq_backward, (ROWS, STATE, ROWS, PARAM, SIZES, None, None),
                      (ROWS, STATE))


class ElmanBPTT(torch.autograd.Function):
    """The op with the same formula, as the autograd.Function the cells call (through
    :func:`elman_bptt`) in plain eager mode: a classic ``forward(ctx, ...)``, because
    ``apply`` of a ``setup_context`` Function binds its arguments with ``inspect.signature`` on
    every call (~45 us, as much as a short sequence's whole loop)."""

    @staticmethod
    def forward(ctx, x_proj: Tensor, bias: Tensor | None, h0: Tensor, weight_hh: Tensor,
                batch_sizes: list[int], reverse: bool, nonlinearity: str):
        output = torch.ops.rnnzoo.elman_seq(x_proj, bias, h0, weight_hh, batch_sizes, reverse, nonlinearity)
        _setup_context(ctx, (x_proj, bias, h0, weight_hh, batch_sizes, reverse, nonlinearity), output)
        return output

    backward = staticmethod(_backward)


class ElmanBPTTForTorchFunc(torch.autograd.Function):
    """The same Function with ``setup_context`` and ``generate_vmap_rule``, which torch.func
    transforms (grad, vjp, vmap, jacrev) require; they refuse an op that carries a
    ``register_autograd`` formula (see rnnzoo.kernels.ops)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x_proj: Tensor, bias: Tensor | None, h0: Tensor, weight_hh: Tensor,
                batch_sizes: list[int], reverse: bool, nonlinearity: str):
        return torch.ops.rnnzoo.elman_seq(x_proj, bias, h0, weight_hh, batch_sizes, reverse, nonlinearity)

    setup_context = staticmethod(_setup_context)
    backward = staticmethod(_backward)


def _function():
    """The Function for the current mode: the setup_context one under torch.func transforms."""
    if torch._C._are_functorch_transforms_active():
        return ElmanBPTTForTorchFunc
    return ElmanBPTT


def elman_bptt(x_proj: Tensor, bias: Tensor | None, h0: Tensor, weight_hh: Tensor,
               steps: TimeSteps, nonlinearity: str) -> tuple[Tensor, Tensor]:
    """(outputs, h_n) of the Elman recurrence with the explicit-BPTT backward; ``bias`` is
    b_ih + b_hh (or None), ``x_proj`` = x W_ih^T in the packed layout of ``steps``."""
    args = (x_proj, bias, h0, weight_hh, list(steps.batch_sizes), steps.reverse, nonlinearity)
    if torch.jit.is_tracing():  # record the op (saveable), not a Python callback to the Function
        return torch.ops.rnnzoo.elman_seq(*args)
    return _function().apply(*args)
