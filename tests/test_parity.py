"""rnnzoo's layers against torch.nn with the same weights: outputs, final states, gradients."""
import itertools

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnzoo
from rnnzoo.layers.builder import TWINS

TOL = {torch.float32: dict(rtol=1e-5, atol=1e-5), torch.float64: dict(rtol=1e-10, atol=1e-10)}
T, B, I, H = 6, 3, 4, 5


def twins(cell, impl, dtype, **kw):
    ref = rnnzoo.build_rnn(cell, I, H, impl="torch", dtype=dtype, **kw)
    ours = rnnzoo.build_rnn(cell, I, H, impl=impl, dtype=dtype, **kw)
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def initial_state(cell, layers, directions, dtype):
    shape = (layers * directions, B, H)
    h0 = torch.randn(shape, dtype=dtype, requires_grad=True)
    if cell == "lstm":
        return (h0, torch.randn(shape, dtype=dtype, requires_grad=True))
    return h0


def leaves(hx):
    return [] if hx is None else ([hx] if isinstance(hx, torch.Tensor) else list(hx))


def outputs_and_grads(model, x, hx):
    out, state = model(x, hx)
    flat_out = out.data if hasattr(out, "batch_sizes") else out
    states = leaves(state)
    # a loss touching every output and state, with distinct weights so no gradient cancels
    loss = (flat_out * torch.linspace(-1, 1, flat_out.numel(), dtype=flat_out.dtype).view_as(flat_out)).sum()
    loss = loss + sum((s * s).sum() for s in states)
    inputs = [x.data if hasattr(x, "batch_sizes") else x] + leaves(hx) + list(model.parameters())
    grads = torch.autograd.grad(loss, inputs)
    return flat_out, states, grads


def compare(ref, ours, x, hx, dtype):
    ref_out, ref_states, ref_grads = outputs_and_grads(ref, x, hx)
    out, states, grads = outputs_and_grads(ours, x, hx)
    torch.testing.assert_close(out, ref_out, **TOL[dtype])
    for s, r in zip(states, ref_states, strict=True):
        torch.testing.assert_close(s, r, **TOL[dtype])
    # torch.nn's parameters() order is weight_ih_l0, weight_hh_l0, bias_ih_l0, ... as ours
    for g, r in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(g, r, **TOL[dtype])


GRID = list(itertools.product(
    ["rnn_tanh", "rnn_relu", "lstm", "gru"], ["custom", "autograd"], [1, 2, 3],
    [False, True], [True, False], [False, True], [False, True]))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("cell,impl,layers,bidirectional,bias,batch_first,with_state", GRID)
def test_dense_parity(cell, impl, layers, bidirectional, bias, batch_first, with_state, dtype):
    ref, ours = twins(cell, impl, dtype, num_layers=layers, bidirectional=bidirectional,
                      bias=bias, batch_first=batch_first)
    shape = (B, T, I) if batch_first else (T, B, I)
    x = torch.randn(shape, dtype=dtype, requires_grad=True)
    hx = initial_state(cell, layers, 2 if bidirectional else 1, dtype) if with_state else None
    compare(ref, ours, x, hx, dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("cell,impl,bidirectional,with_state", list(itertools.product(
    ["rnn_tanh", "rnn_relu", "lstm", "gru"], ["custom", "autograd"], [False, True], [False, True])))
def test_packed_unsorted_parity(cell, impl, bidirectional, with_state, dtype):
    ref, ours = twins(cell, impl, dtype, num_layers=2, bidirectional=bidirectional)
    lengths = torch.tensor([3, 6, 1])  # unsorted, one of length 1
    x = torch.randn(T, B, I, dtype=dtype, requires_grad=True)
    packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
    hx = initial_state(cell, 2, 2 if bidirectional else 1, dtype) if with_state else None
    compare(ref, ours, packed, hx, dtype)


@pytest.mark.parametrize("impl", ["custom", "autograd"])
def test_packed_final_state_is_each_sequences_own_last_step(impl):
    model = rnnzoo.build_rnn("gru", I, H, impl=impl)
    lengths = [2, 5, 3]
    x = torch.randn(5, 3, I)
    _, h_n = model(pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=False))
    for b, n in enumerate(lengths):
        _, alone = model(x[:n, b : b + 1])
        torch.testing.assert_close(h_n[:, b], alone[:, 0])


@pytest.mark.parametrize("impl", ["custom", "autograd"])
def test_packed_output_roundtrip_matches_torch(impl):
    ref, ours = twins("lstm", impl, torch.float64, bidirectional=True)
    x = torch.randn(T, B, I, dtype=torch.float64)
    packed = pack_padded_sequence(x, torch.tensor([4, 2, 6]), enforce_sorted=False)
    ours_out, _ = pad_packed_sequence(ours(packed)[0])
    ref_out, _ = pad_packed_sequence(ref(packed)[0])
    torch.testing.assert_close(ours_out, ref_out)


