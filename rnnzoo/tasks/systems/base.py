"""The part every training system shares: loss, metrics per stage, optimisers, logging.

A system is a LightningModule that *receives* its network (Lightning's style guide): the
network can be built, tested and reused alone; the system only knows how to feed it a batch.
Subclasses implement ``step(batch, stage)`` returning the loss and update the stage metrics.

Numerical faults: every training loss and, before each optimiser step, every gradient is
checked. A NaN or Inf stops the run with :class:`NumericalFault` (naming the step and the last
finite loss) or, with ``on_nonfinite="skip"``, drops that step's update and counts it; either
way a checkpoint of the last good state is written first.
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
from rnnzoo.utils import inject

STAGES = ("train", "val", "test")


class NumericalFault(RuntimeError):
    """A NaN or Inf loss or gradient stopped the run; ``checkpoint`` holds the last good state."""

    def __init__(self, message: str, checkpoint: str | None = None):
        super().__init__(message)
        self.checkpoint = checkpoint


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
        #: what a NaN/Inf does ("stop" or "skip"), the most steps to skip, and where the last
        #: good state goes; set by the runner
        self.on_nonfinite, self.max_skips, self.fault_checkpoint = "stop", None, None
        self.skipped_steps = 0
        self._losses: list[Tensor] = []  # training losses since the last optimiser step
        self._last_finite: tuple[int, Tensor] | None = None  # (step, loss)
        self._skipping = False

    # -- steps -------------------------------------------------------------------------------
    def step(self, batch: dict[str, Tensor], stage: str) -> Tensor:
        raise NotImplementedError

    def training_step(self, batch, batch_idx):
        loss = self.step(batch, "train")
        if self.global_step in inject.injected("nan_loss"):
            loss = loss * float("nan")  # a poisoned batch, for the tests
        self.note_loss(loss)
        self.log("train/loss", loss, on_step=True, on_epoch=True, prog_bar=True,
                 batch_size=self._batch_size(batch))
        return loss

    def validation_step(self, batch, batch_idx):
        loss = self.step(batch, "val")
        # sync_dist: with several processes every rank must see the same value (it picks the
        # best checkpoint); a no-op on one
        self.log("val/loss", loss, on_epoch=True, prog_bar=True, batch_size=self._batch_size(batch),
                 sync_dist=True)

    def test_step(self, batch, batch_idx):
        loss = self.step(batch, "test")
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
        current = float(current)
        better = max if self.info.mode == "max" else min
        self.best = current if self.best is None else better(self.best, current)
        self.log(f"{monitor}_best", self.best, sync_dist=True)

    def on_test_epoch_end(self):
        self._log_stage_metrics("test")

    def on_save_checkpoint(self, checkpoint):
        checkpoint["rnnzoo"] = self.payload
        checkpoint["rnnzoo_best"] = self.best
        checkpoint["rnnzoo_skipped_steps"] = self.skipped_steps

    def on_load_checkpoint(self, checkpoint):
        self.best = checkpoint.get("rnnzoo_best")
        self.skipped_steps = checkpoint.get("rnnzoo_skipped_steps", 0)

    # -- optimisation ------------------------------------------------------------------------
    def configure_optimizers(self):
        optimizer = build_optimizer(self.parameters(), self.optimizer_config)
        scheduler = build_scheduler(optimizer, self.scheduler_config, self._total_steps(),
                                    self.info.monitor, self.info.mode)
        if scheduler is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": scheduler}

    def _total_steps(self) -> int:
        """The run's optimiser steps (what a cosine schedule spans); 0 when not needed."""
        if self.scheduler_config.get("name") != "cosine" or "T_max" in self.scheduler_config:
            return 0
        total = int(self.trainer.estimated_stepping_batches)
        # Lightning 2.6 builds the training loader for this estimate before a resumed run's
        # loader state is loaded, and would then keep it (starting the epoch from batch 0):
        # dropping it makes the fit loop build it again after the restore
        self.trainer.fit_loop._combined_loader = None
        return total

    def on_before_optimizer_step(self, optimizer):
        grads = [p.grad for p in self.parameters() if p.grad is not None]
        losses, self._losses = self._losses, []
        if not self._all_finite(losses, grads):
            return self._nonfinite(losses)
        self._skipping = False
        if losses:
            self._last_finite = (self.global_step, losses[-1])
        if grads:  # the norm before clipping, so a run's explosions stay visible
            norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
            self.log("train/grad_norm", norm, on_step=True, on_epoch=False)
        self.log("train/lr", optimizer.param_groups[0]["lr"], on_step=True, on_epoch=False)

    # -- numerical faults --------------------------------------------------------------------
    def note_loss(self, loss: Tensor) -> None:
        """Every training loss passes here, to be checked before the optimiser step."""
        self._losses.append(loss.detach())

    def _all_finite(self, losses: list[Tensor], grads: list[Tensor]) -> bool:
        flags = [torch.isfinite(t).all() for t in (*losses, *grads)]
        finite = bool(torch.stack(flags).all()) if flags else True  # one device sync
        if self.trainer.world_size > 1:  # every process takes the same decision
            finite = not self.trainer.strategy.reduce_boolean_decision(not finite, all=False)
        return finite

    def _nonfinite(self, losses: list[Tensor]) -> None:
        step = self.global_step
        bad_loss = next((t for t in losses if not torch.isfinite(t).all()), None)
        what = f"the loss is {float(bad_loss)}" if bad_loss is not None else "a gradient is NaN or Inf"
        weights_finite = all(bool(torch.isfinite(p).all()) for p in self.parameters())
        can_skip = self.on_nonfinite == "skip" and weights_finite and (
            self.max_skips is None or self.skipped_steps < self.max_skips)
        if weights_finite and (not can_skip or not self._skipping):
            self._save_last_good()  # the weights and optimiser state before this update
        if can_skip:
            self._skipping = True
            self.skipped_steps += 1
            for p in self.parameters():
                p.grad = None  # the optimiser leaves parameters without a gradient alone
            self.log("train/skipped_steps", float(self.skipped_steps), on_step=True, on_epoch=False)
            return
        loop = self.trainer.fit_loop
        where = (f"step {step} (epoch {loop.epoch_progress.current.processed}, batch "
                 f"{loop.epoch_loop.batch_progress.current.ready - 1})")
        last = ("no finite loss before it" if self._last_finite is None else
                f"last finite loss {float(self._last_finite[1]):.6g} at step {self._last_finite[0]}")
        if weights_finite:
            saved = f"the last good state is saved in {self.fault_checkpoint}"
        else:
            saved = (f"the weights are no longer finite; the last good state is the latest "
                     f"periodic checkpoint, {self.fault_checkpoint}")
        hint = ""
        if self.on_nonfinite == "skip" and not weights_finite:
            hint = "; cannot skip: the weights themselves are not finite"
        elif self.on_nonfinite == "skip":
            hint = f"; skipped {self.skipped_steps} steps already (faults.max_skips={self.max_skips})"
        else:
            hint = "; faults.on_nonfinite=skip skips such steps instead"
        raise NumericalFault(f"{what} at {where}; {last}; {saved}{hint}", self.fault_checkpoint)

    def _save_last_good(self) -> None:
        if self.fault_checkpoint is not None:
            self.trainer.save_checkpoint(self.fault_checkpoint, weights_only=False)
