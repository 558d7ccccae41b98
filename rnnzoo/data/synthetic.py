"""Generated tasks from the recurrent-network literature, each a pure function of its seed.

Every generator draws from its own ``torch.Generator`` / ``numpy.random.Generator`` seeded by
the ``seed`` argument, never from global random state, so a dataset is reproducible on its own.
"""
from __future__ import annotations

import math

import numpy as np
import torch

#: Frequency ranges (Hz, with the default dt) for noisy_sine: train on one, test on the other.
SINE_FREQ_RANGES = {"train": (0.5, 1.5), "unseen": (1.5, 2.5)}
SINE_AMPLITUDE_RANGE = (0.5, 1.5)
SINE_DT = 0.05  # seconds per step: 20 samples a second, well above twice the highest frequency


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


def adding_problem(n: int, seq_len: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The adding problem (Hochreiter & Schmidhuber 1997; here as in Le, Jaitly & Hinton 2015
    and Arjovsky et al. 2016).

    Returns ``x`` (n, T, 2) float32 and ``y`` (n,) float32. Channel 0 holds values drawn from
    U(0, 1); channel 1 is 1 at exactly two steps, one uniformly in the first half of the
    sequence and one in the second half; ``y`` is the sum of the two marked values.

    Baseline: always answering 1.0 scores MSE = Var(U1 + U2) = 2 / 12 = 1/6 ~ 0.167; a model
    has learned something only below that.
    """
    if seq_len < 2:
        raise ValueError(f"seq_len must be at least 2, got {seq_len}")
    g = _generator(seed)
    values = torch.rand(n, seq_len, generator=g)
    half = seq_len // 2
    first = torch.randint(0, half, (n,), generator=g)
    second = torch.randint(half, seq_len, (n,), generator=g)
    marks = torch.zeros(n, seq_len)
    rows = torch.arange(n)
    marks[rows, first] = 1.0
    marks[rows, second] = 1.0
    y = values[rows, first] + values[rows, second]
    return torch.stack([values, marks], dim=-1), y  # (n, T, 2), (n,)


def copy_task(n: int, seq_len: int, n_symbols: int = 8, copy_len: int = 10,
              seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The copy memory task as Arjovsky, Shah & Bengio (2016) state it (after Hochreiter &
    Schmidhuber 1997).

    With T = ``seq_len``, each of the ``T + 2 * copy_len`` steps holds a category:

    - input: ``copy_len`` symbols drawn from 1..n_symbols, then T - 1 blanks (0), the delimiter
      (``n_symbols + 1``), then ``copy_len`` blanks;
    - target: blanks for the first ``T + copy_len`` steps, then the ``copy_len`` symbols.

    So the input has ``n_symbols + 2`` categories and the target ``n_symbols + 1``. Returns
    ``x``, ``y`` of shape (n, T + 2 * copy_len), dtype long.
    """
    if seq_len < 1:
        raise ValueError(f"seq_len must be at least 1, got {seq_len}")
    g = _generator(seed)
    total = seq_len + 2 * copy_len
    symbols = torch.randint(1, n_symbols + 1, (n, copy_len), generator=g)
    x = torch.zeros(n, total, dtype=torch.long)
    y = torch.zeros(n, total, dtype=torch.long)
    x[:, :copy_len] = symbols
    x[:, copy_len + seq_len - 1] = n_symbols + 1
    y[:, -copy_len:] = symbols
    return x, y


def copy_memoryless_loss(seq_len: int, n_symbols: int = 8, copy_len: int = 10) -> float:
    """Cross entropy (nats per step) of the best strategy without memory: blanks until the
    delimiter, then a uniform guess over the symbols (Arjovsky et al. 2016's baseline):
    ``copy_len * log(n_symbols) / (seq_len + 2 * copy_len)``."""
    return copy_len * math.log(n_symbols) / (seq_len + 2 * copy_len)


def binary_addition(n: int, n_bits: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Serial binary addition: the textbook two-state machine (the state is the carry bit).

    ``x`` (n, n_bits + 1, 2) float32 holds the bits of a and b, least significant first, with
    a 0 in the last step; ``y`` (n, n_bits + 1) long holds the bits of a + b, whose final
    carry lands in that last step. a and b are uniform on [0, 2**n_bits).
    """
    if not 1 <= n_bits <= 62:
        raise ValueError(f"n_bits must be in 1..62 (int64 holds the sum), got {n_bits}")
    g = _generator(seed)
    a = torch.randint(0, 2 ** n_bits, (n,), generator=g)
    b = torch.randint(0, 2 ** n_bits, (n,), generator=g)
    shifts = torch.arange(n_bits + 1)

    def bits(v: torch.Tensor) -> torch.Tensor:
        return (v[:, None] >> shifts) & 1  # (n, T), least significant bit first

    x = torch.stack([bits(a), bits(b)], dim=-1).float()  # (n, T, 2)
    return x, bits(a + b)


def noisy_sine(n: int, seq_len: int, freq_range=(0.5, 1.5), noise_std: float = 0.1,
               seed: int = 0, dt: float = SINE_DT):
    """Sine waves with random frequency, phase and amplitude, observed with Gaussian noise.

    ``freq_range`` is a (low, high) pair in Hz or a name from :data:`SINE_FREQ_RANGES`
    ("train", "unseen"): train on one range, test on frequencies never seen. Returns ``x``
    (n, T, 1) noisy, ``y`` (n, T, 1) clean, and ``freq`` (n,), all float32. Phase is uniform on
    [0, 2 pi), amplitude on :data:`SINE_AMPLITUDE_RANGE`; y_t = A sin(2 pi f t dt + phase).
    """
    low, high = SINE_FREQ_RANGES[freq_range] if isinstance(freq_range, str) else freq_range
    g = _generator(seed)
    freq = low + (high - low) * torch.rand(n, generator=g)
    phase = 2 * math.pi * torch.rand(n, generator=g)
    amp_low, amp_high = SINE_AMPLITUDE_RANGE
    amplitude = amp_low + (amp_high - amp_low) * torch.rand(n, generator=g)
    y = _wave(freq, phase, amplitude, seq_len, dt)
    x = y + noise_std * torch.randn(y.shape, generator=g)
    return x, y, freq


def sine_from_params(n: int, seq_len: int, seed: int = 0, freq_range=(0.5, 1.5),
                     dt: float = SINE_DT):
    """The one-to-many variant: from (frequency, phase, amplitude), generate the whole wave.

    Returns ``v`` (n, 3) float32 with each parameter scaled to [0, 1] over its range
    (frequency over ``freq_range``, phase over [0, 2 pi), amplitude over
    :data:`SINE_AMPLITUDE_RANGE`) and ``y`` (n, T, 1), the clean wave.
    """
    low, high = SINE_FREQ_RANGES[freq_range] if isinstance(freq_range, str) else freq_range
    g = _generator(seed)
    v = torch.rand(n, 3, generator=g)
    amp_low, amp_high = SINE_AMPLITUDE_RANGE
    freq = low + (high - low) * v[:, 0]
    phase = 2 * math.pi * v[:, 1]
    amplitude = amp_low + (amp_high - amp_low) * v[:, 2]
    return v, _wave(freq, phase, amplitude, seq_len, dt)


def _wave(freq, phase, amplitude, seq_len: int, dt: float) -> torch.Tensor:
    t = torch.arange(seq_len, dtype=torch.float32) * dt  # (T,)
    angle = 2 * math.pi * freq[:, None] * t + phase[:, None]  # (n, T)
    return (amplitude[:, None] * torch.sin(angle)).unsqueeze(-1)  # (n, T, 1)


def addition_strings(n: int, max_digits: int, seed: int = 0) -> list[tuple[str, str]]:
    """("535+61", "596")-style pairs for sequence-to-sequence addition (Zaremba & Sutskever
    2014, "Learning to Execute"). Each operand first draws its length uniformly from
    1..max_digits, then its digits (no leading zero), so short and long operands are equally
    common; any number of digits works (Python integers).
    """
    rng = np.random.default_rng(seed)

    def operand() -> int:
        length = int(rng.integers(1, max_digits + 1))
        digits = [int(rng.integers(1 if length > 1 else 0, 10))]
        digits += rng.integers(0, 10, size=length - 1).tolist()
        return int("".join(map(str, digits)))

    pairs = []
    for _ in range(n):
        a, b = operand(), operand()
        pairs.append((f"{a}+{b}", str(a + b)))
    return pairs


def digits_sequences() -> tuple[torch.Tensor, torch.Tensor]:
    """The 1,797 8x8 handwritten digits that scikit-learn ships (the UCI optical-digits test
    set, Alpaydin & Kaynak 1998), read row by row: a small, offline cousin of row-by-row MNIST.

    Returns ``x`` (1797, 8, 8) float32 in [0, 1] (pixel counts 0..16 divided by 16; step t is
    image row t) and ``y`` (1797,) long. Reads a file inside the sklearn package: no download.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.from_numpy(digits.images.astype(np.float32) / 16.0)  # (1797, 8, 8)
    return x, torch.from_numpy(digits.target.astype(np.int64))
