"""The ops' Triton kernels (rnnzoo.kernels.gpu) against the Python reference loops.

Triton picks, when ``@triton.jit`` decorates a kernel, whether it compiles for a GPU or runs in
its interpreter on CPU tensors (``TRITON_INTERPRET=1``, read at that moment: when
``rnnzoo.kernels.gpu.triton_kernels`` is imported, i.e. at ``import rnnzoo``). This process
has imported rnnzoo already, and the CUDA test below wants compiled kernels, so the interpreter
checks run in one subprocess: this file run as a script under ``TRITON_INTERPRET=1``, which
prints every case's error as JSON; each test below asserts one case.

The interpreter cases, all float32 except the last ones:
- every kernel's entry function (:mod:`rnnzoo.kernels.gpu.cuda_ops`) against the reference
  loop it replaces (``bptt_*.forward_loop`` / ``backward_loop``), forward outputs and saved
  tensors, backward deltas and initial-state gradients; dense (T=5, B=3, H=8), packed with an
  uneven H (batch sizes 3, 3, 2, 2, 1; H=13) in both directions, and without biases;
- the whole op path: the kernels registered as the ops' CPU kernels, then rnnzoo.RNN / LSTM /
  GRU (bidirectional, packed) against the same layer on the ops' default kernels: outputs,
  states and the gradients of the input, the initial state and every parameter, so the weight
  gradient GEMM of the ops' autograd formula is covered too; and the LSTM without grad
  (``rnnzoo::lstm_seq_infer``);
- float16 and bfloat16 tensors against float32 references (arithmetic is float32 inside).

Two more run in this process: every kernel variant compiled by Triton's real compiler for an
sm_90 GPU (no GPU needed to compile), and, where CUDA is present (``@pytest.mark.cuda``), the
real CUDA path against the CPU.
"""
from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("triton")

T, B, H = 5, 3, 8
PACKED_SIZES, PACKED_H = [3, 3, 2, 2, 1], 13
TOL = 1e-5
LOW_PRECISION_TOL = {torch.float16: 5e-3, torch.bfloat16: 4e-2}

LAYOUTS = {  # name: (batch_sizes, hidden, reverse, bias)
    "dense": ([B] * T, H, False, True),
    "packed": (PACKED_SIZES, PACKED_H, False, True),
    "packed_reverse": (PACKED_SIZES, PACKED_H, True, True),
    "no_bias": ([B] * T, H, False, False),
}
CELLS = ("rnn_tanh", "rnn_relu", "rnn_sigmoid", "lstm", "gru")
KERNEL_CASES = [f"{cell}-{layout}" for cell in CELLS for layout in LAYOUTS]
LAYER_CASES = ["RNN-tanh", "RNN-relu", "LSTM", "GRU", "LSTM-no_grad"]
DTYPE_CASES = [f"{cell}-{dtype}" for cell in ("rnn_tanh", "lstm", "gru")
               for dtype in ("float16", "bfloat16")]


def relative_error(got, expected) -> float:
    """max |got - expected| / (1 + max |expected|) over pairs of tensors (compared in float32)."""
    worst = 0.0
    for a, b in zip(got, expected, strict=True):
        a, b = a.detach().float().cpu(), b.detach().float().cpu()
        worst = max(worst, (a - b).abs().max().item() / (1 + b.abs().max().item()))
    return worst


# -- the checks (run in the subprocess; they import rnnzoo under TRITON_INTERPRET=1) ------------
def inputs(cell: str, sizes, hidden: int, bias: bool, dtype=torch.float32, device="cpu"):
    """Random op arguments for ``cell``: x_proj, biases, h0, c0, W_hh, and the gradients that
    come from above (outputs, h_n, c_n)."""
    blocks = {"lstm": 4, "gru": 3}.get(cell, 1)
    rows, batch = sum(sizes), sizes[0]

    def rand(*shape, scale=1.0):
        return (torch.randn(*shape) * scale).to(dtype=dtype, device=device)

    return dict(
        x_proj=rand(rows, blocks * hidden),
        bias=rand(blocks * hidden) if bias else None,
        bias_hh=rand(blocks * hidden) if bias else None,
        h0=rand(batch, hidden), c0=rand(batch, hidden),
        weight_hh=rand(blocks * hidden, hidden, scale=hidden ** -0.5),
        grads=(rand(rows, hidden), rand(batch, hidden), rand(batch, hidden)),
    )


