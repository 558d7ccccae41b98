"""Running a cell over time: stacked layers, both directions, dropout, variable lengths.

:class:`RecurrentStack` gives any rnnzoo cell torch.nn.RNN's interface. It keeps one cell per
(layer, direction) and owns their parameters itself, as torch.nn.LSTM does: ``weight_ih_l0``,
``bias_hh_l1_reverse``, ... (and each cell's extras, ``weight_peephole_l0``, ...) are the
layer's own ``nn.Parameter``\\ s, registered in torch.nn's order. The cells hold none; at each
call the layer reads its weights once (``getattr``, so parametrizations such as weight_norm and
spectral_norm, and tensors assigned in place of a parameter, as WeightDrop does, take effect)
and lends them to each cell for the call (:meth:`RecurrentCell.using`).

Each layer hands its whole input (packed rows) to ``cell.sequence``, which computes the input
projection for every time step in one GEMM and then runs the recurrence, on the cell's fast
path where it has one.
"""
from __future__ import annotations

import numbers
import warnings
from contextlib import nullcontext

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from rnnzoo.cells import CELLS, resolve_cell_name
from rnnzoo.cells.base import check_size
from rnnzoo.cells.steps import State, TimeSteps
from rnnzoo.layers.onnx import exporting_to_onnx, maps_to_onnx, onnx_forward


def _check_bool(name: str, value) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name} should be of type bool, got: {type(value).__name__}")


def _autocast_dtype(device_type: str) -> torch.dtype | None:
    """The autocast dtype when autocast is on for ``device_type``, else None."""
    try:
        if not torch.is_autocast_enabled(device_type):
            return None
        return torch.get_autocast_dtype(device_type)
    except TypeError:  # torch < 2.4: no per-device queries
        if device_type == "cpu":
            return torch.get_autocast_cpu_dtype() if torch.is_autocast_cpu_enabled() else None
        if device_type == "cuda":
            return torch.get_autocast_gpu_dtype() if torch.is_autocast_enabled() else None
        return None


