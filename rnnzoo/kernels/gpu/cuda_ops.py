"""The core cells' registered ops on CUDA: per time step one GEMM and one fused Triton kernel.

As in haste, each step of a forward loop is

    hw = h_{t-1} W_hh^T          one GEMM (torch.mm, cuBLAS) for the step's active rows
    kernel(x_proj_t, hw, state)  one launch: bias, activations, cell update, h_t, and
                                 whatever the backward will read

and each step of a backward loop, visited in reverse, is one fused kernel for the step's deltas
followed by the GEMM that sends them back to h_{t-1}. The weight gradient is not computed here:
the ops' autograd formula (``rnnzoo.kernels.bptt_*._backward``) turns the deltas these kernels
return into dL/dW_hh with one GEMM over all steps, as on the CPU.

The running state lives in a (B, H) buffer, initialised from h0 (or dL/dh_n in a backward loop)
and updated in place for a step's first ``rows`` rows. That one buffer covers both packed
directions: rows that drop out keep their final value (which is h_n, or dL/dh_0), and rows that
join still hold their initial one. The LSTM's C and its carry dL/dC are kept in float32 whatever
the tensors' dtype; h must stay in the weights' dtype, since it feeds the GEMM.

The functions take and return exactly what the ops' CPU kernels do (see the op definitions in
``bptt_elman``, ``bptt_lstm``, ``bptt_gru``), and run on CUDA tensors or, under
``TRITON_INTERPRET=1``, on CPU tensors (how the tests check them). :func:`register` makes them
the ops' CUDA kernels; importing this module does it.
"""
from __future__ import annotations

import contextlib
import functools
from typing import Iterator

import torch
import triton
from torch import Tensor

from rnnzoo.cells.steps import TimeSteps
from rnnzoo.kernels import bptt_elman, bptt_gru, bptt_lstm
from rnnzoo.kernels.gpu import triton_kernels as kernels

ACTIVATIONS = {"tanh": kernels.TANH, "relu": kernels.RELU, "sigmoid": kernels.SIGMOID}


def _on_device(fn):
    """Run ``fn`` with its first tensor's CUDA device current: Triton launches on the current
    device, which need not be the tensors' one."""

    @functools.wraps(fn)
    def run(first: Tensor, *args, **kwargs):
        guard = torch.cuda.device(first.device) if first.is_cuda else contextlib.nullcontext()
        with guard:
            return fn(first, *args, **kwargs)

    return run


def _launch(kernel, rows: int, hidden: int, *args, **constants) -> None:
    """``kernel`` over the rows * hidden elements of one step. Fused multiply-adds are asked for
    by name: Triton 3.9 warns when left to its default, which changes in 3.10."""
    n = rows * hidden
    if n:
        kernel[(triton.cdiv(n, kernels.BLOCK),)](*args, n, hidden, BLOCK=kernels.BLOCK,
                                                  enable_fp_fusion=True, **constants)


def _check_dtypes(name: str, **tensors: Tensor | None) -> None:
    """One clear message where a mixed-dtype call would otherwise fail inside torch.mm."""
    given = {key: t.dtype for key, t in tensors.items() if t is not None}
    if len(set(given.values())) > 1:
        listed = ", ".join(f"{key}={dtype}" for key, dtype in given.items())
        raise RuntimeError(f"{name}: all tensors must share one dtype, got {listed}")


def _times(steps: TimeSteps) -> range:
    """The time steps in the order the forward loop visits them."""
    return range(steps.length - 1, -1, -1) if steps.reverse else range(steps.length)


def _backward_times(steps: TimeSteps) -> Iterator[tuple[int, int | None]]:
    """(t, p) for every step, last visited first: the step a backward loop is at, and the step
    the forward loop ran just before it (None for the first), whose rows hold the state step t
    started from."""
    times = _times(steps)
    for k in range(len(times) - 1, -1, -1):
        yield times[k], (times[k - 1] if k else None)


def _prefixes(state: Tensor, steps: TimeSteps) -> dict[int, Tensor]:
    """The first ``rows`` rows of a (B, ...) buffer, for every step's row count.

    This and ``Tensor.split`` (each step's rows of a packed tensor, all in one call) make every
    view before the loop: a Python slice costs microseconds of host time (3 us on this project's
    CPU box), and at small batches a step's GEMM and kernel are bound by that host time."""
    return {rows: state[:rows] for rows in set(steps.batch_sizes)}


