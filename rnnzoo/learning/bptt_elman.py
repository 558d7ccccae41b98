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
the CPU the Function runs their C++ twins (:mod:`rnnzoo.learning.native`), which take and
return the same tensors.
"""
from __future__ import annotations

import torch
from torch import Tensor

from rnnzoo.cells.steps import TimeSteps, final_rows, first_rows, fit_rows, recurrent_weight_grad
from rnnzoo.learning import native

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


class ElmanBPTT(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x_proj: Tensor, bias: Tensor | None, h0: Tensor, weight_hh: Tensor,
                steps: TimeSteps, nonlinearity: str):
        w_t = weight_hh.t().contiguous()
        loops = native.loops_for(x_proj)
        if loops is None:
            outputs, h_n = forward_loop(x_proj, bias, h0, w_t, steps, nonlinearity)
        else:
            outputs, h_n = loops.elman_forward(x_proj.contiguous(), bias, h0.contiguous(), w_t,
                                               steps.batch_sizes, steps.reverse,
                                               NATIVE_CODE[nonlinearity])
        ctx.save_for_backward(outputs, h0, weight_hh)
        ctx.steps, ctx.nonlinearity = steps, nonlinearity
        return outputs, h_n

    @staticmethod
    def backward(ctx, grad_outputs: Tensor, grad_h_n: Tensor):
        outputs, h0, weight_hh = ctx.saved_tensors
        steps = ctx.steps
        loops = native.loops_for(outputs)
        if loops is None:
            delta, grad_h0 = backward_loop(grad_outputs, grad_h_n, outputs, weight_hh, steps,
                                           ctx.nonlinearity)
        else:
            delta, grad_h0 = loops.elman_backward(
                grad_outputs.contiguous(), grad_h_n.contiguous(), outputs,
                weight_hh.contiguous(), steps.batch_sizes, steps.reverse,
                NATIVE_CODE[ctx.nonlinearity])
        grad_bias = grad_weight = None
        if ctx.needs_input_grad[1]:  # False when there is no bias
            grad_bias = delta.sum(0)
        if ctx.needs_input_grad[3]:
            grad_weight = recurrent_weight_grad(delta, outputs, h0, steps)
        return delta, grad_bias, grad_h0, grad_weight, None, None
