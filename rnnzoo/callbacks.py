"""Callbacks: TensorBoard beyond the scalars (histograms, samples, figures), and what Lightning
lacks to make a run survive a crash: the random states in every checkpoint, last.ckpt at epoch
ends, a clean stop on SIGTERM and Ctrl+C, and a guard against NaN/Inf.

The runner (rnnzoo.experiment) adds the last four itself, with Lightning's ModelCheckpoint for
the best checkpoint and for last.ckpt every n steps; the config's ``callbacks`` group adds the
others (``_target_`` entries, conf/callbacks/).
"""
from __future__ import annotations

import os
import random
import signal
import threading
import time
from typing import Annotated

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Checkpoint
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities.exceptions import SIGTERMException

from rnnzoo.errors import NumericalFault
from rnnzoo.tasks.base import EXAMPLES
from rnnzoo.utils.rules import Rule


#: where the charts a person reads last go: TensorBoard sorts groups by name, and these sort
#: after train/, val/ and test/
HISTOGRAMS, PROGRESS = "x_histograms", "x_progress"
#: the final metrics every task may report (rnnzoo.tasks.metrics' names and the loss), declared
#: in every run's HPARAMS summary: a folder mixing tasks keeps every task's columns
METRIC_NAMES = ("mse", "mae", "rmse", "mase", "bpc", "acc", "exact", "seq_acc", "f1", "ppl", "loss")  # headline metrics first
HPARAMS_METRICS = (*(f"test/{m}" for m in METRIC_NAMES), *(f"val/{m}_best" for m in METRIC_NAMES))


class DashboardLogger(TensorBoardLogger):
    """Lightning's TensorBoard logger with the ``epoch`` counter it adds to every write moved
    under :data:`PROGRESS`, so the dashboard opens on train/val/test, not on a staircase."""

    def log_metrics(self, metrics, step=None):
        metrics = {(f"{PROGRESS}/epoch" if k == "epoch" else k): v for k, v in metrics.items()}
        super().log_metrics(metrics, step)


def log_hparams(writer, hparams: dict, differs: set[str] = frozenset(),
                metrics: tuple[str, ...] = HPARAMS_METRICS) -> None:
    """The HPARAMS tab's three summaries through the hparams plugin's own API: the experiment
    (its columns: ``hparams`` in order, those in ``differs`` first, and ``metrics``), this run's
    values, and its end. The metrics' values are the last points of their own scalar charts,
    at the step they were measured; nothing is re-logged."""
    from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

    infos = [api_pb2.HParamInfo(name=k, type=_hparam_type(v), differs=k in differs)
             for k, v in hparams.items()]
    metric_infos = [api_pb2.MetricInfo(name=api_pb2.MetricName(tag=tag)) for tag in metrics]
    start = plugin_data_pb2.SessionStartInfo(start_time_secs=time.time())
    for key, value in hparams.items():
        if isinstance(value, bool):
            start.hparams[key].bool_value = value
        elif isinstance(value, (int, float)):
            start.hparams[key].number_value = value
        else:
            start.hparams[key].string_value = str(value)
    end = plugin_data_pb2.SessionEndInfo(status=api_pb2.STATUS_SUCCESS, end_time_secs=time.time())
    for tag, part in ((metadata.EXPERIMENT_TAG, {"experiment": api_pb2.Experiment(
                          hparam_infos=infos, metric_infos=metric_infos)}),
                      (metadata.SESSION_START_INFO_TAG, {"session_start_info": start}),
                      (metadata.SESSION_END_INFO_TAG, {"session_end_info": end})):
        _write_hparams_summary(writer, tag, plugin_data_pb2.HParamsPluginData(version=0, **part))
    writer.flush()


def _write_hparams_summary(writer, tag: str, content) -> None:
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.plugins.hparams import metadata
    value = Summary.Value(tag=tag, metadata=metadata.create_summary_metadata(content))
    writer._get_file_writer().add_summary(Summary(value=[value]))  # reopened if Lightning closed it


