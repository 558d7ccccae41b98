"""One run on a GPU machine: rnnzoo's CUDA path checked and timed against torch.nn (cuDNN).

    python scripts/gpu_check.py                    # prints the report (Markdown)
    python scripts/gpu_check.py --json out.json    # and writes it as JSON too

1. Parity. rnnzoo.RNN (tanh, relu), LSTM and GRU against torch.nn's layer holding the same
   weights, on CUDA in float32 with TF32 off: outputs, final states, and the gradients of the
   input, the initial state and every parameter; two layers, bidirectional, dense and packed
   (unsorted lengths) input. Then rnnzoo's Triton kernels against the ops' Python loops
   (``cuda_ops.use_triton(False)``), which is what CUDA ran before the kernels, on the same data.
2. Speed at fastrnns' shape (T=100, B=64, I=H=512, one layer): the forward alone (no grad) and
   a training step (forward and backward; no optimizer), for rnnzoo on the Triton kernels,
   rnnzoo on the Python loops, and torch.nn (cuDNN); the ratio is rnnzoo's time over cuDNN's.
   Float32 with TF32 off for both, then TF32 on for both (cuDNN's own default).
3. minGRU and minLSTM at T=4096 (B=8, I=H=256): the parallel scan (``impl="custom"``) against
   the step-by-step loop (``impl="autograd"``), forward alone and training step.

Times are CUDA-event medians after warm-up. Without CUDA (or without triton, when the report
would only time the Python loops) it exits with status 2 and says why.
"""
from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

import rnnzoo

PARITY_TOL = 1e-4  # relative to 1 + the largest reference value, float32 without TF32
SPEED_SHAPE = dict(T=100, B=64, I=512, H=512)
SCAN_SHAPE = dict(T=4096, B=8, I=256, H=256)


# -- helpers ------------------------------------------------------------------------------------
def set_tf32(enabled: bool) -> None:
    torch.backends.cuda.matmul.allow_tf32 = enabled  # cuBLAS: rnnzoo's GEMMs
    torch.backends.cudnn.allow_tf32 = enabled  # cuDNN's RNN


