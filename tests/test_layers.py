"""The drop-in layers' interface: weights, dropout, state, errors, the builder, init schemes."""
import copy
import pickle
import subprocess
import sys

import pytest
import torch

import rnnzoo
from rnnzoo.cells import CELLS

I, H = 8, 16


@pytest.mark.parametrize("ours,theirs,kw", [
    (rnnzoo.LSTM, torch.nn.LSTM, dict(num_layers=2, bidirectional=True)),
    (rnnzoo.GRU, torch.nn.GRU, dict(num_layers=3, bias=False)),
    (rnnzoo.RNN, torch.nn.RNN, dict(num_layers=2, nonlinearity="relu", batch_first=True)),
])
def test_state_dict_keys_shapes_and_both_directions(ours, theirs, kw):
    mine, ref = ours(I, H, **kw), theirs(I, H, **kw)
    ours_sd, ref_sd = mine.state_dict(), ref.state_dict()
    assert list(ours_sd) == list(ref_sd)  # same keys, same order
    assert all(ours_sd[k].shape == ref_sd[k].shape for k in ref_sd)
    mine.load_state_dict(ref_sd)  # torch -> rnnzoo
    assert all(torch.equal(mine.state_dict()[k], ref_sd[k]) for k in ref_sd)
    torch.nn.init.constant_(mine.weight_hh_l0, 0.5)
    ref.load_state_dict(mine.state_dict())  # rnnzoo -> torch
    assert torch.equal(ref.weight_hh_l0, torch.full_like(ref.weight_hh_l0, 0.5))


def test_done_when_command():
    """The issue's acceptance one-liner, run as a user would."""
    code = ("import rnnzoo, torch; m = rnnzoo.LSTM(8, 16, num_layers=2, bidirectional=True); "
            "m.load_state_dict(torch.nn.LSTM(8, 16, num_layers=2, bidirectional=True).state_dict())")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_nested_module_state_dict_and_attributes():
    class Net(torch.nn.Module):
        def __init__(self, rnn):
            super().__init__()
            self.rnn, self.head = rnn, torch.nn.Linear(H, 2)

    ref, mine = Net(torch.nn.GRU(I, H, num_layers=2)), Net(rnnzoo.GRU(I, H, num_layers=2))
    mine.load_state_dict(ref.state_dict())
    assert list(mine.state_dict()) == list(ref.state_dict())
    # the layer owns the weights, as torch.nn's does; its cells hold none of their own
    assert mine.rnn.weight_ih_l1 is dict(mine.rnn.named_parameters(recurse=False))["weight_ih_l1"]
    assert mine.rnn.cell_weights(1)["weight_ih"] is mine.rnn.weight_ih_l1
    assert not list(mine.rnn.cells.parameters())
    assert [p.shape for p in mine.rnn.all_weights[1]] == [p.shape for p in ref.rnn.all_weights[1]]
    with pytest.raises(AttributeError):
        mine.rnn.weight_ih_l7


def test_missing_and_unexpected_keys_are_reported():
    mine = rnnzoo.LSTM(I, H)
    with pytest.raises(RuntimeError, match='"bias_ih_l0"'):
        mine.load_state_dict(torch.nn.LSTM(I, H, bias=False).state_dict())
    with pytest.raises(RuntimeError, match="weight_ih_l1"):
        mine.load_state_dict(torch.nn.LSTM(I, H, num_layers=2).state_dict())


def test_copy_pickle_and_dtype_moves_keep_working():
    model = rnnzoo.LSTM(I, H, num_layers=2)
    x = torch.randn(5, 3, I)
    expected = model(x)[0]
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        torch.testing.assert_close(clone(x)[0], expected)
    double = copy.deepcopy(model).double()
    assert double.weight_ih_l0.dtype == torch.float64
    torch.testing.assert_close(double(x.double())[0].float(), expected)


