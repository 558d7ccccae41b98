"""Initialisation schemes for recurrent weights, selectable per model (the ``init`` config group).

Works on rnnzoo's cells and layers and on torch.nn's RNN/LSTM/GRU alike: parameters are
recognised by torch.nn's naming (``weight_ih*`` input weights, ``weight_hh*`` recurrent weights,
``bias_ih*``/``bias_hh*`` biases, ``weight_hr*`` an LSTM's projection), on whichever module
owns them (a layer owns its cells' weights, as torch.nn's layers do), and stacked gate blocks
are initialised block by block, so "orthogonal" means each gate's H x H recurrent matrix is
orthogonal. The projection ``weight_hr`` (P x H) follows ``scheme``, with ``identity`` keeping
its first P units (the P x H identity). Parametrized weights (weight_norm, ...) are left alone.

Schemes (``scheme`` for the input weights, ``recurrent`` for the recurrent ones; the latter
defaults to the former):

- ``default``: leave torch's default, U(-1/sqrt(H), 1/sqrt(H)) everywhere;
- ``uniform``: U(-bound, bound); ``normal``: N(0, std^2); ``zeros``: all zero;
- ``xavier``: Glorot uniform per block;
- ``orthogonal``: orthogonal per block (Saxe et al. 2014);
- ``identity``: the identity per block, times ``gain`` (IRNN, Le, Jaitly & Hinton 2015, who
  pair it with ReLU, zero biases and small N(0, 0.001^2) input weights).

Every scheme but ``default`` sets biases to zero, except the blocks a cell declares as time
scales (``kept_bias_blocks``: S6's Δ bias, whose softplus is the initial step size);
``forget_bias`` then sets the forget gate's bias (for cells that have one) so that b_if + b_hf
equals it (Gers et al. 2000; Jozefowicz et al. 2015 recommend 1).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

SCHEMES = ("default", "uniform", "normal", "zeros", "xavier", "orthogonal", "identity")


def _fill(weight: Tensor, scheme: str, blocks: int, is_recurrent: bool, *, std: float,
          bound: float, gain: float) -> None:
    if scheme == "uniform":
        nn.init.uniform_(weight, -bound, bound)
    elif scheme == "normal":
        nn.init.normal_(weight, 0.0, std)
    elif scheme == "zeros":
        nn.init.zeros_(weight)
    elif weight.dim() == 1:  # IndRNN's diagonal recurrent weight
        nn.init.constant_(weight, gain) if scheme == "identity" else nn.init.uniform_(weight, 0, 1)
    else:
        for block in weight.chunk(blocks, 0):
            if scheme == "xavier":
                nn.init.xavier_uniform_(block, gain=gain)
            elif scheme == "orthogonal":
                nn.init.orthogonal_(block, gain=gain)
            elif scheme == "identity" and is_recurrent:
                block.copy_(torch.eye(*block.shape, dtype=block.dtype) * gain)
            elif scheme == "identity":  # the input weights of an IRNN: small Gaussian
                nn.init.normal_(block, 0.0, 1e-3)


def _zero_bias(bias: Tensor, hidden: int, kept: tuple[int, ...]) -> None:
    """Zero ``bias`` but its ``kept`` hidden-sized blocks (a cell's time-scale biases)."""
    keep = torch.zeros(bias.shape[0], dtype=torch.bool, device=bias.device)
    for block in kept:
        keep[block * hidden:(block + 1) * hidden] = True
    bias.masked_fill_(~keep, 0.0)


def _forget_block(module: nn.Module) -> int | None:
    if isinstance(module, (nn.LSTM, nn.LSTMCell)):
        return 1
    return getattr(module, "forget_block", None)


@torch.no_grad()
def initialize(model: nn.Module, scheme: str = "default", *, recurrent: str | None = None,
               forget_bias: float | None = None, std: float = 0.01, bound: float = 0.08,
               gain: float = 1.0) -> nn.Module:
    """Initialise every recurrent module inside ``model`` in place; returns ``model``."""
    recurrent = recurrent or scheme
    for name in (scheme, recurrent):
        if name not in SCHEMES:
            raise ValueError(f"unknown init scheme {name!r}; choose one of {', '.join(SCHEMES)}")
    options = dict(std=std, bound=bound, gain=gain)
    for module in model.modules():
        hidden = getattr(module, "hidden_size", None)
        own = dict(module.named_parameters(recurse=False))
        if not isinstance(hidden, int) or not any(k.startswith("weight_ih") for k in own):
            continue
        forget = _forget_block(module)
        for key, p in own.items():
            blocks = max(1, p.shape[0] // hidden)
            if key.startswith("weight_ih") and scheme != "default":
                _fill(p, scheme, blocks, False, **options)
            elif key.startswith("weight_hh") and recurrent != "default":
                _fill(p, recurrent, blocks, True, **options)
            elif key.startswith("weight_hr") and scheme != "default":  # the LSTM's projection
                _fill(p, scheme, 1, True, **options)
            elif key.startswith("bias_ih") and scheme != "default":
                _zero_bias(p, hidden, kept=getattr(module, "kept_bias_blocks", ()))
            elif key.startswith("bias_hh") and scheme != "default":
                nn.init.zeros_(p)
            if forget is not None and forget_bias is not None and "bias" in key \
                    and p.dim() == 1 and p.shape[0] == blocks * hidden and blocks > 1:
                is_first_bias = key.startswith(("bias_ih", "ln_ih_bias"))
                p[forget * hidden:(forget + 1) * hidden] = forget_bias if is_first_bias else 0.0
    return model
