"""One-to-many: one input vector, a sequence out (``info.steps`` long)."""
from __future__ import annotations

from rnnzoo.tasks.losses import compute_loss
from rnnzoo.tasks.systems.base import RecurrentSystem


class OneToManySystem(RecurrentSystem):
    def forward(self, v, steps=None, targets=None):
        return self.network(v, steps or self.info.steps, targets)

    def step(self, batch, stage):
        target = batch["y"]
        output = self(batch["v"], target.shape[1], target)
        self.metrics(stage).update(output.detach(), target)
        return compute_loss(self.loss_name, output, target)