@pytest.mark.parametrize("impl", ["custom", "autograd"])
def test_dropout_between_layers_only_in_train_mode(impl):
    torch.manual_seed(0)
    ref = torch.nn.LSTM(I, H, num_layers=3, dropout=0.5)
    mine = rnnzoo.build_rnn("lstm", I, H, impl=impl, num_layers=3, dropout=0.5)
    mine.load_state_dict(ref.state_dict())
    x = torch.randn(6, 4, I)
    mine.eval(), ref.eval()
    torch.testing.assert_close(mine(x)[0], ref(x)[0])  # eval: no dropout, exact parity
    assert torch.equal(mine(x)[0], mine(x)[0])
    mine.train()
    a, b = mine(x)[0], mine(x)[0]
    assert not torch.allclose(a, b)  # train: a fresh mask each call
    single = rnnzoo.build_rnn("lstm", I, H, impl=impl, num_layers=1)
    with pytest.warns(UserWarning, match="dropout"):
        rnnzoo.build_rnn("lstm", I, H, impl=impl, dropout=0.5)
    single.train()
    assert torch.equal(single(x)[0], single(x)[0])


def test_initial_state_changes_the_output_and_is_checked():
    model = rnnzoo.GRU(I, H, num_layers=2)
    x = torch.randn(5, 3, I)
    h0 = torch.randn(2, 3, H)
    assert not torch.allclose(model(x)[0], model(x, h0)[0])
    with pytest.raises(RuntimeError, match="Expected hidden"):
        model(x, torch.randn(1, 3, H))
    with pytest.raises(ValueError, match=r"\(h_0, c_0\)"):
        rnnzoo.LSTM(I, H)(x, torch.randn(1, 3, H))


def test_bad_constructor_arguments_are_refused_clearly():
    # the exception types are torch.nn's (tests/test_dropin.py checks them against torch.nn)
    with pytest.raises(ValueError, match="proj_size"):
        rnnzoo.LSTM(I, H, proj_size=H)
    with pytest.raises(ValueError, match="proj_size"):
        rnnzoo.LSTM(I, H, proj_size=-1)
    with pytest.raises(ValueError, match="hidden_size"):
        rnnzoo.GRU(I, 0)
    with pytest.raises(TypeError, match="hidden_size"):
        rnnzoo.GRU(I, 16.0)
    with pytest.raises(ValueError, match="dropout"):
        rnnzoo.RNN(I, H, num_layers=2, dropout=1.5)
    with pytest.raises(ValueError, match="nonlinearity"):
        rnnzoo.RNN(I, H, nonlinearity="gelu")
    with pytest.raises(RuntimeError, match="input_size"):
        rnnzoo.LSTM(I, H)(torch.randn(5, 2, I + 1))


def test_positional_arguments_follow_torch():
    # torch.nn.RNN(input_size, hidden_size, num_layers, nonlinearity, bias, batch_first, dropout, bidirectional)
    rnn = rnnzoo.RNN(I, H, 2, "relu", False, True, 0.0, True)
    assert (rnn.num_layers, rnn.nonlinearity, rnn.bias, rnn.batch_first, rnn.bidirectional) == \
        (2, "relu", False, True, True)
    lstm = rnnzoo.LSTM(I, H, 2, False, True, 0.0, True)
    assert (lstm.bias, lstm.batch_first, lstm.bidirectional) == (False, True, True)


def test_builder_names_and_twins():
    assert isinstance(rnnzoo.build_rnn("lstm", I, H, impl="torch"), torch.nn.LSTM)
    assert isinstance(rnnzoo.build_rnn("rnn", I, H), rnnzoo.RNN)
    assert rnnzoo.build_rnn("lstm", I, H, impl="autograd").cells[0].fast is False
    for name in CELLS:
        layer = rnnzoo.build_rnn(name, I, H, num_layers=2, bidirectional=True, batch_first=True)
        out, _ = layer(torch.randn(3, 5, I))
        assert out.shape == (3, 5, 2 * H)
    with pytest.raises(ValueError, match="unknown cell 'lsmt'"):
        rnnzoo.build_rnn("lsmt", I, H)
    with pytest.raises(ValueError, match="no torch.nn implementation"):
        rnnzoo.build_rnn("min_gru", I, H, impl="torch")
    with pytest.raises(ValueError, match="unknown impl"):
        rnnzoo.build_rnn("lstm", I, H, impl="cudnn")


def test_extra_cells_have_torch_style_names():
    layer = rnnzoo.build_rnn("peephole_lstm", I, H, num_layers=2, bidirectional=True)
    assert "weight_peephole_l1_reverse" in layer.state_dict()
    # and the plain LSTM's weights load into it (peepholes stay as they are)
    result = layer.load_state_dict(torch.nn.LSTM(I, H, 2, bidirectional=True).state_dict(), strict=False)
    assert sorted(result.missing_keys) == sorted(
        f"weight_peephole_l{k}{s}" for k in range(2) for s in ("", "_reverse"))


