"""``rnnzoo::dense``: the large matrix products around the core cells' loops, as one op.

The input projection x W_ih^T over every step is the largest GEMM of a recurrent layer, and its
backward two more of the same size. On the CPU, for float32 products of at least
:data:`MIN_MACS` multiply-adds, the op runs them in oneDNN's matmul (``native/loops.cpp``:
``dense``), which torch ships and torch.nn's LSTM uses through its RNN primitive: measured 25-35%
faster than torch.mm's MKL on an AMD EPYC (Zen 4) with 2 threads. Everywhere else, and without
the native build, it is ``a @ b``. Results agree to float32 rounding.

Registered at import with a fake kernel and an autograd formula made of the op itself (so
second derivatives work), it is one node to torch.compile, torch.export and jit.trace. Under
torch.func transforms, which refuse ops with a registered autograd formula (see
rnnzoo.kernels.ops), :func:`linear` is plain ``F.linear``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnzoo.kernels import native

#: below this many multiply-adds oneDNN's per-call set-up costs more than its kernels save
MIN_MACS = 1 << 24


def _native_worthwhile(a: Tensor, b: Tensor) -> bool:
    return (a.dtype == torch.float32 and b.dtype == torch.float32 and a.device.type == "cpu"
            and a.shape[0] * a.shape[1] * b.shape[1] >= MIN_MACS)


@torch.library.custom_op("rnnzoo::dense", mutates_args=())
def dense(a: Tensor, b: Tensor) -> Tensor:
    """a @ b, for 2-D a (M, K) and b (K, N)."""
    loops = native.loops_for(a) if _native_worthwhile(a, b) else None
    return a @ b if loops is None else loops.dense_matmul(a, b)


@dense.register_fake
def _(a, b):
    torch._check(a.dim() == 2 and b.dim() == 2, lambda: "rnnzoo::dense takes 2-D tensors")
    torch._check(a.shape[1] == b.shape[0], lambda: f"rnnzoo::dense: {a.shape} @ {b.shape}")
    return a.new_empty(a.shape[0], b.shape[1])


def _setup_context(ctx, inputs, output):
    ctx.save_for_backward(*inputs)


def _backward(ctx, grad):
    a, b = ctx.saved_tensors
    grad_a = dense(grad, b.t()) if ctx.needs_input_grad[0] else None
    grad_b = None
    if ctx.needs_input_grad[1]:
        # b is linear's W.t(), a transposed view: W's gradient is made in W's own layout, so the
        # gradient autograd hands W is contiguous, as F.linear's is (torch's memory-format tests)
        transposed = not b.is_contiguous() and b.t().is_contiguous()
        grad_b = dense(grad.t(), a).t() if transposed else dense(a.t(), grad)
    return grad_a, grad_b


torch.library.register_autograd("rnnzoo::dense", _backward, setup_context=_setup_context)


def linear(x: Tensor, weight: Tensor) -> Tensor:
    """x W^T for 2-D x (rows, in) and W (out, in), through :func:`dense`."""
    if torch._C._are_functorch_transforms_active() or x.dim() != 2:
        return F.linear(x, weight)
    return dense(x, weight.t())
