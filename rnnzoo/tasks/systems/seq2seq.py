"""Encoder-decoder many-to-many: teacher forcing in training, greedy decoding to evaluate.

Targets arrive as ``<bos> y_1 ... y_n <eos> <pad>...``; the decoder reads the target shifted
right and predicts it shifted left. Validation and test also decode greedily (feeding back
the argmax) and count exact matches: the number that shows whether the model really learned.
"""
from __future__ import annotations

import torch

from rnnzoo.tasks.losses import IGNORE, compute_loss
from rnnzoo.tasks.systems.base import RecurrentSystem


class Seq2SeqSystem(RecurrentSystem):
    def forward(self, src, src_lengths, tgt_in):
        return self.network(src, src_lengths, tgt_in)

    def step(self, batch, stage):
        src, src_lengths, tgt = batch["src"], batch["src_lengths"], batch["tgt"]
        tgt_in, tgt_out = tgt[:, :-1], tgt[:, 1:].clone()
        tgt_out[tgt_out == self.info.pad_id] = IGNORE
        output = self(src, src_lengths, tgt_in)
        metrics = self.metrics(stage)
        metrics.update(output.detach(), tgt_out)
        if stage != "train" and "exact" in metrics.names:
            metrics.update_exact(self.exact_matches(src, src_lengths, tgt_out))
        return compute_loss(self.loss_name, output, tgt_out)

    def decode(self, src, src_lengths, max_len=None):
        art = self.info.artifacts
        return self.network.greedy(src, src_lengths, bos=art["bos_id"], eos=art["eos_id"],
                                   max_len=max_len or self.info.steps)

    def exact_matches(self, src, src_lengths, tgt_out):
        """True where greedy decoding reproduces the target up to and including its <eos>."""
        width = tgt_out.shape[1]
        decoded = self.decode(src, src_lengths, width)
        if decoded.shape[1] < width:  # every row stopped early: pad with a never-matching id
            filler = decoded.new_full((decoded.shape[0], width - decoded.shape[1]), IGNORE - 1)
            decoded = torch.cat([decoded, filler], 1)
        valid = tgt_out != IGNORE
        return ((decoded == tgt_out) | ~valid).all(1)
