"""rnnzoo.RNN, rnnzoo.LSTM and rnnzoo.GRU: drop-in replacements for torch.nn's layers.

Same constructor arguments in the same order (checked as torch.nn checks them), same forward
signature and return values, the same parameters under the same names in the same order (so
state_dict, parametrizations and weight assignment work as on torch.nn's layers). What they run
is rnnzoo's own cells (:mod:`rnnzoo.cells`), through the explicit-BPTT fast path by default
(``fast=False``: the plain autograd loop; an LSTM with ``proj_size`` always takes that loop).

Under ``torch.autocast`` each layer computes in the dtype torch.nn's layer of the same name
returns on that device: on the CPU, RNN in the autocast dtype; LSTM in the autocast dtype for
a padded (dense) input, in the input's dtype for a PackedSequence or an empty batch (there
torch.nn's oneDNN kernel does not run); GRU in the input's dtype. On other devices (cuDNN)
all three run in the autocast dtype.
"""
from __future__ import annotations

from rnnzoo.cells.rnn import NONLINEARITIES
from rnnzoo.layers.stack import RecurrentStack


def _refuse_options(layer: str, options: dict) -> None:
    """torch.nn's RNN and GRU take **kwargs and refuse proj_size with a ValueError; code that
    tests for that error (PyTorch's own tests do) sees the same here."""
    if "proj_size" in options:
        raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
    if options:
        raise TypeError(f"{layer}.__init__() got an unexpected keyword argument "
                        f"{next(iter(options))!r}")


class RNN(RecurrentStack):
    """Elman RNN layers, as torch.nn.RNN; ``nonlinearity`` may also be ``"sigmoid"``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None, dtype=None,
                 *, fast: bool = True, **options):
        _refuse_options("RNN", options)
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(
                f"Unknown nonlinearity {nonlinearity!r}. Select from 'tanh', 'relu' or 'sigmoid'.")
        self.nonlinearity = nonlinearity
        super().__init__(f"rnn_{nonlinearity}", input_size, hidden_size, num_layers, bias,
                         batch_first, dropout, bidirectional, fast=fast, device=device,
                         dtype=dtype)


class LSTM(RecurrentStack):
    """LSTM layers, as torch.nn.LSTM, with its optional projection ``proj_size``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None, *, fast: bool = True):
        super().__init__("lstm", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, fast=fast, device=device, dtype=dtype,
                         proj_size=proj_size)

    def _runs_in_autocast_dtype(self, device_type: str, packed: bool, batch: int) -> bool:
        return device_type != "cpu" or not (packed or batch == 0)


class GRU(RecurrentStack):
    """GRU layers (reset-after form), as torch.nn.GRU."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None, *, fast: bool = True, **options):
        _refuse_options("GRU", options)
        super().__init__("gru", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, fast=fast, device=device, dtype=dtype)

    def _runs_in_autocast_dtype(self, device_type: str, packed: bool, batch: int) -> bool:
        return device_type != "cpu"
