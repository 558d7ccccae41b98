"""rnnzoo.RNN / LSTM / GRU as drop-ins for torch.nn's, probe by probe, each against torch.nn
with the same weights: empty batches, proj_size, parametrizations (weight_norm, spectral_norm,
register_parametrization) and assigned weights (WeightDrop), argument and dtype checks, autocast.
"""
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrizations, parametrize
from torch.nn.utils.rnn import pack_padded_sequence

import rnnzoo
from rnnzoo.cells import CELLS

B, T, I, H, P = 4, 10, 8, 16, 4
LAYERS = {"RNN": (rnnzoo.RNN, nn.RNN), "LSTM": (rnnzoo.LSTM, nn.LSTM), "GRU": (rnnzoo.GRU, nn.GRU)}
KINDS = list(LAYERS)


def twins(kind, **kw):
    ours_cls, ref_cls = LAYERS[kind]
    ref = ref_cls(I, H, **kw)
    ours = ours_cls(I, H, **kw)
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def flat(result):
    """(output, states...) as a list of tensors (a PackedSequence output as its data)."""
    out, state = result
    out = out.data if hasattr(out, "batch_sizes") else out
    return [out, *(state if isinstance(state, tuple) else (state,))]


def assert_same(ours, ref, **tol):
    for a, b in zip(flat(ours), flat(ref), strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, a.dtype, b.shape, b.dtype)
        torch.testing.assert_close(a, b, **tol)


def grads(model, result, extra=()):
    tensors = flat(result)
    loss = sum((t.float() * torch.linspace(-1, 1, t.numel()).view_as(t)).sum() for t in tensors)
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.autograd.grad(loss, [*extra, *params], allow_unused=True)


