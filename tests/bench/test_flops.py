"""The analytic GEMM FLOP count."""
import pytest

from rnnzoo.bench.flops import gate_blocks, gemm_flops


@pytest.mark.parametrize("cell,blocks", [("rnn_tanh", 1), ("rnn", 1), ("irnn", 1), ("gru", 3),
                                         ("lstm", 4), ("peephole_lstm", 4), ("min_gru", 2),
                                         ("min_lstm", 3), ("indrnn", 1)])
def test_gate_blocks(cell, blocks):
    assert gate_blocks(cell) == blocks


def test_lstm_forward_is_input_plus_recurrent_gemm():
    T, B, I, H = 100, 32, 64, 128
    expected = 2 * T * B * I * 4 * H + 2 * T * B * H * 4 * H
    assert gemm_flops("lstm", T, B, I, H, mode="forward") == expected


def test_training_is_three_times_forward():
    forward = gemm_flops("gru", 10, 4, 8, 16, mode="forward")
    assert gemm_flops("gru", 10, 4, 8, 16, mode="train") == 3 * forward


def test_layers_and_directions():
    T, B, I, H = 5, 2, 3, 4
    one = 2 * T * B * (I + H) * H  # Elman, one layer, one direction
    second = 2 * T * B * (2 * H + H) * H  # the second layer reads both directions: width 2H
    assert gemm_flops("rnn_tanh", T, B, I, H, layers=2, bidirectional=True,
                      mode="forward") == 2 * one + 2 * second


def test_minimal_cells_have_no_recurrent_gemm():
    assert gemm_flops("min_gru", 10, 2, 3, 4, mode="forward") == 2 * 10 * 2 * 3 * 2 * 4


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="mode"):
        gemm_flops("lstm", 1, 1, 1, 1, mode="backward")
