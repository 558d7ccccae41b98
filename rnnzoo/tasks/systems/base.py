"""The part every training system shares: loss, metrics per stage, optimisers, logging.

A system is a LightningModule that *receives* its network (Lightning's style guide): the
network can be built, tested and reused alone; the system only knows how to feed it a batch.
Subclasses implement ``step(batch, stage)`` returning the loss and update the stage metrics.
"""
from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import Tensor, nn

from rnnzoo.tasks.info import TaskInfo
from rnnzoo.tasks.losses import check_loss
from rnnzoo.tasks.metrics import StageMetrics
from rnnzoo.tasks.optim import build_optimizer, build_scheduler

STAGES = ("train", "val", "test")


class RecurrentSystem(L.LightningModule):
    def __init__(self, network: nn.Module, info: TaskInfo, *, loss: str | None = None,
                 optimizer: dict[str, Any] | None = None, scheduler: dict[str, Any] | None = None):
        super().__init__()
        self.network, self.info = network, info
        self.loss_name = check_loss(loss, info.target, info.name)
        self.optimizer_config = dict(optimizer or {"name": "adam", "lr": 1e-3})
        self.scheduler_config = dict(scheduler or {"name": "none"})
        classes = info.output_size if info.target == "classes" else 1
        # keyed "<stage>_metrics": a ModuleDict key may not shadow Module.train
        self.stage_metrics = nn.ModuleDict(
            {f"{s}_metrics": StageMetrics(self._metric_names(s), classes) for s in STAGES})
        self.best: float | None = None  # best value of the monitored metric so far
        #: plain, JSON-safe data every checkpoint carries so inference can rebuild the run
        #: (the resolved config, the task info with its vocabularies); set by the runner
        self.payload: dict[str, Any] = {}

    # -- steps -------------------------------------------------------------------------------
    def step(self, batch: dict[str, Tensor], stage: str) -> Tensor:
        raise NotImplementedError

    def training_step(self, batch, batch_idx):
        loss = self.step(batch, "train")
        self.log("train/loss", loss, on_step=True, on_epoch=True, prog_bar=True,
                 batch_size=self._batch_size(batch))
        return loss

    def validation_step(self, batch, batch_idx):
        loss = self.step(batch, "val")
        self.log("val/loss", loss, on_epoch=True, prog_bar=True, batch_size=self._batch_size(batch))

    def test_step(self, batch, batch_idx):
        loss = self.step(batch, "test")
        self.log("test/loss", loss, on_epoch=True, batch_size=self._batch_size(batch))

    @staticmethod
    def _batch_size(batch: dict[str, Tensor]) -> int:
        return next(iter(batch.values())).shape[0]

    # -- epoch ends: metrics -----------------------------------------------------------------
    def _metric_names(self, stage: str) -> tuple[str, ...]:
        # exact-match needs greedy decoding, which only evaluation runs
        return tuple(m for m in self.info.metrics if not (stage == "train" and m == "exact"))

    def metrics(self, stage: str) -> StageMetrics:
        return self.stage_metrics[f"{stage}_metrics"]

    def _log_stage_metrics(self, stage: str) -> dict[str, Tensor]:
        values = {f"{stage}/{k}": v for k, v in self.metrics(stage).compute().items()}
        self.metrics(stage).reset()
        self.log_dict(values, prog_bar=stage == "val")
        return values

    def on_train_epoch_end(self):
        self._log_stage_metrics("train")

    def on_validation_epoch_end(self):
        values = self._log_stage_metrics("val")
        monitor = self.info.monitor
        current = values.get(monitor)
        if current is None:
            current = self.trainer.callback_metrics.get(monitor)
        if current is None or self.trainer.sanity_checking:
            return
        current = float(current)
        better = max if self.info.mode == "max" else min
        self.best = current if self.best is None else better(self.best, current)
        self.log(f"{monitor}_best", self.best)

    def on_test_epoch_end(self):
        self._log_stage_metrics("test")

    def on_save_checkpoint(self, checkpoint):
        checkpoint["rnnzoo"] = self.payload
        checkpoint["rnnzoo_best"] = self.best

    def on_load_checkpoint(self, checkpoint):
        self.best = checkpoint.get("rnnzoo_best")

    # -- optimisation ------------------------------------------------------------------------
    def configure_optimizers(self):
        optimizer = build_optimizer(self.parameters(), self.optimizer_config)
        scheduler = build_scheduler(optimizer, self.scheduler_config,
                                    int(self.trainer.estimated_stepping_batches),
                                    self.info.monitor, self.info.mode)
        if scheduler is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": scheduler}

    def on_before_optimizer_step(self, optimizer):
        grads = [p.grad for p in self.parameters() if p.grad is not None]
        if grads:  # the norm before clipping, so a run's explosions stay visible
            norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
            self.log("train/grad_norm", norm, on_step=True, on_epoch=False)
        self.log("train/lr", optimizer.param_groups[0]["lr"], on_step=True, on_epoch=False)
