"""rnnzoo::dense (the input projection and the products of the backward) and the native loops'
oneDNN path for large recurrent weights: float32 values and gradients against plain torch."""
import pytest
import torch

import rnnzoo
from rnnzoo.kernels import dense as dense_module
from rnnzoo.kernels.dense import dense, linear


def test_dense_equals_matmul_with_gradients_and_second_derivatives():
    torch.manual_seed(0)
    a = torch.randn(4096, 64, requires_grad=True)  # 4096 * 64 * 96 >= MIN_MACS: the oneDNN path
    b = torch.randn(64, 96, requires_grad=True)
    assert a.shape[0] * a.shape[1] * b.shape[1] >= dense_module.MIN_MACS
    out = dense(a, b)
    torch.testing.assert_close(out, a @ b, rtol=1e-5, atol=1e-4)
    grad = torch.randn_like(out)
    ga, gb = torch.autograd.grad(out, (a, b), grad, create_graph=True)
    torch.testing.assert_close(ga, grad @ b.t(), rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(gb, a.t() @ grad, rtol=1e-5, atol=1e-3)
    (second,) = torch.autograd.grad(ga.sum(), b)  # d/db sum(grad b^T) = grad^T 1
    torch.testing.assert_close(second, grad.sum(0).expand(64, 96), rtol=1e-5, atol=1e-3)


def test_dense_opcheck_and_float64():
    a, b = torch.randn(5, 3, dtype=torch.float64), torch.randn(3, 4, dtype=torch.float64)
    torch.library.opcheck(torch.ops.rnnzoo.dense.default, (a, b))
    assert torch.autograd.gradcheck(dense, (a.requires_grad_(), b.requires_grad_()))
    torch.testing.assert_close(linear(a, b.t()), a @ b)


@pytest.mark.parametrize("family, hidden", [("rnn_tanh", 512), ("lstm", 256), ("gru", 320)])
def test_large_recurrent_weights_float32_match_autograd(family, hidden):
    """Recurrent weights of >= 2^18 elements take oneDNN's matmul in the native loops."""
    torch.manual_seed(0)
    fast = rnnzoo.build_rnn(family, 16, hidden, bidirectional=True)
    slow = rnnzoo.build_rnn(family, 16, hidden, bidirectional=True, impl="autograd")
    slow.load_state_dict(fast.state_dict())
    x = torch.randn(6, 24, 16)
    outs = []
    for model in (fast, slow):
        xi = x.clone().requires_grad_()
        out, _ = model(xi)
        out.sum().backward()
        outs.append((out.detach(), xi.grad, model.weight_hh_l0.grad))
    for mine, reference in zip(*outs):
        torch.testing.assert_close(mine, reference, rtol=1e-4, atol=2e-5)
    with torch.inference_mode():  # the inference loop (no per-step storage) too
        torch.testing.assert_close(fast(x)[0], outs[1][0], rtol=1e-4, atol=2e-5)


def test_weight_gradient_through_linear_is_contiguous_like_f_linear():
    """torch.nn's memory-format tests expect W.grad in W's layout, as F.linear gives it."""
    x = torch.randn(6, 4, requires_grad=True)
    weight = torch.randn(5, 4, requires_grad=True)
    # autograd.grad hands back the gradient as the op made it (.grad would be re-laid out)
    (ours,) = torch.autograd.grad(linear(x, weight).square().sum(), weight)
    assert ours.is_contiguous()
    (expected,) = torch.autograd.grad(torch.nn.functional.linear(x, weight).square().sum(), weight)
    torch.testing.assert_close(ours, expected)
