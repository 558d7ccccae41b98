"""Layers that run cells over time, and the builder the configs use."""
from rnnzoo.layers.builder import IMPLEMENTATIONS, build_rnn
from rnnzoo.layers.stack import RecurrentStack
from rnnzoo.layers.torch_compat import GRU, LSTM, RNN

__all__ = ["RecurrentStack", "RNN", "LSTM", "GRU", "build_rnn", "IMPLEMENTATIONS"]
