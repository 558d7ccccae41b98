"""The numerical gradient check passes on every cell and layer, and catches a wrong gradient."""
import pytest
import torch
from torch import nn

import rnnzoo
from rnnzoo.cells import CELLS
from rnnzoo.learning.gradcheck import gradient_check, sequence_loss
from tests.helpers import load_script

F64 = torch.float64


@pytest.mark.parametrize("name", sorted(CELLS))
def test_every_cell_passes(name):
    cell = CELLS[name](3, 4, dtype=F64)
    report = gradient_check(cell, sequence_loss(cell))
    assert report.passed, report.table()
    assert report.max_rel_error < 1e-6
    assert [r.name for r in report.rows] == [n for n, _ in cell.named_parameters()]


@pytest.mark.parametrize("impl", ["custom", "torch"])
def test_layers_pass_under_torch_names(impl):
    layer = rnnzoo.build_rnn("lstm", 3, 4, impl=impl, num_layers=2, bidirectional=True, dtype=F64)
    report = gradient_check(layer, sequence_loss(layer), max_entries=6)
    assert report.passed, report.table()
    assert report.rows[0].name == "weight_ih_l0" and report.rows[-1].name == "bias_hh_l1_reverse"
    assert all(r.checked == min(6, r.numel) for r in report.rows)


def test_classic_two_point_stencil_passes():
    cell = CELLS["rnn_tanh"](3, 4, dtype=F64)
    report = gradient_check(cell, sequence_loss(cell), points=2, epsilon=1e-5)
    assert report.passed, report.table()


class WrongTanh(torch.autograd.Function):
    """tanh whose backward is off by a factor: the kind of slip a hand-written backward makes."""

    @staticmethod
    def forward(ctx, u, scale):
        h = torch.tanh(u)
        ctx.save_for_backward(h)
        ctx.scale = scale
        return h

    @staticmethod
    def backward(ctx, grad):
        (h,) = ctx.saved_tensors
        return grad * (1 - h * h) * ctx.scale, None


class ElmanWithCustomTanh(nn.Module):
    def __init__(self, scale):
        super().__init__()
        self.scale = scale
        self.input_size, self.hidden_size = 3, 4
        self.step = nn.RNNCell(3, 4, dtype=F64)

    def forward(self, x):  # a layer: x (T, B, I) -> (outputs, h_T)
        h, outputs = x.new_zeros(x.shape[1], 4), []
        for x_t in x:
            u = x_t @ self.step.weight_ih.T + self.step.bias_ih + h @ self.step.weight_hh.T
            h = WrongTanh.apply(u + self.step.bias_hh, self.scale)
            outputs.append(h)
        return torch.stack(outputs), h


def test_flags_a_wrong_backward():
    right = ElmanWithCustomTanh(scale=1.0)
    assert gradient_check(right, sequence_loss(right)).passed
    wrong = ElmanWithCustomTanh(scale=1.01)  # a 1% error in one derivative
    report = gradient_check(wrong, sequence_loss(wrong))
    assert not report.passed
    assert set(report.failures()) == {"step.weight_ih", "step.weight_hh", "step.bias_ih", "step.bias_hh"}
    assert report.max_rel_error > 1e-3
    assert "FAILED" in report.table()


def test_parameters_are_restored_exactly():
    cell = CELLS["gru"](3, 4, dtype=F64)
    before = {k: v.clone() for k, v in cell.state_dict().items()}
    gradient_check(cell, sequence_loss(cell))
    for k, v in cell.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_cli_prints_a_table_and_returns_status(capsys):
    cli = load_script("gradcheck")
    assert cli.main(["rnn_relu", "gru", "--max-entries", "4"]) == 0
    out = capsys.readouterr().out
    assert "weight_hh" in out and "2/2 passed" in out
    assert cli.main(["lstm", "--threshold", "1e-30"]) == 1  # nothing is that exact
