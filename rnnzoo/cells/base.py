"""The interface every rnnzoo cell shares.

A cell is one step of a recurrence, split in two so that a layer can run it fast:

    x_proj_t = cell.project_input(x_t)              # no time dependence: one GEMM for all steps
    state_t  = cell.recur(x_proj_t, state_{t-1})    # the recurrence proper, read off the equations

``state`` is a tuple of (batch, hidden_size) tensors whose first entry is the output h_t
(the LSTM's is (h_t, C_t)). ``cell.sequence(x, steps, initial)`` runs a whole packed sequence:
by default the input projection for every step at once, then the plain autograd loop over
``recur``. Cells with a faster path (explicit BPTT, or a parallel scan) override it while
``fast`` is true. ``forward`` is one step, with the same
signature and return value as the matching ``torch.nn`` cell.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnzoo.cells.steps import State, TimeSteps, run_steps


class RecurrentCell(nn.Module):
    #: how many tensors make up the state (1: h; 2: h and C)
    state_size: int = 1
    #: how many hidden-sized blocks weight_ih stacks (the number of gates and candidates)
    blocks: int = 1
    #: which block is the forget gate, for cells that have one (the init's forget_bias uses it)
    forget_block: int | None = None

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        *,
        fast: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        if input_size < 1 or hidden_size < 1:
            raise ValueError(
                f"input_size and hidden_size must be positive, got {input_size} and {hidden_size}"
            )
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        #: use the cell's fast sequence path (explicit BPTT or parallel scan) when it has one
        self.fast = fast
        self._factory = {"device": device, "dtype": dtype}

    # -- parameters -------------------------------------------------------------------------
    def _parameter(self, *shape: int) -> nn.Parameter:
        return nn.Parameter(torch.empty(*shape, **self._factory))

    def _standard_parameters(self) -> None:
        """weight_ih, weight_hh, bias_ih, bias_hh with torch.nn's names and shapes."""
        rows = self.blocks * self.hidden_size
        self.weight_ih = self._parameter(rows, self.input_size)
        self.weight_hh = self._parameter(rows, self.hidden_size)
        if self.bias:
            self.bias_ih = self._parameter(rows)
            self.bias_hh = self._parameter(rows)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)

    def reset_parameters(self) -> None:
        """torch.nn's default: every parameter uniform in (-1/sqrt(H), 1/sqrt(H))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    # -- the recurrence ---------------------------------------------------------------------
    def project_input(self, x: Tensor) -> Tensor:
        """The input's contribution to every block, W_ih x + b_ih, for any number of rows."""
        return F.linear(x, self.weight_ih, self.bias_ih)

    def recur(self, x_proj: Tensor, state: State) -> State:
        """One step: the new state from the projected input and the previous state."""
        raise NotImplementedError

    def sequence(self, x: Tensor, steps: TimeSteps, initial: State) -> tuple[Tensor, State]:
        """Outputs and every row's final state for a whole sequence of packed rows ``x``."""
        return run_steps(self.recur, self.project_input(x), steps, initial)

    def _folded_bias(self) -> Tensor | None:
        """b_ih + b_hh: for cells whose b_hh adds straight onto W_ih x, one bias does both."""
        return None if self.bias_ih is None else self.bias_ih + self.bias_hh

    def initial_state(self, batch: int, like: Tensor) -> State:
        return tuple(
            like.new_zeros(batch, self.hidden_size) for _ in range(self.state_size)
        )

    # -- one step, as torch.nn.*Cell --------------------------------------------------------
    def forward(self, input: Tensor, hx=None):
        if input.dim() not in (1, 2):
            raise ValueError(f"expected a 1-D or 2-D input to the cell, got {input.dim()}-D")
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        if x.shape[-1] != self.input_size:
            raise ValueError(
                f"input has {x.shape[-1]} features, the cell expects input_size={self.input_size}"
            )
        if hx is None:
            state = self.initial_state(x.shape[0], x)
        else:
            given = (hx,) if isinstance(hx, Tensor) else tuple(hx)
            if len(given) != self.state_size:
                raise ValueError(f"expected {self.state_size} state tensor(s), got {len(given)}")
            state = given if batched else tuple(s.unsqueeze(0) for s in given)
        state = self.recur(self.project_input(x), state)
        if not batched:
            state = tuple(s.squeeze(0) for s in state)
        return state[0] if self.state_size == 1 else state

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            text += ", bias=False"
        if not self.fast:
            text += ", fast=False"
        return text
