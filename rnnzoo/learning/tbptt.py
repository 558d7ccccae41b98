r"""Truncated back-propagation through time, BPTT(k1, k2) (Williams & Peng 1990).

Williams & Peng (Neural Computation 2(4), 1990, "An efficient gradient-based algorithm for
on-line training of recurrent network trajectories") define BPTT(h; h'): the network runs on
continually, and every h' time steps the errors of the most recent h' steps are
back-propagated through the most recent h steps (h >= h'), then the weights are updated.
Sutskever (PhD thesis, 2013) writes the same algorithm TBPTT(k1, k2): every k1 steps, run BPTT
for k2 steps. Here k1 = h' (steps between updates) and k2 = h (depth of back-propagation):

    update n at time t_n = min(n k1, T), n = 1, 2, ...:
        window    [s_n, t_n) with s_n = max(0, n k1 - k2)     back-propagated through
        errors    [t_{n-1}, t_n)                              the last k1 steps' losses
        gradient  d/dtheta sum_{t in errors} L_t,  with the state h_{s_n} held constant

so the error at step t reaches back t - s_n + 1 steps: k2 for the newest, k2 - k1 + 1 for the
oldest. Special cases: k1 = k2 = k is the usual "chunked" training (split the sequence into
chunks of k, carry the detached state forward); k1 = k2 >= T is full BPTT; k1 = 1 is
BPTT(h), the online truncated gradient with one update per step.

How the window is computed: when k2 > k1 the windows overlap, so the state at the next
window's start s_{n+1} = t_n + k1 - k2 lies inside this window. Each window therefore runs
the model in two calls, [s_n, s_{n+1}) then [s_{n+1}, t_n), from the stored detached state
h_{s_n}; the state after the first call, detached, is stored for window n + 1, which then
recomputes its first k2 - k1 steps with the weights as they are after update n. (Williams &
Peng keep the activations of the overlap from the forward run, computed with the older
weights; recomputing costs k2 / k1 forward steps per step but needs no history buffer, and
the two agree when the weights do not change between updates.) When T is not a multiple of
k1, the last window is the nominal one cut at T: it starts at n k1 - k2 as usual and injects
the errors of the remaining T - t_{n-1} < k1 steps (so k1 = k2 still means plain chunks).

For a Lightning system with ``automatic_optimization = False``::

    def training_step(self, batch, batch_idx):
        x, y = batch
        optimizer = self.optimizers()

        def update(index, loss):
            self.clip_gradients(optimizer, gradient_clip_val=1.0)
            optimizer.step()
            optimizer.zero_grad()

        result = tbptt(self.net, x, y, self.loss_fn, k1, k2, head=self.head,
                       backward=self.manual_backward, on_update=update)
        self.log("train/loss", result.mean_loss)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import Tensor, nn

RecurrentState = Tensor | tuple[Tensor, ...] | None


@dataclass(frozen=True)
class Window:
    """One update of BPTT(k1, k2), as time indices into the sequence (end exclusive)."""

    start: int  # s_n: back-propagation stops here; the state entering this step is detached
    carry: int  # s_{n+1}: the state entering this step is stored for the next window
    errors: int  # t_{n-1}: the first step whose loss is injected
    stop: int  # t_n: one past the last step; the update happens here


def tbptt_windows(length: int, k1: int, k2: int | None = None) -> list[Window]:
    """The windows BPTT(k1, k2) visits over a sequence of ``length`` steps (k2 defaults to k1)."""
    k2 = k1 if k2 is None else k2
    if k1 < 1 or k2 < k1:
        raise ValueError(f"BPTT(k1, k2) needs 1 <= k1 <= k2, got k1={k1}, k2={k2}")
    stops = list(range(k1, length, k1)) + [length]
    # from the nominal update time n k1, which the last stop may cut short
    starts = [max(0, n * k1 - k2) for n in range(1, len(stops) + 1)]
    return [Window(start, carry, errors, stop) for start, carry, errors, stop in
            zip(starts, starts[1:] + [stops[-1]], [0] + stops[:-1], stops)]


@dataclass
class TBPTTResult:
    """What one pass over a sequence produced: a loss per update, and the state at the end."""

    losses: list[Tensor] = field(default_factory=list)  # detached, one per window
    error_steps: list[int] = field(default_factory=list)  # how many steps each loss covers
    state: RecurrentState = None  # detached state after the last step, to carry further

    @property
    def mean_loss(self) -> Tensor:
        """The windows' losses averaged with their step counts as weights."""
        weights = torch.tensor(self.error_steps, dtype=self.losses[0].dtype)
        return (torch.stack(self.losses) * weights).sum() / weights.sum()


