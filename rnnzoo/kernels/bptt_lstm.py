"""Explicit BPTT for the LSTM (gates in torch.nn's order i, f, g, o).

Forward, for each step t (equations.md section 2; x_proj_t = x_t W_ih^T, b = b_ih + b_hh):

    a_t = x_proj_t + b + h_{t-1} W_hh^T             pre-activations of i, f, g, o
    i, f, o = sigmoid(a_i, a_f, a_o);  g = tanh(a_g)
    C_t = f * C_{t-1} + i * g
    h_t = o * tanh(C_t)

Backward, with dh_t = (gradient from above) + (what step t+1 sends back):

    dC_t   = dC from step t+1 (dC_{t+1} * f_{t+1})  +  dh_t * o * (1 - tanh(C_t)^2)
    da_i = dC_t * g * i(1 - i)      da_f = dC_t * C_{t-1} * f(1 - f)
    da_g = dC_t * i * (1 - g^2)     da_o = dh_t * tanh(C_t) * o(1 - o)
    dh_{t-1} from step t = da_t W_hh;   dL/dW_hh = sum_t da_t^T h_{t-1} (one GEMM)
    dL/dx_proj_t = da_t;   dL/db = sum_t da_t

The forward loop keeps, for every step, the activated gates (i, f, g, o), C_t and tanh(C_t):
everything the deltas read. In the Python backward loop, the factors that multiply dC_t and
dh_t depend only on those, so they are computed for all steps at once before the loop, and
each step is then a handful of operations. The C++ twins of both loops
(:mod:`rnnzoo.kernels.native`, used on the CPU) take and return the same tensors.

The loops run as registered operators, ``rnnzoo::lstm_seq`` and ``rnnzoo::lstm_seq_backward``
(see :mod:`rnnzoo.kernels.ops`), called by the cells through :func:`lstm_bptt`. A second
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


def forward_loop(x_proj: Tensor, bias: Tensor | None, h0: Tensor, c0: Tensor, w_t: Tensor,
                 steps: TimeSteps):
    """(outputs h, h_n, c_n, gates, cells C, tanh(C)); ``w_t`` is W_hh^T, contiguous."""
    total, hidden = x_proj.shape[0], h0.shape[1]
    if bias is not None:
        x_proj = x_proj + bias
    gates = torch.empty_like(x_proj)  # activated i, f, g, o: (N, 4H)
    cells = x_proj.new_empty(total, hidden)  # C_t
    tanh_cells = x_proj.new_empty(total, hidden)
    outputs = x_proj.new_empty(total, hidden)  # h_t
    state, finished = first_rows((h0, c0), steps), []
    for start, rows in steps.order:
        h_prev, c_prev = fit_rows(state, rows, (h0, c0), finished)
        end = start + rows
        a = torch.addmm(x_proj[start:end], h_prev, w_t, out=gates[start:end])  # a_t
        a[:, : 2 * hidden].sigmoid_()  # i, f
        a[:, 2 * hidden : 3 * hidden].tanh_()  # g
        a[:, 3 * hidden :].sigmoid_()  # o
        input_gate, forget_gate, candidate, output_gate = a.chunk(4, 1)
        c = torch.mul(forget_gate, c_prev, out=cells[start:end]).addcmul_(input_gate, candidate)
        tanh_c = torch.tanh(c, out=tanh_cells[start:end])
        h = torch.mul(output_gate, tanh_c, out=outputs[start:end])
        state = (h, c)
    h_n, c_n = final_rows(state, finished)
    return outputs, h_n.clone(), c_n.clone(), gates, cells, tanh_cells


def backward_loop(grad_outputs: Tensor, grad_h_n: Tensor, grad_c_n: Tensor, gates: Tensor,
                  cells: Tensor, tanh_cells: Tensor, c0: Tensor, weight_hh: Tensor,
                  steps: TimeSteps):
    """(da: the gradient of every a_t, dL/dh_0, dL/dC_0)."""
    hidden = c0.shape[1]
    i, f, g, o = gates.chunk(4, 1)
    # da = [dC_t, dC_t, dC_t, dh_t] * slopes, and dC_t += dh_t * through_tanh
    slopes = gates * (1 - gates)  # s(1 - s) for the sigmoid blocks; the g block is redone
    slopes[:, 2 * hidden : 3 * hidden] = i * (1 - g * g)
    c_prev = previous_states(cells, c0, steps)
    slopes.mul_(torch.cat([g, c_prev, torch.ones_like(g), tanh_cells], 1))
    through_tanh = o * (1 - tanh_cells * tanh_cells)
    grad_gates = torch.empty_like(gates)
    back = steps.flipped()
    finals = (grad_h_n, grad_c_n)
    carry, finished = first_rows(finals, back), []
    for start, rows in back.order:
        carry_h, carry_c = fit_rows(carry, rows, finals, finished)
        end = start + rows
        dh = grad_outputs[start:end] + carry_h
        dc = torch.addcmul(carry_c, dh, through_tanh[start:end])
        da = torch.cat([dc, dc, dc, dh], 1, out=grad_gates[start:end]).mul_(slopes[start:end])
        carry = (da @ weight_hh, dc * f[start:end])
    grad_h0, grad_c0 = final_rows(carry, finished)
    return grad_gates, grad_h0, grad_c0


def reference_sequence(x_proj: Tensor, bias: Tensor | None, h0: Tensor, c0: Tensor,
                       weight_hh: Tensor, steps: TimeSteps) -> tuple[Tensor, Tensor, Tensor]:
    """(outputs, h_n, c_n) through plain, differentiable torch ops: the LSTM equations of
    ``LSTMCell.recur`` written as a function of the weights, run by ``run_steps``. What a second
    derivative differentiates (see rnnzoo.kernels.ops.reference_vjp)."""
    if bias is not None:
        x_proj = x_proj + bias

    def step(a_in: Tensor, state):
        h_prev, c_prev = state
        i, f, g, o = (a_in + h_prev @ weight_hh.t()).chunk(4, 1)
        c = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c

    outputs, (h_n, c_n) = run_steps(step, x_proj, steps, (h0, c0))
    return outputs, h_n, c_n


# -- the registered operators (see rnnzoo.kernels.ops) -----------------------------------------
@torch.library.custom_op("rnnzoo::lstm_seq", mutates_args=())
def lstm_seq(x_proj: Tensor, bias: Optional[Tensor], h0: Tensor, c0: Tensor, weight_hh: Tensor,
             batch_sizes: list[int], reverse: bool
             ) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """(outputs, h_n, c_n, gates, cells, tanh(cells)): the native loop on the CPU when built,
    :func:`forward_loop` elsewhere. The last three are what the backward reads."""
    steps = TimeSteps(batch_sizes, reverse)
    w_t = weight_hh.t().contiguous()
    x_proj, h0, c0 = x_proj.contiguous(), h0.contiguous(), c0.contiguous()
    loops = native.loops_for(x_proj)
    if loops is None:
        return forward_loop(x_proj, bias, h0, c0, w_t, steps)
    return tuple(loops.lstm_forward(x_proj, bias, h0, c0, w_t, steps.batch_sizes, reverse))


@lstm_seq.register_fake
def _(x_proj, bias, h0, c0, weight_hh, batch_sizes, reverse):
    check_rows(x_proj, h0, batch_sizes, "rnnzoo::lstm_seq")
    total, hidden = x_proj.shape[0], h0.shape[1]
    rows = x_proj.new_empty(total, hidden)
    return (rows, h0.new_empty(h0.shape), c0.new_empty(c0.shape), x_proj.new_empty(total, 4 * hidden),
            x_proj.new_empty(total, hidden), x_proj.new_empty(total, hidden))


@torch.library.custom_op("rnnzoo::lstm_seq_infer", mutates_args=())
def lstm_seq_infer(x_proj: Tensor, bias: Optional[Tensor], h0: Tensor, c0: Tensor,
                   weight_hh: Tensor, batch_sizes: list[int], reverse: bool
                   ) -> tuple[Tensor, Tensor, Tensor]:
    """(outputs, h_n, c_n) when nothing will be differentiated (inference): the native loop keeps
    no per-step gates, C or tanh(C) for a backward, which saves their memory traffic."""
    steps = TimeSteps(batch_sizes, reverse)
    w_t = weight_hh.t().contiguous()
    x_proj, h0, c0 = x_proj.contiguous(), h0.contiguous(), c0.contiguous()
    loops = native.loops_for(x_proj)
    if loops is None:
        return forward_loop(x_proj, bias, h0, c0, w_t, steps)[:3]
    return tuple(loops.lstm_infer(x_proj, bias, h0, c0, w_t, steps.batch_sizes, reverse))


@lstm_seq_infer.register_fake
def _(x_proj, bias, h0, c0, weight_hh, batch_sizes, reverse):
    check_rows(x_proj, h0, batch_sizes, "rnnzoo::lstm_seq_infer")
    return x_proj.new_empty(x_proj.shape[0], h0.shape[1]), h0.new_empty(h0.shape), c0.new_empty(c0.shape)


@torch.library.custom_op("rnnzoo::lstm_seq_backward", mutates_args=())
def lstm_seq_backward(grad_outputs: Tensor, grad_h_n: Tensor, grad_c_n: Tensor, gates: Tensor,
                      cells: Tensor, tanh_cells: Tensor, c0: Tensor, weight_hh: Tensor,
                      batch_sizes: list[int], reverse: bool) -> tuple[Tensor, Tensor, Tensor]:
    """(dL/da, dL/dh_0, dL/dC_0): the native backward loop on the CPU when built,
    :func:`backward_loop` elsewhere."""
    steps = TimeSteps(batch_sizes, reverse)
    grad_outputs, grad_h_n, grad_c_n = (grad_outputs.contiguous(), grad_h_n.contiguous(),
                                        grad_c_n.contiguous())
    gates, cells, tanh_cells = gates.contiguous(), cells.contiguous(), tanh_cells.contiguous()
    c0, weight_hh = c0.contiguous(), weight_hh.contiguous()
    loops = native.loops_for(gates)
    if loops is None:
        return backward_loop(grad_outputs, grad_h_n, grad_c_n, gates, cells, tanh_cells, c0,
                             weight_hh, steps)
    return tuple(loops.lstm_backward(grad_outputs, grad_h_n, grad_c_n, gates, cells, tanh_cells,
                                     c0, weight_hh, steps.batch_sizes, reverse))


@lstm_seq_backward.register_fake
def _(grad_outputs, grad_h_n, grad_c_n, gates, cells, tanh_cells, c0, weight_hh, batch_sizes,
      reverse):
    check_rows(gates, c0, batch_sizes, "rnnzoo::lstm_seq_backward")
    return gates.new_empty(gates.shape), grad_h_n.new_empty(grad_h_n.shape), c0.new_empty(c0.shape)


def _setup_context(ctx, inputs, output):
    x_proj, bias, h0, c0, weight_hh, batch_sizes, reverse = inputs
    outputs, _, _, gates, cells, tanh_cells = output
    ctx.mark_non_differentiable(gates, cells, tanh_cells)
    ctx.save_for_backward(x_proj, bias, h0, c0, weight_hh, outputs, gates, cells, tanh_cells)
    ctx.loop = (batch_sizes, reverse)


def _backward(ctx, grad_outputs, grad_h_n, grad_c_n, *unused):
    x_proj, bias, h0, c0, weight_hh, outputs, gates, cells, tanh_cells = ctx.saved_tensors
    batch_sizes, reverse = ctx.loop
    steps = TimeSteps(batch_sizes, reverse)
    if torch.is_grad_enabled():  # create_graph=True: differentiate the reference loop
        grads = reference_vjp(
            lambda *a: reference_sequence(*a, steps), (x_proj, bias, h0, c0, weight_hh),
            ctx.needs_input_grad[:5], (grad_outputs, grad_h_n, grad_c_n))
        return (*grads, None, None)
    grad_gates, grad_h0, grad_c0 = torch.ops.rnnzoo.lstm_seq_backward(
        zeros_if_none(grad_outputs, outputs), zeros_if_none(grad_h_n, h0),
        zeros_if_none(grad_c_n, c0), gates, cells, tanh_cells, c0, weight_hh, batch_sizes,
        reverse)
    grad_bias = grad_weight = None
    if ctx.needs_input_grad[1]:  # False when there is no bias
        grad_bias = grad_gates.sum(0)
    if ctx.needs_input_grad[4]:
        grad_weight = recurrent_weight_grad(grad_gates, outputs, h0, steps)
    return grad_gates, grad_bias, grad_h0, grad_c0, grad_weight, None, None


torch.library.register_autograd("rnnzoo::lstm_seq", _backward, setup_context=_setup_context)
register_folding_vmap(lstm_seq, (ROWS, PARAM, STATE, STATE, PARAM, SIZES, None),
                      (ROWS, STATE, STATE, ROWS, ROWS, ROWS))
register_folding_vmap(lstm_seq_infer, (ROWS, PARAM, STATE, STATE, PARAM, SIZES, None),
                      (ROWS, STATE, STATE))
register_folding_vmap(lstm_seq_backward,
                      (ROWS, STATE, STATE, ROWS, ROWS, ROWS, STATE, PARAM, SIZES, None),
                      (ROWS, STATE, STATE))


class LSTMBPTT(torch.autograd.Function):
    """The op with the same formula, as the autograd.Function the cells call (through
    :func:`lstm_bptt`) in plain eager mode: a classic ``forward(ctx, ...)``, because
    ``apply`` of a ``setup_context`` Function binds its arguments with ``inspect.signature`` on
    every call (~45 us, as much as a short sequence's whole loop)."""

    @staticmethod
    def forward(ctx, x_proj: Tensor, bias: Tensor | None, h0: Tensor, c0: Tensor,
                weight_hh: Tensor, batch_sizes: list[int], reverse: bool):
        output = torch.ops.rnnzoo.lstm_seq(x_proj, bias, h0, c0, weight_hh, batch_sizes, reverse)
        _setup_context(ctx, (x_proj, bias, h0, c0, weight_hh, batch_sizes, reverse), output)
        return output

    backward = staticmethod(_backward)


class LSTMBPTTForTorchFunc(torch.autograd.Function):
    """The same Function with ``setup_context`` and ``generate_vmap_rule``, which torch.func
    transforms (grad, vjp, vmap, jacrev) require; they refuse an op that carries a
    ``register_autograd`` formula (see rnnzoo.kernels.ops)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x_proj: Tensor, bias: Tensor | None, h0: Tensor, c0: Tensor,
                weight_hh: Tensor, batch_sizes: list[int], reverse: bool):
        return torch.ops.rnnzoo.lstm_seq(x_proj, bias, h0, c0, weight_hh, batch_sizes, reverse)

    setup_context = staticmethod(_setup_context)
    backward = staticmethod(_backward)


def _function():
    """The Function for the current mode: the setup_context one under torch.func transforms."""
    if torch._C._are_functorch_transforms_active():
        return LSTMBPTTForTorchFunc
    return LSTMBPTT


def lstm_bptt(x_proj: Tensor, bias: Tensor | None, h0: Tensor, c0: Tensor, weight_hh: Tensor,
              steps: TimeSteps) -> tuple[Tensor, Tensor, Tensor]:
    """(outputs, h_n, c_n) of the LSTM with the explicit-BPTT backward; ``bias`` is b_ih + b_hh
    (or None), ``x_proj`` = x W_ih^T in the packed layout of ``steps``."""
    args = (x_proj, bias, h0, c0, weight_hh, list(steps.batch_sizes), steps.reverse)
    # a trace records one op whatever the grad mode of the run that makes it (its check re-runs
    # without grad): the differentiable one
    if not torch.jit.is_tracing() and not _differentiable(x_proj, bias, h0, c0, weight_hh):
        return torch.ops.rnnzoo.lstm_seq_infer(*args)
    if torch.jit.is_tracing():  # record the op (saveable), not a Python callback to the Function
        outputs, h_n, c_n, *_ = torch.ops.rnnzoo.lstm_seq(*args)
    else:
        outputs, h_n, c_n, *_ = _function().apply(*args)
    return outputs, h_n, c_n


def _differentiable(*tensors) -> bool:
    """Whether autograd will record the call (grad mode, an input that requires grad, or a
    torch.func transform, whose wrapped tensors may require grad on another level)."""
    if torch._C._are_functorch_transforms_active():
        return True
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)