# -- initialisation ------------------------------------------------------------------------
@pytest.mark.parametrize("make", [lambda: rnnzoo.LSTM(I, H, 2), lambda: torch.nn.LSTM(I, H, 2)])
def test_init_orthogonal_recurrent_blocks_and_forget_bias(make):
    model = rnnzoo.initialize(make(), "xavier", recurrent="orthogonal", forget_bias=1.0)
    for block in model.weight_hh_l1.detach().chunk(4):
        torch.testing.assert_close(block @ block.T, torch.eye(H), atol=1e-5, rtol=0)
    b_ih, b_hh = model.bias_ih_l0.detach(), model.bias_hh_l0.detach()
    assert torch.equal((b_ih + b_hh)[H:2 * H], torch.ones(H))
    assert torch.equal(torch.cat([b_ih[:H], b_ih[2 * H:]]), torch.zeros(3 * H))


def test_init_identity_is_the_irnn():
    model = rnnzoo.initialize(rnnzoo.RNN(I, H, nonlinearity="relu"), "identity")
    assert torch.equal(model.weight_hh_l0.detach(), torch.eye(H))
    assert model.weight_ih_l0.detach().std() < 0.01
    assert torch.equal(model.bias_ih_l0.detach(), torch.zeros(H))


@pytest.mark.parametrize("scheme", ["uniform", "normal", "zeros", "xavier", "orthogonal"])
def test_init_schemes_change_weights_and_zero_biases(scheme):
    model = rnnzoo.GRU(I, H, num_layers=2)
    before = copy.deepcopy(model.state_dict())
    rnnzoo.initialize(model, scheme)
    after = {k: v.detach() for k, v in model.state_dict().items()}
    weights = [k for k in after if k.startswith("weight")]
    assert len(weights) == 4
    for key, value in after.items():
        assert not torch.equal(value, before[key]), f"{key} kept its default initial values"
        if key.startswith("bias"):
            assert torch.count_nonzero(value) == 0, key
    for key in weights:
        w = after[key]
        if scheme == "zeros":
            assert torch.count_nonzero(w) == 0, key
        elif scheme == "uniform":  # U(-0.08, 0.08), not torch's U(-1/sqrt(H), 1/sqrt(H)) = U(-0.25, 0.25)
            assert 0.06 < w.abs().max() <= 0.08, key
        elif scheme == "normal":  # N(0, 0.01^2)
            assert 0.007 < w.std() < 0.013 and w.abs().max() < 0.06, key
        elif scheme == "xavier":  # Glorot per gate block: U(-b, b), b = sqrt(6 / (fan_in + fan_out))
            for block in w.chunk(3):
                bound = (6 / sum(block.shape)) ** 0.5
                assert 0.7 * bound < block.abs().max() <= bound, key
        else:  # orthogonal per gate block: orthonormal rows, or columns where the block is tall
            for block in w.chunk(3):
                gram = block @ block.T if block.shape[0] <= block.shape[1] else block.T @ block
                torch.testing.assert_close(gram, torch.eye(min(block.shape)), atol=1e-5, rtol=0)


def test_init_schemes_keep_s6_step_size_bias():
    """S6's Δ bias sets its initial step size (softplus(b_Δ) in [dt_min, dt_max]); a scheme
    that zeroes biases zeroes b_u and leaves b_Δ."""
    model = rnnzoo.build_rnn("s6", I, H, num_layers=2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rnnzoo.initialize(model, "xavier")
    for layer in ("l0", "l1"):
        bias = model.state_dict()[f"bias_ih_{layer}"]
        assert torch.count_nonzero(bias[:H]) == 0  # b_u
        assert torch.equal(bias[H:], before[f"bias_ih_{layer}"][H:])  # b_Δ
        step = torch.nn.functional.softplus(bias[H:])
        assert ((step >= 1e-3 - 1e-9) & (step <= 0.1 + 1e-9)).all()


def test_init_default_changes_nothing_and_unknown_is_refused():
    model = rnnzoo.LSTM(I, H)
    before = copy.deepcopy(model.state_dict())
    rnnzoo.initialize(model, "default")
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    with pytest.raises(ValueError, match="unknown init scheme"):
        rnnzoo.initialize(model, "kaiming")
