"""ONNX export of rnnzoo's layers: each layer becomes ONNX's own RNN, LSTM or GRU operator.

Why a separate forward: in eager mode, under ``torch.compile`` and under ``torch.export``, a
layer runs its cells' registered loops (``rnnzoo::lstm_seq``, ...), which take the packed
layout's batch sizes as a list of ints, so the graph fixes T and B. ONNX has the recurrences
as standard operators that take a whole (T, B, I) tensor, so under ``torch.onnx.export``
(the default ``dynamo=True`` exporter) a layer whose cells have an ONNX twin emits those
operators instead, through ``torch.onnx.ops.symbolic_multi_out`` (torch's public API for an
ONNX node inside a torch graph): no translation table to pass, T and B stay dynamic when the
export's ``dynamic_shapes`` mark them, and onnxruntime runs its fused kernels.
``RecurrentStack.forward`` hands a padded input to :func:`onnx_forward` when
:func:`exporting_to_onnx` and :func:`maps_to_onnx` say so.

Which cells have a twin (:func:`onnx_op`), with the weight re-ordering ONNX needs:

================  ======  =====================================================================
cell              ONNX    mapping
================  ======  =====================================================================
rnn_tanh/relu/    RNN     W = W_ih, R = W_hh, activation Tanh / Relu / Sigmoid
sigmoid
indrnn            RNN     R = diag(u) (a matmul by a diagonal: the Hadamard product)
lstm              LSTM    gate blocks i, f, g, o -> ONNX's i, o, f, c (no ``proj_size``)
peephole_lstm     LSTM    the same, and P = (p_i, p_o, p_f)
gru               GRU     blocks r, z, n -> ONNX's z, r, h; ``linear_before_reset=1`` is the
                          reset-after form (r * (W_hn h + b_hn))
gru_reset_before  GRU     ``linear_before_reset=0``; ONNX writes h_t = (1-z) h~ + z h_{t-1}
                          where rnnzoo writes z h~ + (1-z) h_{t-1}: the z rows are negated
                          (sigmoid(-a) = 1 - sigmoid(a))
================  ======  =====================================================================

Other cells (layernorm_lstm, the min and modern cells, an LSTM with ``proj_size``) export
their plain-torch loop where the exporter takes it (lru's complex numbers it does not), with T
and B fixed at the export's values even when ``dynamic_shapes`` marks them (the exporter falls
back to static shapes without a word).

Only the dynamo exporter is detected: ``torch.onnx.is_in_onnx_export()`` is also True under
the legacy TorchScript exporter (``dynamo=False``), where the ONNX nodes cannot be emitted, so
the test is that *and* ``torch.compiler.is_exporting()`` (False under the legacy one).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnzoo.cells.gru import GRUCell, GRUResetBeforeCell
from rnnzoo.cells.indrnn import IndRNNCell
from rnnzoo.cells.lstm import LSTMCell
from rnnzoo.cells.peephole import PeepholeLSTMCell
from rnnzoo.cells.rnn import ElmanCell

ACTIVATIONS = {"tanh": "Tanh", "relu": "Relu", "sigmoid": "Sigmoid"}


def exporting_to_onnx() -> bool:
    """True inside ``torch.onnx.export(..., dynamo=True)`` (the default), False elsewhere.

    ``is_exporting`` goes first because it is a flag read: ``is_in_onnx_export`` imports
    modules and costs ~5 us, too much for every eager forward."""
    return torch.compiler.is_exporting() and torch.onnx.is_in_onnx_export()


@dataclass
class OnnxForm:
    """One direction of one layer as ONNX's operator wants it (weights in ONNX's gate order).

    ``bias`` is ONNX's B = [W_b, R_b], ``peephole`` its P; None leaves the input out.
    """

    op: str
    weight: Tensor  # W: (blocks * H, I)
    recurrent: Tensor  # R: (blocks * H, H)
    bias: Tensor | None = None  # (2 * blocks * H,)
    peephole: Tensor | None = None  # (3 * H,)
    attributes: dict = field(default_factory=dict)


def _blocks(tensor: Tensor | None, order: list[int], signs: list[float] | None = None
            ) -> Tensor | None:
    """The gate blocks (along dim 0) of a stacked weight or bias in ``order``, each times its
    sign in ``signs``; None stays None. Indexing, not chunk: the exporter folds it away."""
    if tensor is None:
        return None
    blocks = tensor.unflatten(0, (len(order), -1))[order]  # (blocks, H, ...)
    if signs is not None:
        sign = torch.tensor(signs, dtype=tensor.dtype, device=tensor.device)
        blocks = blocks * sign.view(-1, *[1] * tensor.dim())  # one sign per block
    return blocks.flatten(0, 1)


def _bias(bias_ih: Tensor | None, bias_hh: Tensor | None) -> Tensor | None:
    """ONNX's B = [W_b, R_b], with zeros for a missing half; None when the cell has no bias."""
    if bias_ih is None and bias_hh is None:
        return None
    present = bias_ih if bias_ih is not None else bias_hh
    zeros = present.new_zeros(present.shape)
    return torch.cat([zeros if bias_ih is None else bias_ih, zeros if bias_hh is None else bias_hh])


