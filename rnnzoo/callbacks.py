"""Callbacks that fill TensorBoard beyond the scalars: histograms, text samples, figures."""
from __future__ import annotations

import lightning as L
import matplotlib.pyplot as plt
from lightning.pytorch.loggers import TensorBoardLogger


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
            writer.add_histogram(f"weights/{name}", p.detach().float().cpu(), step)
            if p.grad is not None:
                writer.add_histogram(f"grads/{name}", p.grad.detach().float().cpu(), step)


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
            plt.close(figure)
