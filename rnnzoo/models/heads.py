"""Reading a recurrent layer's results: final states and per-step outputs."""
from __future__ import annotations

import torch
from torch import Tensor, nn


def zero_state(rnn: nn.Module):
    """A layer's all-zero initial state for one sequence: (h_0, c_0) for a layer whose state is
    a pair (the LSTMs), else h_0; for rnnzoo's layers and torch.nn's alike."""
    weight = next(rnn.parameters())
    with torch.no_grad():  # the layer's own answer to one zero step gives the state's structure
        _, state = rnn(weight.new_zeros(1, 1, rnn.input_size))
    return tuple(map(torch.zeros_like, state)) if isinstance(state, tuple) else torch.zeros_like(state)


def last_layer_final(state, num_layers: int, num_directions: int) -> Tensor:
    """h_n of the top layer, both directions concatenated: (B, D * H).

    ``state`` is what a torch.nn-style layer returns: h_n, or (h_n, c_n) for an LSTM, with
    h_n shaped (num_layers * D, B, H). Each direction's final state is its own last step, so
    for the reverse direction it summarises the whole sequence read backwards.
    """
    h_n = state[0] if isinstance(state, tuple) else state
    top = h_n.view(num_layers, num_directions, *h_n.shape[1:])[-1]  # (D, B, H)
    return torch.cat(list(top), dim=-1)

