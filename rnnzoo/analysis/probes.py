r"""Hidden-state probes for a character language model (equations.md section 8).

Karpathy, Johnson & Fei-Fei (2015, "Visualizing and understanding recurrent networks") found
single LSTM cells in character models that track interpretable properties of the text: being
inside a quote, the position in the line, the depth of nested brackets. This module measures
that on any trained rnnzoo ``char_lm``:

- :func:`text_features` computes such properties of a text, one value per character: the
  value *after reading* character t, the moment the state h_t describes;
- :func:`run_stepwise` runs the recurrent layer one character at a time and records every
  state (h, and C for the LSTMs) for every layer;
- :func:`rank_units` ranks the recorded units (h, and tanh(C)) by Pearson correlation with
  each feature;
- a :class:`Clamp` "fixes one dimension" of the state (equations.md section 8): after every
  step the chosen unit is overwritten with a constant, before the head reads h_t and before
  the state is carried to step t + 1; :func:`clamp_effect` scores a text with and without it
  (bits per character, the change in the next-character distribution) and
  :func:`sample_with_clamp` samples with the same seed with and without it.

Clamping C in an LSTM fixes what is carried forward: h_t = o_t * tanh(C_t) of the same step
was already computed from the unclamped C_t, so the clamp shows in h from step t + 1 on. In a
stack of layers, a lower layer's clamped unit reaches the layer above from the next step on.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from rnnzoo.data.text import Vocab
from rnnzoo.models.heads import zero_state
from rnnzoo.tasks.char_lm import sample_text

#: feature name -> what it measures (after reading character t)
FEATURES = {
    "in_quote": "inside a one-line string literal, '...' or \"...\"; 1 on the opening quote, "
                "0 on the closing one",
    "in_docstring": "inside a triple-quoted string (docstrings, mostly), likewise",
    "in_comment": "inside a # comment, up to (not including) the newline",
    "bracket_depth": "nesting depth of (), [] and {} outside strings and comments",
    "column": "characters read so far on the current line (0 right after a newline)",
    "indent": "leading spaces and tabs read so far on the current line",
    "line_start": "1 from a newline through the next line's indentation, 0 from its first "
                  "other character",
}


# -- features of the text ---------------------------------------------------------------------
def text_features(text: str) -> dict[str, np.ndarray]:
    """Each of :data:`FEATURES` for every character of ``text``, as float arrays of len(text).

    A small Python-aware scanner: quotes and brackets inside comments, and brackets and ``#``
    inside strings, do not count; a backslash escapes the next character inside a string; a
    one-line string that reaches the end of its line is closed there.
    """
    n = len(text)
    out = {name: np.zeros(n) for name in FEATURES}
    quote: str | None = None  # the open string's delimiter: ' " ''' or """
    opened_at = -1  # index of the last character of the opening delimiter
    escaped = comment = False
    depth = column = indent = 0
    line_start = True
    for t, c in enumerate(text):
        if comment:
            comment = c != "\n"
        elif quote:
            if t <= opened_at:
                pass  # the rest of a triple-quote opening
            elif escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif len(quote) == 3 and c == quote[0] and t - 2 > opened_at and text[t - 2:t + 1] == quote:
                quote = None
            elif len(quote) == 1 and (c == quote or c == "\n"):
                quote = None
        elif c == "#":
            comment = True
        elif c in "'\"":
            quote = c * 3 if text.startswith(c * 3, t) else c
            opened_at = t + len(quote) - 1
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth = max(0, depth - 1)

        if c == "\n":
            column = indent = 0
            line_start = True
        else:
            column += 1
            if line_start and c in " \t":
                indent += 1
            else:
                line_start = False
        # the closing character of a string has been read: outside again
        out["in_quote"][t] = quote is not None and len(quote) == 1
        out["in_docstring"][t] = quote is not None and len(quote) == 3
        out["in_comment"][t] = comment
        out["bracket_depth"][t] = depth
        out["column"][t] = column
        out["indent"][t] = indent
        out["line_start"][t] = line_start
    return out


