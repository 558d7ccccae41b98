"""Figures, Markdown tables and JSON for the sine questions (:mod:`rnnzoo.analysis.sine_response`).

Files written under ``out_dir``: ``frequency.png`` (error and gain against frequency, the
training range shaded), ``noise.png`` (noise out against noise in), ``damping.png`` (the
response to ones and to a step), ``example.png`` (noisy in, clean target, prediction), and
``sine_report.md`` / ``sine_report.json`` with every number.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never a window
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from rnnzoo.utils.io import save_figure, write_json, write_text  # noqa: E402


def frequency_figure(rows: list[dict], train_range: tuple[float, float], noise_std: float) -> Figure:
    freqs = [r["freq"] for r in rows]
    fig, (err, gain) = plt.subplots(2, 1, figsize=(7, 6), sharex=True,
                                    gridspec_kw={"height_ratios": [3, 2]})
    err.semilogy(freqs, [r["mse"] for r in rows], "o-", color="C0", label="model (steps >= warmup)")
    err.semilogy(freqs, [r["mse_all_steps"] for r in rows], ":", color="C0", alpha=0.6,
                 label="model (all steps)")
    err.semilogy(freqs, [r["echo_mse"] for r in rows], "--", color="0.4",
                 label=f"echo the noisy input (noise variance, std {noise_std:g})")
    err.semilogy(freqs, [r["zero_mse"] for r in rows], "-.", color="0.6", label="answer zero")
    err.set(ylabel="MSE against the clean wave",
            title="Response to frequencies inside and outside the training range")
    gain.plot(freqs, [r["gain"] for r in rows], "o-", color="C1")
    gain.axhline(1.0, color="0.5", linewidth=0.8)
    gain.set(xlabel="frequency (Hz)", ylabel="in-phase gain\n<pred, clean> / <clean, clean>")
    for ax in (err, gain):
        ax.axvspan(*train_range, color="C2", alpha=0.12, label="training range")
        ax.grid(True, alpha=0.3)
    err.legend(fontsize=7)
    fig.tight_layout()
    return fig


def noise_figure(rows: list[dict]) -> Figure:
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    noise_in = [r["noise_in"] for r in rows]
    ax.plot(noise_in, [r["noise_out"] for r in rows], "o-", label="model: RMS(prediction - clean)")
    top = max(noise_in + [r["noise_out"] for r in rows])
    ax.plot([0, top], [0, top], "--", color="0.5", label="noise out = noise in (echo)")
    ax.set(xlabel="noise in: RMS(input - clean)", ylabel="noise out: RMS(prediction - clean)",
           title="The RNN as a smoother (training frequencies)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _settled_label(name: str, s: dict) -> str:
    if s["steps"] is None:
        return f"{name}: not settled"
    tau = f", tau {s['time_constant']:.1f}" if s["time_constant"] else ""
    return f"{name}: settles in {s['steps']} steps{tau}"


def damping_figure(result: dict) -> Figure:
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2))
    ones, step = result["ones"], result["step"]
    left.plot(ones["input"], color="0.6", linewidth=1, label="input: ones from h_0 = 0")
    left.plot(ones["response"], color="C0", label=_settled_label("response", ones["settling"]))
    s = ones["settling"]
    left.axhspan(s["final"] - s["band"], s["final"] + s["band"], color="C0", alpha=0.15,
                 label=f"band: final +/- {s['tol']:g} x largest distance")
    if s["steps"] is not None:
        left.axvline(s["steps"], color="C0", linestyle=":", linewidth=1)
    right.plot(step["input"], color="0.6", linewidth=1, label="input: 0 -> 1 -> 0")
    right.plot(step["response"], color="C1", label="response")
    for part, start, color in (("up", result["before"], "C3"),
                               ("down", result["before"] + result["steps"], "C4")):
        s = step[part]
        if s["steps"] is not None:
            right.axvline(start + s["steps"], color=color, linestyle=":",
                          label=_settled_label(f"step {part}", s))
        else:
            right.plot([], [], color=color, label=_settled_label(f"step {part}", s))
    for ax, title in ((left, "Constant input of ones"), (right, "A step up and back down")):
        ax.set(xlabel="step", ylabel="output", title=title)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def example_figure(series: list[dict], train_range: tuple[float, float]) -> Figure:
    fig, axes = plt.subplots(len(series), 1, figsize=(8, 1.9 * len(series)), sharex=True, squeeze=False)
    for ax, s in zip(axes[:, 0], series):
        ax.plot(s["input"], color="0.55", linewidth=0.8, alpha=0.7, label="noisy input")
        ax.plot(s["target"], color="C0", linewidth=1.5, label="clean target")
        ax.plot(s["prediction"], color="C3", linewidth=1.3, linestyle="--", label="prediction")
        seen = "training range" if train_range[0] <= s["freq"] <= train_range[1] else "unseen"
        ax.set_title(f"{s['freq']:g} Hz ({seen})", fontsize=8, loc="left")
        ax.grid(True, alpha=0.3)
    axes[0, 0].legend(fontsize=7, ncol=3, loc="upper right")
    axes[-1, 0].set_xlabel("step")
    fig.tight_layout()
    return fig


def _fmt(value, spec: str = ".4f") -> str:
    return "-" if value is None else format(value, spec)


def _worse_than_echo(rows: list[dict]) -> list[str]:
    """The headline the table hides: where the model does worse than echoing its input."""
    worse = [r["freq"] for r in rows if r["mse"] > r["echo_mse"]]
    if not worse:
        return ["The model beats echoing the noisy input at every frequency measured.", ""]
    return [f"**Worse than echoing the noisy input (the trivial baseline) at {len(worse)} of "
            f"{len(rows)} frequencies: {', '.join(f'{f:g}' for f in worse)} Hz.**", ""]


def markdown(result: dict) -> str:
    c = result["config"]
    lo, hi = c["train_range"]
    lines = ["# The sine questions", "", f"Model: `{result['checkpoint']}`. Errors from step "
             f"{c['warmup']} on (the first steps are a start-up transient from h_0 = 0), "
             f"{c['n']} waves of {c['seq_len']} steps per row.", "",
             f"## Unseen frequencies (input noise std {c['noise_std']:g}; trained on {lo:g}-{hi:g} Hz)", "",
             *_worse_than_echo(result["frequency"]),
             "| freq (Hz) | trained on | MSE | MSE (all steps) | gain | echo MSE | zero MSE |",
             "|---|---|---|---|---|---|---|"]
    for r in result["frequency"]:
        lines.append(f"| {r['freq']:g} | {'yes' if r['in_training_range'] else 'no'} | "
                     f"{r['mse']:.4f} | {r['mse_all_steps']:.4f} | {r['gain']:.3f} | "
                     f"{r['echo_mse']:.4f} | {r['zero_mse']:.4f} |")
    lines += ["", f"## Smoothing (frequencies {lo:g}-{hi:g} Hz)", "",
              "| input noise std | noise in | noise out | out / in |", "|---|---|---|---|"]
    for r in result["noise"]:
        lines.append(f"| {r['noise_std']:g} | {r['noise_in']:.4f} | {r['noise_out']:.4f} | "
                     f"{_fmt(r['ratio'], '.3f')} |")
    d = result["damping"]
    lines += ["", "## Damping (constant input)", "",
              f"Settling: the steps until the output stays within +/- {c['tol']:g} x its largest "
              "distance from its final value; tau: the fitted time constant of that distance's "
              "envelope (per-step factor exp(-1/tau)).", "",
              "| input | settles after (steps) | final value | tau (steps) |", "|---|---|---|---|"]
    for name, s in (("ones from h_0 = 0", d["ones"]["settling"]), ("step 0 -> 1", d["step"]["up"]),
                    ("step 1 -> 0", d["step"]["down"])):
        lines.append(f"| {name} | {_fmt(s['steps'], 'd') if s['steps'] is not None else 'not settled'} | "
                     f"{s['final']:+.4f} | {_fmt(s['time_constant'], '.1f')} |")
    return "\n".join(lines) + "\n"


def write_report(out_dir: str | Path, result: dict) -> dict[str, Path]:
    """Every figure, the Markdown tables and the JSON; returns the written files by name."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    c = result["config"]
    written = {
        "frequency.png": save_figure(frequency_figure(result["frequency"], tuple(c["train_range"]),
                                               c["noise_std"]), out / "frequency.png"),
        "noise.png": save_figure(noise_figure(result["noise"]), out / "noise.png"),
        "damping.png": save_figure(damping_figure(result["damping"]), out / "damping.png"),
        "example.png": save_figure(example_figure(result["examples"], tuple(c["train_range"])), out / "example.png"),
        "sine_report.json": write_json(out / "sine_report.json", result),
        "sine_report.md": write_text(out / "sine_report.md", markdown(result)),
    }
    return written