@pytest.mark.parametrize("cell", list(TWINS))
def test_unbatched_input(cell):
    ref, ours = twins(cell, "custom", torch.float64, num_layers=2)
    x = torch.randn(T, I, dtype=torch.float64)
    ref_out, ref_state = ref(x)
    out, state = ours(x)
    torch.testing.assert_close(out, ref_out)
    for s, r in zip(leaves(state), leaves(ref_state)):
        torch.testing.assert_close(s, r)


# -- the two loops behind impl="custom": the native (C++) loops and the Python reference loops --
from rnnzoo.kernels import native  # noqa: E402


def need_native():
    """Skip without the native loops, except under RNNZOO_REQUIRE_NATIVE=1 (CI): then fail."""
    if not native.available():  # under RNNZOO_REQUIRE_NATIVE=1 a failed build raises here
        if native.required():
            pytest.fail("RNNZOO_REQUIRE_NATIVE=1, but the native loops are turned off (RNNZOO_NATIVE=0)")
        pytest.skip("native loops unavailable (RNNZOO_NATIVE=0, or the build failed: see the warning)")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("cell,bidirectional,packed", list(itertools.product(
    ["rnn_tanh", "rnn_relu", "lstm", "gru"], [False, True], [False, True])))
def test_python_loops_parity(cell, bidirectional, packed, dtype):
    """The Python explicit-BPTT loops (what runs on CUDA, or without a compiler) against torch.nn."""
    ref, ours = twins(cell, "custom", dtype, num_layers=2, bidirectional=bidirectional)
    x = torch.randn(T, B, I, dtype=dtype, requires_grad=True)
    inp = pack_padded_sequence(x, torch.tensor([3, 6, 1]), enforce_sorted=False) if packed else x
    hx = initial_state(cell, 2, 2 if bidirectional else 1, dtype)
    with native.use_native(False):
        compare(ref, ours, inp, hx, dtype)


@pytest.mark.parametrize("cell", ["rnn_tanh", "rnn_relu", "rnn_sigmoid", "lstm", "gru"])
@pytest.mark.parametrize("bias", [True, False])
def test_native_loops_match_python_loops(cell, bias):
    """Both loops on a longer packed batch in float64, outputs and every gradient."""
    need_native()
    model = rnnzoo.build_rnn(cell, I, H, bias=bias, num_layers=2, bidirectional=True,
                             dtype=torch.float64)
    x = torch.randn(40, 5, I, dtype=torch.float64, requires_grad=True)
    packed = pack_padded_sequence(x, torch.tensor([40, 7, 33, 1, 40]), enforce_sorted=False)
    results = []
    for enabled in (True, False):
        with native.use_native(enabled):
            results.append(outputs_and_grads(model, packed, None))
    (out_n, states_n, grads_n), (out_p, states_p, grads_p) = results
    torch.testing.assert_close(out_n, out_p, rtol=1e-12, atol=1e-12)
    for a, b in zip([*states_n, *grads_n], [*states_p, *grads_p], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_native_loops_are_used_on_the_cpu():
    need_native()
    assert native.loops_for(torch.zeros(1)) is not None
    assert native.loops_for(torch.zeros(1, dtype=torch.float16)) is None
    with native.use_native(False):
        assert native.loops_for(torch.zeros(1)) is None


# -- LSTM with proj_size: h_t = W_hr (o * tanh(C_t)), h of size P (the autograd path always) --
PROJ = 3  # < H


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("impl,layers,bidirectional,batch_first,with_state", list(itertools.product(
    ["custom", "autograd"], [1, 2], [False, True], [False, True], [False, True])))
def test_proj_size_parity(impl, layers, bidirectional, batch_first, with_state, dtype):
    ref, ours = twins("lstm", impl, dtype, num_layers=layers, bidirectional=bidirectional,
                      batch_first=batch_first, proj_size=PROJ)
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == \
        [(k, v.shape) for k, v in ref.state_dict().items()]
    directions = 2 if bidirectional else 1
    x = torch.randn((B, T, I) if batch_first else (T, B, I), dtype=dtype, requires_grad=True)
    hx = None
    if with_state:
        hx = tuple(torch.randn(layers * directions, B, size, dtype=dtype, requires_grad=True)
                   for size in (PROJ, H))
    compare(ref, ours, x, hx, dtype)
    # and rnnzoo -> torch.nn: new weights in ours, loaded into torch.nn, still equal
    with torch.no_grad():
        for p in ours.parameters():
            p.uniform_(-0.5, 0.5)
    ref.load_state_dict(ours.state_dict())
    compare(ref, ours, x, hx, dtype)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_proj_size_packed_unsorted_parity(bidirectional):
    ref, ours = twins("lstm", "custom", torch.float64, num_layers=2, bidirectional=bidirectional,
                      proj_size=PROJ)
    x = torch.randn(T, B, I, dtype=torch.float64, requires_grad=True)
    packed = pack_padded_sequence(x, torch.tensor([3, 6, 1]), enforce_sorted=False)
    compare(ref, ours, packed, None, torch.float64)