# -- correlation --------------------------------------------------------------------------------
def pearson(feature: np.ndarray, tracks: np.ndarray) -> np.ndarray:
    """Pearson r between ``feature`` (T,) and every column of ``tracks`` (T, U); NaN where
    either is constant (a clamped unit, a feature absent from the text)."""
    f = np.asarray(feature, dtype=np.float64)
    x = np.asarray(tracks, dtype=np.float64)
    f = f - f.mean()
    x = x - x.mean(0)
    denominator = np.sqrt((f * f).sum() * (x * x).sum(0))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (f @ x) / denominator
    r[~(denominator > 1e-12 * max(len(f), 1))] = np.nan
    return r


def rank_units(features: dict[str, np.ndarray], tracks: np.ndarray, names: list[str],
               top: int = 5) -> dict[str, list[dict]]:
    """{feature: the ``top`` units by |r|, as [{"unit", "r"}, ...]}; a constant feature
    gets an empty list."""
    ranking = {}
    for feature, values in features.items():
        r = pearson(values, tracks)
        order = [int(i) for i in np.argsort(-np.nan_to_num(np.abs(r), nan=-1.0)) if np.isfinite(r[i])]
        ranking[feature] = [{"unit": names[i], "r": float(r[i])} for i in order[:top]]
    return ranking


# -- running the layer step by step, with a clamp -----------------------------------------------
@dataclass
class Clamp:
    """Fix ``state`` ("h", or "c" for the LSTMs' cell) unit ``unit`` of ``layer`` to ``value``."""
    unit: int
    value: float
    state: str = "h"
    layer: int = -1


@dataclass
class Recording:
    """What one pass over a text produced. ``states[kind]`` is (T, L, H) for kind "h" (and
    "c"): the state after reading each character; ``logits`` (T, V) predicts character t + 1."""
    ids: list[int]
    logits: Tensor
    states: dict[str, np.ndarray] = field(default_factory=dict)

    def tracks(self, cell_tanh: bool = True) -> tuple[np.ndarray, list[str]]:
        """All units side by side, (T, U), and their names: "h17" ("c17" for an LSTM's cell;
        "l1.h17" in layer 1 of a stack). With ``cell_tanh`` an LSTM's cell shows as tanh(C),
        as Karpathy et al. plot it: bounded like h (C itself can drift to +-100 as a counter)
        and what h = o * tanh(C) reads."""
        columns, names = [], []
        for kind, values in self.states.items():
            values = np.tanh(values) if kind == "c" and cell_tanh else values
            layers, hidden = values.shape[1:]
            for layer in range(layers):
                columns.append(values[:, layer])
                prefix = f"l{layer}." if layers > 1 else ""
                names += [f"{prefix}{kind}{j}" for j in range(hidden)]
        return np.concatenate(columns, 1), names

    def bits(self) -> np.ndarray:
        """-log2 p(character t + 1 | characters <= t), for t = 0 .. T - 2."""
        logp = torch.log_softmax(self.logits[:-1].double(), -1)
        target = torch.tensor(self.ids[1:])
        return (-logp[torch.arange(len(target)), target] / math.log(2)).numpy()


def state_kinds(rnn: nn.Module) -> tuple[str, ...]:
    """("h", "c") for a layer whose state is a pair (the LSTMs), else ("h",)."""
    return ("h", "c") if isinstance(zero_state(rnn), tuple) else ("h",)


def parse_unit(name: str, value: float) -> Clamp:
    """"h17", "c17" or "l1.h17" (as :meth:`Recording.tracks` names units) into a Clamp."""
    layer, _, unit = name.rpartition(".")
    if unit[:1] not in ("h", "c") or not unit[1:].isdigit() or (layer and not layer[1:].isdigit()):
        raise ValueError(f"a unit is named like h17, c17 or l1.h17, got {name!r}")
    return Clamp(int(unit[1:]), float(value), unit[0], int(layer[1:]) if layer else -1)


def _apply(clamp: Clamp | None, state, kinds: tuple[str, ...]):
    if clamp is None:
        return state
    parts = list(state) if isinstance(state, tuple) else [state]
    k = kinds.index(clamp.state)
    parts[k] = parts[k].clone()
    parts[k][clamp.layer, :, clamp.unit] = clamp.value
    return tuple(parts) if isinstance(state, tuple) else parts[0]


