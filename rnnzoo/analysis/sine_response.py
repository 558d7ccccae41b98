r"""The sine questions (equations.md section 8), measured on a trained ``task=sine`` model.

The task feeds a noisy sine x_t = A sin(2 pi f t dt + phi) + noise and asks for the clean wave
at every step, so the network is a causal filter. Three questions:

- unseen frequencies: :func:`frequency_sweep` scores the model at one frequency at a time,
  inside and outside the training range, and measures its in-phase gain
  <prediction, clean> / <clean, clean> (1: full amplitude, 0: the wave is filtered out);
- smoothing: :func:`noise_sweep` feeds the same waves under growing input noise and measures
  the output noise RMS(prediction - clean); a smoother has output noise below input noise;
- damping: :func:`damping` feeds constant ones (from h_0 = 0) and a step 0 -> 1 -> 0, and
  :func:`settling` counts the steps until the response stays within a band around its final
  value, and fits the per-step decay of the distance to it: how long an input is remembered.

Every function takes ``predict``, a map from inputs (B, T, 1) to outputs (B, T, 1), so any
filter can be measured (the tests use an exponential smoother whose answers are known);
:func:`network_predictor` wraps a trained network. Errors are measured from step ``warmup`` on:
the first steps, run from h_0 = 0 before the wave has been seen, are a transient of their own.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from rnnzoo.data.synthetic import SINE_DT, SINE_FREQ_RANGES, noisy_sine

Predict = Callable[[Tensor], Tensor]


def network_predictor(network: torch.nn.Module) -> Predict:
    """(B, T, 1) -> (B, T, 1) through a ManyToMany network, without gradients."""
    network.eval()

    @torch.no_grad()
    def predict(x: Tensor) -> Tensor:
        return network(x.to(next(network.parameters()).device))[0].float().cpu()

    return predict


def _rms(x: Tensor) -> float:
    return float(x.double().pow(2).mean().sqrt())


def frequency_sweep(predict: Predict, freqs: Sequence[float], *, n: int = 64, seq_len: int = 100,
                    noise_std: float = 0.3, warmup: int = 20, seed: int = 0, dt: float = SINE_DT,
                    train_range: tuple[float, float] = SINE_FREQ_RANGES["train"]) -> list[dict]:
    """Per frequency: MSE from step ``warmup`` on and over all steps, the in-phase gain, and
    two references: echoing the noisy input (MSE = noise variance) and answering zero
    (MSE = mean square of the clean wave). The same seed gives every frequency the same
    phases, amplitudes and noise, so rows differ only by the frequency."""
    rows = []
    for f in freqs:
        x, y, _ = noisy_sine(n, seq_len, freq_range=(f, f), noise_std=noise_std, seed=seed, dt=dt)
        pred = predict(x)
        late = slice(warmup, None)
        err = pred - y
        rows.append({
            "freq": float(f), "in_training_range": train_range[0] <= f <= train_range[1],
            "mse": float(err[:, late].double().pow(2).mean()),
            "mse_all_steps": float(err.double().pow(2).mean()),
            "gain": float((pred[:, late] * y[:, late]).sum() / (y[:, late] ** 2).sum()),
            "echo_mse": float((x - y)[:, late].double().pow(2).mean()),
            "zero_mse": float(y[:, late].double().pow(2).mean()),
        })
    return rows


def noise_sweep(predict: Predict, noise_stds: Sequence[float], *, n: int = 64, seq_len: int = 100,
                freq_range: tuple[float, float] = SINE_FREQ_RANGES["train"], warmup: int = 20,
                seed: int = 0, dt: float = SINE_DT) -> list[dict]:
    """Per input noise std: noise in = RMS(input - clean) and noise out = RMS(prediction -
    clean), from step ``warmup`` on. The waves and the unit noise are the same in every row
    (one seed), only scaled, so the rows are paired. At std 0 "noise out" is the model's own
    error on clean input, the floor under every other row."""
    rows = []
    for std in noise_stds:
        x, y, _ = noisy_sine(n, seq_len, freq_range=freq_range, noise_std=std, seed=seed, dt=dt)
        pred = predict(x)
        noise_in, noise_out = _rms((x - y)[:, warmup:]), _rms((pred - y)[:, warmup:])
        rows.append({"noise_std": float(std), "noise_in": noise_in, "noise_out": noise_out,
                     "ratio": noise_out / noise_in if noise_in > 0 else None})
    return rows


def settling(response: Sequence[float], *, onset: int = 0, final: float | None = None,
             tol: float = 0.05, steady_fraction: float = 0.2) -> dict:
    """How many steps after ``onset`` until ``response`` stays within the band
    |y_t - final| <= tol * max_{t >= onset - 1} |y_t - final| (``final``: default the last value).

    The band is relative to the response's largest distance from its final value, counted
    from the step before the onset (the level it starts from): so it is tol times the step in
    the output for a monotone response, and times the largest swing with overshoot. ``steady``
    is False when the response has not settled before its last ``steady_fraction`` (still
    drifting or oscillating): then ``steps`` is None. ``decay`` is the fitted per-step factor
    of the envelope max_{s >= t} |y_s - final| while outside the band (exp of the log-linear
    slope; the envelope, so that a ringing response's zero crossings do not bend the fit), and
    ``time_constant`` = -1 / log(decay) steps: for an exponential approach they are exact.
    """
    full = np.asarray(response, dtype=np.float64)
    y = full[onset:]
    final = float(y[-1]) if final is None else float(final)
    distance = np.abs(y - final)
    scale = float(np.abs(full[max(onset - 1, 0):] - final).max()) if len(y) else 0.0
    band = tol * scale
    outside = np.nonzero(distance > band)[0]
    steps = int(outside[-1]) + 1 if len(outside) else 0
    steady = steps <= len(y) * (1 - steady_fraction)
    decay = time_constant = None
    envelope = np.maximum.accumulate(distance[::-1])[::-1]
    fit = np.arange(steps)
    fit = fit[envelope[fit] > 0]
    if steady and len(fit) >= 2:
        slope = float(np.polyfit(fit, np.log(envelope[fit]), 1)[0])
        decay = math.exp(slope)
        time_constant = -1.0 / slope if slope < 0 else None
    return {"steps": steps if steady else None, "steady": bool(steady), "final": final,
            "band": band, "tol": tol, "decay": decay, "time_constant": time_constant}


def damping(predict: Predict, *, steps: int = 150, before: int = 50, level: float = 1.0,
            tol: float = 0.05) -> dict:
    """The response to constant ``level`` from h_0 = 0, and to a step 0 -> level -> 0 (``before``
    zeros, ``steps`` at the level, ``steps`` zeros), with the settling of each part."""
    ones = torch.full((1, 2 * steps, 1), float(level))
    up_down = torch.zeros(1, before + 2 * steps, 1)
    up_down[:, before:before + steps] = level
    ones_response = predict(ones)[0, :, 0].double().numpy()
    step_response = predict(up_down)[0, :, 0].double().numpy()
    return {
        "level": level, "steps": steps, "before": before,
        "ones": {"input": ones[0, :, 0].tolist(), "response": ones_response.tolist(),
                 "settling": settling(ones_response, tol=tol)},
        "step": {"input": up_down[0, :, 0].tolist(), "response": step_response.tolist(),
                 "up": settling(step_response[:before + steps], onset=before, tol=tol),
                 "down": settling(step_response, onset=before + steps, tol=tol)},
    }


def examples(predict: Predict, freqs: Sequence[float], *, seq_len: int = 100,
             noise_std: float = 0.3, seed: int = 0, dt: float = SINE_DT) -> list[dict]:
    """One wave per frequency: noisy input, clean target, prediction."""
    out = []
    for k, f in enumerate(freqs):
        x, y, _ = noisy_sine(1, seq_len, freq_range=(f, f), noise_std=noise_std, seed=seed + k, dt=dt)
        out.append({"freq": float(f), "input": x[0, :, 0].tolist(), "target": y[0, :, 0].tolist(),
                    "prediction": predict(x)[0, :, 0].tolist()})
    return out
