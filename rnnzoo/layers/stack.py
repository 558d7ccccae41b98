"""Running a cell over time: stacked layers, both directions, dropout, variable lengths.

:class:`RecurrentStack` gives any rnnzoo cell torch.nn.RNN's interface. It keeps one cell per
(layer, direction) and presents their parameters under torch.nn's names
(``weight_ih_l0``, ``bias_hh_l1_reverse``, ...) in ``state_dict``, in ``load_state_dict`` and
as attributes, so that weights move freely between rnnzoo and torch.nn.

Each layer hands its whole input (packed rows) to ``cell.sequence``, which computes the input
projection for every time step in one GEMM and then runs the recurrence, on the cell's fast
path where it has one.
"""
from __future__ import annotations

import numbers
import warnings

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from rnnzoo.cells import CELLS, resolve_cell_name
from rnnzoo.cells.steps import State, TimeSteps


def _check_size(name: str, value) -> None:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


class RecurrentStack(nn.Module):
    """``num_layers`` layers of ``cell`` over time, with the interface of torch.nn.RNN/LSTM/GRU.

    Args: ``cell`` is a cell name from :data:`rnnzoo.cells.CELLS` (or a cell class); the rest
    are torch.nn.RNN's arguments. ``fast=False`` runs every cell through the plain autograd
    loop instead of its fast path. Extra keyword options go to the cell's constructor.

    ``forward(input, hx=None)`` takes a (T, B, I) tensor ((B, T, I) with ``batch_first``), an
    unbatched (T, I) tensor, or a PackedSequence, and returns ``(output, h_n)`` — or
    ``(output, (h_n, c_n))`` for cells with a cell state — shaped as torch.nn returns them.
    """

    def __init__(self, cell, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, *, fast: bool = True, device=None, dtype=None,
                 **cell_options):
        super().__init__()
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size),
                            ("num_layers", num_layers)):
            _check_size(name, value)
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError(f"dropout must be a number in [0, 1], got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout acts between recurrent layers, so with num_layers=1 it does nothing "
                f"(dropout={dropout})", stacklevel=2)
        make_cell = CELLS[resolve_cell_name(cell)] if isinstance(cell, str) else cell
        self.cell_name = cell if isinstance(cell, str) else getattr(cell, "__name__", str(cell))
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.bidirectional = bias, batch_first, bidirectional
        self.dropout = float(dropout)
        self.proj_size = 0
        self.num_directions = 2 if bidirectional else 1
        self.cells = nn.ModuleList()
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * self.num_directions
            for _ in range(self.num_directions):
                self.cells.append(make_cell(layer_input, hidden_size, bias, fast=fast,
                                            device=device, dtype=dtype, **cell_options))
        self.state_size = self.cells[0].state_size
        self._name_maps()
        self.register_state_dict_post_hook(_to_torch_names)
        self.register_load_state_dict_pre_hook(_from_torch_names)
        self.register_load_state_dict_post_hook(_report_torch_names)

    # -- torch.nn's parameter names -----------------------------------------------------------
    def _name_maps(self) -> None:
        self._torch_names: dict[str, str] = {}  # "cells.3.weight_ih" -> "weight_ih_l1_reverse"
        self._cell_params: dict[str, tuple[int, str]] = {}  # the inverse, as (cell, name)
        for index, cell in enumerate(self.cells):
            layer, direction = divmod(index, self.num_directions)
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            for name, _ in cell.named_parameters():
                self._torch_names[f"cells.{index}.{name}"] = name + suffix
                self._cell_params[name + suffix] = (index, name)
        self._flat_weights_names = list(self._cell_params)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            where = self.__dict__.get("_cell_params", {}).get(name)
            if where is None:
                raise
            return getattr(self.cells[where[0]], where[1])

    @property
    def all_weights(self) -> list[list[nn.Parameter]]:
        return [[p for _, p in cell.named_parameters()] for cell in self.cells]

    def flatten_parameters(self) -> None:
        """No-op, for code written against torch.nn (which packs weights for cuDNN)."""

    # -- running ------------------------------------------------------------------------------
    def forward(self, input, hx=None):
        if isinstance(input, PackedSequence):
            data, batch_sizes, sorted_indices, unsorted_indices = input
            sizes, batched = batch_sizes.tolist(), True
        else:
            if input.dim() not in (2, 3):
                raise ValueError(
                    f"{type(self).__name__}: expected a 2-D (unbatched) or 3-D input, "
                    f"got {input.dim()}-D")
            batched = input.dim() == 3
            x = input if batched else input.unsqueeze(1)
            if batched and self.batch_first:
                x = x.transpose(0, 1)
            length, batch = x.shape[:2]
            data = x.reshape(length * batch, x.shape[-1])
            sizes, sorted_indices, unsorted_indices = [batch] * length, None, None
        if data.shape[-1] != self.input_size:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                f"got {data.shape[-1]}")
        initial = self._initial_state(hx, sizes[0], data, sorted_indices, batched)
        directions = [TimeSteps(sizes), TimeSteps(sizes, reverse=True)][: self.num_directions]

        layer_input, finals = data, []
        for layer in range(self.num_layers):
            outputs = []
            for direction, steps in enumerate(directions):
                index = layer * self.num_directions + direction
                cell = self.cells[index]
                out, final = cell.sequence(layer_input, steps, tuple(s[index] for s in initial))
                outputs.append(out)
                finals.append(final)
            layer_input = torch.cat(outputs, 1) if len(outputs) > 1 else outputs[0]
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        state = tuple(torch.stack([f[k] for f in finals]) for k in range(self.state_size))

        if isinstance(input, PackedSequence):
            output = PackedSequence(layer_input, batch_sizes, sorted_indices, unsorted_indices)
            if unsorted_indices is not None:
                state = tuple(s.index_select(1, unsorted_indices) for s in state)
        else:
            output = layer_input.view(length, batch, -1)
            if not batched:
                output, state = output.squeeze(1), tuple(s.squeeze(1) for s in state)
            elif self.batch_first:
                output = output.transpose(0, 1)
        return output, (state[0] if self.state_size == 1 else state)

    def _initial_state(self, hx, batch: int, like: Tensor, sorted_indices, batched: bool) -> State:
        expected = (self.num_layers * self.num_directions, batch, self.hidden_size)
        if hx is None:
            return tuple(like.new_zeros(expected) for _ in range(self.state_size))
        given = (hx,) if isinstance(hx, Tensor) else tuple(hx)
        if len(given) != self.state_size:
            raise ValueError(
                f"{type(self).__name__} expects {self.state_size} initial state tensor(s) "
                f"{'(h_0, c_0)' if self.state_size == 2 else 'h_0'}, got {len(given)}")
        if not batched:
            if any(s.dim() != 2 for s in given):
                raise RuntimeError("for unbatched 2-D input, hx should also be 2-D")
            given = tuple(s.unsqueeze(1) for s in given)
        for k, s in enumerate(given):
            if tuple(s.shape) != expected:
                raise RuntimeError(f"Expected hidden[{k}] size {expected}, got {tuple(s.shape)}")
        if sorted_indices is not None:
            given = tuple(s.index_select(1, sorted_indices) for s in given)
        return given

    def extra_repr(self) -> str:
        text = f"{self.cell_name!r}, {self.input_size}, {self.hidden_size}"
        for name, default in (("num_layers", 1), ("bias", True), ("batch_first", False),
                              ("dropout", 0.0), ("bidirectional", False)):
            value = getattr(self, name)
            if value != default:
                text += f", {name}={value}"
        return text