@torch.no_grad()
def run_stepwise(network: nn.Module, ids: list[int], *, clamp: Clamp | None = None,
                 record: bool = True) -> Recording:
    """Feed ``ids`` one at a time from h_0 = 0 (clamped too), recording states and logits.

    ``network`` is a :class:`rnnzoo.models.networks.ManyToMany` over tokens (encoder, rnn with
    batch_first, head). With a clamp, the head reads the clamped h_t of the last layer.
    """
    rnn = network.rnn
    if rnn.bidirectional:
        raise ValueError("a character language model runs forward in time; this one is bidirectional")
    kinds = state_kinds(rnn)
    if clamp is not None:
        if clamp.state not in kinds:
            raise ValueError(f"this layer's state has {kinds}; there is no {clamp.state!r} to clamp")
        if not 0 <= clamp.unit < rnn.hidden_size:
            raise ValueError(f"unit {clamp.unit} is outside 0 .. {rnn.hidden_size - 1}")
    x = torch.tensor([ids], device=next(network.parameters()).device)
    inputs = network.encoder(x)  # (1, T, E)
    state = _apply(clamp, zero_state(rnn), kinds)
    logits, recorded = [], {kind: [] for kind in kinds}
    for t in range(len(ids)):
        _, state = rnn(inputs[:, t:t + 1], state)
        state = _apply(clamp, state, kinds)
        parts = state if isinstance(state, tuple) else (state,)
        # a forward layer's output at a step is its last layer's h at that step
        logits.append(network.head(parts[0][-1]))  # (1, V)
        if record:
            for kind, part in zip(kinds, parts):
                recorded[kind].append(part[:, 0].float().cpu())  # (L, H)
    states = {kind: torch.stack(v).numpy() for kind, v in recorded.items()} if record else {}
    return Recording(list(ids), torch.cat(logits).float().cpu(), states)


# -- what a clamp changes -------------------------------------------------------------------------
def clamp_effect(free: Recording, clamped: Recording, vocab: Vocab, top: int = 8) -> dict:
    """Compare two passes over the same text: bits per character, KL(p_free || p_clamped) of
    the next-character distribution (bits), and the characters whose mean probability rose
    and fell most."""
    bits_free, bits_clamped = free.bits(), clamped.bits()
    p = torch.softmax(free.logits.double(), -1)
    q = torch.softmax(clamped.logits.double(), -1)
    kl = (p * (torch.log(p.clamp_min(1e-300)) - torch.log(q.clamp_min(1e-300)))).sum(-1) / math.log(2)
    shift = (q - p).mean(0)  # (V,): mean change in each character's probability
    order = torch.argsort(shift)

    def chars(indices):
        return [{"char": vocab.itos[int(i)], "dp": float(shift[i])} for i in indices]

    return {
        "bits_free": float(bits_free.mean()), "bits_clamped": float(bits_clamped.mean()),
        "delta_bits": float((bits_clamped - bits_free).mean()),
        "kl_bits": float(kl.mean()), "kl_bits_max": float(kl.max()),
        "rose": chars(order.flip(0)[:top]), "fell": chars(order[:top]),
        "delta_bits_per_char": (bits_clamped - bits_free).tolist(),
    }


@torch.no_grad()
def sample_with_clamp(network: nn.Module, vocab: Vocab, *, clamp: Clamp | None = None,
                      prime: str = "\n", length: int = 300, temperature: float = 0.8,
                      seed: int = 0, jamo: bool = False) -> str:
    """Sample as :func:`rnnzoo.tasks.char_lm.sample_text` does, with ``clamp`` applied at every
    step; with the same seed, two calls differ only through the clamp."""
    kinds = state_kinds(network.rnn)
    return sample_text(network, vocab, prime=prime, length=length, temperature=temperature,
                       seed=seed, jamo=jamo,
                       state_hook=None if clamp is None else lambda s: _apply(clamp, s, kinds))