def run_kernels(cell: str, a: dict, sizes, reverse: bool, ops=None):
    """(forward outputs, backward outputs) of ``cell`` through ``ops``: the Triton entry
    functions (``cuda_ops``), or ``None`` for the Python reference loops. The backward reads
    the forward's own saved tensors."""
    from rnnzoo.cells.steps import TimeSteps
    from rnnzoo.kernels import bptt_elman, bptt_gru, bptt_lstm
    steps = TimeSteps(sizes, reverse)
    w, w_t = a["weight_hh"], a["weight_hh"].t().contiguous()
    g_out, g_h, g_c = a["grads"]
    if cell.startswith("rnn_"):
        activation = cell[4:]
        if ops is None:
            fwd = bptt_elman.forward_loop(a["x_proj"], a["bias"], a["h0"], w_t, steps, activation)
            return fwd, bptt_elman.backward_loop(g_out, g_h, fwd[0], w, steps, activation)
        fwd = ops.elman_forward(a["x_proj"], a["bias"], a["h0"], w, sizes, reverse, activation)
        return fwd, ops.elman_backward(g_out, g_h, fwd[0], w, sizes, reverse, activation)
    if cell == "lstm":
        if ops is None:
            fwd = bptt_lstm.forward_loop(a["x_proj"], a["bias"], a["h0"], a["c0"], w_t, steps)
            return fwd, bptt_lstm.backward_loop(g_out, g_h, g_c, *fwd[3:], a["c0"], w, steps)
        fwd = ops.lstm_forward(a["x_proj"], a["bias"], a["h0"], a["c0"], w, sizes, reverse)
        return fwd, ops.lstm_backward(g_out, g_h, g_c, *fwd[3:], a["c0"], w, sizes, reverse)
    if ops is None:
        fwd = bptt_gru.forward_loop(a["x_proj"], a["bias"], a["h0"], w_t, a["bias_hh"], steps)
        return fwd, bptt_gru.backward_loop(g_out, g_h, fwd[0], fwd[2], a["h0"], w, steps)
    fwd = ops.gru_forward(a["x_proj"], a["bias"], a["h0"], w, a["bias_hh"], sizes, reverse)
    return fwd, ops.gru_backward(g_out, g_h, fwd[0], fwd[2], a["h0"], w, sizes, reverse)


def check_kernel(case: str) -> float:
    from rnnzoo.kernels.gpu import cuda_ops
    cell, layout = case.split("-")
    sizes, hidden, reverse, bias = LAYOUTS[layout]
    a = inputs(cell, sizes, hidden, bias)
    got = run_kernels(cell, a, sizes, reverse, cuda_ops)
    expected = run_kernels(cell, a, sizes, reverse)
    return relative_error([*got[0], *got[1]], [*expected[0], *expected[1]])


def check_dtype(case: str) -> float:
    """The kernels on float16 / bfloat16 tensors against the reference on the same values in
    float32."""
    from rnnzoo.kernels.gpu import cuda_ops
    cell, dtype = case.split("-")
    sizes, hidden, reverse, bias = LAYOUTS["packed"]
    low = inputs(cell, sizes, hidden, bias, dtype=getattr(torch, dtype))
    wide = {k: None if v is None else (tuple(t.float() for t in v) if k == "grads" else v.float())
            for k, v in low.items()}
    got = run_kernels(cell, low, sizes, reverse, cuda_ops)
    expected = run_kernels(cell, wide, sizes, reverse)
    return relative_error([*got[0], *got[1]], [*expected[0], *expected[1]])


