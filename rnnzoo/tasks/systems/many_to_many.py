"""Many-to-many, aligned: an output at every step (a language model, per-step regression).

With ``info.carry_state`` the batches are consecutive chunks of long streams (truncated BPTT,
equations.md section 6): the final state of one batch starts the next, detached so that
gradients stop at the chunk boundary. The carried state is reset at every epoch and stage.
"""
from __future__ import annotations

import torch

from rnnzoo.models.heads import detach_state
from rnnzoo.tasks.losses import compute_loss
from rnnzoo.tasks.systems.base import RecurrentSystem


class ManyToManySystem(RecurrentSystem):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._carried = {}

    def forward(self, x, lengths=None, state=None):
        return self.network(x, lengths, state)

    def _state_for(self, stage, batch_size):
        state = self._carried.get(stage)
        if state is None:
            return None
        first = state[0] if isinstance(state, tuple) else state
        return state if first.shape[1] == batch_size else None

    def step(self, batch, stage):
        x, target, lengths = batch["x"], batch["y"], batch.get("lengths")
        state = self._state_for(stage, x.shape[0]) if self.info.carry_state else None
        output, state = self(x, lengths, state)
        if self.info.carry_state:
            self._carried[stage] = detach_state(state)
        mask = None
        if lengths is not None and self.info.target == "values":
            steps = torch.arange(x.shape[1], device=x.device)
            mask = (steps[None, :] < lengths.to(x.device)[:, None]).to(output.dtype)
        self.metrics(stage).update(output.detach(), target, mask)
        return compute_loss(self.loss_name, output, target, mask)

    def on_train_epoch_start(self):
        self._carried.pop("train", None)

    def on_validation_epoch_start(self):
        self._carried.pop("val", None)

    def on_test_epoch_start(self):
        self._carried.pop("test", None)
