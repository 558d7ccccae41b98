"""What a network sees at each step: embedded tokens or the raw feature vectors."""
from __future__ import annotations

from torch import Tensor, nn


class InputEncoder(nn.Module):
    """Token ids -> embeddings (``vocab_size`` given), or float features passed through.

    ``out_features`` is what the recurrent layer receives per step.
    """

    def __init__(self, input_size: int, *, tokens: bool, embedding_dim: int = 32,
                 pad_id: int | None = 0):
        super().__init__()
        self.tokens = tokens
        if tokens:
            self.embedding = nn.Embedding(input_size, embedding_dim, padding_idx=pad_id)
            self.out_features = embedding_dim
        else:
            self.out_features = input_size

    def forward(self, x: Tensor) -> Tensor:
        return self.embedding(x) if self.tokens else x