# -- empty batch, empty sequence ---------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("batch_first", [True, False])
def test_empty_batch_matches_torch(kind, batch_first):
    ref, ours = twins(kind, num_layers=2, bidirectional=True, batch_first=batch_first)
    x = torch.randn((0, T, I) if batch_first else (T, 0, I), requires_grad=True)
    assert_same(ours(x), ref(x))
    out, state = ours(x)
    assert out.shape == ((0, T, 2 * H) if batch_first else (T, 0, 2 * H))
    for s in flat((out, state))[1:]:
        assert s.shape == (4, 0, H)
    # an initial state of zero rows is accepted, and gradients (zero) flow as in torch.nn
    hx = torch.zeros(4, 0, H)
    hx = (hx, hx) if kind == "LSTM" else hx
    assert_same(ours(x, hx), ref(x, hx))
    for a, b in zip(grads(ours, ours(x), [x]), grads(ref, ref(x), [x]), strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("name", sorted(CELLS))
def test_empty_batch_every_cell(name):
    layer = rnnzoo.build_rnn(name, I, H, num_layers=2, bidirectional=True, batch_first=True)
    x = torch.randn(0, T, I, requires_grad=True)
    out, state = layer(x)
    assert out.shape == (0, T, 2 * H)
    for s in flat((out, state))[1:]:
        assert s.shape == (4, 0, H)
    out.sum().backward()
    assert x.grad.shape == x.shape


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", [(B, 0, I), (0, I)], ids=["batched", "unbatched"])
def test_empty_sequence_is_refused_as_torch_refuses_it(kind, shape):
    ref, ours = twins(kind, batch_first=True)
    x = torch.randn(shape)
    with pytest.raises(RuntimeError) as theirs:
        ref(x)
    with pytest.raises(RuntimeError) as mine:
        ours(x)
    assert str(mine.value) == str(theirs.value)  # "Expected sequence length to be larger than 0 in RNN"


# -- proj_size ---------------------------------------------------------------------------------
def test_proj_size_matches_torch():
    ref, ours = twins("LSTM", num_layers=2, bidirectional=True, batch_first=True, proj_size=P)
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == \
        [(k, v.shape) for k, v in ref.state_dict().items()]
    assert ours.weight_hr_l1_reverse.shape == (P, H) and ours.weight_hh_l1.shape == (4 * H, P)
    x = torch.randn(B, T, I, requires_grad=True)
    assert_same(ours(x), ref(x))
    out, (h, c) = ours(x)
    assert out.shape == (B, T, 2 * P) and h.shape == (4, B, P) and c.shape == (4, B, H)
    for a, b in zip(grads(ours, ours(x), [x]), grads(ref, ref(x), [x]), strict=True):
        torch.testing.assert_close(a, b)
    # the builder passes proj_size to both twins
    assert rnnzoo.build_rnn("lstm", I, H, impl="torch", proj_size=P).proj_size == P
    assert isinstance(rnnzoo.build_rnn("lstm", I, H, proj_size=P), rnnzoo.LSTM)


@pytest.mark.parametrize("proj_size", [H, H + 1, -1, 4.0, True])
def test_bad_proj_size_is_refused_as_torch_refuses_it(proj_size):
    with pytest.raises(Exception) as theirs:
        nn.LSTM(I, H, proj_size=proj_size)
    with pytest.raises(type(theirs.value), match="proj_size"):
        rnnzoo.LSTM(I, H, proj_size=proj_size)


def test_init_schemes_cover_the_projection():
    for model in (rnnzoo.LSTM(I, H, 2, proj_size=P), nn.LSTM(I, H, 2, proj_size=P)):
        rnnzoo.initialize(model, "orthogonal", forget_bias=1.0)
        w = model.weight_hr_l1.detach()
        torch.testing.assert_close(w @ w.T, torch.eye(P), atol=1e-5, rtol=0)
        rnnzoo.initialize(model, "identity")
        assert torch.equal(model.weight_hr_l0.detach(), torch.eye(P, H))


# -- the layer owns its weights: parametrizations and assignment -------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_weight_norm_matches_torch(kind):
    ref, ours = twins(kind, num_layers=2, bidirectional=True, batch_first=True)
    for model in (ref, ours):
        parametrizations.weight_norm(model, "weight_hh_l0")
        parametrizations.weight_norm(model, "weight_ih_l1_reverse", dim=1)
    assert list(ours.state_dict()) == list(ref.state_dict())
    with torch.no_grad():  # a gain other than the weight's own norm, so the norm matters
        for model in (ref, ours):
            model.parametrizations.weight_hh_l0.original0.mul_(0.5)
    x = torch.randn(B, T, I, requires_grad=True)
    assert_same(ours(x), ref(x))
    for a, b in zip(grads(ours, ours(x), [x]), grads(ref, ref(x), [x]), strict=True):
        torch.testing.assert_close(a, b)
    ref.load_state_dict(ours.state_dict())  # and parametrized state_dicts load both ways
    ours.load_state_dict(ref.state_dict())


@pytest.mark.parametrize("kind", KINDS)
def test_spectral_norm_matches_torch(kind):
    ref, ours = twins(kind, batch_first=True)
    for model in (ref, ours):
        parametrizations.spectral_norm(model, "weight_hh_l0")
    with torch.no_grad():  # a raw weight far from spectral norm 1
        ref.parametrizations.weight_hh_l0.original.mul_(3)
    ours.load_state_dict(ref.state_dict())  # the same weights and power-iteration vectors u, v
    ref.eval(), ours.eval()
    x = torch.randn(B, T, I)
    assert_same(ours(x), ref(x))
    raw = ours.parametrizations.weight_hh_l0.original.detach()
    assert torch.linalg.matrix_norm(raw, 2) > 2
    assert torch.linalg.matrix_norm(ours.weight_hh_l0.detach(), 2) == pytest.approx(1.0, abs=0.02)


def test_register_parametrization_matches_torch():
    class Symmetric(nn.Module):
        def forward(self, w):
            return w.triu() + w.triu(1).T

    ref, ours = twins("RNN", num_layers=2)
    for model in (ref, ours):
        parametrize.register_parametrization(model, "weight_hh_l1", Symmetric())
    x = torch.randn(T, B, I, requires_grad=True)
    assert_same(ours(x), ref(x))
    for a, b in zip(grads(ours, ours(x), [x]), grads(ref, ref(x), [x]), strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("kind", KINDS)
def test_weight_drop_assignment_matches_torch(kind):
    """AWD-LSTM's WeightDrop: the raw weight kept elsewhere, a dropped copy assigned per call."""
    ref, ours = twins(kind, batch_first=True)
    raw = nn.Parameter(ref.weight_hh_l0.detach().clone())
    mask = (torch.rand_like(raw) > 0.5).float() / 0.5
    for model in (ref, ours):
        del model.weight_hh_l0
        model.weight_hh_l0 = raw * mask  # a plain tensor, rebuilt each step in real use
    x = torch.randn(B, T, I)
    assert_same(ours(x), ref(x))
    (g_ours,) = torch.autograd.grad(flat(ours(x))[0].sum(), raw)
    (g_ref,) = torch.autograd.grad(flat(ref(x))[0].sum(), raw)
    torch.testing.assert_close(g_ours, g_ref)
    # and assigning a new Parameter replaces the old one for the forward and for state_dict
    for model in (ref, ours):
        model.weight_ih_l0 = nn.Parameter(torch.full_like(model.weight_ih_l0, 0.01))
    assert_same(ours(x), ref(x))
    assert torch.equal(ours.state_dict()["weight_ih_l0"], torch.full_like(ours.weight_ih_l0, 0.01))


def test_extra_cell_weights_are_the_layers_and_parametrizable():
    """An extra cell's weights through build_rnn: the peephole LSTM with its peepholes at zero
    is torch.nn.LSTM, weight_norm and all; a parametrized peephole weight changes the output."""
    ref = nn.LSTM(I, H, num_layers=2, batch_first=True)
    ours = rnnzoo.build_rnn("peephole_lstm", I, H, num_layers=2, batch_first=True)
    ours.load_state_dict(ref.state_dict(), strict=False)
    names = [n for n, _ in ours.named_parameters()]
    assert names[:5] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_peephole_l0"]
    with torch.no_grad():
        for layer in range(2):
            getattr(ours, f"weight_peephole_l{layer}").zero_()
    for model in (ref, ours):
        parametrizations.weight_norm(model, "weight_hh_l1")
        with torch.no_grad():
            model.parametrizations.weight_hh_l1.original0.mul_(0.5)
    x = torch.randn(B, T, I)
    assert_same(ours(x), ref(x))
    parametrize.register_parametrization(ours, "weight_peephole_l0", _AddOne())
    assert not torch.allclose(ours(x)[0], ref(x)[0])


class _AddOne(nn.Module):
    def forward(self, w):
        return w + 1


# -- arguments and dtypes ----------------------------------------------------------------------
BAD_ARGUMENTS = [
    dict(hidden_size=16.0), dict(input_size=8.0), dict(num_layers=2.0), dict(hidden_size=0),
    dict(input_size=-1), dict(num_layers=0), dict(dropout=1.5), dict(dropout="0.1"),
    dict(dropout=True), dict(batch_first="False"), dict(bias=1.5), dict(bias=1),
    dict(hidden_size=torch.tensor(3)),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("bad", BAD_ARGUMENTS, ids=lambda kw: "-".join(f"{k}={v!r}" for k, v in kw.items()))
def test_bad_arguments_raise_torchs_exception_type(kind, bad):
    ours_cls, ref_cls = LAYERS[kind]
    args = {"input_size": I, "hidden_size": H, **bad}
    with pytest.raises(Exception) as theirs:
        ref_cls(**args)
    (name,) = bad
    with pytest.raises(type(theirs.value), match=name):  # the message names the argument
        ours_cls(**args)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name,value", [("bidirectional", "yes"), ("bidirectional", 1),
                                        ("batch_first", "False"), ("bias", 1.5)])
def test_booleans_are_checked_as_booleans(kind, name, value):
    """torch.nn lets bidirectional="yes" through (as True); rnnzoo refuses it like bias."""
    with pytest.raises(TypeError, match=f"{name} should be of type bool, got: {type(value).__name__}"):
        LAYERS[kind][0](I, H, **{name: value})


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", [torch.float64, torch.int64, torch.float16])
def test_wrong_input_dtype_is_one_clear_message(kind, dtype):
    ref, ours = twins(kind)
    x = torch.randn(T, B, I).to(dtype)
    with pytest.raises(ValueError) as theirs:
        ref(x)
    with pytest.raises(ValueError) as mine:
        ours(x)
    wording = f"input dtype ({dtype}) does not match weight dtype (torch.float32)"
    assert wording in str(theirs.value) and wording in str(mine.value)
    assert f"input.to(torch.float32)" in str(mine.value)


# -- autocast ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("inputs", ["dense", "unbatched", "packed", "bf16", "empty"])
def test_autocast_bf16_dtypes_follow_torch(kind, inputs):
    ref, ours = twins(kind, num_layers=2, bidirectional=True, batch_first=True)
    x = torch.randn(B, T, I)
    if inputs == "unbatched":
        x = x[0]
    elif inputs == "packed":
        x = pack_padded_sequence(x, torch.tensor([T, 3, 7, 1]), batch_first=True, enforce_sorted=False)
    elif inputs == "bf16":
        x = x.bfloat16()
    elif inputs == "empty":
        x = x[:0]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        expected, got = ref(x), ours(x)
    # same dtypes and shapes; values within bfloat16's precision (8 bits of mantissa)
    assert_same(got, expected, rtol=0, atol=6e-2)
    # torch.nn on the CPU: RNN always in bfloat16; LSTM in bfloat16 where oneDNN runs it
    # (padded, non-empty); GRU, and LSTM otherwise, in the input's dtype
    lower = kind == "RNN" or inputs == "bf16" or (kind == "LSTM" and inputs in ("dense", "unbatched"))
    assert {t.dtype for t in flat(got)} == {torch.bfloat16 if lower else torch.float32}
    # gradients reach the float32 parameters in float32
    if inputs != "empty":
        for g in grads(ours, got):
            assert g is None or g.dtype == torch.float32


def test_autocast_extra_cells_run_in_the_autocast_dtype():
    layer = rnnzoo.build_rnn("min_gru", I, H, num_layers=2, batch_first=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, h = layer(torch.randn(B, T, I))
    assert out.dtype == h.dtype == torch.bfloat16
    reference = layer(torch.randn(0, T, I))[0]  # outside autocast: float32 again
    assert reference.dtype == torch.float32
