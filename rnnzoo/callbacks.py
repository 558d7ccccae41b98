"""Callbacks: TensorBoard beyond the scalars (histograms, samples, figures), and what makes a
run survive a crash (periodic checkpoints, random states, a clean stop on SIGTERM/SIGINT)."""
from __future__ import annotations

import random
import signal
import threading
import time

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Checkpoint
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.trainer.states import TrainerFn

from rnnzoo.utils import inject


def tensorboard_writer(trainer: L.Trainer):
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            return logger.experiment
    return None


class HistogramLogger(L.Callback):
    """Weight and gradient histograms every ``every_n_steps`` optimiser steps."""

    def __init__(self, every_n_steps: int = 100):
        self.every_n_steps = every_n_steps

    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        writer = tensorboard_writer(trainer)
        step = trainer.global_step
        if writer is None or self.every_n_steps <= 0 or step % self.every_n_steps:
            return
        for name, p in pl_module.network.named_parameters():
            # a NaN/Inf step is the system's to report (and maybe skip); a histogram of it is not
            if torch.isfinite(p).all():
                writer.add_histogram(f"weights/{name}", p.detach().float().cpu(), step)
            if p.grad is not None and torch.isfinite(p.grad).all():
                writer.add_histogram(f"grads/{name}", p.grad.detach().float().cpu(), step)


class ValidationHistory(L.Callback):
    """Every validation's metrics with the step and the seconds since training started: the
    learning curve ``results.json`` keeps (and the accuracy suite's time-to-threshold)."""

    def __init__(self):
        self.rows: list[dict] = []
        self._started = None

    def on_train_start(self, trainer, pl_module):
        self._started = time.perf_counter()

    def on_validation_end(self, trainer, pl_module):
        if trainer.sanity_checking or self._started is None:
            return
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items()
                   if k.startswith("val/") and v.numel() == 1}
        self.rows.append({"epoch": trainer.current_epoch, "step": trainer.global_step,
                          "time_s": round(time.perf_counter() - self._started, 3), **metrics})


class ExamplesLogger(L.Callback):
    """After each validation, the task's own examples: sampled text, predictions, figures."""

    def on_validation_epoch_end(self, trainer, pl_module):
        writer = tensorboard_writer(trainer)
        if writer is None or trainer.sanity_checking or not trainer.is_global_zero:
            return
        shown = trainer.datamodule.examples(pl_module)
        step = trainer.global_step
        for tag, text in shown.get("text", {}).items():
            writer.add_text(tag, text, step)
        for tag, figure in shown.get("figures", {}).items():
            writer.add_figure(tag, figure, step, close=True)


class LastCheckpoint(Checkpoint):
    """Keep ``path`` (checkpoints/last.ckpt) current: every ``every_n_steps`` optimiser steps,
    mid-epoch too, after every validation and at the end of training, so a killed run loses at
    most that many steps.

    A ``Checkpoint`` subclass, so Lightning runs it after ModelCheckpoint: what it saves after
    a validation already knows whether that validation gave the best model.
    """

    def __init__(self, path: str, every_n_steps: int):
        self.path, self.every_n_steps = path, every_n_steps
        self._saved_at = None

    def _save(self, trainer) -> None:
        if trainer.fast_dev_run:  # a smoke run leaves no checkpoints, as Lightning's own
            return
        trainer.save_checkpoint(self.path, weights_only=False)
        self._saved_at = trainer.global_step

    def on_train_start(self, trainer, pl_module):
        self._saved_at = trainer.global_step  # a resumed run does not rewrite what it loaded

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        step = trainer.global_step
        if self.every_n_steps > 0 and step // self.every_n_steps > self._saved_at // self.every_n_steps:
            self._save(trainer)
        inject.after_step(step)

    def on_validation_end(self, trainer, pl_module):
        if not trainer.sanity_checking and trainer.state.fn == TrainerFn.FITTING:
            self._save(trainer)

    def on_train_end(self, trainer, pl_module):
        if self._saved_at != trainer.global_step:  # e.g. trainer.max_steps ended mid-epoch
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


class RunInterrupted(Exception):
    """SIGTERM or SIGINT stopped the run after a checkpoint was written."""

    def __init__(self, signum: int, step: int, checkpoint: str):
        self.signum, self.step, self.checkpoint = signum, step, checkpoint
        super().__init__(f"stopped by {signal.Signals(signum).name} at step {step}; "
                         f"checkpoint written to {checkpoint}")


class GracefulStop(L.Callback):
    """SIGTERM or SIGINT (Ctrl+C): finish the current step, write ``path``, raise
    :class:`RunInterrupted`. A second SIGINT stops at once, without a checkpoint.

    The signal is only noted when it arrives (a step half done is no state to save); the stop
    comes at the next training batch end, where the state is whole (a validation under way
    finishes first, so the best checkpoint stays right). With several processes they agree on
    the step first, so all stop together. A signal during the last validation of the run lets
    the fit finish; the runner then stops before testing.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self, path: str):
        self.path = path
        self.received: int | None = None
        self._previous = {}
        self._trainer = None

    def on_train_start(self, trainer, pl_module):
        # after Lightning registered its own SIGTERM handler: ours replaces it, so Lightning does
        # not stop mid-validation without a checkpoint
        if threading.current_thread() is not threading.main_thread():
            return
        self._trainer = trainer
        for signum in self.SIGNALS:
            self._previous[signum] = signal.signal(signum, self._note)

    def _note(self, signum, frame):
        if self.received is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl+C: stop now
        self.received = signum
        launcher = getattr(self._trainer.strategy, "launcher", None) if self._trainer else None
        if getattr(launcher, "procs", None):  # pass it on to the other local processes
            launcher.kill(signum)

    def _stop_if_asked(self, trainer):
        asked = self.received is not None
        if trainer.world_size > 1:
            asked = trainer.strategy.reduce_boolean_decision(asked, all=False)
        if asked:
            trainer.save_checkpoint(self.path, weights_only=False)
            raise RunInterrupted(self.received or signal.SIGTERM, trainer.global_step, self.path)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self._stop_if_asked(trainer)

    def on_train_end(self, trainer, pl_module):
        self._restore()

    def on_exception(self, trainer, pl_module, exception):
        self._restore()

    def _restore(self):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        self._previous = {}
