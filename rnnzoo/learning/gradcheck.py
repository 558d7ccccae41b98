r"""Numerical gradient check: autograd's gradient against centred differences, per parameter.

The check the classic minimal char-RNN ships with (and cs231n teaches): for every checked
entry theta_i of a parameter, with e_i its unit vector,

.. math::
    n_i = \frac{L(\theta + \epsilon e_i) - L(\theta - \epsilon e_i)}{2 \epsilon}, \qquad
    \mathrm{rel}_i = \frac{|a_i - n_i|}{\max(|a_i| + |n_i|, \mathrm{floor})}

where a_i = dL/dtheta_i from autograd (``points=2``, the classic two-point stencil). Its
error is O(epsilon^2 L''') plus the rounding error of L over epsilon, so in float64 the best
epsilon is ~1e-5; an ordinary gradient then agrees to ~1e-8, but a small gradient entry
can reach rel ~1e-6 from rounding alone. The default ``points=4`` is the four-point centred
stencil (Richardson extrapolation of the two-point one),

.. math::
    n_i = \frac{8 [L(\theta + \epsilon e_i) - L(\theta - \epsilon e_i)]
               - [L(\theta + 2\epsilon e_i) - L(\theta - 2\epsilon e_i)]}{12 \epsilon},

whose truncation error is O(epsilon^4), so with epsilon = 1e-4 both error terms are ~1e-12:
every rnnzoo cell then checks below 1e-7, while a wrong gradient shows rel ~1e-2 or more.
Run the check in float64: in float32 rounding alone gives ~1e-3. The floor keeps entries
whose gradient is exactly zero both ways (a dead ReLU unit) at error 0 instead of 0/0.
A kink (ReLU at 0) inside [theta - 2 epsilon, theta + 2 epsilon] gives a genuine mismatch;
with random inputs that is rare.

Works on anything with parameters: an rnnzoo cell or layer, a torch.nn module, a whole model
with its head. ``sequence_loss`` builds a ready loss for a recurrent cell or layer; the CLI
is ``python scripts/gradcheck.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import Tensor, nn


@dataclass
class ParameterCheck:
    """The errors of one parameter tensor over the entries checked."""

    name: str
    numel: int
    checked: int
    max_rel_error: float
    mean_rel_error: float
    max_abs_error: float


@dataclass
class GradCheckReport:
    rows: list[ParameterCheck] = field(default_factory=list)
    threshold: float = 1e-6

    @property
    def max_rel_error(self) -> float:
        return max((r.max_rel_error for r in self.rows), default=0.0)

    @property
    def passed(self) -> bool:
        return self.max_rel_error < self.threshold

    def failures(self) -> list[str]:
        return [r.name for r in self.rows if r.max_rel_error >= self.threshold]

    def table(self) -> str:
        width = max([len(r.name) for r in self.rows] + [9])
        lines = [f"{'parameter':<{width}}  {'checked':>9}  {'max rel':>9}  {'mean rel':>9}  "
                 f"{'max abs':>9}  ok"]
        for r in self.rows:
            ok = "yes" if r.max_rel_error < self.threshold else "NO"
            lines.append(f"{r.name:<{width}}  {r.checked:>4}/{r.numel:<4}  {r.max_rel_error:9.2e}  "
                         f"{r.mean_rel_error:9.2e}  {r.max_abs_error:9.2e}  {ok}")
        verdict = "PASSED" if self.passed else f"FAILED ({', '.join(self.failures())})"
        lines.append(f"{verdict}: max relative error {self.max_rel_error:.2e} "
                     f"(threshold {self.threshold:.0e})")
        return "\n".join(lines)


def gradient_check(module: nn.Module, loss_fn: Callable[[nn.Module], Tensor], *,
                   epsilon: float = 1e-4, points: int = 4, floor: float = 1e-12,
                   threshold: float = 1e-6, max_entries: int | None = None,
                   seed: int = 0) -> GradCheckReport:
    """Compare ``loss_fn(module).backward()``'s gradients with centred differences.

    ``loss_fn`` must be deterministic (no dropout, fixed inputs). ``max_entries`` checks that
    many randomly chosen entries per parameter (drawn with ``seed``) instead of all of them,
    for large models. Parameters are restored exactly afterwards. ``points`` is 2 (the
    classic stencil; use epsilon=1e-5) or 4 (the default).
    """
    if points not in (2, 4):
        raise ValueError(f"points must be 2 or 4, got {points}")
    named = _named_parameters(module)
    analytic = torch.autograd.grad(loss_fn(module), [p for _, p in named], allow_unused=True)
    generator = torch.Generator().manual_seed(seed)
    report = GradCheckReport(threshold=threshold)
    for (name, param), grad in zip(named, analytic):
        grad = torch.zeros_like(param) if grad is None else grad
        entries = torch.arange(param.numel())
        if max_entries is not None and param.numel() > max_entries:
            entries = torch.randperm(param.numel(), generator=generator)[:max_entries]
        numeric = _centred_differences(module, loss_fn, param, entries, epsilon, points)
        a = grad.detach().reshape(-1)[entries].double()
        abs_error = (a - numeric).abs()
        rel_error = abs_error / (a.abs() + numeric.abs()).clamp_min(floor)
        report.rows.append(ParameterCheck(name, param.numel(), len(entries), rel_error.max().item(),
                                          rel_error.mean().item(), abs_error.max().item()))
    return report


def _named_parameters(module: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """Trainable parameters under their state_dict names (torch.nn's names for rnnzoo layers)."""
    seen, named = set(), []
    for name, value in module.state_dict(keep_vars=True).items():
        if isinstance(value, nn.Parameter) and value.requires_grad and id(value) not in seen:
            seen.add(id(value))
            named.append((name, value))
    return named


@torch.no_grad()
def _centred_differences(module, loss_fn, param: Tensor, entries: Tensor, epsilon: float,
                         points: int) -> Tensor:
    flat = param.view(-1)  # a view: writing it moves the parameter the loss sees
    numeric = torch.empty(len(entries), dtype=torch.float64)

    def loss_at(i: int, value: float) -> float:
        flat[i] = value
        return loss_fn(module).item()

    for k, i in enumerate(entries.tolist()):
        original = flat[i].item()
        near = loss_at(i, original + epsilon) - loss_at(i, original - epsilon)
        if points == 2:
            numeric[k] = near / (2 * epsilon)
        else:  # Richardson: the h^2 error terms of the h and 2h differences cancel
            far = loss_at(i, original + 2 * epsilon) - loss_at(i, original - 2 * epsilon)
            numeric[k] = (8 * near - far) / (12 * epsilon)
        flat[i] = original  # restore exactly (the same float, not original + e - e)
    return numeric


def sequence_loss(module: nn.Module, *, seq_len: int = 5, batch: int = 3, seed: int = 0,
                  dtype=torch.float64) -> Callable[[nn.Module], Tensor]:
    """A fixed-input loss for a recurrent cell (one step per call) or layer (whole sequence).

    The loss touches every output and the final state, with distinct weights so that no two
    gradient terms can cancel: L = sum_t <w_t, h_t> + sum ||final state||^2 / 2.
    A cell is anything whose forward is one step, ``cell(x_t, hx) -> h or (h, c)`` (rnnzoo
    cells, torch.nn.*Cell); anything else is called as a layer, ``layer(x) -> (out, state)``.
    """
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(seq_len, batch, module.input_size, generator=generator, dtype=dtype)
    weights: list[Tensor] = []  # drawn at the first call, once the output's shape is known
    is_cell = hasattr(module, "recur") or isinstance(module, nn.RNNCellBase)

    def loss(m: nn.Module) -> Tensor:
        if is_cell:
            hx, outputs = None, []
            for x_t in x:
                hx = m(x_t, hx)
                outputs.append(hx[0] if isinstance(hx, tuple) else hx)
            out, final = torch.stack(outputs), hx
        else:
            out, final = m(x)
        final = final if isinstance(final, tuple) else (final,)
        if not weights:
            weights.append(torch.randn(out.shape, generator=generator, dtype=dtype))
        return (out * weights[0]).sum() + sum((s * s).sum() for s in final) / 2

    return loss
