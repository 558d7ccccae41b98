"""rnnzoo's core layers under the PyTorch stack: torch.compile, torch.export, jit.trace,
torch.func (vmap, per-sample gradients), second derivatives, and the registered ops themselves.

The recurrences run as registered operators (``rnnzoo::{elman,lstm,gru}_seq`` and their
``*_backward``, see rnnzoo/kernels/ops.py) with fake kernels and autograd formulas, so each
layer is one opaque node per (layer, direction) to Dynamo, AOTAutograd and export. Every probe
is checked against eager rnnzoo and against torch.nn with the same weights.
"""
import io

import pytest
import torch
from torch.func import functional_call, grad, vmap
from torch.nn.utils.rnn import pack_padded_sequence

import rnnzoo
from rnnzoo.kernels import bptt_elman, bptt_gru, bptt_lstm  # noqa: F401  (registers the ops)

FAMILIES = {"rnn": (rnnzoo.RNN, torch.nn.RNN), "lstm": (rnnzoo.LSTM, torch.nn.LSTM),
            "gru": (rnnzoo.GRU, torch.nn.GRU)}
CONFIGS = {"plain": {}, "2layers-bi-batch_first": dict(num_layers=2, bidirectional=True,
                                                      batch_first=True)}
CASES = [(f, c) for f in FAMILIES for c in CONFIGS]
IDS = [f"{f}-{c}" for f, c in CASES]
OPS = {"rnn": "rnnzoo.elman_seq", "lstm": "rnnzoo.lstm_seq", "gru": "rnnzoo.gru_seq"}
TOL = dict(rtol=1e-5, atol=1e-5)


def twins(family, dtype=torch.float32, **kw):
    """(rnnzoo layer, torch.nn layer) with the same weights: x (4, 10, 8), hidden 16."""
    ours_cls, torch_cls = FAMILIES[family]
    ref = torch_cls(8, 16, dtype=dtype, **kw)
    ours = ours_cls(8, 16, dtype=dtype, **kw)
    ours.load_state_dict(ref.state_dict())
    return ours, ref


def flat(result):
    """A layer's (output, state) as a flat list of tensors."""
    out, state = result
    return [out, *(state if isinstance(state, tuple) else (state,))]


def loss_of(tensors):
    # distinct weights per entry, so that no two gradients can cancel or swap unnoticed
    return sum((t * torch.linspace(-1, 1, t.numel(), dtype=t.dtype).view_as(t)).sum()
               for t in tensors)


def values_and_grads(model, x):
    x = x.detach().requires_grad_()
    values = flat(model(x))
    grads = torch.autograd.grad(loss_of(values), [x, *model.parameters()])
    return [v.detach() for v in values], list(grads)


def assert_all_close(got, expected, **tol):
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a, b, **(tol or TOL))


# -- torch.compile --------------------------------------------------------------------------------
@pytest.mark.parametrize("family,config", CASES, ids=IDS)
def test_compile_fullgraph_matches_eager_and_torch_nn(family, config):
    torch._dynamo.reset()
    ours, ref = twins(family, **CONFIGS[config])
    x = torch.randn(4, 10, 8)
    compiled = torch.compile(ours, backend="aot_eager", fullgraph=True)  # a break would raise
    got = values_and_grads(compiled, x)
    assert_all_close([*got[0], *got[1]], [*(e := values_and_grads(ours, x))[0], *e[1]])
    assert_all_close([*got[0], *got[1]], [*(r := values_and_grads(ref, x))[0], *r[1]])


@pytest.mark.parametrize("family", list(FAMILIES))
def test_dynamo_sees_one_graph_with_the_ops(family):
    torch._dynamo.reset()
    ours, _ = twins(family, num_layers=2, bidirectional=True)
    explanation = torch._dynamo.explain(ours)(torch.randn(4, 10, 8))
    assert explanation.graph_break_count == 0 and explanation.graph_count == 1
    torch._dynamo.reset()


