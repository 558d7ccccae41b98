"""Many-to-one: a sequence in, one output (class or values) from the final state."""
from __future__ import annotations

from rnnzoo.tasks.losses import compute_loss
from rnnzoo.tasks.systems.base import RecurrentSystem


class ManyToOneSystem(RecurrentSystem):
    def forward(self, x, lengths=None):
        return self.network(x, lengths)

    def step(self, batch, stage):
        output = self(batch["x"], batch.get("lengths"))
        target = batch["y"]
        if self.info.target == "values" and target.dim() == 1:
            target = target.unsqueeze(-1)
        self.metrics(stage).update(output.detach(), target)
        return compute_loss(self.loss_name, output, target)