def build_layer(case: str, device="cpu"):
    import rnnzoo
    name, _, option = case.partition("-")
    if name == "RNN":
        return rnnzoo.RNN(4, H, nonlinearity=option, bidirectional=True, device=device)
    return getattr(rnnzoo, name)(4, H, bidirectional=True, device=device)


def run_layer(layer, x, lengths, hx, grad: bool = True):
    """Outputs, final states, and the gradients of x, hx and every parameter, for one loss."""
    from torch.nn.utils.rnn import pack_padded_sequence
    x = x.detach().requires_grad_(grad)
    hx = tuple(h.detach().requires_grad_(grad) for h in hx)
    with torch.set_grad_enabled(grad):
        out, state = layer(pack_padded_sequence(x, lengths, enforce_sorted=False),
                           hx if len(hx) == 2 else hx[0])
    states = list(state) if isinstance(state, tuple) else [state]
    if not grad:
        return [out.data, *states]
    weights = torch.linspace(-1, 1, out.data.numel(), device=x.device).view_as(out.data)
    loss = (out.data * weights).sum() + sum((s * s).sum() for s in states)
    layer.zero_grad(set_to_none=True)
    loss.backward()
    return [out.data, *states, x.grad, *(h.grad for h in hx), *(p.grad for p in layer.parameters())]


def layer_inputs(case: str, device="cpu"):
    lengths = [T, 2, 4]
    x = torch.randn(T, len(lengths), 4, device=device)
    hx = [torch.randn(2, len(lengths), H, device=device)]
    if case.startswith("LSTM"):
        hx.append(torch.randn(2, len(lengths), H, device=device))
    return x, lengths, tuple(hx)


def check_layer(case: str) -> float:
    """A layer on the Triton kernels (registered for the CPU) against the ops' defaults."""
    from rnnzoo.kernels.gpu import cuda_ops
    layer = build_layer(case)
    x, lengths, hx = layer_inputs(case)
    grad = not case.endswith("no_grad")
    with cuda_ops.use_triton(False, "cpu"):
        expected = run_layer(layer, x, lengths, hx, grad)
    return relative_error(run_layer(layer, x, lengths, hx, grad), expected)


def main() -> None:
    """Every case's error, as JSON on stdout (an exception's text in place of a failing one)."""
    from rnnzoo.kernels.gpu import cuda_ops
    cuda_ops.register("cpu")  # only in this process: the layer cases run the ops through them
    results = {}
    for cases, check in ((KERNEL_CASES, check_kernel), (DTYPE_CASES, check_dtype),
                         (LAYER_CASES, check_layer)):
        for case in cases:
            torch.manual_seed(0)
            try:
                results[case] = check(case)
            except Exception as error:  # reported by the test of this case
                results[case] = f"{type(error).__name__}: {error}"
    print(json.dumps(results))


# -- the tests ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def interpreted():
    """Every case's error, from one run of this file under the Triton interpreter."""
    # RNNZOO_NATIVE=0: the ops' default CPU kernels are the Python reference loops (no C++ build)
    root = str(Path(__file__).resolve().parents[2])  # rnnzoo importable even if not installed
    env = dict(os.environ, TRITON_INTERPRET="1", RNNZOO_NATIVE="0",
               PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, __file__], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def assert_case(results: dict, case: str, tol: float) -> None:
    error = results[case]
    assert not isinstance(error, str), error
    assert error <= tol, f"{case}: relative error {error:.3g} > {tol:g}"


@pytest.mark.parametrize("case", KERNEL_CASES)
def test_kernel_matches_reference_loop(interpreted, case):
    assert_case(interpreted, case, TOL)


@pytest.mark.parametrize("case", DTYPE_CASES)
def test_low_precision_close_to_float32(interpreted, case):
    assert_case(interpreted, case, LOW_PRECISION_TOL[getattr(torch, case.split("-")[1])])


@pytest.mark.parametrize("case", LAYER_CASES)
def test_layer_on_triton_kernels_matches_default(interpreted, case):
    assert_case(interpreted, case, TOL)