def log_baselines(log_dir: str, baselines: dict[str, float], last_step: int) -> None:
    """Each trivial baseline ({"test/mse": 0.089}) as a flat line from step 0 to
    ``last_step`` under the metric's own tag, in a ``baseline`` run beside the run's events:
    TensorBoard draws it on the metric's chart, next to the model's value."""
    if not baselines:
        return
    from torch.utils.tensorboard import SummaryWriter
    with SummaryWriter(os.path.join(log_dir, "baseline")) as writer:
        for tag, value in baselines.items():
            for step in sorted({0, max(int(last_step), 1)}):
                writer.add_scalar(tag, value, step)


def _hparam_type(value) -> int:
    from tensorboard.plugins.hparams import api_pb2
    if isinstance(value, bool):
        return api_pb2.DATA_TYPE_BOOL
    return api_pb2.DATA_TYPE_FLOAT64 if isinstance(value, (int, float)) else api_pb2.DATA_TYPE_STRING


def tensorboard_writer(trainer: L.Trainer):
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            return logger.experiment
    return None


class HistogramLogger(L.Callback):
    """Weight and gradient histograms every ``every_n_steps`` optimiser steps."""

    def __init__(self, every_n_steps: Annotated[int, Rule(ge=0)] = 100):
        self.every_n_steps = every_n_steps

    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        writer = tensorboard_writer(trainer)
        step = trainer.global_step
        if writer is None or self.every_n_steps <= 0 or step % self.every_n_steps:
            return
        for name, p in pl_module.network.named_parameters():
            # a NaN/Inf step is the system's to report (and maybe skip); a histogram of it is not
            if torch.isfinite(p).all():
                writer.add_histogram(f"{HISTOGRAMS}/weights/{name}", p.detach().float().cpu(), step)
            if p.grad is not None and torch.isfinite(p.grad).all():
                writer.add_histogram(f"{HISTOGRAMS}/grads/{name}", p.grad.detach().float().cpu(), step)


class ValidationHistory(L.Callback):
    """Every validation's metrics with the step and the seconds since training started: the
    learning curve ``results.json`` keeps (and the accuracy suite's time-to-threshold)."""

    def __init__(self):
        self.rows: list[dict] = []
        self._started = None
        # training throughput: input time steps of the training batches and the seconds spent
        # in them (forward, backward, optimiser step; no validation or data loading)
        self.train_tokens, self.train_batch_s, self._batch_started = 0, 0.0, None

    def on_train_start(self, trainer, pl_module):
        self._started = time.perf_counter()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self._batch_started = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if self._batch_started is not None:
            self.train_batch_s += time.perf_counter() - self._batch_started
            self.train_tokens += batch_tokens(batch)

    def on_validation_end(self, trainer, pl_module):
        if trainer.sanity_checking or self._started is None:
            return
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items()
                   if k.startswith("val/") and v.numel() == 1}
        self.rows.append({"epoch": trainer.current_epoch, "step": trainer.global_step,
                          "time_s": round(time.perf_counter() - self._started, 3), **metrics})


def batch_tokens(batch) -> int:
    """Input time steps in a batch: the sum of its lengths when it has them (padding not
    counted), else batch x time of its input (``x``, ``src``) or, one-to-many, of its target."""
    if not isinstance(batch, dict):
        return 0
    lengths = batch.get("lengths", batch.get("src_lengths"))
    if lengths is not None:
        return int(lengths.sum())
    for key in ("x", "src", "y"):
        value = batch.get(key)
        if isinstance(value, torch.Tensor) and value.dim() >= 2:
            return value.shape[0] * value.shape[1]
    return 0


class ExamplesLogger(L.Callback):
    """After each validation, and every ``every_n_steps`` optimiser steps between (0: only at
    validation), the task's own examples: sampled text, predictions, figures. A short run
    with one validation still shows how its samples changed."""

    def __init__(self, every_n_steps: Annotated[int, Rule(ge=0)] = 0):
        self.every_n_steps = every_n_steps

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        step = trainer.global_step
        if self.every_n_steps and step and step % self.every_n_steps == 0:
            was_training = pl_module.training
            pl_module.eval()
            with torch.no_grad():
                self.on_validation_epoch_end(trainer, pl_module)
            pl_module.train(was_training)

    def on_validation_epoch_end(self, trainer, pl_module):
        writer = tensorboard_writer(trainer)
        if writer is None or trainer.sanity_checking or not trainer.is_global_zero:
            return
        shown = trainer.datamodule.examples(pl_module)
        step = trainer.global_step
        for tag, text in shown.get("text", {}).items():
            writer.add_text(f"{EXAMPLES}/{tag}", text, step)
        for tag, figure in shown.get("figures", {}).items():
            writer.add_figure(f"{EXAMPLES}/{tag}", figure, step, close=True)


