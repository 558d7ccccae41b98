"""Networks for each sequence shape (equations.md section 4): a recurrent layer plus a head.

Every network takes its recurrent layer ready-made (from :func:`rnnzoo.build_rnn`, built with
``batch_first=True``), so one config value swaps the cell or its implementation.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnzoo.models.encoders import InputEncoder
from rnnzoo.models.heads import last_layer_final


def _directions(rnn: nn.Module) -> int:
    return 2 if rnn.bidirectional else 1


def _output_size(rnn: nn.Module) -> int:
    """The width of one direction's output h_t: proj_size for an LSTM with a projection
    (torch.nn.LSTM's h_t = W_hr (o_t ⊙ tanh(c_t))), else hidden_size."""
    return getattr(rnn, "proj_size", 0) or rnn.hidden_size


def _pack(x: Tensor, lengths: Tensor | None):
    if lengths is None:
        return x
    return pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)


POOLINGS = ("last", "max", "mean", "attention")


class ManyToOne(nn.Module):
    """Sequence in, one output out (classification or regression).

    ``pooling`` says what summarises the sequence for the head:

    - ``"last"``: the top layer's final state (both directions' for a bidirectional layer);
    - ``"max"`` / ``"mean"``: the per-step outputs' maximum / mean over time, padding excluded
      (max pooling over time, as Collobert et al. 2011 and Kim 2014 use for sentences);
    - ``"attention"``: a softmax-weighted sum of the outputs, scored by a learned query
      ``a_t = softmax_t(u^T tanh(W h_t))`` (Yang et al. 2016).

    ``head_dropout`` drops units of that summary before the linear head.
    """

    def __init__(self, encoder: InputEncoder, rnn: nn.Module, out_features: int, *,
                 pooling: str = "last", head_dropout: float = 0.0):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}; got {pooling!r}")
        self.encoder, self.rnn, self.pooling = encoder, rnn, pooling
        width = _output_size(rnn) * _directions(rnn)
        if pooling == "attention":
            self.score = nn.Sequential(nn.Linear(width, width), nn.Tanh(), nn.Linear(width, 1, bias=False))
        self.dropout = nn.Dropout(head_dropout)
        self.head = nn.Linear(width, out_features)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        out, state = self.rnn(_pack(self.encoder(x), lengths))
        if self.pooling == "last":
            summary = last_layer_final(state, self.rnn.num_layers, _directions(self.rnn))
        else:
            summary = self._pool(out, lengths, x.shape[1])
        return self.head(self.dropout(summary))

    def _pool(self, out, lengths: Tensor | None, steps: int) -> Tensor:
        if lengths is not None:
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=steps)
        valid = torch.ones(out.shape[:2], dtype=torch.bool, device=out.device)  # (B, T)
        if lengths is not None:
            valid = torch.arange(steps, device=out.device)[None, :] < lengths.to(out.device)[:, None]
        mask = valid.unsqueeze(-1)  # (B, T, 1)
        if self.pooling == "max":
            return out.masked_fill(~mask, float("-inf")).amax(1)
        if self.pooling == "mean":
            return (out * mask).sum(1) / mask.sum(1).clamp(min=1).to(out.dtype)
        scores = self.score(out).masked_fill(~mask, float("-inf"))  # (B, T, 1)
        return (scores.softmax(1) * out).sum(1)


class ManyToMany(nn.Module):
    """An output at every step (aligned), e.g. a language model or per-step regression.

    ``forward`` also takes and returns the recurrent state, so training can carry it across
    consecutive chunks of a long text (truncated BPTT).
    """

    def __init__(self, encoder: InputEncoder, rnn: nn.Module, out_features: int):
        super().__init__()
        self.encoder, self.rnn = encoder, rnn
        self.head = nn.Linear(_output_size(rnn) * _directions(rnn), out_features)

    def forward(self, x: Tensor, lengths: Tensor | None = None, state=None):
        out, state = self.rnn(_pack(self.encoder(x), lengths), state)
        if lengths is not None:
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        return self.head(out), state


