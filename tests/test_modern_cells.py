"""The modern cells (sLSTM, mLSTM, LRU, RG-LRU, S6): parallel = sequential through the layer
(packed unsorted lengths, both directions, two layers, an initial state) in float64 to 1e-10,
gradcheck of the options the all-cells tests do not reach, sLSTM's stabiliser, and each cell
against its paper's formula written out independently. The all-cells tests (test_cells.py,
test_layers.py, test_dropin.py, learning/test_gradcheck.py) cover them at their defaults too."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence

import rnnzoo
from rnnzoo.cells import LRUCell, MLSTMCell, RGLRUCell, SelectiveSSMCell, SLSTMCell

F64 = torch.float64
I, H, B = 3, 4, 3
PARALLEL = [  # cells with a parallel form, and the options that change its code path
    ("lru", {}), ("lru", {"state_dim": 3}), ("rg_lru", {}), ("s6", {"state_dim": 3}),
    ("mlstm", {}), ("mlstm", {"num_heads": 2, "chunk_size": 4}), ("mlstm", {"chunk_size": None}),
]


def as_tuple(state):
    return state if isinstance(state, tuple) else (state,)


def weighted_loss(out, state):
    """Touches every output and final state entry with distinct weights."""
    weights = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
    return (out * weights).sum() + sum((s * s).sum() for s in as_tuple(state))


@pytest.mark.parametrize("name,options", PARALLEL, ids=lambda v: str(v))
@pytest.mark.parametrize("packed", [False, True])
def test_parallel_equals_sequential(name, options, packed):
    parallel = rnnzoo.build_rnn(name, I, H, num_layers=2, bidirectional=True, dtype=F64, **options)
    sequential = rnnzoo.build_rnn(name, I, H, impl="autograd", num_layers=2, bidirectional=True,
                                  dtype=F64, **options)
    sequential.load_state_dict(parallel.state_dict())
    x = torch.randn(17, B, I, dtype=F64, requires_grad=True)
    lengths = torch.tensor([9, 17, 5])  # unsorted; with chunk_size=4 rows end mid-chunk
    inp = pack_padded_sequence(x, lengths, enforce_sorted=False) if packed else x
    h0 = tuple(torch.randn(4, B, size, dtype=F64) for size in parallel.state_sizes)
    h0 = h0 if len(h0) > 1 else h0[0]
    results = []
    for layer in (parallel, sequential):
        out, state = layer(inp, h0)
        out = out.data if packed else out
        grads = torch.autograd.grad(weighted_loss(out, state), [x, *layer.parameters()],
                                    retain_graph=True)
        results.append((out, as_tuple(state), grads))
    (out_p, state_p, grads_p), (out_s, state_s, grads_s) = results
    assert parallel.cells[0].fast and not sequential.cells[0].fast
    assert len(state_p) == parallel.state_size
    for a, b in zip([out_p, *state_p, *grads_p], [out_s, *state_s, *grads_s], strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


@pytest.mark.parametrize("name,options", [
    ("mlstm", {"num_heads": 2, "chunk_size": 2}), ("mlstm", {"forget_gate": "exp"}),
    ("slstm", {"forget_gate": "exp"}), ("lru", {"state_dim": 2}), ("s6", {"state_dim": 2}),
], ids=lambda v: str(v))
@pytest.mark.parametrize("impl", ["custom", "autograd"])
def test_gradcheck_options(name, options, impl):
    """torch.autograd.gradcheck (float64, fast mode: random projections of the Jacobian) of a
    bidirectional layer over a packed sequence, with respect to the input, the initial state
    and every parameter. The defaults get the full check in test_cells.py."""
    layer = rnnzoo.build_rnn(name, 2, H, impl=impl, bidirectional=True, dtype=F64, **options)
    x = torch.randn(5, 2, 2, dtype=F64, requires_grad=True)
    h0 = [torch.randn(2, 2, s, dtype=F64, requires_grad=True) for s in layer.state_sizes]
    names = [n for n, _ in layer.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in layer.parameters()]

    def run(x, *tensors):
        state, values = tensors[:len(h0)], tensors[len(h0):]
        packed = pack_padded_sequence(x, torch.tensor([3, 5]), enforce_sorted=False)
        hx = state if len(state) > 1 else state[0]
        out, final = torch.func.functional_call(layer, dict(zip(names, values)), (packed, hx))
        return (out.data, *as_tuple(final))

    assert torch.autograd.gradcheck(run, (x, *h0, *params), fast_mode=True)


@pytest.mark.parametrize("name", ["slstm", "mlstm", "lru", "rg_lru", "s6"])
@pytest.mark.parametrize("impl", ["custom", "autograd"])
def test_state_carries_across_calls(name, impl):
    """One call over 10 steps = 6 steps, then 4 from the returned state (every state tensor,
    packed into the layer's H-wide layout, round-trips)."""
    layer = rnnzoo.build_rnn(name, I, H, impl=impl, num_layers=2, dtype=F64, chunk_size=4) \
        if name == "mlstm" else rnnzoo.build_rnn(name, I, H, impl=impl, num_layers=2, dtype=F64)
    x = torch.randn(10, B, I, dtype=F64)
    whole, final = layer(x)
    first, middle = layer(x[:6])
    second, final_2 = layer(x[6:], middle)
    torch.testing.assert_close(torch.cat([first, second]), whole, rtol=0, atol=1e-12)
    for a, b in zip(as_tuple(final_2), as_tuple(final), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


# -- sLSTM ---------------------------------------------------------------------------------
def slstm_pair(**options):
    stable = SLSTMCell(1, 2, dtype=F64, **options)
    plain = SLSTMCell(1, 2, dtype=F64, stabilise=False, **options)
    plain.load_state_dict(stable.state_dict())
    return stable, plain


def run_cell(cell, xs):
    state, states = None, []
    for x_t in xs:
        state = cell(x_t, state)
        states.append(state)
    return states


def test_slstm_stabilised_equals_unstabilised_where_finite():
    stable, plain = slstm_pair()
    with torch.no_grad():  # the input gate's pre-activation grows by 100 a step: exp() overflows
        stable.weight_ih[:2] = 100.0  # at exp(709) in float64, step 8 here
        stable.weight_hh[:2] = 0.0
    plain.load_state_dict(stable.state_dict())
    xs = torch.arange(12, dtype=F64).view(12, 1, 1).expand(12, 3, 1)
    finite_steps = 0
    for (h, c, n, m), (h_u, c_u, n_u, m_u) in zip(run_cell(stable, xs), run_cell(plain, xs)):
        assert torch.isfinite(torch.stack([h, c, n, m])).all()
        assert torch.equal(m_u, torch.zeros_like(m_u))
        if torch.isfinite(torch.stack([h_u, c_u, n_u])).all():
            finite_steps += 1
            torch.testing.assert_close(h, h_u, rtol=1e-12, atol=1e-12)
            # the stabilised state is the plain one scaled by exp(-m_t)
            torch.testing.assert_close(c * torch.exp(m), c_u, rtol=1e-12, atol=0)
            torch.testing.assert_close(n * torch.exp(m), n_u, rtol=1e-12, atol=0)
    assert 5 <= finite_steps < 12  # both regimes were reached


def test_slstm_follows_the_paper():
    cell = SLSTMCell(I, H, dtype=F64)
    x, h, c, n = (torch.randn(B, s, dtype=F64) for s in (I, H, H, H))
    n, m = n.abs() + 0.5, torch.randn(B, H, dtype=F64)
    pre = x @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh
    i_pre, f_pre, z_pre, o_pre = pre.chunk(4, 1)
    m_new = torch.maximum(torch.log(torch.sigmoid(f_pre)) + m, i_pre)
    i, f = torch.exp(i_pre - m_new), torch.exp(torch.log(torch.sigmoid(f_pre)) + m - m_new)
    c_new = f * c + i * torch.tanh(z_pre)
    n_new = f * n + i
    expected = (torch.sigmoid(o_pre) * c_new / n_new, c_new, n_new, m_new)
    for a, b in zip(cell(x, (h, c, n, m)), expected, strict=True):
        torch.testing.assert_close(a, b)


# -- mLSTM ---------------------------------------------------------------------------------
def test_mlstm_recurrence_is_the_unstabilised_textbook_one():
    """C_t = f C + i v k^T, n_t = f n + i k, h = o * C q / max(|n.q|, 1), per head, with
    i = exp(i~) and f = sigmoid(f~) unstabilised, against the cell's stabilised steps."""
    heads, d = 2, H // 2
    cell = MLSTMCell(I, H, num_heads=heads, dtype=F64)
    xs = torch.randn(6, B, I, dtype=F64)
    C, n = torch.zeros(B, heads, d, d, dtype=F64), torch.zeros(B, heads, d, dtype=F64)
    state = None
    for x in xs:
        q, k, v, o = (x @ cell.weight_ih.T + cell.bias_ih).chunk(4, 1)
        q, k, v = (t.view(B, heads, d) for t in (q, k / math.sqrt(d), v))
        i_pre, f_pre = (x @ cell.weight_gate.T + cell.bias_gate).chunk(2, 1)
        i, f = torch.exp(i_pre)[..., None], torch.sigmoid(f_pre)[..., None]
        C = f[..., None] * C + i[..., None] * torch.einsum("bhv,bhk->bhvk", v, k)
        n = f * n + i * k
        denominator = (n * q).sum(-1).abs().clamp_min(1.0)[..., None]
        h = torch.sigmoid(o) * (torch.einsum("bhvk,bhk->bhv", C, q) / denominator).reshape(B, H)
        state = cell(x, state)
        torch.testing.assert_close(state[0], h, rtol=1e-12, atol=1e-12)
        m = state[2].view(B, heads, d)[..., 0]  # the stored state is C, n scaled by exp(-m)
        torch.testing.assert_close(cell._unpack(state)[0] * torch.exp(m)[..., None, None], C)


@pytest.mark.parametrize("chunk_size", [None, 8])
def test_mlstm_parallel_stays_finite_where_exp_overflows(chunk_size):
    """Input-gate pre-activations of +-800 overflow exp() even in float64; the stabiliser
    keeps both forms finite and equal."""
    parallel = MLSTMCell(I, H, num_heads=2, chunk_size=chunk_size, dtype=F64)
    sequential = MLSTMCell(I, H, num_heads=2, fast=False, dtype=F64)
    with torch.no_grad():
        parallel.bias_gate[:2] = torch.tensor([800.0, -800.0])
    sequential.load_state_dict(parallel.state_dict())
    assert torch.isinf(torch.exp(parallel.bias_gate[0]))
    steps = rnnzoo.cells.steps.TimeSteps.full(20, B)
    x = torch.randn(20 * B, I, dtype=F64)
    initial = parallel.initial_state(B, x)
    out_p, final_p = parallel.sequence(x, steps, initial)
    out_s, final_s = sequential.sequence(x, steps, initial)
    assert torch.isfinite(out_p).all() and torch.isfinite(torch.cat(final_p, 1)).all()
    torch.testing.assert_close(out_p, out_s, rtol=1e-9, atol=1e-12)
    for a, b in zip(final_p, final_s, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("fast", [True, False])
def test_mlstm_gradients_stay_finite_when_the_stabiliser_goes_far_negative(fast):
    """Input and forget pre-activations of -300 drive m_t to about -300 in float32, where
    exp(-m_t) is inf: uncapped, h_t was 0 and its gradient 0 * inf = NaN (what lr 0.03 on
    selective copying reached in 11 steps)."""
    cell = MLSTMCell(I, H, num_heads=2, chunk_size=4, fast=fast)
    with torch.no_grad():
        cell.bias_gate[:] = -300.0  # i~ and f~ of both heads
    steps = rnnzoo.cells.steps.TimeSteps.full(6, B)
    x = torch.randn(6 * B, I, requires_grad=True)
    out, final = cell.sequence(x, steps, cell.initial_state(B, x))
    assert (final[2] < -88).all()  # m_T: past where exp(-m) overflows float32
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in cell.parameters())


# -- LRU and RG-LRU --------------------------------------------------------------------------

def test_rg_lru_gradients_stay_finite_where_a_reaches_one():
    """r_t = σ(-200) = 0 in float32 makes a_t = 1 and sqrt(1 - a_t^2) = 0, whose derivative is
    infinite: capped (as Griffin's code caps it), the gradient stays finite."""
    from rnnzoo.cells.lru import SqrtBoundedGrad

    cell = RGLRUCell(I, H)
    with torch.no_grad():
        cell.bias_ih[:H] = -200.0  # the recurrence gate's pre-activation
    x = torch.randn(5, I, requires_grad=True)
    a, write = cell.coefficients(cell.project_input(x))
    assert (a == 1).all()
    write.sum().backward()
    assert torch.isfinite(x.grad).all() and all(torch.isfinite(p.grad).all() for p in cell.parameters())
    # above the cap's floor the derivative is sqrt's own, in float64
    u = torch.linspace(1e-3, 1.0, 7, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(SqrtBoundedGrad.apply, (u,))
    zero = torch.zeros(1, dtype=F64, requires_grad=True)
    (slope,) = torch.autograd.grad(SqrtBoundedGrad.apply(zero).sum(), zero)
    assert slope.item() == pytest.approx(SqrtBoundedGrad.max_grad)  # sqrt's own is inf at 0



def test_lru_ring_initialisation():
    cell = LRUCell(I, 256, r_min=0.4, r_max=0.9, max_phase=math.pi / 10, dtype=F64)
    lam = cell.eigenvalues()
    assert lam.abs().min() >= 0.4 and lam.abs().max() <= 0.9
    assert lam.abs().min() < 0.45 and lam.abs().max() > 0.85  # spread over the ring
    assert lam.angle().min() >= 0 and lam.angle().max() <= math.pi / 10
    torch.testing.assert_close(torch.exp(cell.gamma_log), torch.sqrt(1 - lam.abs() ** 2))


def test_lru_follows_the_paper():
    cell = LRUCell(I, H, state_dim=5, dtype=F64)
    x, y = torch.randn(B, I, dtype=F64), torch.randn(B, H, dtype=F64)
    h_prev = torch.randn(B, 5, dtype=torch.complex128)
    lam = torch.exp(-torch.exp(cell.nu_log) + 1j * torch.exp(cell.theta_log))
    B_, C_ = cell.B_re + 1j * cell.B_im, cell.C_re + 1j * cell.C_im
    h = lam * h_prev + torch.exp(cell.gamma_log) * (x.to(B_.dtype) @ B_.T)
    expected_y = (h @ C_.T).real + x @ cell.D.T
    out_y, h_re, h_im = cell(x, (y, h_prev.real, h_prev.imag))
    torch.testing.assert_close(out_y, expected_y)
    torch.testing.assert_close(torch.complex(h_re, h_im), h)


def test_rg_lru_follows_griffin():
    cell = RGLRUCell(I, H, dtype=F64)
    a_to_the_c = torch.sigmoid(RGLRUCell(I, 512).a_logit) ** 8
    assert 0.9 <= a_to_the_c.min() and a_to_the_c.max() <= 0.999 and a_to_the_c.std() > 0.02
    x, h = torch.randn(B, I, dtype=F64), torch.randn(B, H, dtype=F64)
    gate_a, gate_x, x_in = (x @ cell.weight_ih.T + cell.bias_ih).chunk(3, 1)
    a = torch.sigmoid(cell.a_logit) ** (8 * torch.sigmoid(gate_a))
    expected = a * h + torch.sqrt(1 - a ** 2) * (torch.sigmoid(gate_x) * x_in)
    torch.testing.assert_close(cell(x, h), expected)


# -- S6 ------------------------------------------------------------------------------------------
def test_s6_zero_order_hold_is_the_matrix_exponential():
    """exp([[ΔA, ΔB], [0, 0]]) = [[Ā, B̄], [0, 1]]: the ZOH discretisation of one channel,
    computed by torch.linalg.matrix_exp independently of the cell's closed form."""
    N = 4
    cell = SelectiveSSMCell(I, H, state_dim=N, dtype=F64)
    with torch.no_grad():
        cell.A_log.add_(0.3 * torch.randn(H, N, dtype=F64))
    delta, B_t = torch.rand(1, H, dtype=F64) + 0.05, torch.randn(1, N, dtype=F64)
    A_bar, B_bar = cell.discretise(delta, B_t)
    A = -torch.exp(cell.A_log)
    for d in range(H):
        block = torch.zeros(N + 1, N + 1, dtype=F64)
        block[:N, :N] = torch.diag(delta[0, d] * A[d])
        block[:N, N] = delta[0, d] * B_t[0]
        exact = torch.linalg.matrix_exp(block)
        torch.testing.assert_close(A_bar[0, d], torch.diagonal(exact)[:N])
        torch.testing.assert_close(B_bar[0, d], exact[:N, N])


def test_s6_follows_mamba():
    N = 3
    cell = SelectiveSSMCell(I, H, state_dim=N, dt_min=0.01, dt_max=0.05, dtype=F64)
    torch.testing.assert_close(-torch.exp(cell.A_log[1]), -torch.arange(1.0, N + 1, dtype=F64))
    dt = F.softplus(cell.bias_ih[H:])
    assert 0.01 - 1e-12 <= dt.min() and dt.max() <= 0.05 + 1e-12
    x = torch.randn(B, I, dtype=F64)
    h_prev = torch.randn(B, H, N, dtype=F64)
    u, delta_pre = (x @ cell.weight_ih.T + cell.bias_ih).chunk(2, 1)
    B_t, C_t = (x @ cell.weight_bc.T).chunk(2, 1)
    delta_A = F.softplus(delta_pre)[..., None] * -torch.exp(cell.A_log)
    h = torch.exp(delta_A) * h_prev + \
        (torch.exp(delta_A) - 1) / -torch.exp(cell.A_log) * B_t[:, None] * u[..., None]
    expected = torch.einsum("bhn,bn->bh", h, C_t) + cell.D * u
    out = cell(x, (torch.zeros(B, H, dtype=F64), *h_prev.unbind(-1)))
    torch.testing.assert_close(out[0], expected)
    torch.testing.assert_close(torch.stack(out[1:], -1), h)