class EpochEndCheckpoint(Checkpoint):
    """Keep ``path`` (checkpoints/last.ckpt) current after every validation and at the end of
    training. Lightning's ModelCheckpoint writes it every n steps (``every_n_train_steps``), but
    saves at steps or at epoch ends, not both, and not when ``max_steps`` ends a run mid-epoch.

    A ``Checkpoint``, so Lightning runs it after ModelCheckpoint: what it saves after a
    validation already knows whether that validation gave the best model.
    """

    def __init__(self, path: str):
        self.path = path
        self._saved_at: int | None = None

    def _save(self, trainer) -> None:
        if trainer.fast_dev_run or trainer.global_step == self._saved_at:
            return  # a smoke run leaves no checkpoints, as Lightning's own
        trainer.save_checkpoint(self.path, weights_only=False)
        self._saved_at = trainer.global_step

    def on_validation_end(self, trainer, pl_module):
        if not trainer.sanity_checking and trainer.state.fn == "fit":
            self._save(trainer)

    def on_train_end(self, trainer, pl_module):
        self._save(trainer)


class RandomState(L.Callback):
    """Keep the random states (torch, CUDA, numpy, Python) in every checkpoint; a resumed run
    gets them back just before its first training step, so dropout and anything else random
    goes on exactly as in the uninterrupted run. Lightning does not save them itself.

    Everything is stored as tensors and plain numbers: loadable with ``weights_only=True``.
    """

    def __init__(self):
        self._pending = None

    def state_dict(self):
        kind, keys, pos, has_gauss, gauss = np.random.get_state()
        state = {"torch": torch.get_rng_state(),
                 "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)),
                           "pos": int(pos), "has_gauss": int(has_gauss), "gauss": float(gauss)},
                 "python": _plain(random.getstate())}
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state):
        self._pending = state

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if self._pending is None:
            return
        state, self._pending = self._pending, None
        torch.set_rng_state(state["torch"].cpu())
        n = state["numpy"]
        np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"],
                             n["has_gauss"], n["gauss"]))
        version, internal, gauss = state["python"]
        random.setstate((version, tuple(internal), gauss))
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def _plain(value):
    return tuple(_plain(v) for v in value) if isinstance(value, tuple) else value


class SignalCheckpoint(Checkpoint):
    """SIGTERM (a cluster's preemption) and Ctrl+C stop the run after the step under way, with
    ``path`` (checkpoints/last.ckpt) written. The stop is Lightning's own: its SIGTERM handler
    notes the signal, and its loops raise ``SIGTERMException`` once the step is whole; this
    writes the checkpoint then (after any other exception the state may be half an update).
    Ctrl+C is passed on as SIGTERM; a second Ctrl+C stops at once (KeyboardInterrupt).
    ``signum`` is the signal that stopped the run.

    Not Lightning's OnExceptionCheckpoint: with one, ``fit(ckpt_path=None)`` resumes from the
    newest last*.ckpt of the folder by itself, and its file is deleted when a run ends well;
    an rnnzoo run resumes when asked (``resume=``) and keeps last.ckpt.
    """

    def __init__(self, path: str):
        self.path = path
        self.signum: int | None = None
        self._previous = None

    def on_fit_start(self, trainer, pl_module):
        self.signum = None
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._interrupt)

    def _interrupt(self, signum, frame):
        if self.signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl+C: stop now
        self.signum = signal.SIGINT
        os.kill(os.getpid(), signal.SIGTERM)

    def on_exception(self, trainer, pl_module, exception):
        self._restore()
        if isinstance(exception, SIGTERMException):
            self.signum = self.signum or signal.SIGTERM
            trainer.save_checkpoint(self.path, weights_only=False)

    def on_fit_end(self, trainer, pl_module):
        self._restore()

    def _restore(self):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


