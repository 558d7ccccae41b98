"""The native (C++) loops against the Python reference loops at benchmark-sized shapes, float64.

tests/test_parity.py checks the native loops at H=5 and batches of a few rows, where the
``omp simd`` loops run mostly their remainders and the batch is too small to be split over
threads (loops.cpp gives each thread at least 4 rows). Here B=64, H=128 on two threads: each
thread runs every step for its own 32 rows (and, in the packed cases, the rows of one thread end
at other steps than the other's), and the vector loops run full vectors. The Elman cells also
run at B=160.

Each case runs one bidirectional layer (both directions) on a dense batch with an initial state
and on a packed batch of unsorted variable lengths, and compares outputs, final states and the
gradients of the input, the initial state and every parameter with the same Functions on the
Python loops (``native.use_native(False)``) and with the autograd ``recur`` path
(``impl="autograd"``), all to 1e-10.

Under RNNZOO_REQUIRE_NATIVE=1 (CI) these tests fail, rather than skip, without the native loops.
"""
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

import rnnzoo
from rnnzoo.kernels import native

T, I, H = 12, 32, 128
TOL = dict(rtol=1e-10, atol=1e-10)
CASES = [(cell, 64) for cell in ("rnn_tanh", "rnn_relu", "lstm", "gru")]
CASES += [("rnn_tanh", 160), ("rnn_relu", 160)]  # a larger batch, odd blocks per thread


def need_native():
    """Skip without the native loops, except under RNNZOO_REQUIRE_NATIVE=1 (CI): then fail."""
    if not native.available():  # under RNNZOO_REQUIRE_NATIVE=1 a failed build raises here
        if native.required():
            pytest.fail("RNNZOO_REQUIRE_NATIVE=1, but the native loops are turned off (RNNZOO_NATIVE=0)")
        pytest.skip("native loops unavailable (RNNZOO_NATIVE=0, or the build failed: see the warning)")


def run(model, x, lengths, hx):
    """Outputs, final states and the gradients of x, hx and every parameter, for one loss."""
    x = x.detach().requires_grad_()
    hx = tuple(h.detach().requires_grad_() for h in hx)
    inp = x if lengths is None else pack_padded_sequence(x, lengths, enforce_sorted=False)
    out, state = model(inp, hx if len(hx) == 2 else hx[0])
    flat = out.data if lengths is not None else out
    states = list(state) if isinstance(state, tuple) else [state]
    # a loss touching every output and state, with distinct weights so no gradient cancels
    weights = torch.linspace(-1, 1, flat.numel(), dtype=flat.dtype).view_as(flat)
    loss = (flat * weights).sum() + sum((s * s).sum() for s in states)
    model.zero_grad(set_to_none=True)
    loss.backward()
    grads = [x.grad, *(h.grad for h in hx), *(p.grad for _, p in model.named_parameters())]
    return [flat.detach(), *(s.detach() for s in states)], grads


def max_error(a, b):
    return max((x - y).abs().max().item() / (1 + y.abs().max().item()) for x, y in zip(a, b))


@pytest.mark.parametrize("packed", [False, True], ids=["dense", "packed"])
@pytest.mark.parametrize("cell,batch", CASES, ids=[f"{c}-B{b}" for c, b in CASES])
def test_native_loops_match_python_and_autograd_at_benchmark_size(cell, batch, packed, two_threads):
    need_native()
    assert torch.get_num_threads() == 2
    generator = torch.Generator().manual_seed(1)
    model = rnnzoo.build_rnn(cell, I, H, bidirectional=True, dtype=torch.float64)
    reference = rnnzoo.build_rnn(cell, I, H, bidirectional=True, dtype=torch.float64, impl="autograd")
    reference.load_state_dict(model.state_dict())
    x = torch.randn(T, batch, I, dtype=torch.float64, generator=generator)
    # unsorted lengths from 1 to T, several rows at full length: the step sizes shrink unevenly
    lengths = torch.randint(1, T + 1, (batch,), generator=generator)
    lengths[::7] = T
    lengths[1] = 1
    hx = [torch.randn(2, batch, H, dtype=torch.float64, generator=generator)
          for _ in range(2 if cell == "lstm" else 1)]
    lengths = lengths if packed else None

    assert native.loops_for(x) is not None  # the native loops do run here, on two threads
    values, grads = run(model, x, lengths, hx)
    # the references on one thread: their thread count is not under test, and two threads on a
    # busy two-core machine are slow
    torch.set_num_threads(1)
    with native.use_native(False):
        assert native.loops_for(x) is None
        py_values, py_grads = run(model, x, lengths, hx)
    ag_values, ag_grads = run(reference, x, lengths, hx)

    for name, (ref_values, ref_grads) in {"python loops": (py_values, py_grads),
                                          "autograd": (ag_values, ag_grads)}.items():
        error = max_error([*values, *grads], [*ref_values, *ref_grads])
        for a, b in zip([*values, *grads], [*ref_values, *ref_grads], strict=True):
            torch.testing.assert_close(a, b, **TOL, msg=lambda m: f"native vs {name} "
                                       f"(max scaled error {error:.2e}): {m}")


# float32 runs the packed-weight kernel of packed_gemm.h (on CPUs with AVX-512; BLAS elsewhere).
# H=48 gives the Elman and GRU products a last panel of 16 columns (48 = 32 + 16, 3 * 48 = 144).
F32_CASES = [(cell, hidden) for hidden in (128, 48) for cell in ("rnn_tanh", "lstm", "gru")]


@pytest.mark.parametrize("packed", [False, True], ids=["dense", "packed"])
@pytest.mark.parametrize("cell,hidden", F32_CASES, ids=[f"{c}-H{h}" for c, h in F32_CASES])
def test_native_float32_loops_match_python_loops(cell, hidden, packed, two_threads):
    need_native()
    generator = torch.Generator().manual_seed(2)
    batch = 37  # odd: each thread's rows end in kernel blocks of 8, 4, 2 and 1
    model = rnnzoo.build_rnn(cell, I, hidden, bidirectional=True)
    x = torch.randn(T, batch, I, generator=generator)
    lengths = torch.randint(1, T + 1, (batch,), generator=generator) if packed else None
    hx = [torch.randn(2, batch, hidden, generator=generator) for _ in range(2 if cell == "lstm" else 1)]

    values, grads = run(model, x, lengths, hx)
    with native.use_native(False):
        ref_values, ref_grads = run(model, x, lengths, hx)
    # float32 sums in another order: errors of a few ulps per product, grown over T steps
    assert max_error([*values, *grads], [*ref_values, *ref_grads]) < 2e-5