def test_compile_inductor_lstm_forward_and_backward():
    """The default backend once (about 10 s on two cores): generated code around the op."""
    torch._dynamo.reset()
    ours, ref = twins("lstm", num_layers=2, bidirectional=True, batch_first=True)
    x = torch.randn(4, 10, 8)
    compiled = torch.compile(ours, fullgraph=True)
    got = values_and_grads(compiled, x)
    expected = values_and_grads(ref, x)
    assert_all_close([*got[0], *got[1]], [*expected[0], *expected[1]])
    torch._dynamo.reset()


def test_compile_packed_input_matches_eager():
    """A PackedSequence compiles (its batch sizes become constants of the graph)."""
    torch._dynamo.reset()
    ours, ref = twins("gru", bidirectional=True)
    packed = pack_padded_sequence(torch.randn(10, 4, 8), torch.tensor([10, 3, 7, 1]),
                                  enforce_sorted=False)
    out, h_n = torch.compile(ours, backend="aot_eager")(packed)
    ref_out, ref_h_n = ref(packed)
    torch.testing.assert_close(out.data, ref_out.data, **TOL)
    torch.testing.assert_close(h_n, ref_h_n, **TOL)
    torch._dynamo.reset()


# -- torch.export and jit.trace -------------------------------------------------------------------
@pytest.mark.parametrize("family,config", CASES, ids=IDS)
def test_export_holds_the_op_and_reproduces_the_layer(family, config):
    ours, ref = twins(family, **CONFIGS[config])
    x = torch.randn(4, 10, 8)
    program = torch.export.export(ours, (x,))
    targets = [str(n.target) for n in program.graph.nodes if n.op == "call_function"]
    layers = CONFIGS[config].get("num_layers", 1) * (2 if CONFIGS[config].get("bidirectional") else 1)
    assert targets.count(OPS[family] + ".default") == layers
    y = torch.randn(4, 10, 8)
    assert_all_close(flat(program.module()(y)), flat(ours(y)), rtol=0, atol=0)
    assert_all_close(flat(program.module()(y)), flat(ref(y)))


def test_export_of_packed_input_is_refused():
    """Export needs the batch sizes as graph constants; a PackedSequence carries them as data.

    Export a padded tensor instead (or compile, which handles packed input)."""
    ours, _ = twins("lstm")
    packed = pack_padded_sequence(torch.randn(10, 4, 8), torch.tensor([10, 3, 7, 1]),
                                  enforce_sorted=False)
    with pytest.raises(ValueError, match="export with a padded"):
        torch.export.export(ours, (packed,))


@pytest.mark.parametrize("family,config", CASES, ids=IDS)
def test_jit_trace_passes_its_check_and_reproduces_the_layer(family, config):
    ours, ref = twins(family, **CONFIGS[config])
    x = torch.randn(4, 10, 8)
    traced = torch.jit.trace(ours, x, check_trace=True)  # raises on a failed sanity check
    assert OPS[family].replace(".", "::") in str(traced.inlined_graph)  # the op, not a callback
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer)
    buffer.seek(0)
    loaded = torch.jit.load(buffer)
    y = torch.randn(4, 10, 8)  # same shape, new values
    for module in (traced, loaded):
        assert_all_close(flat(module(y)), flat(ours(y)), rtol=0, atol=0)
        assert_all_close(flat(module(y)), flat(ref(y)))
    # the traced graph trains: the op's own autograd formula
    assert_all_close(values_and_grads(loaded, y)[1], values_and_grads(ours, y)[1], rtol=0, atol=0)


