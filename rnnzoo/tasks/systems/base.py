"""The part every training system shares: loss, metrics per stage, optimisers, logging.

A system is a LightningModule that *receives* its network (Lightning's style guide): the
network can be built, tested and reused alone; the system only knows how to feed it a batch.
Subclasses implement ``step(batch, stage)`` returning the loss and update the stage metrics.
The optimiser and schedule arrive as factories from the config (rnnzoo.tasks.optim); a NaN or
Inf loss or gradient is the NonFiniteGuard callback's (rnnzoo.callbacks).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn
from torchmetrics import MaxMetric, MinMetric

from rnnzoo.tasks.info import TaskInfo
from rnnzoo.tasks.losses import check_loss
from rnnzoo.tasks.metrics import StageMetrics
from rnnzoo.tasks.optim import build_optimizer, build_scheduler

STAGES = ("train", "val", "test")


class RecurrentSystem(L.LightningModule):
    def __init__(self, network: nn.Module, info: TaskInfo, *, loss: str | None = None,
                 optimizer: Callable | None = None, scheduler: Callable | None = None,
                 scheduler_interval: str = "epoch", record: dict[str, Any] | None = None):
        super().__init__()
        self.network, self.info = network, info
        self.loss_name = check_loss(loss, info.target, info.name)
        #: the loss is one of the metrics (MSE): one chart per quantity, so val/test show the
        #: metric only and train/loss is the per-step curve beside the epoch's train/mse
        self.loss_is_metric = self.loss_name in info.metrics
        self.make_optimizer = optimizer or partial(torch.optim.Adam, lr=1e-3)
        self.make_scheduler, self.scheduler_interval = scheduler, scheduler_interval
        #: plain, JSON-safe data every checkpoint carries so inference can rebuild the run
        #: (the resolved config, the task info with its vocabularies)
        self.record = dict(record or {})
        classes = info.output_size if info.target == "classes" else 1
        # keyed "<stage>_metrics": a ModuleDict key may not shadow Module.train
        self.stage_metrics = nn.ModuleDict(
            {f"{s}_metrics": StageMetrics(self._metric_names(s), classes) for s in STAGES})
        #: the best value of the monitored metric so far (the checkpoints keep it); the values
        #: it sees are the same on every process already
        self.val_best = (MaxMetric if info.mode == "max" else MinMetric)(sync_on_compute=False)

    # -- steps -------------------------------------------------------------------------------
    def step(self, batch: dict[str, Tensor], stage: str) -> Tensor:
        raise NotImplementedError

    def training_step(self, batch, batch_idx):
        loss = self.step(batch, "train")
        self.log("train/loss", loss, on_step=True, on_epoch=not self.loss_is_metric, prog_bar=True,
                 batch_size=self._batch_size(batch))
        return loss

    def validation_step(self, batch, batch_idx):
        loss = self.step(batch, "val")
        if self.loss_is_metric and self.info.monitor != "val/loss":
            return
        # sync_dist: with several processes every rank must see the same value (it picks the
        # best checkpoint); a no-op on one
        self.log("val/loss", loss, on_epoch=True, prog_bar=True, batch_size=self._batch_size(batch),
                 sync_dist=True)

    def test_step(self, batch, batch_idx):
        loss = self.step(batch, "test")
        if self.loss_is_metric:
            return
        self.log("test/loss", loss, on_epoch=True, batch_size=self._batch_size(batch), sync_dist=True)

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
        # torchmetrics already gathered every process's share; sync_dist only tells Lightning
        self.log_dict(values, prog_bar=stage == "val", sync_dist=True)
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
        self.val_best.update(current)
        self.log(f"{monitor}_best", self.val_best.compute(), sync_dist=True)

    @property
    def best(self) -> float | None:
        """The best value of the monitored metric so far (None before the first validation)."""
        value = float(next(iter(self.val_best.metric_state.values())))
        return value if math.isfinite(value) else None

    def on_test_epoch_end(self):
        self._log_stage_metrics("test")
        # a task that scores the model on its own terms (forecast: errors on the original scale)
        scores = getattr(self.trainer.datamodule, "test_scores", None)
        if scores is not None:
            self.log_dict(scores(self), sync_dist=True)

    def on_save_checkpoint(self, checkpoint):
        checkpoint["rnnzoo"] = self.record
        checkpoint["rnnzoo_best"] = self.best

    def on_load_checkpoint(self, checkpoint):
        self.val_best.reset()
        if checkpoint.get("rnnzoo_best") is not None:
            self.val_best.update(torch.tensor(checkpoint["rnnzoo_best"]))

    # -- optimisation ------------------------------------------------------------------------
    def configure_optimizers(self):
        optimizer = build_optimizer(self.make_optimizer, self.parameters())
        scheduler = build_scheduler(self.make_scheduler, optimizer, interval=self.scheduler_interval,
                                    total_steps=self._total_steps, monitor=self.info.monitor,
                                    mode=self.info.mode)
        if scheduler is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": scheduler}

    def _total_steps(self) -> int:
        """The run's optimiser steps (a schedule's length). A resumed run gets its schedules'
        state, length included, from the checkpoint; asking Lightning for the estimate then
        would build the training loader before its place in the epoch is restored."""
        return 1 if self.trainer.ckpt_path else int(self.trainer.estimated_stepping_batches)

    def on_before_optimizer_step(self, optimizer):
        grads = [p.grad for p in self.parameters() if p.grad is not None]
        if grads:  # the norm before clipping, so a run's explosions stay visible
            norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
            self.log("train/grad_norm", norm, on_step=True, on_epoch=False)
        self.log("train/lr", optimizer.param_groups[0]["lr"], on_step=True, on_epoch=False)