def onnx_op(cell) -> str | None:
    """The ONNX operator with ``cell``'s equations, or None. Exact types: a subclass may change
    the equations."""
    kind = type(cell)
    if kind in (ElmanCell, IndRNNCell):
        return "RNN"
    if kind in (LSTMCell, PeepholeLSTMCell):
        return None if getattr(cell, "proj_size", 0) else "LSTM"  # ONNX has no projection
    if kind in (GRUCell, GRUResetBeforeCell):
        return "GRU"
    return None


def onnx_form(cell, weights: dict[str, Tensor]) -> OnnxForm:
    """``cell``'s weights (the layer's, under the cell's names) as ONNX's ``onnx_op(cell)``
    takes them."""
    kind, op = type(cell), onnx_op(cell)
    w_ih, w_hh = weights["weight_ih"], weights["weight_hh"]
    b_ih, b_hh = weights.get("bias_ih"), weights.get("bias_hh")
    if op == "RNN":
        recurrent = torch.diag(w_hh) if kind is IndRNNCell else w_hh  # u * h = diag(u) h
        return OnnxForm(op, w_ih, recurrent, _bias(b_ih, b_hh),
                        attributes={"activations": [ACTIVATIONS[cell.nonlinearity]]})
    if op == "LSTM":
        order = [0, 3, 1, 2]  # i, f, g, o -> i, o, f, c
        peephole = weights.get("weight_peephole")  # rows p_i, p_f, p_o -> ONNX's i, o, f
        return OnnxForm(op, _blocks(w_ih, order), _blocks(w_hh, order),
                        _bias(_blocks(b_ih, order), _blocks(b_hh, order)),
                        None if peephole is None else peephole[[0, 2, 1]].flatten())
    if op == "GRU":
        order = [1, 0, 2]  # r, z, n -> z, r, h
        # reset-before: ONNX's z is rnnzoo's 1 - z = sigmoid(-a), so its rows are negated
        signs = [-1.0, 1.0, 1.0] if kind is GRUResetBeforeCell else None
        w, r, b_w, b_r = (_blocks(t, order, signs) for t in (w_ih, w_hh, b_ih, b_hh))
        return OnnxForm(op, w, r, _bias(b_w, b_r),
                        attributes={"linear_before_reset": int(kind is GRUCell)})
    raise ValueError(f"{kind.__name__} has no ONNX operator")


def maps_to_onnx(layer) -> bool:
    """Whether every cell of a RecurrentStack has an ONNX operator (see :func:`onnx_op`)."""
    return all(onnx_op(cell) is not None for cell in layer.cells)


def _stack(forms: list[OnnxForm], name: str) -> Tensor | None:
    """One input of the ONNX node: the directions' tensors stacked on a leading axis."""
    tensors = [getattr(form, name) for form in forms]
    return None if tensors[0] is None else torch.stack(tensors)


def _run_layer(forms: list[OnnxForm], x: Tensor, start: tuple[Tensor, ...]):
    """One layer (both directions) as one ONNX node: (outputs (T, B, D*H), final states)."""
    first = forms[0]
    length, batch = x.shape[0], x.shape[1]
    directions, hidden = len(forms), first.recurrent.shape[-1]
    attributes = dict(first.attributes, hidden_size=hidden,
                      direction="bidirectional" if directions == 2 else "forward")
    if "activations" in attributes:  # one list entry per direction
        attributes["activations"] = attributes["activations"] * directions
    inputs = [x, _stack(forms, "weight"), _stack(forms, "recurrent"), _stack(forms, "bias"),
              None, *start]  # None: sequence_lens (every sequence has all T steps)
    if first.op == "LSTM":
        inputs.append(_stack(forms, "peephole"))
    state_shape = (directions, batch, hidden)
    outputs = torch.onnx.ops.symbolic_multi_out(
        first.op, inputs, attributes,
        dtypes=[x.dtype] * (1 + len(start)),
        shapes=[(length, directions, batch, hidden)] + [state_shape] * len(start))
    y, finals = outputs[0], tuple(outputs[1:])  # y: (T, D, B, H)
    return y.permute(0, 2, 1, 3).reshape(length, batch, directions * hidden), finals


def onnx_forward(layer, input: Tensor, hx=None):
    """RecurrentStack.forward for a padded input, as ONNX nodes (one per layer): the same
    arguments and return values. Only meaningful inside ``torch.onnx.export``."""
    x, batched = layer._time_major(input)
    if x.shape[-1] != layer.input_size:
        raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                           f"{layer.input_size}, got {x.shape[-1]}")
    initial = layer._initial_state(hx, x.shape[1], x, None, batched)
    directions, finals = layer.num_directions, []
    for index in range(layer.num_layers):
        cells = range(index * directions, (index + 1) * directions)
        forms = [onnx_form(layer.cells[k], layer.cell_weights(k)) for k in cells]
        start = tuple(s[cells.start:cells.stop] for s in initial)
        x, final = _run_layer(forms, x, start)
        finals.append(final)
        if layer.dropout > 0 and layer.training and index < layer.num_layers - 1:
            x = F.dropout(x, layer.dropout, training=True)
    state = tuple(torch.cat([f[k] for f in finals]) for k in range(layer.state_size))
    if not batched:
        x, state = x.squeeze(1), tuple(s.squeeze(1) for s in state)
    elif layer.batch_first:
        x = x.transpose(0, 1)
    return x, (state[0] if layer.state_size == 1 else state)