# -- second derivatives -----------------------------------------------------------------------------
@pytest.mark.parametrize("family", list(FAMILIES))
def test_gradgradcheck(family):
    """float64, both directions, with respect to the input, the initial state(s), every weight,
    on a packed batch of two lengths (dense batches: the ops' own gradgradcheck and the
    Hessian-vector product against torch.nn below)."""
    packed = True
    ours_cls, _ = FAMILIES[family]
    model = ours_cls(2, 3, bidirectional=True, dtype=torch.float64)
    names = [n for n, _ in model.named_parameters()]
    x = torch.randn(3, 2, 2, dtype=torch.float64, requires_grad=True)
    states = [torch.randn(2, 2, 3, dtype=torch.float64, requires_grad=True)
              for _ in range(2 if family == "lstm" else 1)]

    def run(x, *rest):
        hx = tuple(rest[: len(states)])
        params = dict(zip(names, rest[len(states):]))
        inp = pack_padded_sequence(x, torch.tensor([3, 1]), enforce_sorted=False) if packed else x
        out, state = functional_call(model, params, (inp, hx if len(hx) == 2 else hx[0]))
        return (out.data if packed else out), *(state if isinstance(state, tuple) else (state,))

    inputs = (x, *states, *(p.detach().requires_grad_() for p in model.parameters()))
    assert torch.autograd.gradgradcheck(run, inputs)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_hessian_vector_product_matches_torch_nn(family):
    """create_graph=True gives a gradient with a graph (never a silent detached one), and the
    Hessian-vector product of the parameters equals torch.nn's."""
    ours, ref = twins(family, torch.float64, bidirectional=True)
    x = torch.randn(5, 3, 8, dtype=torch.float64)

    def hvp(model):
        params = list(model.parameters())
        grads = torch.autograd.grad(loss_of(flat(model(x))) ** 2, params, create_graph=True)
        assert all(g.requires_grad for g in grads)
        vector = [torch.linspace(-1, 1, g.numel(), dtype=g.dtype).view_as(g) for g in grads]
        return torch.autograd.grad(sum((g * v).sum() for g, v in zip(grads, vector)), params)

    assert_all_close(hvp(ours), hvp(ref), rtol=1e-9, atol=1e-9)


# -- torch.func -----------------------------------------------------------------------------------
@pytest.mark.parametrize("family", list(FAMILIES))
def test_per_sample_gradients_with_vmap_of_grad(family):
    ours, ref = twins(family, bidirectional=True)
    params = {k: v.detach() for k, v in ours.named_parameters()}
    samples = torch.randn(4, 6, 8)  # 4 samples, each an unbatched (T, I) sequence

    def loss(model, p, sample):
        return loss_of(flat(functional_call(model, p, (sample.unsqueeze(1),))))

    per_sample = vmap(grad(lambda p, s: loss(ours, p, s)), in_dims=(None, 0))(params, samples)
    for k, name in enumerate(params):
        one_by_one = []
        for sample in samples:
            p = {n: v.detach().requires_grad_() for n, v in ref.named_parameters()}
            one_by_one.append(torch.autograd.grad(loss(ref, p, sample), p[name])[0])
        torch.testing.assert_close(per_sample[name], torch.stack(one_by_one), **TOL)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_vmap_forward_over_input_and_over_weights(family):
    ours, _ = twins(family, bidirectional=True)
    params = {k: v.detach() for k, v in ours.named_parameters()}
    xs = torch.randn(4, 5, 3, 8)  # vmapped dim first: 4 batches of (T=5, B=3, I=8)

    def run(p, x):
        return tuple(flat(functional_call(ours, p, (x,))))

    batched = vmap(run, in_dims=(None, 0))(params, xs)
    looped = [torch.stack(t) for t in zip(*(run(params, x) for x in xs))]
    assert_all_close(batched, looped)
    # an ensemble: every weight vmapped too
    ensemble = {k: torch.stack([v, 2 * v, -v, v / 2]) for k, v in params.items()}
    batched = vmap(run)(ensemble, xs)
    looped = [torch.stack(t) for t in zip(*(run({k: v[i] for k, v in ensemble.items()}, xs[i])
                                             for i in range(4)))]
    assert_all_close(batched, looped)


