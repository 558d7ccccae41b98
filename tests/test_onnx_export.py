"""ONNX export of rnnzoo's layers (rnnzoo/layers/onnx.py), checked by running onnxruntime.

A plain ``torch.onnx.export(model, args, f)`` turns each layer whose cells have an ONNX twin
into ONNX's own RNN / LSTM / GRU node (one per layer, both directions in it). With
``dynamic_shapes`` on T and B the model must then run at other shapes too: onnxruntime's
outputs and final states must equal eager rnnzoo's within 1e-4 at the export shape and at
another sequence length and batch size.
"""
import warnings

import pytest
import torch
from torch.export import Dim

pytest.importorskip("onnx")
pytest.importorskip("onnxscript")
ort = pytest.importorskip("onnxruntime")

import rnnzoo  # noqa: E402
from rnnzoo.layers.stack import RecurrentStack  # noqa: E402
from rnnzoo.models.encoders import InputEncoder  # noqa: E402
from rnnzoo.models.networks import ManyToOne  # noqa: E402

TOL = 1e-4
FAMILIES = {"rnn": rnnzoo.RNN, "lstm": rnnzoo.LSTM, "gru": rnnzoo.GRU}
ONNX_OP = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def inputs(model, length: int, batch: int, with_state: bool) -> tuple:
    """(x,) or (x, hx) for ``model`` (input 5) at T=length, B=batch."""
    shape = (batch, length) if model.batch_first else (length, batch)
    x = torch.randn(*shape, model.input_size)
    if not with_state:
        return (x,)
    layers = model.num_layers * model.num_directions
    states = tuple(torch.randn(layers, batch, model.hidden_size) for _ in model.state_sizes)
    return (x, states if len(states) == 2 else states[0])


def dynamic_shapes(model, args: tuple) -> tuple:
    """T and B of the input, and B of every initial state, marked dynamic."""
    time, batch = Dim("T"), Dim("B")
    x_dims = {0: batch, 1: time} if model.batch_first else {0: time, 1: batch}
    if len(args) == 1:
        return (x_dims,)
    state = args[1]
    return (x_dims, tuple({1: batch} for _ in state) if isinstance(state, tuple) else {1: batch})


def export(model, args: tuple, **kwargs):
    """The ONNX model of ``torch.onnx.export(model, args)`` and an onnxruntime session on it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # exporting in train mode, renamed axes: expected here
        program = torch.onnx.export(model, args, verbose=False, **kwargs)
    return program.model_proto, session_of(program.model_proto.SerializeToString())


def session_of(model) -> "ort.InferenceSession":
    """An onnxruntime session on one thread: tiny models, and no idle threads spinning."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def max_error(session, model, args: tuple) -> float:
    """The largest |onnxruntime - eager| over the outputs and final states."""
    leaves = torch.utils._pytree.tree_leaves(args)
    feeds = {spec.name: t.numpy() for spec, t in zip(session.get_inputs(), leaves, strict=True)}
    got = session.run(None, feeds)
    with torch.no_grad():
        expected = torch.utils._pytree.tree_leaves(model(*args))
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert tuple(a.shape) == tuple(b.shape)
    return max((torch.from_numpy(a) - b).abs().max().item() for a, b in zip(got, expected))


def op_types(proto) -> list[str]:
    return [node.op_type for node in proto.graph.node]


class Side(torch.nn.Module):
    """Layers side by side on the same input: one export checks them all."""

    def __init__(self, layers):
        super().__init__()
        self.layers = torch.nn.ModuleList(layers)
        self.batch_first, self.input_size = False, layers[0].input_size

    def forward(self, x):
        return [layer(x) for layer in self.layers]


@pytest.mark.parametrize("family", FAMILIES)
def test_core_layers_export_with_dynamic_sequence_length_and_batch(family):
    model = FAMILIES[family](5, 7, num_layers=2, bidirectional=True, batch_first=True).eval()
    args = inputs(model, 6, 3, with_state=True)
    proto, session = export(model, args, dynamic_shapes=dynamic_shapes(model, args))
    assert op_types(proto).count(ONNX_OP[family]) == 2  # one node per layer, both directions
    assert max_error(session, model, args) < TOL
    assert max_error(session, model, inputs(model, 11, 2, with_state=True)) < TOL


def test_core_layers_in_train_mode_without_initial_state():
    model = Side([family(5, 7) for family in FAMILIES.values()]).train()
    args = inputs(model, 6, 3, with_state=False)
    proto, session = export(model, args, dynamic_shapes=dynamic_shapes(model, args))
    assert [op for op in op_types(proto) if op in ONNX_OP.values()] == list(ONNX_OP.values())
    assert max_error(session, model, args) < TOL
    assert max_error(session, model, inputs(model, 11, 2, with_state=False)) < TOL


def test_cells_with_an_onnx_twin_export_as_it():
    cells = {"rnn_sigmoid": "RNN", "indrnn": "RNN", "peephole_lstm": "LSTM",
             "gru_reset_before": "GRU"}
    model = Side([rnnzoo.build_rnn(cell, 5, 7, bidirectional=True) for cell in cells]).eval()
    with torch.no_grad():  # every weight (peepholes too) large enough to show a wrong gate order
        for parameter in model.parameters():
            parameter.uniform_(-0.8, 0.8)
    args = inputs(model, 6, 3, with_state=False)
    proto, session = export(model, args, dynamic_shapes=dynamic_shapes(model, args))
    recurrent = [op for op in op_types(proto) if op in ONNX_OP.values()]
    assert sorted(recurrent) == sorted(cells.values())
    assert max_error(session, model, args) < TOL
    assert max_error(session, model, inputs(model, 9, 4, with_state=False)) < TOL


def test_unbatched_input_to_a_file(tmp_path):
    model = rnnzoo.LSTM(5, 7, num_layers=2).eval()
    args = (torch.randn(6, 5), (torch.randn(2, 7), torch.randn(2, 7)))
    path = tmp_path / "lstm.onnx"
    torch.onnx.export(model, args, path, dynamic_shapes=({0: Dim("T")}, ({}, {})))
    session = session_of(str(path))
    assert max_error(session, model, args) < TOL
    assert max_error(session, model, (torch.randn(9, 5), args[1])) < TOL


def test_a_network_with_embedding_and_head():
    rnn = rnnzoo.build_rnn("lstm", 6, 7, num_layers=2, bidirectional=True, batch_first=True)
    model = ManyToOne(InputEncoder(20, tokens=True, embedding_dim=6), rnn, 3).eval()
    tokens = torch.randint(0, 20, (3, 6))
    proto, session = export(model, (tokens,), dynamic_shapes=({0: Dim("B"), 1: Dim("T")},))
    assert "LSTM" in op_types(proto)
    assert max_error(session, model, (tokens,)) < TOL
    assert max_error(session, model, (torch.randint(0, 20, (5, 9)),)) < TOL


def test_cells_without_a_twin_export_their_loop_at_the_export_shape():
    model = rnnzoo.build_rnn("min_gru", 5, 7).eval()
    args = inputs(model, 6, 3, with_state=False)
    proto, session = export(model, args)
    assert not set(ONNX_OP.values()) & set(op_types(proto))
    assert max_error(session, model, args) < TOL


def test_torch_export_still_records_the_registered_ops():
    # the ONNX branch is for torch.onnx.export only: torch.export keeps one rnnzoo op per layer
    program = torch.export.export(rnnzoo.GRU(5, 7).eval(), (torch.randn(6, 3, 5),))
    targets = [str(node.target) for node in program.graph.nodes if node.op == "call_function"]
    assert "rnnzoo.gru_seq.default" in targets
