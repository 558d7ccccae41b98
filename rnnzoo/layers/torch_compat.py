"""rnnzoo.RNN, rnnzoo.LSTM and rnnzoo.GRU: drop-in replacements for torch.nn's layers.

Same constructor arguments in the same order, same forward signature and return values, same
state_dict keys and shapes. What they run is rnnzoo's own cells (:mod:`rnnzoo.cells`), through
the explicit-BPTT fast path by default (``fast=False``: the plain autograd loop).
"""
from __future__ import annotations

from rnnzoo.cells.rnn import NONLINEARITIES
from rnnzoo.layers.stack import RecurrentStack


class RNN(RecurrentStack):
    """Elman RNN layers, as torch.nn.RNN; ``nonlinearity`` may also be ``"sigmoid"``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None, dtype=None,
                 *, fast: bool = True):
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(
                f"unknown nonlinearity {nonlinearity!r}; choose 'tanh', 'relu' or 'sigmoid'")
        self.nonlinearity = nonlinearity
        super().__init__(f"rnn_{nonlinearity}", input_size, hidden_size, num_layers, bias,
                         batch_first, dropout, bidirectional, fast=fast, device=device,
                         dtype=dtype)


class LSTM(RecurrentStack):
    """LSTM layers, as torch.nn.LSTM (without proj_size, which is refused)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None, *, fast: bool = True):
        if proj_size != 0:
            raise ValueError(
                f"rnnzoo.LSTM does not support proj_size (torch.nn.LSTM's projected hidden "
                f"state); got proj_size={proj_size}, use 0 or torch.nn.LSTM")
        super().__init__("lstm", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, fast=fast, device=device, dtype=dtype)


class GRU(RecurrentStack):
    """GRU layers (reset-after form), as torch.nn.GRU."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None, *, fast: bool = True):
        super().__init__("gru", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, fast=fast, device=device, dtype=dtype)
