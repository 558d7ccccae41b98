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

Who owns the weights: a cell built on its own (``rnnzoo.cells.LSTMCell(8, 16)``) owns its
parameters, as torch.nn.LSTMCell does. A layer (:class:`~rnnzoo.layers.RecurrentStack`) takes
them over when it builds its cells (:meth:`RecurrentCell.hand_over_parameters`): they become
the layer's own ``weight_ih_l0``, ``bias_hh_l1_reverse``, ... exactly as in torch.nn.LSTM, and
the layer lends them back for each call (:meth:`RecurrentCell.using`), after any
parametrization (weight_norm, spectral_norm) or assignment (WeightDrop) has acted on them. The
cell's methods read ``self.weight_hh`` either way.
"""
from __future__ import annotations

import math
import numbers
from contextlib import contextmanager
from typing import Iterator, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnzoo.cells.steps import State, TimeSteps, run_steps


def check_size(name: str, value) -> None:
    """torch.nn's checks of a size argument: TypeError unless an int, ValueError unless > 0."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be greater than zero")


class RecurrentCell(nn.Module):
    #: how many tensors make up the state (1: h; 2: h and C)
    state_size: int = 1
    #: how many hidden-sized blocks weight_ih stacks (the number of gates and candidates)
    blocks: int = 1
    #: which block is the forget gate, for cells that have one (the init's forget_bias uses it)
    forget_block: int | None = None
    #: bias_ih blocks that set a time scale at reset (S6's Δ bias): init schemes that zero
    #: biases leave them as the cell set them
    kept_bias_blocks: tuple[int, ...] = ()
    #: whether two states add up to a meaningful one (a bidirectional seq2seq encoder sums its
    #: directions into the decoder's start): not for states kept on a log scale (xLSTM's m)
    additive_state: bool = True

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
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            check_size(name, value)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        #: use the cell's fast sequence path (explicit BPTT or parallel scan) when it has one
        self.fast = fast
        self._factory = {"device": device, "dtype": dtype}
        #: names of the parameters a layer has taken over (empty while the cell owns them)
        self._handed_over: tuple[str, ...] = ()

    @property
    def output_size(self) -> int:
        """The size of h_t, the output and the recurrent input (the LSTM's proj_size if set)."""
        return self.hidden_size

    @property
    def state_sizes(self) -> tuple[int, ...]:
        """The size of each state tensor: h_t first, then (the LSTM's) C_t."""
        return (self.output_size,) + (self.hidden_size,) * (self.state_size - 1)

    # -- parameters -------------------------------------------------------------------------
    def _parameter(self, *shape: int) -> nn.Parameter:
        return nn.Parameter(torch.empty(*shape, **self._factory))

    def _standard_parameters(self) -> None:
        """weight_ih, weight_hh, bias_ih, bias_hh with torch.nn's names and shapes."""
        rows = self.blocks * self.hidden_size
        self.weight_ih = self._parameter(rows, self.input_size)
        self.weight_hh = self._parameter(rows, self.output_size)
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

    def hand_over_parameters(self) -> dict[str, nn.Parameter]:
        """Give every parameter to the layer that will own it; returns them by name, in order.

        Afterwards the cell holds no parameters (``bias=False``'s ``None`` entries stay), and
        its methods run only inside :meth:`using`, with the tensors the layer lends it.
        """
        given = {name: p for name, p in self._parameters.items() if p is not None}
        for name in given:
            del self._parameters[name]
        self._handed_over = tuple(given)
        return given

    @contextmanager
    def using(self, weights: Mapping[str, Tensor]) -> Iterator["RecurrentCell"]:
        """Run with ``weights`` (name -> tensor, e.g. a layer's parameters) as the cell's own.

        The tensors are plain attributes for the duration of the block: ``recur`` and the
        rest read ``self.weight_hh`` as usual, and autograd follows them to wherever they came
        from (a parameter, a parametrization's output, an assigned tensor).
        """
        self.__dict__.update(weights)
        try:
            yield self
        finally:
            for name in weights:
                self.__dict__.pop(name, None)

    @contextmanager
    def owning(self, parameters: Mapping[str, nn.Parameter]) -> Iterator["RecurrentCell"]:
        """Register ``parameters`` on the cell for the block (to run its reset_parameters)."""
        self._parameters.update(parameters)
        try:
            yield self
        finally:
            for name in parameters:
                self._parameters.pop(name, None)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name in self.__dict__.get("_handed_over", ()):
                raise AttributeError(
                    f"{type(self).__name__}.{name} belongs to the layer that owns this cell "
                    f"(as {name}_l<k>[_reverse]); run the layer, or the cell inside "
                    f"cell.using(weights)") from None
            raise

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
        return tuple(like.new_zeros(batch, size) for size in self.state_sizes)

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
