"""What a network sees at each step: embedded tokens or the raw feature vectors."""
from __future__ import annotations

import torch
from torch import Tensor, nn


class InputEncoder(nn.Module):
    """Token ids -> embeddings (``vocab_size`` given), or float features passed through.

    ``out_features`` is what the recurrent layer receives per step. Two regularisers for small
    text datasets, both off by default and active only in training:

    - ``word_dropout``: each token's whole vector is zeroed with this probability (the word is
      "forgotten", as Iyyer et al. 2015 drop words), not rescaled: a zero vector stands for
      "some word" at test time too;
    - ``embedding_dropout``: ordinary dropout on the vectors' entries (rescaled).

    ``freeze`` keeps the embedding fixed (pretrained vectors used as they are, Kim 2014's
    "static"); :meth:`load_pretrained` copies a pretrained matrix in.
    """

    def __init__(self, input_size: int, *, tokens: bool, embedding_dim: int = 32,
                 pad_id: int | None = 0, embedding_dropout: float = 0.0, word_dropout: float = 0.0,
                 freeze: bool = False):
        super().__init__()
        self.tokens = tokens
        if tokens:
            self.embedding = nn.Embedding(input_size, embedding_dim, padding_idx=pad_id)
            self.embedding.weight.requires_grad_(not freeze)
            self.out_features = embedding_dim
        else:
            self.out_features = input_size
        self.word_dropout = word_dropout
        self.dropout = nn.Dropout(embedding_dropout)

    def forward(self, x: Tensor) -> Tensor:
        if not self.tokens:
            return x
        e = self.embedding(x)  # (B, T, E)
        if self.training and self.word_dropout > 0:
            keep = torch.rand(e.shape[:2], device=e.device) >= self.word_dropout  # (B, T)
            e = e * keep.unsqueeze(-1).to(e.dtype)
        return self.dropout(e)

    @torch.no_grad()
    def load_pretrained(self, weight: Tensor) -> None:
        """Copy a (vocab, dim) matrix into the embedding (its shape must match)."""
        if weight.shape != self.embedding.weight.shape:
            raise ValueError(f"pretrained vectors of shape {tuple(weight.shape)} do not fit the "
                             f"embedding's {tuple(self.embedding.weight.shape)}")
        self.embedding.weight.copy_(weight)
