"""RTRL gives BPTT's gradient, for every parameter, and learns online."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rnnzoo.cells import CELLS
from rnnzoo.learning.rtrl import RTRL, rtrl_sequence_gradients
from tests.helpers import load_script

F64 = torch.float64
T, B, I, H, C = 7, 3, 2, 5, 3


def ce(logits, target):
    return F.cross_entropy(logits, target, reduction="sum")


def bptt_gradients(cell, head, x, y, h0):
    """The reference: autograd through the unrolled cell, loss = sum_t L_t."""
    h, loss = h0, 0
    for x_t, y_t in zip(x, y):
        h = cell(x_t, h)
        loss = loss + ce(head(h), y_t)
    params = list(cell.parameters()) + list(head.parameters())
    return loss, torch.autograd.grad(loss, params)


CASES = {
    "rnn_tanh": lambda bias: CELLS["rnn_tanh"](I, H, bias, dtype=F64),
    "rnn_relu": lambda bias: CELLS["rnn_relu"](I, H, bias, dtype=F64),
    "rnn_sigmoid": lambda bias: CELLS["rnn_sigmoid"](I, H, bias, dtype=F64),
    "gru": lambda bias: CELLS["gru"](I, H, bias, dtype=F64),
    "torch.nn.RNNCell": lambda bias: nn.RNNCell(I, H, bias, dtype=F64),
    "torch.nn.GRUCell": lambda bias: nn.GRUCell(I, H, bias, dtype=F64),
}


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("case", sorted(CASES))
def test_rtrl_gradient_equals_bptt(case, bias):
    cell, head = CASES[case](bias), nn.Linear(H, C, dtype=F64)
    x, y = torch.randn(T, B, I, dtype=F64), torch.randint(0, C, (T, B))
    h0 = torch.randn(B, H, dtype=F64) * 0.5
    ref_loss, ref_grads = bptt_gradients(cell, head, x, y, h0)

    loss = rtrl_sequence_gradients(cell, head, ce, x, y, h0)
    torch.testing.assert_close(loss, ref_loss.detach(), rtol=1e-12, atol=0)
    names = [f"cell.{n}" for n, _ in cell.named_parameters()] + [f"head.{n}" for n, _ in head.named_parameters()]
    params = list(cell.parameters()) + list(head.parameters())
    for name, p, ref in zip(names, params, ref_grads, strict=True):
        diff = (p.grad - ref).abs().max().item()
        assert diff < 1e-12 * max(1.0, ref.abs().max().item()), f"{case} {name}: {diff:.1e}"


def test_sensitivity_has_one_row_per_unit_and_one_column_per_parameter():
    cell = CELLS["gru"](I, H)
    learner = RTRL(cell, nn.Linear(H, C), ce)
    learner.reset(batch=4)
    assert learner.num_params == 3 * H * (I + H + 2)
    assert learner.sensitivity.shape == (4, H, learner.num_params)


def test_rejects_cells_it_has_no_equations_for():
    with pytest.raises(TypeError, match="Elman and"):
        RTRL(CELLS["lstm"](I, H), nn.Linear(H, C), ce)


def test_rtrl_learns_binary_addition_online(one_thread):
    """One Adam step after every time step (8 sequences side by side), no backward through
    time anywhere: every held-out 8-bit addition right within 300 x 8 sequences."""
    demo = load_script("rtrl_demo")
    result = demo.train(hidden=8, lr=0.01, batch=8, max_sequences=300, eval_every=50, seed=0,
                        log=lambda _: None)
    assert result["accuracy"] >= 0.99
    assert result["updates"] == result["sequences"] * 9  # 8 bits + the final carry


def test_benchmark_table_counts_the_sensitivity(one_thread, capsys):
    rows = load_script("rtrl_benchmark").main(["--hidden", "4", "8", "--seq-len", "3", "--repeats", "1"])
    assert [r["P"] for r in rows] == [4 * (2 + 4 + 2), 8 * (2 + 8 + 2)]
    assert rows[1]["rtrl_memory"] == 8 * rows[1]["P"] * 4  # batch 1 x H x P float32
    assert "RTRL mem" in capsys.readouterr().out
