"""Explicit BPTT for the LSTM (gates in torch.nn's order i, f, g, o).

Forward, for each step t (equations.md section 2; x_proj_t = W_ih x_t + b_ih + b_hh):

    a_t = x_proj_t + h_{t-1} W_hh^T                 pre-activations of i, f, g, o
    i, f, o = sigmoid(a_i, a_f, a_o);  g = tanh(a_g)
    C_t = f * C_{t-1} + i * g
    h_t = o * tanh(C_t)

Backward, with dh_t = (gradient from above) + (what step t+1 sends back):

    dC_t   = dC from step t+1 (dC_{t+1} * f_{t+1})  +  dh_t * o * (1 - tanh(C_t)^2)
    da_i = dC_t * g * i(1 - i)      da_f = dC_t * C_{t-1} * f(1 - f)
    da_g = dC_t * i * (1 - g^2)     da_o = dh_t * tanh(C_t) * o(1 - o)
    dh_{t-1} from step t = da_t W_hh;   dL/dW_hh = sum_t da_t^T h_{t-1} (one GEMM)

The factors that multiply dC_t and dh_t depend only on the forward pass, so they are computed
for all steps at once before the loop; each step of the loop is then a handful of operations.
"""
from __future__ import annotations

import torch
from torch import Tensor

from rnnzoo.cells.steps import TimeSteps, final_rows, first_rows, fit_rows, previous_states


class LSTMBPTT(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x_proj: Tensor, h0: Tensor, c0: Tensor, weight_hh: Tensor, steps: TimeSteps):
        total, hidden = x_proj.shape[0], h0.shape[1]
        # sigmoid of all four pre-activations, (N, 4H); the g block is unused (its tanh is kept
        # apart), but one contiguous sigmoid is cheaper than two strided ones
        sigmoids = torch.empty_like(x_proj)
        candidates = x_proj.new_empty(total, hidden)  # g_t
        cells = x_proj.new_empty(total, hidden)  # C_t
        tanh_cells = x_proj.new_empty(total, hidden)
        outputs = x_proj.new_empty(total, hidden)  # h_t
        w_t = weight_hh.t().contiguous()
        state, finished = first_rows((h0, c0), steps), []
        for start, rows in steps.order:
            h_prev, c_prev = fit_rows(state, rows, (h0, c0), finished)
            end = start + rows
            a = torch.addmm(x_proj[start:end], h_prev, w_t, out=sigmoids[start:end])
            candidate = torch.tanh(a[:, 2 * hidden : 3 * hidden], out=candidates[start:end])
            input_gate, forget_gate, _, output_gate = a.sigmoid_().chunk(4, 1)
            c = torch.mul(forget_gate, c_prev, out=cells[start:end]).addcmul_(input_gate, candidate)
            tanh_c = torch.tanh(c, out=tanh_cells[start:end])
            h = torch.mul(output_gate, tanh_c, out=outputs[start:end])
            state = (h, c)
        h_n, c_n = final_rows(state, finished)
        ctx.save_for_backward(outputs, cells, tanh_cells, sigmoids, candidates, h0, c0, weight_hh)
        ctx.steps = steps
        return outputs, h_n.clone(), c_n.clone()

    @staticmethod
    def backward(ctx, grad_outputs: Tensor, grad_h_n: Tensor, grad_c_n: Tensor):
        outputs, cells, tanh_cells, sigmoids, g, h0, c0, weight_hh = ctx.saved_tensors
        steps, hidden = ctx.steps, h0.shape[1]
        # da = [dC_t, dC_t, dC_t, dh_t] * slopes, and dC_t += dh_t * through_tanh
        slopes = sigmoids * (1 - sigmoids)  # s(1 - s) for every block; the g block is redone
        i, _, _, o = sigmoids.chunk(4, 1)
        slopes[:, 2 * hidden : 3 * hidden] = i * (1 - g * g)
        slopes.mul_(torch.cat([g, previous_states(cells, c0, steps), slopes.new_ones(1, hidden).expand_as(g), tanh_cells], 1))
        through_tanh = o * (1 - tanh_cells * tanh_cells)
        forget = sigmoids[:, hidden : 2 * hidden]
        grad_gates = torch.empty_like(sigmoids)
        back = steps.flipped()
        finals = (grad_h_n, grad_c_n)
        carry, finished = first_rows(finals, back), []
        for start, rows in back.order:
            carry_h, carry_c = fit_rows(carry, rows, finals, finished)
            end = start + rows
            dh = grad_outputs[start:end] + carry_h
            dc = torch.addcmul(carry_c, dh, through_tanh[start:end])
            da = torch.cat([dc, dc, dc, dh], 1, out=grad_gates[start:end]).mul_(slopes[start:end])
            carry = (da @ weight_hh, dc * forget[start:end])
        grad_h0, grad_c0 = final_rows(carry, finished)
        grad_weight = None
        if ctx.needs_input_grad[3]:
            grad_weight = grad_gates.t() @ previous_states(outputs, h0, steps)
        return grad_gates, grad_h0, grad_c0, grad_weight, None
