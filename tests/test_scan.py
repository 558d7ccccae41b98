"""The parallel linear scan (rnnzoo.cells.scan) against the step-by-step recurrence: values,
first and second derivatives (its backward is a reverse scan of its own), real and complex."""
import pytest
import torch

from rnnzoo.cells.scan import doubling_scan, linear_scan, sequential_scan


def stepwise(a, b, h0):
    h, out = h0, []
    for t in range(a.shape[0]):
        h = a[t] * h + b[t]
        out.append(h)
    return torch.stack(out)


def inputs(length, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    shape = (length, 3, 4)
    make = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)  # noqa: E731
    if dtype.is_complex:
        a = torch.complex(make(*shape), make(*shape)) * 0.5
        b, h0 = torch.complex(make(*shape), make(*shape)), torch.complex(make(3, 4), make(3, 4))
    else:
        a, b, h0 = torch.rand(*shape, generator=g, dtype=dtype) * 1.2 - 0.1, make(*shape), make(3, 4)
    return [x.requires_grad_() for x in (a, b, h0)]


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
@pytest.mark.parametrize("length", [1, 2, 5, 8, 13])
def test_scan_equals_the_recurrence_with_its_gradients(dtype, length):
    a, b, h0 = inputs(length, dtype)
    torch.testing.assert_close(linear_scan(a, b, h0), stepwise(a, b, h0), rtol=1e-10, atol=1e-10)
    weights = torch.randn(length, 3, 4, dtype=torch.float64)
    loss = lambda f: (f(a, b, h0).abs() * weights).sum()  # noqa: E731
    grads = torch.autograd.grad(loss(linear_scan), (a, b, h0))
    expected = torch.autograd.grad(loss(stepwise), (a, b, h0))
    for got, want in zip(grads, expected):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
@pytest.mark.parametrize("length", [1, 7, 16])
def test_both_algorithms_equal_the_recurrence(dtype, length):
    """The CPU runs sequential_scan, a GPU doubling_scan: both are checked here on the CPU."""
    a, b, h0 = (x.detach() for x in inputs(length, dtype, seed=2))
    for algorithm in (sequential_scan, doubling_scan):
        torch.testing.assert_close(algorithm(a, b, h0), stepwise(a, b, h0), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_scan_gradcheck_and_gradgradcheck(dtype):
    a, b, h0 = inputs(6, dtype, seed=1)
    assert torch.autograd.gradcheck(linear_scan, (a, b, h0))
    assert torch.autograd.gradgradcheck(linear_scan, (a, b, h0))
