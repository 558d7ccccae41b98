"""Floating-point operations of a recurrent layer stack, counted from its matrix products.

Per layer and direction, over N = T * B rows (every time step of every sequence), a cell with
G weight blocks (gates and candidates: Elman 1, GRU 3, LSTM 4) does, going forward,

    input GEMM      x_t W_ih^T     2 * N * I_l * G * H
    recurrent GEMM  h_{t-1} W_hh^T 2 * N * H * G * H      (none for minGRU/minLSTM, IndRNN and the
                                                           diagonal or input-gated modern cells)

where I_l is the layer's input width (I for the first layer, H * directions after). Training
adds the backward pass, whose GEMMs are exactly twice the forward ones: each forward product
A W^T has two gradient products, dA W (the input's or h_{t-1}'s gradient) and dA^T A (the
weight's). The benchmark's input requires grad, so the first layer's dX is counted too.
Elementwise work (gates, activations) is left out: it is O(N * G * H), below the GEMMs by a
factor of about the width, and the count is what a GEMM-bound ideal would reach.
"""
from __future__ import annotations

from rnnzoo.cells import CELLS, resolve_cell_name

#: cells whose recurrence is elementwise or absent (no recurrent GEMM)
NO_RECURRENT_GEMM = {"indrnn", "min_gru", "min_lstm", "mlstm", "lru", "rg_lru", "s6"}


def gate_blocks(cell: str) -> int:
    """G: how many hidden-sized blocks the cell's weight_ih stacks."""
    factory = CELLS[resolve_cell_name(cell)]
    return getattr(factory, "func", factory).blocks


def layer_flops(cell: str, rows: int, input_size: int, hidden_size: int) -> int:
    """Forward GEMM FLOPs of one layer in one direction over ``rows`` = T * B rows."""
    blocks = gate_blocks(cell)
    flops = 2 * rows * input_size * blocks * hidden_size
    if resolve_cell_name(cell) not in NO_RECURRENT_GEMM:
        flops += 2 * rows * hidden_size * blocks * hidden_size
    return flops


def gemm_flops(cell: str, seq_len: int, batch: int, input_size: int, hidden_size: int, *,
               layers: int = 1, bidirectional: bool = False, mode: str = "train") -> int:
    """GEMM FLOPs of one call: ``mode`` "forward" (inference) or "train" (forward + backward)."""
    if mode not in ("forward", "train"):
        raise ValueError(f"mode must be 'forward' or 'train', got {mode!r}")
    directions = 2 if bidirectional else 1
    rows = seq_len * batch
    total = 0
    for layer in range(layers):
        width = input_size if layer == 0 else hidden_size * directions
        total += directions * layer_flops(cell, rows, width, hidden_size)
    return total * (3 if mode == "train" else 1)
