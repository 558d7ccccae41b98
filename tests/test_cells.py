"""Single cells: torch.nn parity for the core cells, the equations for the extras, gradcheck."""
import pytest
import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence

import rnnzoo
from rnnzoo.cells import CELLS
from rnnzoo.cells.steps import TimeSteps

I, H, B = 3, 4, 2
F64 = torch.float64


@pytest.mark.parametrize("name,reference", [
    ("rnn_tanh", lambda: torch.nn.RNNCell(I, H, nonlinearity="tanh", dtype=F64)),
    ("rnn_relu", lambda: torch.nn.RNNCell(I, H, nonlinearity="relu", dtype=F64)),
    ("lstm", lambda: torch.nn.LSTMCell(I, H, dtype=F64)),
    ("gru", lambda: torch.nn.GRUCell(I, H, dtype=F64)),
])
@pytest.mark.parametrize("batched", [True, False])
def test_cell_step_matches_torch_cell(name, reference, batched):
    ref = reference()
    cell = CELLS[name](I, H, dtype=F64)
    cell.load_state_dict(ref.state_dict())  # the same names as torch.nn.*Cell
    x = torch.randn(B, I, dtype=F64) if batched else torch.randn(I, dtype=F64)
    hx = None
    for _ in range(3):  # feed the state back, as a user's loop would
        out, ref_out = cell(x, hx), ref(x, hx)
        for a, b in zip(*(o if isinstance(o, tuple) else (o,) for o in (out, ref_out))):
            torch.testing.assert_close(a, b)
        hx = ref_out


class BothDirections(torch.nn.Module):
    """A cell run over one packed sequence forward and backward in time."""

    def __init__(self, cell, steps):
        super().__init__()
        self.cell, self.steps = cell, steps

    def forward(self, x, *state):
        results = []
        for direction in (self.steps, self.steps.flipped()):
            out, final = self.cell.sequence(x, direction, state)
            results += [out, *final]
        return tuple(results)


@pytest.mark.parametrize("name", sorted(CELLS))
@pytest.mark.parametrize("fast", [True, False])
def test_gradcheck_sequence(name, fast):
    """gradcheck in float64 through a packed, variable-length sequence in both directions,
    with respect to the input, the initial state and every parameter."""
    cell = CELLS[name](I, H, dtype=F64, fast=fast)
    runner = BothDirections(cell, TimeSteps([2, 2, 1]))
    x = torch.randn(5, I, dtype=F64, requires_grad=True)
    initial = [torch.randn(B, H, dtype=F64, requires_grad=True) for _ in range(cell.state_size)]
    names = [f"cell.{n}" for n, _ in cell.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in cell.parameters()]

    def run(x, *tensors):
        state, values = tensors[: cell.state_size], tensors[cell.state_size :]
        return torch.func.functional_call(runner, dict(zip(names, values)), (x, *state))

    assert torch.autograd.gradcheck(run, (x, *initial, *params))


