"""Explicit BPTT for torch.nn's GRU (reset applied after the matmul; blocks r, z, n).

Forward, for each step t (x_proj_t = W_ih x_t + b_ih, split into x_r, x_z, x_n):

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
"""
from __future__ import annotations

import torch
from torch import Tensor

from rnnzoo.cells.steps import TimeSteps, final_rows, first_rows, fit_rows, previous_states


class GRUBPTT(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x_proj: Tensor, h0: Tensor, weight_hh: Tensor, bias_hh: Tensor | None, steps: TimeSteps):
        total, hidden = x_proj.shape[0], h0.shape[1]
        hidden_proj = torch.empty_like(x_proj)  # s_t = W_hh h_{t-1} + b_hh, (N, 3H)
        gates = x_proj.new_empty(total, 2 * hidden)  # r, z
        candidates = x_proj.new_empty(total, hidden)  # n
        outputs = x_proj.new_empty(total, hidden)
        w_t = weight_hh.t().contiguous()
        state, finished = first_rows((h0,), steps), []
        for start, rows in steps.order:
            (h_prev,) = fit_rows(state, rows, (h0,), finished)
            end = start + rows
            x, s = x_proj[start:end], hidden_proj[start:end]
            if bias_hh is None:
                torch.mm(h_prev, w_t, out=s)
            else:
                torch.addmm(bias_hh, h_prev, w_t, out=s)
            rz = torch.add(x[:, : 2 * hidden], s[:, : 2 * hidden], out=gates[start:end]).sigmoid_()
            reset_gate, update_gate = rz.chunk(2, 1)
            n = torch.addcmul(x[:, 2 * hidden :], reset_gate, s[:, 2 * hidden :], out=candidates[start:end])
            n.tanh_()
            h = torch.lerp(n, h_prev, update_gate, out=outputs[start:end])  # (1 - z) n + z h_prev
            state = (h,)
        (h_n,) = final_rows(state, finished)
        ctx.save_for_backward(outputs, hidden_proj, gates, candidates, h0, weight_hh)
        ctx.steps, ctx.has_bias = steps, bias_hh is not None
        return outputs, h_n.clone()

    @staticmethod
    def backward(ctx, grad_outputs: Tensor, grad_h_n: Tensor):
        outputs, hidden_proj, gates, candidates, h0, weight_hh = ctx.saved_tensors
        steps, hidden = ctx.steps, h0.shape[1]
        r, z = gates.chunk(2, 1)
        n, s_n = candidates, hidden_proj[:, 2 * hidden :]
        h_prev = previous_states(outputs, h0, steps)
        through_n = (1 - z) * (1 - n * n)  # q_t
        slopes = torch.cat(
            [through_n * s_n * r * (1 - r), (h_prev - n) * z * (1 - z), through_n * r], 1
        )
        grad_hidden_proj = torch.empty_like(hidden_proj)  # ds_t
        grad_h = torch.empty_like(outputs)  # dh_t
        back = steps.flipped()
        carry, finished = first_rows((grad_h_n,), back), []
        for start, rows in back.order:
            (from_later,) = fit_rows(carry, rows, (grad_h_n,), finished)
            end = start + rows
            dh = torch.add(grad_outputs[start:end], from_later, out=grad_h[start:end])
            ds = torch.cat([dh, dh, dh], 1, out=grad_hidden_proj[start:end]).mul_(slopes[start:end])
            carry = (torch.addmm(dh * z[start:end], ds, weight_hh),)
        (grad_h0,) = final_rows(carry, finished)
        grad_x_proj = grad_hidden_proj.clone()
        torch.mul(grad_h, through_n, out=grad_x_proj[:, 2 * hidden :])
        grad_weight = grad_bias = None
        if ctx.needs_input_grad[2]:
            grad_weight = grad_hidden_proj.t() @ h_prev
        if ctx.has_bias and ctx.needs_input_grad[3]:
            grad_bias = grad_hidden_proj.sum(0)
        return grad_x_proj, grad_h0, grad_weight, grad_bias, None