class RecurrentStack(nn.Module):
    """``num_layers`` layers of ``cell`` over time, with the interface of torch.nn.RNN/LSTM/GRU.

    Args: ``cell`` is a cell name from :data:`rnnzoo.cells.CELLS` (or a cell class); the rest
    are torch.nn.RNN's arguments, checked as torch.nn checks them. ``fast=False`` runs every
    cell through the plain autograd loop instead of its fast path. Extra keyword options go to
    the cell's constructor (``proj_size`` for the LSTM, ``nonlinearity``, ``eps``, ...).

    ``forward(input, hx=None)`` takes a (T, B, I) tensor ((B, T, I) with ``batch_first``), an
    unbatched (T, I) tensor, or a PackedSequence, and returns ``(output, h_n)`` — or
    ``(output, (h_n, c_n))`` for cells with a cell state — shaped as torch.nn returns them.
    """

    def __init__(self, cell, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, *, fast: bool = True, device=None, dtype=None,
                 **cell_options):
        super().__init__()
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the probability of an "
                f"element being zeroed, got {dropout!r}")
        for name, value in (("bias", bias), ("batch_first", batch_first),
                            ("bidirectional", bidirectional)):
            _check_bool(name, value)
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size),
                            ("num_layers", num_layers)):
            check_size(name, value)
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout acts between recurrent layers, so with num_layers=1 it does nothing "
                f"(dropout={dropout})", stacklevel=2)
        make_cell = CELLS[resolve_cell_name(cell)] if isinstance(cell, str) else cell
        self.cell_name = cell if isinstance(cell, str) else getattr(cell, "__name__", str(cell))
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.bidirectional = bias, batch_first, bidirectional
        self.dropout = float(dropout)
        self.num_directions = 2 if bidirectional else 1
        self.cells = nn.ModuleList()
        #: per cell, (the cell's name for a weight, the layer's name for it), in torch.nn's order
        self._cell_weights: list[tuple[tuple[str, str], ...]] = []
        output_size = hidden_size
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else output_size * self.num_directions
            for direction in range(self.num_directions):
                cell = make_cell(layer_input, hidden_size, bias, fast=fast, device=device,
                                 dtype=dtype, **cell_options)
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                names = []
                for name, parameter in cell.hand_over_parameters().items():
                    self.register_parameter(name + suffix, parameter)
                    names.append((name, name + suffix))
                self._cell_weights.append(tuple(names))
                self.cells.append(cell)
                output_size = cell.output_size
        first = self.cells[0]
        self.state_size = first.state_size
        self.state_sizes = first.state_sizes
        self.output_size = first.output_size
        self.proj_size = getattr(first, "proj_size", 0)
        self.forget_block = first.forget_block
        self.kept_bias_blocks = first.kept_bias_blocks
        self._all_weights = [[full for _, full in names] for names in self._cell_weights]
        self._flat_weights_names = [name for names in self._all_weights for name in names]

    # -- torch.nn's weight interface ----------------------------------------------------------
    @property
    def all_weights(self) -> list[list[Tensor]]:
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    @property
    def _flat_weights(self) -> list[Tensor]:
        return [getattr(self, name) for name in self._flat_weights_names]

    def flatten_parameters(self) -> None:
        """No-op, for code written against torch.nn (which packs weights for cuDNN)."""

    def cell_weights(self, index: int) -> dict[str, Tensor]:
        """Cell ``index``'s weights under the cell's own names (``weight_hh``, ...), as the
        layer holds them now: parameters, or what a parametrization or assignment made them."""
        return {name: getattr(self, full) for name, full in self._cell_weights[index]}

    def reset_parameters(self) -> None:
        """Each cell's own initialisation (torch.nn's uniform one for the core cells)."""
        for index, cell in enumerate(self.cells):
            own = {name: self._parameters[full] for name, full in self._cell_weights[index]
                   if self._parameters.get(full) is not None}
            with cell.owning(own):
                cell.reset_parameters()

    # -- running ------------------------------------------------------------------------------
    def _time_major(self, input: Tensor) -> tuple[Tensor, bool]:
        """A padded input as (T, B, I) (an unbatched (T, I) one gains B=1), and whether it was
        batched; torch.nn's error for another rank."""
        if input.dim() not in (2, 3):
            raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got "
                             f"{input.dim()}D instead")
        batched = input.dim() == 3
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        return x, batched

    def forward(self, input, hx=None):
        packed = isinstance(input, PackedSequence)
        if not packed and exporting_to_onnx() and maps_to_onnx(self):
            return onnx_forward(self, input, hx)  # ONNX's own RNN/LSTM/GRU nodes, T and B dynamic
        if packed and torch.compiler.is_exporting():
            # the batch sizes become the loops' constants, but a PackedSequence carries them
            # as data, which export cannot read (compile can: it specialises on them)
            raise ValueError(f"{type(self).__name__}: torch.export cannot take a PackedSequence; "
                             f"export with a padded (T, B, I) tensor")
        if packed:
            data, batch_sizes, sorted_indices, unsorted_indices = input
            sizes, batched = batch_sizes.tolist(), True
            length, batch = len(sizes), sizes[0]
        else:
            x, batched = self._time_major(input)
            length, batch = x.shape[:2]
            if length == 0:
                raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
            data = x.reshape(length * batch, x.shape[-1])
            sizes, sorted_indices, unsorted_indices = [batch] * length, None, None
        if data.shape[-1] != self.input_size:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                f"got {data.shape[-1]}")
        weights = [self.cell_weights(index) for index in range(len(self.cells))]
        compute_dtype = self._compute_dtype(data, weights[0], packed, batch)
        initial = self._initial_state(hx, batch, data, sorted_indices, batched)
        if compute_dtype is None and any(s.dtype != data.dtype for s in initial):
            raise RuntimeError(
                f"{type(self).__name__}: the initial state's dtype "
                f"({', '.join(str(s.dtype) for s in initial)}) does not match the input's "
                f"({data.dtype})")
        if compute_dtype is not None:  # autocast: everything in one dtype, autocast off inside
            data = data.to(compute_dtype)
            initial = tuple(s.to(compute_dtype) for s in initial)
            weights = [{k: w.to(compute_dtype) for k, w in ws.items()} for ws in weights]
            context = torch.autocast(data.device.type, enabled=False)
        else:
            context = nullcontext()
        with context:
            layer_input, state = self._run(data, sizes, initial, weights)

        if packed:
            output = PackedSequence(layer_input, batch_sizes, sorted_indices, unsorted_indices)
            if unsorted_indices is not None:
                state = tuple(s.index_select(1, unsorted_indices) for s in state)
        else:
            output = layer_input.view(length, batch, self.output_size * self.num_directions)
            if not batched:
                output, state = output.squeeze(1), tuple(s.squeeze(1) for s in state)
            elif self.batch_first:
                output = output.transpose(0, 1)
        return output, (state[0] if self.state_size == 1 else state)

    def _run(self, data: Tensor, sizes: list[int], initial: State,
             weights: list[dict[str, Tensor]]) -> tuple[Tensor, State]:
        """Every layer and direction over the packed rows ``data``: top outputs, final states."""
        empty = sizes[0] == 0
        directions = [None] * self.num_directions if empty else \
            [TimeSteps(sizes), TimeSteps(sizes, reverse=True)][: self.num_directions]
        layer_input, finals = data, []
        for layer in range(self.num_layers):
            outputs = []
            for direction, steps in enumerate(directions):
                index = layer * self.num_directions + direction
                start = tuple(s[index] for s in initial)
                with self.cells[index].using(weights[index]) as cell:
                    if empty:  # no rows: one step of the equations on zero rows keeps autograd's graph
                        final = cell.recur(cell.project_input(layer_input), start)
                        out = torch.cat([final[0]] * len(sizes))
                    else:
                        out, final = cell.sequence(layer_input, steps, start)
                outputs.append(out)
                finals.append(final)
            layer_input = torch.cat(outputs, 1) if len(outputs) > 1 else outputs[0]
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        state = tuple(torch.stack([f[k] for f in finals]) for k in range(self.state_size))
        return layer_input, state

    def _compute_dtype(self, data: Tensor, weights: dict[str, Tensor], packed: bool,
                       batch: int) -> torch.dtype | None:
        """The dtype to run in under autocast (None: no autocast); without autocast, check
        that the input's dtype is the weights', as torch.nn does."""
        autocast = _autocast_dtype(data.device.type) if data.is_floating_point() else None
        if autocast is None:
            expected = next(iter(weights.values())).dtype
            if data.dtype != expected:
                # torch.nn's words, "RNN" for every layer, so code matching them works here too;
                # converting the model is suggested only for a floating-point input
                hint = f", or convert model: model.to({data.dtype})" \
                    if data.is_floating_point() else ""
                raise ValueError(
                    f"RNN input dtype ({data.dtype}) does not match weight dtype ({expected}). "
                    f"Convert input: input.to({expected}){hint}")
            return None
        return autocast if self._runs_in_autocast_dtype(data.device.type, packed, batch) \
            else data.dtype

    def _runs_in_autocast_dtype(self, device_type: str, packed: bool, batch: int) -> bool:
        """Under autocast, whether this layer runs in the autocast dtype (True) or in its
        input's dtype (False). rnnzoo's own cells: always the autocast dtype; rnnzoo.RNN,
        LSTM and GRU follow torch.nn's layer of the same name (see torch_compat)."""
        return True

    def _initial_state(self, hx, batch: int, like: Tensor, sorted_indices, batched: bool) -> State:
        layers = self.num_layers * self.num_directions
        expected = [(layers, batch, size) for size in self.state_sizes]
        if hx is None:
            return tuple(like.new_zeros(shape) for shape in expected)
        given = (hx,) if isinstance(hx, Tensor) else tuple(hx)
        if len(given) != self.state_size:
            raise ValueError(
                f"{type(self).__name__} expects {self.state_size} initial state tensor(s) "
                f"{'(h_0, c_0)' if self.state_size == 2 else 'h_0'}, got {len(given)}")
        if not batched:
            if any(s.dim() != 2 for s in given):
                raise RuntimeError("for unbatched 2-D input, hx should also be 2-D")
            given = tuple(s.unsqueeze(1) for s in given)
        for k, (s, shape) in enumerate(zip(given, expected)):
            if tuple(s.shape) != shape:
                raise RuntimeError(f"Expected hidden[{k}] size {shape}, got {tuple(s.shape)}")
        if sorted_indices is not None:
            given = tuple(s.index_select(1, sorted_indices) for s in given)
        return given

    def extra_repr(self) -> str:
        text = f"{self.cell_name!r}, {self.input_size}, {self.hidden_size}"
        for name, default in (("proj_size", 0), ("num_layers", 1), ("bias", True),
                              ("batch_first", False), ("dropout", 0.0), ("bidirectional", False)):
            value = getattr(self, name)
            if value != default:
                text += f", {name}={value}"
        return text
