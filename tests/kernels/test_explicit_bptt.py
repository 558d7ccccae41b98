"""The explicit-BPTT Functions against autograd through ``cell.recur``, in float64.

The Functions never call autograd: their backward loops are the delta equations of
equations.md section 6, written in torch's column notation (see each module's docstring):

- Elman (rnnzoo.kernels.bptt_elman): delta_t = f'(u_t) * (g_t + delta_{t+1} W_hh),
  dL/dW_hh = sum_t delta_t^T h_{t-1}, dL/dh_0 = delta_1 W_hh, with g_t = dL/dh_t from above;
- LSTM (rnnzoo.kernels.bptt_lstm): dC_t = dC_{t+1} * f_{t+1} + dh_t * o_t * tanh'(C_t),
  da_i = dC_t g_t i_t(1 - i_t), da_f = dC_t C_{t-1} f_t(1 - f_t), da_g = dC_t i_t (1 - g_t^2),
  da_o = dh_t tanh(C_t) o_t(1 - o_t), and dh_{t-1} receives da_t W_hh;
- GRU (rnnzoo.kernels.bptt_gru), the reset-after form, likewise.

The reference is the same cell with ``fast=False``: its ``sequence`` loops over ``recur`` and
lets autograd differentiate. Both see the same loss, touching every output h_t and the final
state (h_T, and C_T for the LSTM), so every delta term is exercised.
"""
import pytest
import torch

from rnnzoo.cells import CELLS
from rnnzoo.cells.steps import TimeSteps

F64 = torch.float64
I, H, B = 3, 5, 4
# the Function each cell's fast path must run, named by its backward node
FUNCTIONS = {"rnn_tanh": "ElmanBPTT", "rnn_relu": "ElmanBPTT", "rnn_sigmoid": "ElmanBPTT",
             "lstm": "LSTMBPTT", "gru": "GRUBPTT"}
LAYOUTS = {
    "dense": [B] * 6,  # every row runs all 6 steps
    "variable": [4, 4, 3, 3, 1, 1],  # rows of length 6, 4, 4, 2 (packed, longest first)
}


def loss_and_gradients(cell, x, initial, steps):
    outputs, final = cell.sequence(x, steps, initial)
    # distinct weights per output entry, so that no two deltas can cancel or swap unnoticed
    weights = torch.linspace(-1, 1, outputs.numel(), dtype=F64).view_as(outputs)
    loss = (outputs * weights).sum() + sum((s * s).sum() for s in final)
    inputs = [x, *initial, *cell.parameters()]
    return outputs, torch.autograd.grad(loss, inputs)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@pytest.mark.parametrize("bias", [True, False])
def test_explicit_bptt_equals_autograd(name, layout, bias):
    explicit = CELLS[name](I, H, bias, dtype=F64, fast=True)
    reference = CELLS[name](I, H, bias, dtype=F64, fast=False)
    reference.load_state_dict(explicit.state_dict())
    steps = TimeSteps(LAYOUTS[layout])
    x = torch.randn(steps.total, I, dtype=F64, requires_grad=True)
    initial = tuple(torch.randn(B, H, dtype=F64, requires_grad=True)
                    for _ in range(explicit.state_size))

    outputs, grads = loss_and_gradients(explicit, x, initial, steps)
    ref_outputs, ref_grads = loss_and_gradients(reference, x, initial, steps)

    assert FUNCTIONS[name] in outputs.grad_fn.name()  # the hand-written backward ran
    assert "BPTT" not in ref_outputs.grad_fn.name()
    torch.testing.assert_close(outputs, ref_outputs, rtol=0, atol=1e-12)
    names = ["x", *(f"initial[{k}]" for k in range(len(initial))),
             *(n for n, _ in explicit.named_parameters())]
    for label, g, r in zip(names, grads, ref_grads, strict=True):
        diff = (g - r).abs().max().item()
        assert diff <= 1e-10, f"{name} {layout}: d loss / d {label} differs by {diff:.2e}"
        assert r.abs().max() > 0, f"{label}: a zero gradient would prove nothing"
