"""What the core cells' time loops share as registered PyTorch operators (torch.library).

Each family's module (:mod:`~rnnzoo.kernels.bptt_elman`, ``bptt_lstm``, ``bptt_gru``) defines
two custom ops in the ``rnnzoo`` namespace, a forward and its backward:

=====================================  =====================================================
``rnnzoo::elman_seq``                   (outputs, h_n)
``rnnzoo::elman_seq_backward``          (delta, dL/dh_0)
``rnnzoo::lstm_seq``                    (outputs, h_n, c_n, gates, cells, tanh(cells))
``rnnzoo::lstm_seq_backward``           (dL/da, dL/dh_0, dL/dC_0)
``rnnzoo::gru_seq``                     (outputs, h_n, gates)
``rnnzoo::gru_seq_backward``            (dL/dx_proj, dL/ds, dL/dh_0)
=====================================  =====================================================

The packing (:class:`~rnnzoo.cells.steps.TimeSteps`) travels as ``batch_sizes: int[]`` and
``reverse: bool``. Every op has:

- a kernel for every device: the native C++ loops (``torch.ops.rnnzoo.*_forward``, a separate
  set of ops declared in ``native/loops.cpp``) for float32/float64 CPU tensors when they are
  built; on CUDA, the Triton kernels of :mod:`rnnzoo.kernels.gpu` when triton is installed; the
  Python loop of the same module otherwise (other dtypes, ``RNNZOO_NATIVE=0``, CUDA without
  triton);
- a fake (meta) kernel, so that Dynamo, AOTAutograd, ``torch.export`` and ``jit.trace`` see
  one opaque node with known output shapes;
- a vmap rule (:func:`register_folding_vmap`) that folds the vmapped dimension into the batch;
- for the forward ops, an autograd formula (``register_autograd``) whose backward is the
  backward op, or, when grad mode is on inside the backward (``create_graph=True``: a second
  derivative is coming), a differentiable reference made of plain torch ops.

The cells call a thin ``autograd.Function`` per family (``ElmanBPTT``, ...) around the forward
op with the same formula. It exists because ``torch.func`` transforms (``grad``, ``vjp``,
``jacrev``) refuse ops that carry a ``register_autograd`` formula (pytorch issues #168393,
#170834): a Function with ``setup_context`` and ``generate_vmap_rule`` composes with them.

All of it is registered when the family's module is imported (``import rnnzoo`` does it), never
lazily: a ``torch.compile`` that runs before the fake and autograd registrations leaves the
process with wrong compiled gradients.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import Tensor

from rnnzoo.cells.steps import TimeSteps

#: how a tensor argument or output relates to the batch: "rows" is the packed time-major layout
#: (N = sum(batch_sizes) rows), "state" is one row per sequence, "param" has no batch dimension,
#: "sizes" is the batch_sizes list; None is any other non-tensor argument.
ROWS, STATE, PARAM, SIZES = "rows", "state", "param", "sizes"


def register_folding_vmap(op, kinds: Sequence[str | None], out_kinds: Sequence[str]) -> None:
    """A vmap rule for a recurrent-loop op that folds the vmapped dimension into the batch.

    Row p of the packed layout becomes V consecutive rows (sample-major inside each row), so
    step t runs ``batch_sizes[t] * V`` rows and the rows that stop early still form a suffix of
    every step: one call of the op runs all V samples. When a ``param`` is itself vmapped (an
    ensemble of weights) the rule runs the op once per sample and stacks the results.
    """

    def rule(info, in_dims, *args):
        size = info.batch_size
        if any(isinstance(d, int) for d, k in zip(in_dims, kinds) if k == PARAM):
            per_sample = []
            for v in range(size):
                call = [a.select(d, v) if isinstance(a, Tensor) and d is not None else a
                        for a, d in zip(args, in_dims)]
                per_sample.append(op(*call))
            return tuple(torch.stack(outs) for outs in zip(*per_sample)), (0,) * len(out_kinds)
        folded = []
        for a, d, k in zip(args, in_dims, kinds):
            if k in (ROWS, STATE) and isinstance(a, Tensor):
                a = a.unsqueeze(1).expand(a.shape[0], size, *a.shape[1:]) if d is None else a.movedim(d, 1)
                a = a.reshape(a.shape[0] * size, *a.shape[2:])
            elif k == SIZES:
                a = [b * size for b in a]
            folded.append(a)
        outs = op(*folded)
        return (tuple(o.view(o.shape[0] // size, size, *o.shape[1:]) for o in outs),
                (1,) * len(outs))

    torch.library.register_vmap(op, rule)


def check_rows(x_proj: Tensor, h0: Tensor, batch_sizes: Sequence[int], name: str) -> None:
    """Shape checks shared by the fake kernels (torch._check, so they hold for symbolic sizes)."""
    torch._check(len(batch_sizes) > 0, lambda: f"{name}: a sequence needs at least one step")
    torch._check(x_proj.dim() == 2 and h0.dim() == 2,
                 lambda: f"{name}: expected 2-D packed rows and a 2-D state")
    torch._check(x_proj.shape[0] == sum(batch_sizes),
                 lambda: f"{name}: {x_proj.shape[0]} rows but batch_sizes sum to {sum(batch_sizes)}")


def reference_vjp(sequence: Callable, inputs: Sequence[Tensor | None], needs: Sequence[bool],
                  grads: Sequence[Tensor | None]) -> list[Tensor | None]:
    """The vector-Jacobian product of ``sequence(*inputs)`` by autograd, with ``create_graph``.

    The differentiable reference backward: the forward is run again through plain torch ops
    (``sequence``: the family's reference loop) and differentiated, so the gradients it returns
    are themselves differentiable in the inputs, the saved tensors and ``grads``. The backward
    of every op uses it when grad mode is on inside the backward (a ``create_graph=True``
    backward, or a torch.func transform); an ordinary backward runs the fused backward op.
    """
    wanted = [k for k, (t, need) in enumerate(zip(inputs, needs)) if need and t is not None]
    result: list[Tensor | None] = [None] * len(inputs)
    if not wanted:
        return result
    with torch.enable_grad():
        leaves = list(inputs)
        for k in wanted:  # a tensor saved without requires_grad: differentiate a fresh leaf
            if not leaves[k].requires_grad:
                leaves[k] = leaves[k].detach().requires_grad_()
        outs = sequence(*leaves)
        pairs = [(o, g) for o, g in zip(outs, grads) if g is not None and o.requires_grad]
        if not pairs:
            return [torch.zeros_like(inputs[k]) if k in wanted else None for k in range(len(inputs))]
        found = torch.autograd.grad([o for o, _ in pairs], [leaves[k] for k in wanted],
                                    [g for _, g in pairs], create_graph=True, allow_unused=True)
    for k, g in zip(wanted, found):
        result[k] = torch.zeros_like(inputs[k]) if g is None else g
    return result


def zeros_if_none(grad: Tensor | None, like: Tensor) -> Tensor:
    return torch.zeros_like(like) if grad is None else grad


def steps_of(batch_sizes: Sequence[int], reverse: bool) -> TimeSteps:
    return TimeSteps(batch_sizes, reverse)
