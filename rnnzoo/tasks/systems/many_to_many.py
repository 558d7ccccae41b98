"""Many-to-many, aligned: an output at every step (a language model, per-step regression).

With ``info.carry_state`` the batches are consecutive chunks of long streams (truncated BPTT,
equations.md section 6): the final state of one batch starts the next, detached so that
gradients stop at the chunk boundary. The carried state is reset at every epoch and stage.

With ``tbptt=(k1, k2)`` each training batch is instead run as Williams & Peng's BPTT(k1, k2)
(:mod:`rnnzoo.learning.tbptt`): an update every k1 steps, back-propagated through the last k2
steps. That needs several optimiser steps per batch, so the system switches to Lightning's
manual optimisation and clips gradients itself (``clip``); train metrics other than the loss
are not computed in that mode.
"""
from __future__ import annotations

import torch

from rnnzoo.learning.tbptt import detach_state, tbptt
from rnnzoo.tasks.losses import compute_loss
from rnnzoo.tasks.systems.base import RecurrentSystem


class ManyToManySystem(RecurrentSystem):
    def __init__(self, *args, tbptt: tuple[int, int] | None = None,
                 clip: tuple[float | None, str] = (None, "norm"), **kwargs):
        super().__init__(*args, **kwargs)
        self._carried = {}
        self.tbptt, self.clip = tbptt, clip
        if tbptt is not None:
            self.automatic_optimization = False

    def forward(self, x, lengths=None, state=None):
        return self.network(x, lengths, state)

    def _state_for(self, stage, batch_size):
        state = self._carried.get(stage) if self.info.carry_state else None
        if state is None:
            return None
        first = state[0] if isinstance(state, tuple) else state
        return state if first.shape[1] == batch_size else None

    def step(self, batch, stage):
        x, target, lengths = batch["x"], batch["y"], batch.get("lengths")
        output, state = self(x, lengths, self._state_for(stage, x.shape[0]))
        if self.info.carry_state:
            self._carried[stage] = detach_state(state)
        mask = None
        if lengths is not None and self.info.target == "values":
            steps = torch.arange(x.shape[1], device=x.device)
            mask = (steps[None, :] < lengths.to(x.device)[:, None]).to(output.dtype)
        self.metrics(stage).update(output.detach(), target, mask)
        return compute_loss(self.loss_name, output, target, mask)

    def training_step(self, batch, batch_idx):
        if self.tbptt is None:
            return super().training_step(batch, batch_idx)
        x, target = batch["x"], batch["y"]
        optimizer = self.optimizers()
        clip_value, clip_algorithm = self.clip

        def update(index, loss):
            if clip_value:
                self.clip_gradients(optimizer, gradient_clip_val=clip_value,
                                    gradient_clip_algorithm=clip_algorithm)
            optimizer.step()
            optimizer.zero_grad()

        k1, k2 = self.tbptt
        result = tbptt(lambda inputs, state: self.network(inputs, None, state), x, target,
                       lambda output, y: compute_loss(self.loss_name, output, y), k1, k2,
                       state=self._state_for("train", x.shape[0]), backward=self.manual_backward,
                       on_update=update, batch_first=True)
        if self.info.carry_state:
            self._carried["train"] = result.state
        self.log("train/loss", result.mean_loss, on_step=True, on_epoch=True, prog_bar=True,
                 batch_size=x.shape[0])
        self._step_schedulers("step")

    def on_train_epoch_end(self):
        super().on_train_epoch_end()
        if self.tbptt is not None:
            self._step_schedulers("epoch")

    def _step_schedulers(self, interval: str) -> None:
        """Under manual optimisation Lightning steps no scheduler: step those configured to
        step every ``interval`` ("step": each training batch, "epoch"), as it would."""
        for config in self.trainer.lr_scheduler_configs:
            if config.interval != interval:
                continue
            if config.reduce_on_plateau:
                value = self.trainer.callback_metrics.get(config.monitor)
                if value is not None:
                    config.scheduler.step(value)
            else:
                config.scheduler.step()

    def on_train_epoch_start(self):
        self._carried.pop("train", None)

    # the state carried across training batches is part of where a run stands: a run resumed
    # mid-epoch goes on from it, as the uninterrupted run would
    def on_save_checkpoint(self, checkpoint):
        super().on_save_checkpoint(checkpoint)
        if self._carried.get("train") is not None:
            checkpoint["rnnzoo_carried_state"] = self._carried["train"]

    def on_load_checkpoint(self, checkpoint):
        super().on_load_checkpoint(checkpoint)
        state = checkpoint.get("rnnzoo_carried_state")
        if state is not None:
            self._carried["train"] = state

    def on_train_start(self):
        state = self._carried.get("train")
        if state is not None:  # a restored state was loaded on the CPU
            self._carried["train"] = tuple(s.to(self.device) for s in state) \
                if isinstance(state, tuple) else state.to(self.device)

    def on_validation_epoch_start(self):
        self._carried.pop("val", None)

    def on_test_epoch_start(self):
        self._carried.pop("test", None)
