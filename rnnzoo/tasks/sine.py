"""Sine waves (equations.md section 8).

``sine``: noisy sine in, clean sine out, per-step regression (aligned many-to-many): the RNN as
a smoother. Training and validation draw frequencies from one range; the test set uses
frequencies outside it, so test/mse measures the response to unseen frequencies.

``sine_gen``: one-to-many — from (frequency, phase, amplitude) generate the wave.
"""
from __future__ import annotations

from typing import Annotated

import torch

from rnnzoo.data.synthetic import SINE_FREQ_RANGES, noisy_sine, sine_from_params
from rnnzoo.tasks.base import Count, GeneratedTask, TensorDictDataset
from rnnzoo.tasks.info import TaskInfo
from rnnzoo.tasks.plots import waves_figure
from rnnzoo.utils.rules import Rule

#: a band of frequencies
Band = Annotated[tuple[float, float], Rule(check=lambda f: len(f) == 2 and 0 < f[0] < f[1],
                                          why="must be [low, high] with 0 < low < high")]


class SineTask(GeneratedTask):
    name, shape, target = "sine", "many_to_many", "values"

    def __init__(self, *, seq_len: Count = 100, noise_std: Annotated[float, Rule(ge=0.0)] = 0.3,
                 train_freqs: Band = SINE_FREQ_RANGES["train"],
                 test_freqs: Band = SINE_FREQ_RANGES["unseen"],
                 num_train: Count = 4000, num_eval: Count = 500, **kw):
        super().__init__(num_train=num_train, num_eval=num_eval, **kw)
        self.seq_len, self.noise_std = seq_len, noise_std
        self.train_freqs, self.test_freqs = tuple(train_freqs), tuple(test_freqs)

    def build(self):
        def make(split, n, seed):
            freqs = self.test_freqs if split == "test" else self.train_freqs
            x, y, _ = noisy_sine(n, self.seq_len, freq_range=freqs, noise_std=self.noise_std,
                                 seed=seed)  # each row's frequency: the batches do not need it
            return TensorDictDataset(x=x, y=y)

        splits = self.generate(make)
        test = splits["test"].tensors
        info = TaskInfo(
            name=self.name, shape=self.shape, target=self.target, input_size=1, output_size=1,
            tokens=False, metrics=("mse",), monitor="val/mse", mode="min",
            # echoing the noisy input scores the noise variance
            baselines={"test/mse": float(((test["x"] - test["y"]) ** 2).mean())})
        return splits, info

    @torch.no_grad()
    def examples(self, system):
        """Two waves at training frequencies and two at the unseen test frequencies, each with
        its MSE beside the trivial baseline's (echoing the noisy input): the test split is
        where a model can be worse than doing nothing."""
        series, panels = [], []
        for split, what in (("val", "training frequencies"), ("test", "unseen test frequencies")):
            rows = self.splits[split].tensors
            x, y = rows["x"][:2].to(system.device), rows["y"][:2]
            pred = system.network(x)[0].cpu()
            for i in range(len(x)):
                mse, echo = float(((pred[i] - y[i]) ** 2).mean()), float(((x[i].cpu() - y[i]) ** 2).mean())
                series.append({"input": x[i, :, 0].tolist(), "target": y[i, :, 0].tolist(),
                               "prediction": pred[i, :, 0].tolist()})
                panels.append(f"{what}: MSE {mse:.3f} vs echo baseline {echo:.3f}"
                              + ("  (worse than the baseline)" if mse > echo else ""))
        return {"figures": {"sine/prediction": waves_figure(series, "noisy in, clean out", panels)}}


class SineGenerationTask(GeneratedTask):
    name, shape, target = "sine_gen", "one_to_many", "values"

    def __init__(self, *, seq_len: Count = 50, num_train: Count = 4000, num_eval: Count = 500, **kw):
        super().__init__(num_train=num_train, num_eval=num_eval, **kw)
        self.seq_len = seq_len

    def build(self):
        splits = self.generate(lambda split, n, seed: TensorDictDataset.named(
            ("v", "y"), sine_from_params(n, self.seq_len, seed=seed)))
        test_y = splits["test"].tensors["y"]
        info = TaskInfo(
            name=self.name, shape=self.shape, target=self.target, input_size=3, output_size=1,
            tokens=False, metrics=("mse",), monitor="val/mse", mode="min", steps=self.seq_len,
            baselines={"test/mse": float(((test_y - test_y.mean()) ** 2).mean())})
        return splits, info

    @torch.no_grad()
    def examples(self, system):
        val = self.splits["val"].tensors
        v, y = val["v"][:3].to(system.device), val["y"][:3]
        pred = system.network(v, y.shape[1])
        series = [{"target": y[i, :, 0].tolist(), "prediction": pred[i, :, 0].tolist()}
                  for i in range(len(v))]
        return {"figures": {"sine_gen/prediction": waves_figure(series, "generated from (f, phase, a)")}}