def detach_state(state: RecurrentState) -> RecurrentState:
    if state is None or isinstance(state, Tensor):
        return None if state is None else state.detach()
    return tuple(s.detach() for s in state)


def tbptt(model: nn.Module, inputs: Tensor, targets: Tensor,
          loss_fn: Callable[[Tensor, Tensor], Tensor], k1: int, k2: int | None = None, *,
          head: Callable[[Tensor], Tensor] | None = None, state: RecurrentState = None,
          backward: Callable[[Tensor], None] | None = None,
          on_update: Callable[[int, Tensor], None] | None = None,
          batch_first: bool | None = None) -> TBPTTResult:
    """Run BPTT(k1, k2) over one long sequence; one backward pass (and update) per window.

    ``model(x, state) -> (outputs, state)`` has torch.nn.RNN's interface (any rnnzoo layer,
    torch.nn.RNN/LSTM/GRU); ``head`` maps its outputs to predictions (identity when None);
    ``loss_fn(predictions, targets)`` gets one window's error steps, (steps, batch, ...) or
    (batch, steps, ...) as the model's ``batch_first`` says, and returns a scalar. Use a sum
    over steps if the windows' losses should add up to the full sequence's loss.

    ``backward(loss)`` defaults to ``loss.backward()`` (pass ``manual_backward`` in Lightning);
    ``on_update(index, loss)`` runs after each window's backward: step the optimizer and zero
    the gradients there. Without it gradients accumulate over all windows in ``.grad``.
    """
    if batch_first is None:
        batch_first = bool(getattr(model, "batch_first", False))
    time_dim = 1 if batch_first else 0
    backward = backward or Tensor.backward
    head = head if head is not None else (lambda out: out)
    length = inputs.shape[time_dim]
    result = TBPTTResult()
    stored = detach_state(state)  # h_{s_n}, the detached state the current window starts from

    def run(begin: int, end: int, entering: RecurrentState):
        if begin == end:
            return [], entering
        out, leaving = model(inputs.narrow(time_dim, begin, end - begin), entering)
        return [out], leaving

    for index, window in enumerate(tbptt_windows(length, k1, k2)):
        head_out, carried = run(window.start, window.carry, stored)
        tail_out, final = run(window.carry, window.stop, carried)
        parts = head_out + tail_out  # steps [start, stop); one part when k1 == k2: no copy
        outputs = parts[0] if len(parts) == 1 else torch.cat(parts, time_dim)
        injected = outputs.narrow(time_dim, window.errors - window.start, window.stop - window.errors)
        loss = loss_fn(head(injected), targets.narrow(time_dim, window.errors, window.stop - window.errors))
        backward(loss)
        if on_update is not None:
            on_update(index, loss.detach())
        result.losses.append(loss.detach())
        result.error_steps.append(window.stop - window.errors)
        stored = detach_state(carried)
        result.state = detach_state(final)
    return result


def optimizer_update(optimizer: torch.optim.Optimizer, max_norm: float | None = None,
                     parameters=None) -> Callable[[int, Tensor], None]:
    """An ``on_update`` for plain PyTorch: optional gradient-norm clipping, step, zero_grad."""
    params = list(parameters) if parameters is not None else [
        p for group in optimizer.param_groups for p in group["params"]]

    def update(index: int, loss: Tensor) -> None:
        if max_norm is not None:
            nn.utils.clip_grad_norm_(params, max_norm)
        optimizer.step()
        optimizer.zero_grad()

    return update