class NonFiniteGuard(L.Callback):
    """Every training loss and, before each optimiser step, every gradient is checked. A NaN or
    Inf writes the last good state to ``checkpoint`` (the weights and optimiser state before the
    bad update), then stops the run with :class:`~rnnzoo.errors.NumericalFault` naming the step
    and the last finite loss, or, with ``on_nonfinite="skip"``, drops that update and counts it
    (stopping anyway after ``max_skips``). Several processes take the same decision."""

    def __init__(self, checkpoint: str, on_nonfinite: str = "stop", max_skips: int | None = None):
        self.checkpoint, self.on_nonfinite, self.max_skips = checkpoint, on_nonfinite, max_skips
        self.skipped_steps = 0
        self._losses: list[torch.Tensor] = []  # training losses since the last optimiser step
        self._last_finite: tuple[int, torch.Tensor] | None = None  # (step, loss)
        self._skipping = False
        self._batch = 0

    def state_dict(self):
        return {"skipped_steps": self.skipped_steps}

    def load_state_dict(self, state):
        self.skipped_steps = state["skipped_steps"]

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self._batch = batch_idx

    def on_before_backward(self, trainer, pl_module, loss):
        self._losses.append(loss.detach())

    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        grads = [p.grad for p in pl_module.parameters() if p.grad is not None]
        losses, self._losses = self._losses, []
        if self._all_finite(trainer, losses, grads):
            self._skipping = False
            if losses:
                self._last_finite = (trainer.global_step, losses[-1])
            return
        self._nonfinite(trainer, pl_module, losses)

    @staticmethod
    def _all_finite(trainer, losses, grads) -> bool:
        flags = [torch.isfinite(t).all() for t in (*losses, *grads)]
        finite = bool(torch.stack(flags).all()) if flags else True  # one device sync
        if trainer.world_size > 1:  # every process takes the same decision
            finite = not trainer.strategy.reduce_boolean_decision(not finite, all=False)
        return finite

    def _nonfinite(self, trainer, pl_module, losses) -> None:
        bad_loss = next((t for t in losses if not torch.isfinite(t).all()), None)
        what = f"the loss is {float(bad_loss)}" if bad_loss is not None else "a gradient is NaN or Inf"
        weights_finite = all(bool(torch.isfinite(p).all()) for p in pl_module.parameters())
        can_skip = self.on_nonfinite == "skip" and weights_finite and (
            self.max_skips is None or self.skipped_steps < self.max_skips)
        if weights_finite and (not can_skip or not self._skipping):
            trainer.save_checkpoint(self.checkpoint, weights_only=False)  # the state before this update
        if can_skip:
            self._skipping = True
            self.skipped_steps += 1
            for p in pl_module.parameters():
                p.grad = None  # the optimiser leaves parameters without a gradient alone
            pl_module.log("train/skipped_steps", float(self.skipped_steps), on_step=True, on_epoch=False)
            return
        step = trainer.global_step
        where = f"step {step} (epoch {trainer.current_epoch}, batch {self._batch})"
        last = ("no finite loss before it" if self._last_finite is None else
                f"last finite loss {float(self._last_finite[1]):.6g} at step {self._last_finite[0]}")
        if weights_finite:
            saved = f"the last good state is saved in {self.checkpoint}"
        else:
            saved = (f"the weights are no longer finite; the last good state is the latest "
                     f"periodic checkpoint, {self.checkpoint}")
        if self.on_nonfinite == "skip" and not weights_finite:
            hint = "; cannot skip: the weights themselves are not finite"
        elif self.on_nonfinite == "skip":
            hint = f"; skipped {self.skipped_steps} steps already (faults.max_skips={self.max_skips})"
        else:
            hint = "; faults.on_nonfinite=skip skips such steps instead"
        raise NumericalFault(f"{what} at {where}; {last}; {saved}{hint}", self.checkpoint)