# -- Elman --------------------------------------------------------------------------------------
@_on_device
def elman_forward(x_proj: Tensor, bias: Tensor | None, h0: Tensor, weight_hh: Tensor,
                  batch_sizes: list[int], reverse: bool, nonlinearity: str):
    """(outputs, h_n): ``rnnzoo::elman_seq``."""
    steps = TimeSteps(batch_sizes, reverse)
    _check_dtypes("rnnzoo::elman_seq", x_proj=x_proj, bias=bias, h0=h0, weight_hh=weight_hh)
    x_proj = x_proj.contiguous()
    has_bias = bias is not None
    bias = bias.contiguous() if has_bias else x_proj  # any pointer will do: never read
    sizes, hidden = steps.batch_sizes, h0.shape[1]
    outputs = x_proj.new_empty(steps.total, hidden)
    state = h0.contiguous().clone()
    hw = x_proj.new_empty(steps.batch, hidden)  # h_{t-1} W_hh^T, one step at a time
    w_t = weight_hh.t()
    xs, outs = x_proj.split(sizes), outputs.split(sizes)
    state_rows, hw_rows = _prefixes(state, steps), _prefixes(hw, steps)
    for t in _times(steps):
        rows = sizes[t]
        torch.mm(state_rows[rows], w_t, out=hw_rows[rows])
        _launch(kernels.elman_forward_step, rows, hidden, xs[t], bias, hw, outs[t], state,
                HAS_BIAS=has_bias, ACTIVATION=ACTIVATIONS[nonlinearity])
    return outputs, state


@_on_device
def elman_backward(grad_outputs: Tensor, grad_h_n: Tensor, outputs: Tensor, weight_hh: Tensor,
                   batch_sizes: list[int], reverse: bool, nonlinearity: str):
    """(delta, dL/dh_0): ``rnnzoo::elman_seq_backward``."""
    steps = TimeSteps(batch_sizes, reverse)
    grad_outputs, outputs = grad_outputs.contiguous(), outputs.contiguous()
    sizes, hidden = steps.batch_sizes, outputs.shape[1]
    delta = torch.empty_like(outputs)
    carry = grad_h_n.contiguous().clone()  # dL/dh_t from later steps
    grad_outs, outs, deltas = grad_outputs.split(sizes), outputs.split(sizes), delta.split(sizes)
    carry_rows = _prefixes(carry, steps)
    for t, _ in _backward_times(steps):
        rows = sizes[t]
        _launch(kernels.elman_backward_step, rows, hidden, grad_outs[t], carry, outs[t],
                deltas[t], ACTIVATION=ACTIVATIONS[nonlinearity])
        torch.mm(deltas[t], weight_hh, out=carry_rows[rows])
    return delta, carry


# -- LSTM ---------------------------------------------------------------------------------------
def _lstm_loop(x_proj: Tensor, bias: Tensor | None, h0: Tensor, c0: Tensor, weight_hh: Tensor,
               batch_sizes: list[int], reverse: bool, keep: bool):
    steps = TimeSteps(batch_sizes, reverse)
    _check_dtypes("rnnzoo::lstm_seq", x_proj=x_proj, bias=bias, h0=h0, c0=c0,
                  weight_hh=weight_hh)
    x_proj = x_proj.contiguous()
    has_bias = bias is not None
    bias = bias.contiguous() if has_bias else x_proj
    sizes, hidden = steps.batch_sizes, h0.shape[1]
    outputs = x_proj.new_empty(steps.total, hidden)
    if keep:
        gates = x_proj.new_empty(steps.total, 4 * hidden)
        cells = x_proj.new_empty(steps.total, hidden)
        tanh_cells = x_proj.new_empty(steps.total, hidden)
    else:  # never written (KEEP is False): any pointer will do
        gates = cells = tanh_cells = outputs
    h = h0.contiguous().clone()
    c = c0.contiguous().to(torch.float32, copy=True)
    hw = x_proj.new_empty(steps.batch, 4 * hidden)
    w_t = weight_hh.t()
    xs, outs = x_proj.split(sizes), outputs.split(sizes)
    kept = [tensor.split(sizes) for tensor in (gates, cells, tanh_cells)]
    h_rows, hw_rows = _prefixes(h, steps), _prefixes(hw, steps)
    for t in _times(steps):
        rows = sizes[t]
        torch.mm(h_rows[rows], w_t, out=hw_rows[rows])
        _launch(kernels.lstm_forward_step, rows, hidden, xs[t], bias, hw, c, h, outs[t],
                kept[0][t], kept[1][t], kept[2][t], HAS_BIAS=has_bias, KEEP=keep)
    c_n = c.to(c0.dtype)
    return (outputs, h, c_n, gates, cells, tanh_cells) if keep else (outputs, h, c_n)