def time_ms(fn, warmup: int = 3, reps: int = 20) -> float:
    """Median milliseconds of ``fn()``, from CUDA events around each call."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def relative_error(got, expected) -> float:
    """max |got - expected| / (1 + max |expected|) over pairs of tensors."""
    return max((a - b).abs().max().item() / (1 + b.abs().max().item())
               for a, b in zip(got, expected, strict=True))


def make_pair(kind: str, sizes: dict, **options):
    """(torch.nn layer, rnnzoo layer with the same weights), on CUDA."""
    name, _, nonlinearity = kind.partition("-")
    if nonlinearity:
        options["nonlinearity"] = nonlinearity
    ref = getattr(nn, name)(sizes["I"], sizes["H"], **options).cuda()
    ours = getattr(rnnzoo, name)(sizes["I"], sizes["H"], **options).cuda()
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def run_once(layer, x, hx, lengths=None):
    """Outputs, final states, and the gradients of x, hx and every parameter, for one loss."""
    x = x.detach().requires_grad_()
    hx = tuple(h.detach().requires_grad_() for h in hx)
    inp = x if lengths is None else pack_padded_sequence(x, lengths, enforce_sorted=False)
    out, state = layer(inp, hx if len(hx) == 2 else hx[0])
    flat = out if lengths is None else out.data
    states = list(state) if isinstance(state, tuple) else [state]
    weights = torch.linspace(-1, 1, flat.numel(), device=flat.device).view_as(flat)
    loss = (flat * weights).sum() + sum((s * s).sum() for s in states)
    layer.zero_grad(set_to_none=True)
    loss.backward()
    return [flat, *states, x.grad, *(h.grad for h in hx), *(p.grad for p in layer.parameters())]


def modes(x, grad):
    """(name, step) for the two timed modes: a forward without grad, and forward + backward."""
    def forward(layer):
        with torch.no_grad():
            layer(x)

    def train(layer):
        layer.zero_grad(set_to_none=True)
        layer(x)[0].backward(grad)

    return (("forward", forward), ("train", train))


# -- 1. parity ----------------------------------------------------------------------------------
def parity() -> list[dict]:
    from rnnzoo.kernels.gpu import cuda_ops
    set_tf32(False)
    sizes, layers, T, B = dict(I=16, H=32), 2, 20, 5
    rows = []
    for kind in ("RNN-tanh", "RNN-relu", "LSTM", "GRU"):
        torch.manual_seed(0)
        ref, ours = make_pair(kind, sizes, num_layers=layers, bidirectional=True)
        x = torch.randn(T, B, sizes["I"], device="cuda")
        hx = [torch.randn(2 * layers, B, sizes["H"], device="cuda")]
        if kind == "LSTM":
            hx.append(torch.randn(2 * layers, B, sizes["H"], device="cuda"))
        for layout, lengths in (("dense", None), ("packed", [T, 3, 17, 1, 9])):
            expected = run_once(ref, x, hx, lengths)
            got = run_once(ours, x, hx, lengths)
            with cuda_ops.use_triton(False):
                loops = run_once(ours, x, hx, lengths)
            rows.append(dict(cell=kind, layout=layout,
                             vs_torch=relative_error(got, expected),
                             vs_python_loops=relative_error(got, loops)))
    return rows


# -- 2. speed against cuDNN ---------------------------------------------------------------------
def speed() -> list[dict]:
    from rnnzoo.kernels.gpu import cuda_ops
    s = SPEED_SHAPE
    rows = []
    for tf32 in (False, True):
        set_tf32(tf32)
        for kind in ("LSTM", "GRU", "RNN-tanh"):
            torch.manual_seed(0)
            ref, ours = make_pair(kind, s)
            x = torch.randn(s["T"], s["B"], s["I"], device="cuda")
            grad = torch.randn(s["T"], s["B"], s["H"], device="cuda")

            for mode, step in modes(x, grad):
                cudnn = time_ms(lambda: step(ref))
                triton_ms = time_ms(lambda: step(ours))
                with cuda_ops.use_triton(False):
                    loops = time_ms(lambda: step(ours), reps=5)
                rows.append(dict(cell=kind, mode=mode, tf32=tf32, cudnn_ms=cudnn,
                                 triton_ms=triton_ms, python_loops_ms=loops,
                                 ratio=triton_ms / cudnn, ratio_before=loops / cudnn))
    set_tf32(False)
    return rows


# -- 3. minGRU / minLSTM: scan against the sequential loop --------------------------------------
def scan() -> list[dict]:
    """``impl="custom"`` runs the cells with fast=True: _MinimalCell.sequence takes the parallel
    scan (rnnzoo.cells.scan); ``impl="autograd"`` sets fast=False, so the base class's sequence
    runs ``recur`` once per step."""
    set_tf32(False)
    s = SCAN_SHAPE
    rows = []
    for cell in ("min_gru", "min_lstm"):
        torch.manual_seed(0)
        fast = rnnzoo.build_rnn(cell, s["I"], s["H"], impl="custom").cuda()
        slow = rnnzoo.build_rnn(cell, s["I"], s["H"], impl="autograd").cuda()
        slow.load_state_dict(fast.state_dict())
        x = torch.randn(s["T"], s["B"], s["I"], device="cuda")
        grad = torch.randn(s["T"], s["B"], s["H"], device="cuda")
        with torch.no_grad():
            error = relative_error([fast(x)[0]], [slow(x)[0]])

        for mode, step in modes(x, grad):
            scan_ms = time_ms(lambda: step(fast))
            loop_ms = time_ms(lambda: step(slow), warmup=1, reps=3)
            rows.append(dict(cell=cell, mode=mode, scan_ms=scan_ms, sequential_ms=loop_ms,
                             speedup=loop_ms / scan_ms, max_rel_error=error))
    return rows


# -- report -------------------------------------------------------------------------------------
def markdown(report: dict) -> str:
    lines = [f"# rnnzoo GPU check: {report['device']}, {report['date']}",
             f"torch {report['torch']}, CUDA {report['cuda']}, triton {report['triton']}", "",
             f"## Parity (float32, TF32 off; relative error, ok below {PARITY_TOL:g})", "",
             "| cell | input | vs torch.nn | vs rnnzoo's Python loops | ok |",
             "|---|---|---|---|---|"]
    for r in report["parity"]:
        ok = r["vs_torch"] <= PARITY_TOL and r["vs_python_loops"] <= PARITY_TOL
        lines.append(f"| {r['cell']} | {r['layout']} | {r['vs_torch']:.2e} | "
                     f"{r['vs_python_loops']:.2e} | {'yes' if ok else 'NO'} |")
    s = SPEED_SHAPE
    lines += ["", f"## Speed against cuDNN (T={s['T']}, B={s['B']}, I={s['I']}, H={s['H']}; "
              "ms, median; ratio = rnnzoo / cuDNN, target <= 1.5 for LSTM and GRU)", "",
              "| cell | step | TF32 | cuDNN | rnnzoo Triton | ratio | rnnzoo Python loops (before) "
              "| ratio before |", "|---|---|---|---|---|---|---|---|"]
    for r in report["speed"]:
        lines.append(f"| {r['cell']} | {r['mode']} | {'on' if r['tf32'] else 'off'} | "
                     f"{r['cudnn_ms']:.3f} | {r['triton_ms']:.3f} | {r['ratio']:.2f} | "
                     f"{r['python_loops_ms']:.3f} | {r['ratio_before']:.2f} |")
    s = SCAN_SHAPE
    lines += ["", f"## minGRU / minLSTM: scan against the sequential loop (T={s['T']}, B={s['B']}, "
              f"I={s['I']}, H={s['H']}; ms, median; target speed-up >= 10)", "",
              "| cell | step | scan | sequential | speed-up | max rel. error |",
              "|---|---|---|---|---|---|"]
    for r in report["scan"]:
        lines.append(f"| {r['cell']} | {r['mode']} | {r['scan_ms']:.3f} | "
                     f"{r['sequential_ms']:.1f} | {r['speedup']:.1f} | {r['max_rel_error']:.1e} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", help="also write the report as JSON to this path")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("gpu_check: no CUDA device visible to torch (torch.cuda.is_available() is False); "
              "this script needs a GPU machine", file=sys.stderr)
        return 2
    try:
        import triton
    except ImportError:
        print("gpu_check: triton is not installed, so rnnzoo has no CUDA kernels to check "
              "(pip install triton, or the dev extra)", file=sys.stderr)
        return 2
    report = dict(device=torch.cuda.get_device_name(),
                  date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                  torch=torch.__version__, cuda=torch.version.cuda, triton=triton.__version__)
    for part in (parity, speed, scan):
        report[part.__name__] = part()
        print(f"[{part.__name__} done]", file=sys.stderr, flush=True)
    print(markdown(report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    parity_ok = all(max(r["vs_torch"], r["vs_python_loops"]) <= PARITY_TOL
                    for r in report["parity"])
    return 0 if parity_ok else 1


if __name__ == "__main__":
    sys.exit(main())
