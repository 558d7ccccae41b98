"""Build the network a task needs from the ``cell`` config (the cell group) and the task's
description (a :class:`rnnzoo.tasks.info.TaskInfo`: its sequence shape, sizes and tokens)."""
from __future__ import annotations

from typing import Any

from torch import nn

from rnnzoo.cells import CELLS, resolve_cell_name
from rnnzoo.layers import build_rnn
from rnnzoo.models.encoders import InputEncoder
from rnnzoo.models.networks import BagOfVectors, ManyToMany, ManyToOne, OneToMany, Seq2Seq

BASELINE = "bow"  # the one-to-one baseline that stands in for a cell
#: tf-idf + logistic regression (rnnzoo.baselines.linear): a "cell" with no network at all
LINEAR = "linear"
#: task config keys that shape the network (the rest configure the data)
NETWORK_KEYS = ("embedding_dim", "feed", "teacher_forcing", "pooling", "embedding_dropout",
                "word_dropout", "head_dropout", "freeze_embeddings")
#: cell config keys that go to the recurrent layer (null: the layer's default)
LAYER_KEYS = ("impl", "num_layers", "bias", "dropout", "bidirectional")


def network_options(task: dict[str, Any]) -> dict[str, Any]:
    """The network's keyword arguments among a task config's keys."""
    return {k: task[k] for k in NETWORK_KEYS if task.get(k) is not None}


def network_from_config(info, config: dict[str, Any]) -> nn.Module:
    """The network of a run's resolved config (its ``cell`` group and task keys)."""
    return build_network(info, config["cell"], **network_options(config["task"]))


def build_network(info, cell: dict[str, Any], *, embedding_dim: int = 32,
                  feed: str = "zeros", teacher_forcing: bool = True, pooling: str = "last",
                  embedding_dropout: float = 0.0, word_dropout: float = 0.0,
                  head_dropout: float = 0.0, freeze_embeddings: bool = False) -> nn.Module | None:
    """The network for ``info`` (a TaskInfo) with the recurrent layer ``cell`` describes
    (None for ``cell=linear``, which trains no network)."""
    def encoder():
        return InputEncoder(info.input_size, tokens=info.tokens, embedding_dim=embedding_dim,
                            pad_id=info.pad_id, embedding_dropout=embedding_dropout,
                            word_dropout=word_dropout, freeze=freeze_embeddings)

    if cell["name"] == LINEAR:
        if info.shape != "many_to_one" or info.target != "classes":
            raise ValueError(f"cell=linear (tf-idf + logistic regression) is a baseline for text "
                             f"classification (task=sentiment), not for task {info.name}")
        return None

    if cell["name"] == BASELINE:
        if info.shape not in ("many_to_one", "many_to_many"):
            raise ValueError(f"cell=bow (no recurrence) is a baseline for many-to-one and aligned "
                             f"many-to-many tasks, not for task {info.name} ({info.shape})")
        return BagOfVectors(encoder(), cell["hidden_size"], info.output_size,
                            per_step=info.shape == "many_to_many")

    layer = {k: cell[k] for k in LAYER_KEYS if cell.get(k) is not None}

    def recurrent(input_size: int, bidirectional: bool | None = None):
        options = {**layer, **({} if bidirectional is None else {"bidirectional": bidirectional})}
        return build_rnn(cell["name"], input_size, cell["hidden_size"], batch_first=True,
                         **options, **dict(cell.get("options") or {}))

    if info.shape == "many_to_one":
        enc = encoder()
        return ManyToOne(enc, recurrent(enc.out_features), info.output_size, pooling=pooling,
                         head_dropout=head_dropout)
    if info.shape == "many_to_many":
        enc = encoder()
        return ManyToMany(enc, recurrent(enc.out_features), info.output_size)
    if info.shape == "one_to_many":
        return OneToMany(recurrent(embedding_dim), info.input_size, info.output_size,
                         feed=feed, teacher_forcing=teacher_forcing)
    if cell.get("bidirectional") and not CELLS[resolve_cell_name(cell["name"])].additive_state:
        raise ValueError(f"cell={cell['name']} with cell.bidirectional=true cannot start the "
                         f"decoder of task {info.name}: the encoder's two directions are summed "
                         f"into the decoder's state, and this cell's state is scaled by a log-scale "
                         f"stabiliser that does not add; use cell.bidirectional=false")
    source, target = encoder(), encoder()
    return Seq2Seq(source, recurrent(source.out_features), target,
                   recurrent(target.out_features, bidirectional=False), info.output_size)