class OneToMany(nn.Module):
    """One input vector, then a sequence out.

    Step 0 receives the projected input vector; later steps receive zeros (``feed="zeros"``)
    or the network's previous output (``feed="previous"``; in training, the true previous
    value when ``teacher_forcing`` is on, which is faster and more stable).
    """

    def __init__(self, rnn: nn.Module, in_features: int, out_features: int, *,
                 feed: str = "zeros", teacher_forcing: bool = True):
        super().__init__()
        if feed not in ("zeros", "previous"):
            raise ValueError(f"feed must be 'zeros' or 'previous', got {feed!r}")
        if rnn.bidirectional:
            raise ValueError("a one-to-many generator runs forward in time: use bidirectional=false")
        self.rnn, self.feed, self.teacher_forcing = rnn, feed, teacher_forcing
        self.project_start = nn.Linear(in_features, rnn.input_size)
        self.project_previous = nn.Linear(out_features, rnn.input_size)
        self.head = nn.Linear(_output_size(rnn), out_features)

    def forward(self, v: Tensor, steps: int, targets: Tensor | None = None) -> Tensor:
        start = self.project_start(v).unsqueeze(1)  # (B, 1, E)
        if self.feed == "zeros":
            later = start.new_zeros(v.shape[0], steps - 1, start.shape[-1])
            out, _ = self.rnn(torch.cat([start, later], 1))
            return self.head(out)
        if targets is not None and self.training and self.teacher_forcing:
            inputs = torch.cat([start, self.project_previous(targets[:, :-1])], 1)
            out, _ = self.rnn(inputs)
            return self.head(out)
        outputs, step_input, state = [], start, None
        for _ in range(steps):  # free-running: each prediction is the next input
            out, state = self.rnn(step_input, state)
            y = self.head(out)
            outputs.append(y)
            step_input = self.project_previous(y)
        return torch.cat(outputs, 1)


class Seq2Seq(nn.Module):
    """Encoder-decoder: the encoder's final state starts the decoder.

    Training uses teacher forcing (the decoder reads the true previous token); ``greedy``
    decodes by feeding back the most likely token until ``<eos>`` or ``max_len``. A
    bidirectional encoder's two directions are summed into the decoder's start state.
    """

    def __init__(self, source: InputEncoder, encoder: nn.Module, target: InputEncoder,
                 decoder: nn.Module, vocab_size: int):
        super().__init__()
        if decoder.bidirectional:
            raise ValueError("the decoder runs forward in time: it cannot be bidirectional")
        self.source, self.encoder, self.target, self.decoder = source, encoder, target, decoder
        self.head = nn.Linear(_output_size(decoder), vocab_size)

    def encode(self, src: Tensor, src_lengths: Tensor):
        _, state = self.encoder(_pack(self.source(src), src_lengths))
        directions = _directions(self.encoder)
        if directions == 1:
            return state

        def merge(s):
            return s.view(-1, directions, *s.shape[1:]).sum(1)

        return tuple(merge(s) for s in state) if isinstance(state, tuple) else merge(state)

    def forward(self, src: Tensor, src_lengths: Tensor, tgt_in: Tensor) -> Tensor:
        out, _ = self.decoder(self.target(tgt_in), self.encode(src, src_lengths))
        return self.head(out)

    @torch.no_grad()
    def greedy(self, src: Tensor, src_lengths: Tensor, *, bos: int, eos: int, max_len: int) -> Tensor:
        state = self.encode(src, src_lengths)
        token = torch.full((src.shape[0], 1), bos, dtype=torch.long, device=src.device)
        tokens, done = [], torch.zeros(src.shape[0], dtype=torch.bool, device=src.device)
        for _ in range(max_len):
            out, state = self.decoder(self.target(token), state)
            token = self.head(out).argmax(-1)  # (B, 1)
            tokens.append(token)
            done |= token.squeeze(1) == eos
            if bool(done.all()):
                break
        return torch.cat(tokens, 1)


class BagOfVectors(nn.Module):
    """The one-to-one baseline: no recurrence, so word order is invisible to it.

    Many-to-one: the mean of the encoded steps (padding excluded) through an MLP.
    Aligned many-to-many (``per_step=True``): the same MLP on each step alone.
    """

    def __init__(self, encoder: InputEncoder, hidden_size: int, out_features: int, *,
                 per_step: bool = False):
        super().__init__()
        self.encoder, self.per_step = encoder, per_step
        self.mlp = nn.Sequential(nn.Linear(encoder.out_features, hidden_size), nn.Tanh(),
                                 nn.Linear(hidden_size, out_features))

    def forward(self, x: Tensor, lengths: Tensor | None = None, state=None):
        e = self.encoder(x)  # (B, T, E)
        if self.per_step:
            return self.mlp(e), None
        if lengths is None:
            return self.mlp(e.mean(1))
        mask = (torch.arange(e.shape[1], device=e.device) < lengths.to(e.device)[:, None])
        mean = (e * mask.unsqueeze(-1)).sum(1) / lengths.to(e.device, e.dtype)[:, None]
        return self.mlp(mean)