def _to_torch_names(module: RecurrentStack, state_dict, prefix: str, local_metadata) -> None:
    """state_dict hook: cells.{k}.{name} -> torch.nn's {name}_l{layer}[_reverse], order kept."""
    items = list(state_dict.items())
    state_dict.clear()
    for key, value in items:
        local = key[len(prefix):] if key.startswith(prefix) else None
        if local in module._torch_names:
            key = prefix + module._torch_names[local]
        state_dict[key] = value


def _from_torch_names(module: RecurrentStack, state_dict, prefix: str, *args) -> None:
    """load_state_dict pre-hook: accept torch.nn's names (and our own internal ones)."""
    module._load_prefix = prefix
    for torch_name, (index, name) in module._cell_params.items():
        if prefix + torch_name in state_dict:
            state_dict[f"{prefix}cells.{index}.{name}"] = state_dict.pop(prefix + torch_name)


def _report_torch_names(module: RecurrentStack, incompatible) -> None:
    """load_state_dict post-hook: name missing parameters as torch.nn would."""
    prefix = getattr(module, "_load_prefix", "")
    renamed = {prefix + own: prefix + torch for own, torch in module._torch_names.items()}
    incompatible.missing_keys[:] = [renamed.get(k, k) for k in incompatible.missing_keys]