# -- the operators themselves ----------------------------------------------------------------------
def _op_inputs(dtype=torch.float64, device="cpu"):
    sizes, hidden, batch = [3, 3, 2, 1], 4, 3
    total = sum(sizes)

    def r(*shape):
        return torch.randn(*shape, dtype=dtype, device=device, requires_grad=True)

    return {
        "elman_seq": (r(total, hidden), r(hidden), r(batch, hidden), r(hidden, hidden), sizes,
                      False, "tanh"),
        "elman_seq-relu-reverse-nobias": (r(total, hidden), None, r(batch, hidden),
                                          r(hidden, hidden), sizes, True, "relu"),
        "lstm_seq": (r(total, 4 * hidden), r(4 * hidden), r(batch, hidden), r(batch, hidden),
                     r(4 * hidden, hidden), sizes, True),
        "gru_seq": (r(total, 3 * hidden), r(3 * hidden), r(batch, hidden), r(3 * hidden, hidden),
                    r(3 * hidden), sizes, False),
    }


def _backward_args(name, args):
    """Arguments of the backward op for the forward op ``name`` called with ``args``."""
    outs = getattr(torch.ops.rnnzoo, name)(*(a.detach() if isinstance(a, torch.Tensor) else a
                                             for a in args))
    grads = [torch.randn_like(o) for o in outs]
    if name == "elman_seq":
        x_proj, bias, h0, weight_hh, sizes, reverse, nonlinearity = args
        return (grads[0], grads[1], outs[0], weight_hh.detach(), sizes, reverse, nonlinearity)
    if name == "lstm_seq":
        x_proj, bias, h0, c0, weight_hh, sizes, reverse = args
        return (*grads[:3], *outs[3:], c0.detach(), weight_hh.detach(), sizes, reverse)
    x_proj, bias_ih, h0, weight_hh, bias_hh, sizes, reverse = args
    return (*grads[:2], outs[0], outs[2], h0.detach(), weight_hh.detach(), sizes, reverse)


DIFFERENTIABLE_OUTPUTS = {"elman_seq": 2, "lstm_seq": 3, "gru_seq": 2}  # the rest is saved state


@pytest.mark.parametrize("name", list(_op_inputs()))
def test_opcheck_and_gradcheck_of_the_ops(name):
    """torch.library.opcheck (schema, fake kernel, autograd registration, AOT dispatch) of each
    forward op and its backward op; gradcheck and gradgradcheck of the forward op called
    directly (its register_autograd formula, not the cells' Function)."""
    args = _op_inputs()[name]
    op_name = name.split("-")[0]
    op = getattr(torch.ops.rnnzoo, op_name)
    torch.library.opcheck(op, args)
    torch.library.opcheck(getattr(torch.ops.rnnzoo, op_name + "_backward"),
                          _backward_args(op_name, args))
    tensors = [k for k, a in enumerate(args) if isinstance(a, torch.Tensor)]

    def call(*values):
        full = list(args)
        for k, v in zip(tensors, values):
            full[k] = v
        return op(*full)[: DIFFERENTIABLE_OUTPUTS[op_name]]

    inputs = tuple(args[k] for k in tensors)
    assert torch.autograd.gradcheck(call, inputs)
    assert torch.autograd.gradgradcheck(call, inputs)


@pytest.mark.cuda
def test_cuda_tensors_run_the_python_loops():
    """On another device the ops run the Python loops; results equal the CPU's."""
    for family in FAMILIES:
        ours, _ = twins(family, torch.float64, bidirectional=True)
        x = torch.randn(4, 10, 8, dtype=torch.float64)
        cpu = values_and_grads(ours, x)
        cuda = values_and_grads(ours.cuda(), x.cuda())
        assert_all_close([t.cpu() for t in [*cuda[0], *cuda[1]]], [*cpu[0], *cpu[1]],
                         rtol=1e-10, atol=1e-10)