@pytest.mark.parametrize("name", ["min_gru", "min_lstm"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("packed", [False, True])
def test_minimal_cells_parallel_equals_sequential(name, bidirectional, packed):
    parallel = rnnzoo.build_rnn(name, I, H, num_layers=2, bidirectional=bidirectional, dtype=F64)
    sequential = rnnzoo.build_rnn(name, I, H, impl="autograd", num_layers=2,
                                  bidirectional=bidirectional, dtype=F64)
    sequential.load_state_dict(parallel.state_dict())
    x = torch.randn(37, 3, I, dtype=F64, requires_grad=True)
    inp = pack_padded_sequence(x, torch.tensor([20, 37, 5]), enforce_sorted=False) if packed else x
    h0 = torch.randn(2 * (2 if bidirectional else 1), 3, H, dtype=F64)
    out_p, h_p = parallel(inp, h0)
    out_s, h_s = sequential(inp, h0)
    out_p, out_s = (o.data if packed else o for o in (out_p, out_s))
    torch.testing.assert_close(out_p, out_s)
    torch.testing.assert_close(h_p, h_s)
    g_p = torch.autograd.grad(out_p.sum() + h_p.sum(), [x, *parallel.parameters()], retain_graph=True)
    g_s = torch.autograd.grad(out_s.sum() + h_s.sum(), [x, *sequential.parameters()])
    for a, b in zip(g_p, g_s):
        torch.testing.assert_close(a, b)


def test_reset_before_gru_follows_the_texts():
    """h~ = tanh(W [r * h, x]) and h = (1 - z) h + z h~, with W split as torch stores it."""
    cell = rnnzoo.cells.GRUResetBeforeCell(I, H, bias=False, dtype=F64)
    x, h = torch.randn(B, I, dtype=F64), torch.randn(B, H, dtype=F64)
    w_r, w_z, w_n = (torch.cat([wh, wi], 1) for wh, wi in
                     zip(cell.weight_hh.split(H), cell.weight_ih.split(H)))
    r = torch.sigmoid(torch.cat([h, x], 1) @ w_r.T)
    z = torch.sigmoid(torch.cat([h, x], 1) @ w_z.T)
    h_tilde = torch.tanh(torch.cat([r * h, x], 1) @ w_n.T)
    torch.testing.assert_close(cell(x, h), (1 - z) * h + z * h_tilde)
    # and it is a different function from torch's reset-after GRU with the same weights
    after = rnnzoo.cells.GRUCell(I, H, bias=False, dtype=F64)
    after.load_state_dict(cell.state_dict())
    assert not torch.allclose(after(x, h), cell(x, h))


def test_peephole_lstm_with_zero_peepholes_is_the_lstm():
    ref = torch.nn.LSTMCell(I, H, dtype=F64)
    cell = rnnzoo.cells.PeepholeLSTMCell(I, H, dtype=F64)
    missing = cell.load_state_dict(ref.state_dict(), strict=False).missing_keys
    assert missing == ["weight_peephole"]
    x, h, c = (torch.randn(B, n, dtype=F64) for n in (I, H, H))
    torch.nn.init.zeros_(cell.weight_peephole)
    for a, b in zip(cell(x, (h, c)), ref(x, (h, c))):
        torch.testing.assert_close(a, b)
    torch.nn.init.ones_(cell.weight_peephole)
    assert not torch.allclose(cell(x, (h, c))[0], ref(x, (h, c))[0])


def test_peephole_output_gate_sees_the_new_cell_state():
    cell = rnnzoo.cells.PeepholeLSTMCell(I, H, dtype=F64)
    x, h, c = (torch.randn(B, n, dtype=F64) for n in (I, H, H))
    i, f, g, o = (x @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh).chunk(4, 1)
    p_i, p_f, p_o = cell.weight_peephole
    c_new = torch.sigmoid(f + p_f * c) * c + torch.sigmoid(i + p_i * c) * torch.tanh(g)
    h_new = torch.sigmoid(o + p_o * c_new) * torch.tanh(c_new)
    out_h, out_c = cell(x, (h, c))
    torch.testing.assert_close(out_c, c_new)
    torch.testing.assert_close(out_h, h_new)


def test_layernorm_lstm_follows_ba_et_al():
    cell = rnnzoo.cells.LayerNormLSTMCell(I, H, dtype=F64)
    with torch.no_grad():
        for p in cell.parameters():
            p.uniform_(-1, 1)  # non-trivial gains and biases
    x, h, c = (torch.randn(B, n, dtype=F64) for n in (I, H, H))

    def ln(a, name):
        normed = (a - a.mean(-1, keepdim=True)) / torch.sqrt(a.var(-1, unbiased=False, keepdim=True) + 1e-5)
        return normed * getattr(cell, name + "_weight") + getattr(cell, name + "_bias")

    gates = ln(x @ cell.weight_ih.T, "ln_ih") + ln(h @ cell.weight_hh.T, "ln_hh")
    i, f, g, o = gates.chunk(4, 1)
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_new = torch.sigmoid(o) * torch.tanh(ln(c_new, "ln_cell"))
    out_h, out_c = cell(x, (h, c))
    torch.testing.assert_close(out_c, c_new)
    torch.testing.assert_close(out_h, h_new)


def test_indrnn_is_elementwise_recurrent():
    cell = rnnzoo.cells.IndRNNCell(I, H, dtype=F64)
    assert cell.weight_hh.shape == (H,)
    x, h = torch.randn(B, I, dtype=F64), torch.randn(B, H, dtype=F64)
    expected = torch.relu(x @ cell.weight_ih.T + cell.bias_ih + cell.weight_hh * h)
    torch.testing.assert_close(cell(x, h), expected)


@pytest.mark.parametrize("name", ["min_gru", "min_lstm"])
def test_minimal_cells_follow_the_paper(name):
    cell = CELLS[name](I, H, dtype=F64)
    x, h = torch.randn(B, I, dtype=F64), torch.randn(B, H, dtype=F64)
    blocks = (x @ cell.weight_ih.T + cell.bias_ih).chunk(cell.blocks, 1)
    if name == "min_gru":
        z = torch.sigmoid(blocks[0])
        expected = (1 - z) * h + z * blocks[1]
    else:
        f, i = torch.sigmoid(blocks[0]), torch.sigmoid(blocks[1])
        expected = f / (f + i) * h + i / (f + i) * blocks[2]
    torch.testing.assert_close(cell(x, h), expected)


@pytest.mark.parametrize("name", sorted(CELLS))
def test_bias_false_has_no_bias(name):
    cell = CELLS[name](I, H, bias=False)
    assert not [n for n, _ in cell.named_parameters() if "bias" in n]
    layer = rnnzoo.build_rnn(name, I, H, bias=False, num_layers=2, bidirectional=True)
    out, _ = layer(torch.randn(5, B, I))
    assert out.shape == (5, B, 2 * H)


def test_rnn_sigmoid_cell():
    cell = CELLS["rnn_sigmoid"](I, H, dtype=F64)
    x, h = torch.randn(B, I, dtype=F64), torch.randn(B, H, dtype=F64)
    expected = torch.sigmoid(F.linear(x, cell.weight_ih, cell.bias_ih) + F.linear(h, cell.weight_hh, cell.bias_hh))
    torch.testing.assert_close(cell(x, h), expected)
