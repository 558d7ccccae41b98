"""Build a recurrent layer stack by cell name and implementation: what the configs call.

``impl`` picks the twin: ``custom`` is rnnzoo's cell on its fast path, ``autograd`` the same
cell through the plain autograd loop (the readable reference), ``torch`` the torch.nn layer.
"""
from __future__ import annotations

from torch import nn

from rnnzoo.cells import resolve_cell_name
from rnnzoo.layers.stack import RecurrentStack
from rnnzoo.layers.torch_compat import GRU, LSTM, RNN

IMPLEMENTATIONS = ("custom", "autograd", "torch")

#: cell name -> (torch.nn layer, rnnzoo drop-in, fixed keyword arguments)
TWINS = {
    "rnn_tanh": (nn.RNN, RNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (nn.RNN, RNN, {"nonlinearity": "relu"}),
    "lstm": (nn.LSTM, LSTM, {}),
    "gru": (nn.GRU, GRU, {}),
}
#: options a torch.nn twin takes too (anything else needs rnnzoo's RecurrentStack)
TWIN_OPTIONS = {"lstm": {"proj_size"}}


def build_rnn(cell: str, input_size: int, hidden_size: int, *, impl: str = "custom",
              num_layers: int = 1, bias: bool = True, batch_first: bool = False,
              dropout: float = 0.0, bidirectional: bool = False, device=None, dtype=None,
              **options) -> nn.Module:
    """A module with torch.nn.RNN's interface running ``cell`` (see rnnzoo.cells.CELLS)."""
    name = resolve_cell_name(cell)
    if impl not in IMPLEMENTATIONS:
        raise ValueError(f"unknown impl {impl!r}; choose one of {', '.join(IMPLEMENTATIONS)}")
    common = dict(num_layers=num_layers, bias=bias, batch_first=batch_first, dropout=dropout,
                  bidirectional=bidirectional, device=device, dtype=dtype)
    if impl == "torch":
        if name not in TWINS:
            raise ValueError(f"cell {cell!r} has no torch.nn implementation (torch.nn has "
                             f"{', '.join(TWINS)}); use impl=custom")
        if set(options) - TWIN_OPTIONS.get(name, set()):
            raise ValueError(f"options {sorted(options)} apply only to rnnzoo's cells")
        layer, _, fixed = TWINS[name]
        return layer(input_size, hidden_size, **fixed, **common, **options)
    fast = impl == "custom"
    if name in TWINS and set(options) <= TWIN_OPTIONS.get(name, set()):
        _, twin, fixed = TWINS[name]
        return twin(input_size, hidden_size, **fixed, **common, **options, fast=fast)
    return RecurrentStack(name, input_size, hidden_size, fast=fast, **common, **options)
