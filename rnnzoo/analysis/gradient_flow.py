r"""Vanishing and exploding gradients, measured (equations.md section 7).

For a loss L_T on the last step of a sequence, back-propagation reaches the state s_t of an
earlier step through the product of the step Jacobians,

.. math::
    \frac{\partial L_T}{\partial s_t} = \frac{\partial L_T}{\partial s_T}
        \prod_{j=t+1}^{T} \frac{\partial s_j}{\partial s_{j-1}},

so ||dL_T/ds_t|| behaves roughly like rho^{T-t} for the typical per-step gain rho: it shrinks
geometrically when the Jacobians contract (tanh' <= 1, sigmoid' <= 1/4, small W) and grows
when they expand (large W, ReLU). :func:`state_gradient_norms` measures it for every distance
d = T - t; :func:`fit_rate` fits log ||dL_T/ds_{T-d}|| = a + rate * d by least squares, so
``rate`` < 0 is the per-step decay (exp(rate) the factor per step) and ``rate`` > 0 growth.

The state s_t is the cell's whole state: h_t, and for the LSTM (h_t, C_t) together, whose
additive path C_t = f_t * C_{t-1} + ... is what keeps an LSTM's gradient open. The norm at each
distance is the root mean square over a batch of sequences of each sequence's own gradient
norm (the loss sums over the batch, so each sequence's gradient is its own).

:func:`vanishing_study` measures every cell x init at initialisation and after a short
training on the adding problem (which needs memory across the sequence);
:func:`explosion_study` shows growth with large recurrent weights in a ReLU RNN, and that
gradient-norm clipping bounds the size of each update. :mod:`rnnzoo.analysis.reporting`
turns both into plots, JSON and TensorBoard events.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnzoo.cells import CELLS, resolve_cell_name
from rnnzoo.cells.steps import TimeSteps
from rnnzoo.data.synthetic import adding_problem
from rnnzoo.init import initialize


class LastStepRegressor(nn.Module):
    """A cell run over (B, T, I) inputs and a linear readout of its last h: the adding model."""

    def __init__(self, cell: str, input_size: int, hidden_size: int, *, init: str = "default",
                 gain: float = 1.0, forget_bias: float | None = None):
        super().__init__()
        self.cell = CELLS[resolve_cell_name(cell)](input_size, hidden_size)
        initialize(self.cell, init, gain=gain, forget_bias=forget_bias)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x: Tensor) -> Tensor:
        batch, length, size = x.shape
        steps = TimeSteps.full(length, batch)
        inputs = x.transpose(0, 1).reshape(length * batch, size)  # time-major packed rows
        _, final = self.cell.sequence(inputs, steps, self.cell.initial_state(batch, x))
        return self.head(final[0]).squeeze(-1)  # (B,)

    def states(self, x: Tensor) -> list[tuple[Tensor, ...]]:
        """s_1 .. s_T, stepping ``recur`` with autograd so every state is a node of the graph."""
        state = self.cell.initial_state(x.shape[0], x)
        projected = self.cell.project_input(x.transpose(0, 1))  # (T, B, blocks * H)
        states = []
        for x_proj in projected:
            state = self.cell.recur(x_proj, state)
            states.append(state)
        return states


def state_gradient_norms(model: LastStepRegressor, x: Tensor, y: Tensor) -> np.ndarray:
    """norms[d] = RMS over the batch of ||dL_T/ds_{T-d}||, d = 0 .. T-1, in float64.

    L_T = sum_b (readout(h_T) - y_b)^2 / 2, the squared error on the last step.
    """
    model = copy.deepcopy(model).double()
    states = model.states(x.double())
    prediction = model.head(states[-1][0]).squeeze(-1)
    loss = 0.5 * ((prediction - y.double()) ** 2).sum()
    flat = [s for state in states for s in state]
    grads = torch.autograd.grad(loss, flat, allow_unused=True)
    per_state = len(states[0])
    norms = []
    for t in range(len(states)):
        parts = [g if g is not None else torch.zeros_like(s) for g, s in
                 zip(grads[t * per_state:(t + 1) * per_state], states[t])]
        squared = sum((g * g).sum(1) for g in parts)  # (B,): ||dL_T/ds_t||^2 per sequence
        norms.append(squared.mean().sqrt().item())
    return np.array(norms[::-1])  # index = distance T - t


def fit_rate(norms: np.ndarray, skip: int = 1) -> float:
    """Least-squares slope of log(norm) against distance: the per-step log growth rate.

    The first ``skip`` distances are left out (the readout's own Jacobian sits at d = 0);
    zero norms (nothing flows back, e.g. dead ReLUs) cannot be logged and are left out too.
    """
    distance = np.arange(len(norms), dtype=float)
    keep = (distance >= skip) & (norms > 0) & np.isfinite(norms)
    if keep.sum() < 2:
        return float("nan")
    slope, _ = np.polyfit(distance[keep], np.log(norms[keep]), 1)
    return float(slope)


def train_adding(model: LastStepRegressor, *, steps: int, seq_len: int, batch: int, lr: float,
                 seed: int, max_norm: float | None = 1.0, optimizer: str = "adam",
                 dtype: torch.dtype = torch.float32) -> dict:
    """A fixed budget of training on the adding problem; records each update's norm.

    The update norm is ||theta_after - theta_before||: what clipping is meant to bound (with
    SGD it is lr times the clipped gradient's norm, so at most lr * max_norm).
    """
    make = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}[optimizer]
    model.to(dtype)
    opt = make(model.parameters(), lr=lr)
    x, y = adding_problem(steps * batch, seq_len, seed=seed)
    x, y = x.to(dtype), y.to(dtype)
    losses, update_norms, grad_norms = [], [], []
    for k in range(steps):
        rows = slice(k * batch, (k + 1) * batch)
        loss = F.mse_loss(model(x[rows]), y[rows])
        opt.zero_grad()
        loss.backward()
        grad_norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm if max_norm else math.inf)
        before = [p.detach().clone() for p in model.parameters()]
        opt.step()
        update = math.sqrt(sum(((p.detach() - b) ** 2).sum().item() for p, b in zip(model.parameters(), before)))
        losses.append(loss.item())
        grad_norms.append(grad_norm.item())
        update_norms.append(update)
        if not math.isfinite(update):  # diverged: nothing after this means anything
            break
    return {"losses": losses, "grad_norms": grad_norms, "update_norms": update_norms}


@dataclass
class FlowConfig:
    cells: tuple[str, ...] = ("rnn_tanh", "rnn_relu", "lstm", "gru")
    inits: tuple[str, ...] = ("default", "xavier", "orthogonal", "identity")
    hidden_size: int = 32
    seq_len: int = 100  # T: the measured sequences' length
    batch: int = 32  # sequences measured
    train_steps: int = 300  # Adam steps on the adding problem; 0 skips the trained phase
    train_seq_len: int = 30
    train_batch: int = 64
    lr: float = 1e-2
    max_norm: float = 1.0
    forget_bias: float | None = None  # b_if + b_hf for cells with a forget gate (LSTMs)
    seed: int = 0
    # the explosion study: a ReLU RNN whose recurrent weights are init * gain, trained with
    # plain SGD (whose update is lr * gradient) in float64, with and without clipping
    explode_init: str = "orthogonal"
    explode_gains: tuple[float, ...] = (1.0, 1.5, 2.0, 2.5)
    explode_seq_len: int = 50
    explode_train_steps: int = 20
    explode_lr: float = 1e-2


@dataclass
class Curve:
    cell: str
    init: str
    phase: str  # "init" or "trained"
    norms: list[float]
    rate: float  # fitted per-step log growth (negative: vanishing)
    gain: float = 1.0
    task_mse: float | None = None  # held-out adding MSE at the training length (baseline 1/6)

    @property
    def label(self) -> str:
        gain = f" x{self.gain:g}" if self.gain != 1.0 else ""
        return f"{self.cell} / {self.init}{gain}"


@torch.no_grad()
def adding_mse(model: LastStepRegressor, x: Tensor, y: Tensor) -> float:
    return F.mse_loss(model(x), y).item()


def vanishing_study(cfg: FlowConfig, log=print) -> list[Curve]:
    """Every cell x init: the gradient norms at initialisation and after training."""
    # held out from training (which draws with cfg.seed): what is measured, and a test set
    x, y = adding_problem(cfg.batch, cfg.seq_len, seed=cfg.seed + 1)
    x_test, y_test = adding_problem(1000, cfg.train_seq_len, seed=cfg.seed + 2)
    curves = []
    for cell in cfg.cells:
        for init in cfg.inits:
            torch.manual_seed(cfg.seed)
            model = LastStepRegressor(cell, 2, cfg.hidden_size, init=init,
                                      forget_bias=cfg.forget_bias)
            phases = [("init", 0), ("trained", cfg.train_steps)] if cfg.train_steps else [("init", 0)]
            for phase, steps in phases:
                if steps:
                    train_adding(model, steps=steps, seq_len=cfg.train_seq_len, batch=cfg.train_batch,
                                 lr=cfg.lr, seed=cfg.seed, max_norm=cfg.max_norm)
                norms = state_gradient_norms(model, x, y)
                curves.append(Curve(cell, init, phase, norms.tolist(), fit_rate(norms),
                                    task_mse=adding_mse(model, x_test, y_test)))
                log(f"{cell:>9} {init:>10}  {phase:<8} rate {curves[-1].rate:+.3f}/step  "
                    f"adding MSE {curves[-1].task_mse:.3f}")
    return curves


def explosion_study(cfg: FlowConfig, log=print) -> dict:
    """A ReLU RNN with recurrent weights ``explode_init`` x gain: its gradient norms at
    initialisation, and the update norms of a short SGD training with and without clipping."""
    x, y = adding_problem(cfg.batch, cfg.explode_seq_len, seed=cfg.seed + 1)
    curves, training = [], []
    for gain in cfg.explode_gains:
        def fresh():
            torch.manual_seed(cfg.seed)
            return LastStepRegressor("rnn_relu", 2, cfg.hidden_size, init=cfg.explode_init, gain=gain)

        norms = state_gradient_norms(fresh(), x, y)
        curves.append(Curve("rnn_relu", cfg.explode_init, "init", norms.tolist(), fit_rate(norms), gain))
        runs = {}
        for clipped in (False, True):
            runs["clipped" if clipped else "unclipped"] = train_adding(
                fresh(), steps=cfg.explode_train_steps, seq_len=cfg.explode_seq_len,
                batch=cfg.train_batch, lr=cfg.explode_lr, seed=cfg.seed, optimizer="sgd",
                max_norm=cfg.max_norm if clipped else None, dtype=torch.float64)
        training.append({"gain": gain, **runs})
        log(f"rnn_relu {cfg.explode_init} x{gain:g}: rate {curves[-1].rate:+.3f}/step; largest "
            f"update {_largest(runs['unclipped']['update_norms']):.3g} without clipping, "
            f"{_largest(runs['clipped']['update_norms']):.3g} with (bound {cfg.explode_lr * cfg.max_norm:g})")
    return {"curves": curves, "training": training, "lr": cfg.explode_lr,
            "max_norm": cfg.max_norm, "update_bound": cfg.explode_lr * cfg.max_norm}


def _largest(values: list[float]) -> float:
    """The largest update, counting a non-finite one (a diverged step) as infinite."""
    return max((v if math.isfinite(v) else math.inf for v in values), default=math.nan)