def kernel_variants():
    """(kernel, dtype, constexprs): every kernel with every constexpr combination in float32,
    and with its first combination in float16 and bfloat16."""
    from rnnzoo.kernels.gpu import triton_kernels as kernels
    choices = {"ACTIVATION": (kernels.TANH, kernels.RELU, kernels.SIGMOID)}
    for kernel in (kernels.elman_forward_step, kernels.elman_backward_step,
                   kernels.lstm_forward_step, kernels.lstm_backward_step,
                   kernels.gru_forward_step, kernels.gru_backward_step):
        names = [p.name for p in kernel.params if p.is_constexpr and p.name != "BLOCK"]
        combos = list(itertools.product(*(choices.get(name, (True, False)) for name in names)))
        for dtype, some in (("fp32", combos), ("fp16", combos[:1]), ("bf16", combos[:1])):
            for combo in some:
                yield kernel, dtype, dict(zip(names, combo), BLOCK=kernels.BLOCK)


def test_kernels_compile_for_a_gpu():
    """Every kernel variant goes through Triton's whole compiler to an sm_90 cubin (ptxas ships
    with triton), which needs no GPU: what the interpreter accepts but the compiler would not
    (types, constexpr branches) fails here rather than on the first CUDA call."""
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource
    from triton.runtime.jit import JITFunction
    from rnnzoo.kernels.gpu import triton_kernels as kernels
    if not isinstance(kernels.elman_forward_step, JITFunction):
        pytest.skip("TRITON_INTERPRET=1 in this process: the kernels are interpreted")
    float32_state = ("c_ptr", "dc_ptr")  # the LSTM's running C and its carry
    for kernel, dtype, constants in kernel_variants():
        signature = {}
        for param in kernel.params:
            if param.is_constexpr:
                signature[param.name] = "constexpr"
            elif param.name.endswith("_ptr"):
                signature[param.name] = "*fp32" if param.name in float32_state else f"*{dtype}"
            else:
                signature[param.name] = "i32"
        source = ASTSource(kernel, signature, constexprs=constants)
        compiled = triton.compile(source, target=GPUTarget("cuda", 90, 32),
                                  options={"enable_fp_fusion": True})
        assert compiled.asm.get("cubin"), f"{kernel.__name__} {dtype} {constants}: no cubin"


@pytest.mark.cuda
@pytest.mark.parametrize("case", LAYER_CASES)
def test_cuda_layer_matches_cpu(case):
    """The real CUDA path (compiled kernels, cuBLAS GEMMs) against the CPU's default kernels."""
    torch.manual_seed(0)
    layer = build_layer(case)
    x, lengths, hx = layer_inputs(case)
    grad = not case.endswith("no_grad")
    expected = run_layer(layer, x, lengths, hx, grad)
    # TF32 would round the GEMMs' inputs to 10 bits
    previous = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        got = run_layer(layer.cuda(), x.cuda(), lengths, tuple(h.cuda() for h in hx), grad)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = previous
    assert relative_error(got, expected) <= TOL


@pytest.mark.cuda
@pytest.mark.parametrize("case", KERNEL_CASES)
def test_cuda_kernel_matches_reference_loop(case):
    """The entry functions on CUDA tensors against the reference loops on the CPU."""
    from rnnzoo.kernels.gpu import cuda_ops
    torch.manual_seed(0)
    cell, layout = case.split("-")
    sizes, hidden, reverse, bias = LAYOUTS[layout]
    a = inputs(cell, sizes, hidden, bias)
    on_cuda = {k: None if v is None else (tuple(t.cuda() for t in v) if k == "grads" else v.cuda())
               for k, v in a.items()}
    previous = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        got = run_kernels(cell, on_cuda, sizes, reverse, cuda_ops)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = previous
    expected = run_kernels(cell, a, sizes, reverse)
    assert relative_error([*got[0], *got[1]], [*expected[0], *expected[1]]) <= TOL


if __name__ == "__main__":
    main()