@_on_device
def lstm_forward(x_proj: Tensor, bias: Tensor | None, h0: Tensor, c0: Tensor, weight_hh: Tensor,
                 batch_sizes: list[int], reverse: bool):
    """(outputs, h_n, c_n, gates, cells, tanh(cells)): ``rnnzoo::lstm_seq``."""
    return _lstm_loop(x_proj, bias, h0, c0, weight_hh, batch_sizes, reverse, keep=True)


@_on_device
def lstm_infer(x_proj: Tensor, bias: Tensor | None, h0: Tensor, c0: Tensor, weight_hh: Tensor,
               batch_sizes: list[int], reverse: bool):
    """(outputs, h_n, c_n) keeping nothing for a backward: ``rnnzoo::lstm_seq_infer``."""
    return _lstm_loop(x_proj, bias, h0, c0, weight_hh, batch_sizes, reverse, keep=False)


@_on_device
def lstm_backward(grad_outputs: Tensor, grad_h_n: Tensor, grad_c_n: Tensor, gates: Tensor,
                  cells: Tensor, tanh_cells: Tensor, c0: Tensor, weight_hh: Tensor,
                  batch_sizes: list[int], reverse: bool):
    """(dL/da, dL/dh_0, dL/dC_0): ``rnnzoo::lstm_seq_backward``."""
    steps = TimeSteps(batch_sizes, reverse)
    sizes, hidden = steps.batch_sizes, c0.shape[1]
    grad_outputs, gates = grad_outputs.contiguous(), gates.contiguous()
    cells, tanh_cells, c0 = cells.contiguous(), tanh_cells.contiguous(), c0.contiguous()
    grad_gates = torch.empty_like(gates)
    dh = grad_h_n.contiguous().clone()  # dL/dh_t from later steps: da_{t+1} W_hh
    dc = grad_c_n.contiguous().to(torch.float32, copy=True)  # dL/dC_t from later steps
    grad_outs, gate_steps, tanh_steps, cell_steps, grad_gate_steps = (
        tensor.split(sizes) for tensor in (grad_outputs, gates, tanh_cells, cells, grad_gates))
    dh_rows = _prefixes(dh, steps)
    for t, p in _backward_times(steps):
        rows = sizes[t]
        c_prev, prev_rows = (c0, 0) if p is None else (cell_steps[p], sizes[p])
        _launch(kernels.lstm_backward_step, rows, hidden, grad_outs[t], dh, dc, gate_steps[t],
                tanh_steps[t], c_prev, prev_rows, c0, grad_gate_steps[t])
        torch.mm(grad_gate_steps[t], weight_hh, out=dh_rows[rows])
    return grad_gates, dh, dc.to(c0.dtype)


