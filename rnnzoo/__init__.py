"""rnnzoo: a PyTorch recurrent model zoo.

``rnnzoo.RNN``, ``rnnzoo.LSTM`` and ``rnnzoo.GRU`` replace torch.nn's layers; ``rnnzoo.cells``
holds every cell with its equations; ``rnnzoo.build_rnn`` builds any of them by name.
"""
from rnnzoo import cells
from rnnzoo.cells import CELLS
from rnnzoo.init import initialize
from rnnzoo.layers import GRU, LSTM, RNN, RecurrentStack, build_rnn

__version__ = "0.1.0"
__all__ = ["RNN", "LSTM", "GRU", "RecurrentStack", "build_rnn", "initialize", "cells", "CELLS"]
