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

The Function takes x_proj without b_ih and adds both biases inside the loop.

The forward loop keeps, for every step, r, z, n and s_n (the ``gates``, (N, 4H)): everything
the deltas read besides h_{t-1}. :func:`forward_loop` and :func:`backward_loop` are the
reference; on the CPU the Function runs their C++ twins (:mod:`rnnzoo.learning.native`),
which take and return the same tensors.
"""
from __future__ import annotations

import torch
from torch import Tensor

from rnnzoo.cells.steps import (TimeSteps, final_rows, first_rows, fit_rows, previous_states,
                                recurrent_weight_grad)
from rnnzoo.learning import native


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


class GRUBPTT(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x_proj: Tensor, bias_ih: Tensor | None, h0: Tensor, weight_hh: Tensor,
                bias_hh: Tensor | None, steps: TimeSteps):
        w_t = weight_hh.t().contiguous()
        loops = native.loops_for(x_proj)
        if loops is None:
            outputs, h_n, gates = forward_loop(x_proj, bias_ih, h0, w_t, bias_hh, steps)
        else:
            outputs, h_n, gates = loops.gru_forward(x_proj.contiguous(), bias_ih, h0.contiguous(),
                                                    w_t, bias_hh, steps.batch_sizes, steps.reverse)
        ctx.save_for_backward(outputs, gates, h0, weight_hh)
        ctx.steps = steps
        return outputs, h_n

    @staticmethod
    def backward(ctx, grad_outputs: Tensor, grad_h_n: Tensor):
        outputs, gates, h0, weight_hh = ctx.saved_tensors
        steps = ctx.steps
        loops = native.loops_for(outputs)
        if loops is None:
            grad_x_proj, grad_s, grad_h0 = backward_loop(grad_outputs, grad_h_n, outputs, gates,
                                                         h0, weight_hh, steps)
        else:
            grad_x_proj, grad_s, grad_h0 = loops.gru_backward(
                grad_outputs.contiguous(), grad_h_n.contiguous(), outputs, gates,
                h0.contiguous(), weight_hh.contiguous(), steps.batch_sizes, steps.reverse)
        grad_weight = grad_bias_ih = grad_bias_hh = None
        if ctx.needs_input_grad[3]:
            grad_weight = recurrent_weight_grad(grad_s, outputs, h0, steps)
        if ctx.needs_input_grad[1]:  # False when there is no bias
            grad_bias_ih = grad_x_proj.sum(0)
        if ctx.needs_input_grad[4]:
            grad_bias_hh = grad_s.sum(0)
        return grad_x_proj, grad_bias_ih, grad_h0, grad_weight, grad_bias_hh, None
