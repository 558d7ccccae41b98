"""rnnzoo's cells, one file per family, and the registry that names them.

Every cell shares :class:`~rnnzoo.cells.base.RecurrentCell`'s interface, so the layer machinery
(:mod:`rnnzoo.layers`) runs any of them, and configs pick them by name.
"""
from functools import partial

from rnnzoo.cells.base import RecurrentCell
from rnnzoo.cells.gru import GRUCell, GRUResetBeforeCell
from rnnzoo.cells.indrnn import IndRNNCell
from rnnzoo.cells.layernorm_lstm import LayerNormLSTMCell
from rnnzoo.cells.lru import LRUCell, RGLRUCell
from rnnzoo.cells.lstm import LSTMCell
from rnnzoo.cells.minimal import MinGRUCell, MinLSTMCell
from rnnzoo.cells.peephole import PeepholeLSTMCell
from rnnzoo.cells.rnn import ElmanCell
from rnnzoo.cells.selective_ssm import SelectiveSSMCell
from rnnzoo.cells.xlstm import MLSTMCell, SLSTMCell

#: cell name -> constructor taking (input_size, hidden_size, bias, **options)
CELLS = {
    "rnn_tanh": partial(ElmanCell, nonlinearity="tanh"),
    "rnn_relu": partial(ElmanCell, nonlinearity="relu"),
    "rnn_sigmoid": partial(ElmanCell, nonlinearity="sigmoid"),
    "lstm": LSTMCell,
    "gru": GRUCell,
    "gru_reset_before": GRUResetBeforeCell,
    "peephole_lstm": PeepholeLSTMCell,
    "layernorm_lstm": LayerNormLSTMCell,
    "indrnn": IndRNNCell,
    "min_gru": MinGRUCell,
    "min_lstm": MinLSTMCell,
    "slstm": SLSTMCell,
    "mlstm": MLSTMCell,
    "lru": LRUCell,
    "rg_lru": RGLRUCell,
    "s6": SelectiveSSMCell,
}
#: friendlier names for the same cells
ALIASES = {"rnn": "rnn_tanh", "elman": "rnn_tanh", "irnn": "rnn_relu"}


def cell_names() -> list[str]:
    return sorted(CELLS) + sorted(ALIASES)


def resolve_cell_name(name: str) -> str:
    key = ALIASES.get(name, name)
    if key not in CELLS:
        raise ValueError(f"unknown cell {name!r}; choose one of {', '.join(cell_names())}")
    return key


__all__ = [
    "CELLS",
    "ALIASES",
    "cell_names",
    "resolve_cell_name",
    "RecurrentCell",
    "ElmanCell",
    "LSTMCell",
    "GRUCell",
    "GRUResetBeforeCell",
    "PeepholeLSTMCell",
    "LayerNormLSTMCell",
    "IndRNNCell",
    "MinGRUCell",
    "MinLSTMCell",
    "SLSTMCell",
    "MLSTMCell",
    "LRUCell",
    "RGLRUCell",
    "SelectiveSSMCell",
]
