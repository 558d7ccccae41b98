"""Generated tasks: layouts, exact targets, and the baselines their docstrings quote."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnzoo.data import synthetic
from rnnzoo.data.synthetic import (SINE_FREQ_RANGES, adding_problem, addition_strings,
                                   binary_addition, copy_memoryless_loss, copy_task,
                                   digits_sequences, noisy_sine, sine_from_params)


def test_adding_problem_layout_and_target():
    x, y = adding_problem(500, 31, seed=0)
    assert x.shape == (500, 31, 2) and y.shape == (500,) and x.dtype == y.dtype == torch.float32
    marks = x[..., 1]
    assert torch.equal(marks.sum(1), torch.full((500,), 2.0))
    assert torch.equal(marks[:, :15].sum(1), torch.ones(500))  # one mark in each half
    assert torch.allclose((x[..., 0] * marks).sum(1), y)
    assert 0 <= x[..., 0].min() and x[..., 0].max() < 1


def test_adding_problem_baseline_is_one_sixth():
    _, y = adding_problem(4000, 50, seed=1)
    mse = ((y - 1.0) ** 2).mean().item()
    print(f"adding problem, always predicting 1.0: MSE {mse:.4f} (theory 1/6 = {1 / 6:.4f})")
    assert mse == pytest.approx(1 / 6, abs=0.012)  # ~4 standard errors


def test_generators_are_seeded_and_leave_global_state_alone():
    state = torch.random.get_rng_state()
    a, b = adding_problem(8, 10, seed=3), adding_problem(8, 10, seed=3)
    assert torch.equal(a[0], b[0]) and not torch.equal(a[0], adding_problem(8, 10, seed=4)[0])
    for make in (lambda s: copy_task(4, 5, seed=s)[0], lambda s: binary_addition(4, 8, s)[0],
                 lambda s: noisy_sine(4, 20, seed=s)[0], lambda s: sine_from_params(4, 20, s)[1]):
        assert torch.equal(make(7), make(7)) and not torch.equal(make(7), make(8))
    assert torch.equal(torch.random.get_rng_state(), state)
    assert addition_strings(20, 5, seed=1) == addition_strings(20, 5, seed=1)


def test_copy_task_layout():
    x, y = copy_task(3, seq_len=6, n_symbols=8, copy_len=4, seed=0)
    assert x.shape == y.shape == (3, 6 + 8) and x.dtype == y.dtype == torch.long
    symbols = x[:, :4]
    assert ((1 <= symbols) & (symbols <= 8)).all()
    assert (x[:, 4:9] == 0).all() and (x[:, 9] == 9).all() and (x[:, 10:] == 0).all()
    assert (y[:, :10] == 0).all() and torch.equal(y[:, 10:], symbols)


def test_copy_memoryless_loss_is_the_best_blind_guess():
    seq_len, copy_len, n_symbols = 30, 10, 8
    _, y = copy_task(20_000, seq_len, n_symbols, copy_len, seed=0)
    # The best prediction that ignores the input is each step's marginal target distribution;
    # its cross entropy is the mean over steps of that distribution's entropy.
    frequencies = F.one_hot(y, n_symbols + 1).float().mean(0)  # (T, classes)
    entropy = -(frequencies * frequencies.clamp_min(1e-12).log()).sum(1).mean().item()
    expected = copy_memoryless_loss(seq_len, n_symbols, copy_len)
    assert expected == pytest.approx(10 * math.log(8) / 50)
    assert entropy == pytest.approx(expected, abs=2e-3)
    # and that strategy, written out as logits, scores exactly the formula
    logits = torch.full((seq_len + 2 * copy_len, n_symbols + 1), -1e9)
    logits[:seq_len + copy_len, 0] = 0
    logits[seq_len + copy_len:, 1:] = 0
    loss = F.cross_entropy(logits.expand(len(y), -1, -1).transpose(1, 2), y)
    assert loss.item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("n_bits", [1, 8, 62])
def test_binary_addition_decodes_to_the_sum(n_bits):
    x, y = binary_addition(300, n_bits, seed=0)
    assert x.shape == (300, n_bits + 1, 2) and y.shape == (300, n_bits + 1)
    assert x.dtype == torch.float32 and y.dtype == torch.long
    assert (x[:, -1] == 0).all()

    def decode(bits) -> int:  # least significant first, in Python ints: no overflow
        return sum(int(b) << k for k, b in enumerate(bits))

    for row in range(300):
        a, b = decode(x[row, :, 0].long()), decode(x[row, :, 1].long())
        assert decode(y[row]) == a + b and a < 2 ** n_bits and b < 2 ** n_bits
    if n_bits == 8:
        assert y[:, -1].float().mean() > 0.3  # the carry step is really used


def test_noisy_sine_frequencies_noise_and_shape():
    x, y, freq = noisy_sine(200, 120, freq_range="train", noise_std=0.2, seed=0)
    assert x.shape == y.shape == (200, 120, 1) and freq.shape == (200,)
    low, high = SINE_FREQ_RANGES["train"]
    assert low <= freq.min() and freq.max() <= high
    assert (x - y).std().item() == pytest.approx(0.2, rel=0.05)
    # A sampled sinusoid obeys y[t+1] = 2 cos(w) y[t] - y[t-1] with w = 2 pi f dt exactly,
    # which pins down the frequency each row was drawn with.
    w = 2 * math.pi * freq.double() * synthetic.SINE_DT
    wave = y[..., 0].double()
    predicted = 2 * torch.cos(w)[:, None] * wave[:, 1:-1] - wave[:, :-2]
    assert torch.allclose(predicted, wave[:, 2:], atol=1e-4)
    _, _, unseen = noisy_sine(200, 120, freq_range="unseen", noise_std=0.2, seed=0)
    assert unseen.min() >= high  # evaluation frequencies never overlap training ones


def test_sine_from_params_matches_its_parameters():
    v, y = sine_from_params(50, 40, seed=0, freq_range=(1.0, 2.0))
    assert v.shape == (50, 3) and y.shape == (50, 40, 1) and 0 <= v.min() and v.max() <= 1
    freq, phase = 1.0 + v[:, 0], 2 * math.pi * v[:, 1]
    low, high = synthetic.SINE_AMPLITUDE_RANGE
    amplitude = low + (high - low) * v[:, 2]
    t = torch.arange(40) * synthetic.SINE_DT
    expected = amplitude[:, None] * torch.sin(2 * math.pi * freq[:, None] * t + phase[:, None])
    assert torch.allclose(y[..., 0], expected, atol=1e-5)


def test_addition_strings_are_correct_and_cover_every_length():
    pairs = addition_strings(2000, 4, seed=0)
    lengths = set()
    for source, target in pairs:
        a, b = source.split("+")
        assert int(a) + int(b) == int(target) and str(int(a)) == a and str(int(b)) == b
        lengths |= {len(a), len(b)}
    assert lengths == {1, 2, 3, 4}
    big = addition_strings(5, 40, seed=2)
    assert all(int(s.split("+")[0]) + int(s.split("+")[1]) == int(t) for s, t in big)


def test_digits_read_row_by_row():
    from sklearn.datasets import load_digits

    x, y = digits_sequences()
    assert x.shape == (1797, 8, 8) and x.dtype == torch.float32 and y.dtype == torch.long
    assert x.min() == 0 and x.max() == 1
    assert torch.bincount(y).tolist() == np.bincount(load_digits().target).tolist()
    assert torch.equal(x[5, 3], torch.from_numpy(load_digits().images[5, 3] / 16).float())