# -- GRU ----------------------------------------------------------------------------------------
@_on_device
def gru_forward(x_proj: Tensor, bias_ih: Tensor | None, h0: Tensor, weight_hh: Tensor,
                bias_hh: Tensor | None, batch_sizes: list[int], reverse: bool):
    """(outputs, h_n, gates r, z, n, s_n): ``rnnzoo::gru_seq``."""
    steps = TimeSteps(batch_sizes, reverse)
    _check_dtypes("rnnzoo::gru_seq", x_proj=x_proj, bias_ih=bias_ih, h0=h0, weight_hh=weight_hh,
                  bias_hh=bias_hh)
    x_proj = x_proj.contiguous()
    has_bias_ih, has_bias_hh = bias_ih is not None, bias_hh is not None
    bias_ih = bias_ih.contiguous() if has_bias_ih else x_proj
    bias_hh = bias_hh.contiguous() if has_bias_hh else x_proj
    sizes, hidden = steps.batch_sizes, h0.shape[1]
    outputs = x_proj.new_empty(steps.total, hidden)
    gates = x_proj.new_empty(steps.total, 4 * hidden)
    h = h0.contiguous().clone()
    s = x_proj.new_empty(steps.batch, 3 * hidden)  # h_{t-1} W_hh^T, b_hh added in the kernel
    w_t = weight_hh.t()
    xs, outs, gate_steps = (tensor.split(sizes) for tensor in (x_proj, outputs, gates))
    h_rows, s_rows = _prefixes(h, steps), _prefixes(s, steps)
    for t in _times(steps):
        rows = sizes[t]
        torch.mm(h_rows[rows], w_t, out=s_rows[rows])
        _launch(kernels.gru_forward_step, rows, hidden, xs[t], bias_ih, s, bias_hh, h, outs[t],
                gate_steps[t], HAS_BIAS_IH=has_bias_ih, HAS_BIAS_HH=has_bias_hh)
    return outputs, h, gates


@_on_device
def gru_backward(grad_outputs: Tensor, grad_h_n: Tensor, outputs: Tensor, gates: Tensor,
                 h0: Tensor, weight_hh: Tensor, batch_sizes: list[int], reverse: bool):
    """(dL/dx_proj, dL/ds, dL/dh_0): ``rnnzoo::gru_seq_backward``."""
    steps = TimeSteps(batch_sizes, reverse)
    sizes, hidden = steps.batch_sizes, h0.shape[1]
    grad_outputs, outputs = grad_outputs.contiguous(), outputs.contiguous()
    gates, h0 = gates.contiguous(), h0.contiguous()
    grad_x = outputs.new_empty(steps.total, 3 * hidden)
    grad_s = outputs.new_empty(steps.total, 3 * hidden)
    carry = grad_h_n.contiguous().clone()  # dL/dh_t from later steps: dh_{t+1} z + ds W_hh
    grad_outs, outs, gate_steps, grad_x_steps, grad_s_steps = (
        tensor.split(sizes) for tensor in (grad_outputs, outputs, gates, grad_x, grad_s))
    carry_rows = _prefixes(carry, steps)
    for t, p in _backward_times(steps):
        rows = sizes[t]
        h_prev, prev_rows = (h0, 0) if p is None else (outs[p], sizes[p])
        _launch(kernels.gru_backward_step, rows, hidden, grad_outs[t], carry, gate_steps[t],
                h_prev, prev_rows, h0, grad_x_steps[t], grad_s_steps[t])
        carry_rows[rows].addmm_(grad_s_steps[t], weight_hh)
    return grad_x, grad_s, carry


# -- registration -------------------------------------------------------------------------------
#: each op (its CustomOpDef) and the function that runs it here
KERNELS = {
    bptt_elman.elman_seq: elman_forward,
    bptt_elman.elman_seq_backward: elman_backward,
    bptt_lstm.lstm_seq: lstm_forward,
    bptt_lstm.lstm_seq_infer: lstm_infer,
    bptt_lstm.lstm_seq_backward: lstm_backward,
    bptt_gru.gru_seq: gru_forward,
    bptt_gru.gru_seq_backward: gru_backward,
}


def register(device_type: str = "cuda") -> None:
    """Make these functions the ops' kernels for ``device_type``. "cuda" at import; the tests
    register them for "cpu" too, under the interpreter, to run the ops' whole autograd path."""
    for op, fn in KERNELS.items():
        op.register_kernel(device_type, fn)


@contextlib.contextmanager
def use_triton(enabled: bool, device_type: str = "cuda") -> Iterator[None]:
    """Within the block, the ops on ``device_type`` run these kernels or (``enabled=False``) the
    ops' default Python loops, e.g. to time one against the other."""
    with contextlib.ExitStack() as stack:
        for op in KERNELS:
            stack.enter_context(op.set_kernel_enabled(device_type, enabled))
        yield


register("cuda")
