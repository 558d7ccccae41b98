"""Sine waves (equations.md section 8).

``sine``: noisy sine in, clean sine out, per-step regression (aligned many-to-many): the RNN as
a smoother. Training and validation draw frequencies from one range; the test set uses
frequencies outside it, so test/mse measures the response to unseen frequencies.

``sine_gen``: one-to-many — from (frequency, phase, amplitude) generate the wave.
"""
from __future__ import annotations

import torch

from rnnzoo.data.synthetic import SINE_FREQ_RANGES, noisy_sine, sine_from_params
from rnnzoo.tasks.base import GeneratedTask, TensorDictDataset
from rnnzoo.tasks.info import TaskInfo
from rnnzoo.tasks.plots import waves_figure


class SineTask(GeneratedTask):
    name = "sine"

    def __init__(self, *, seq_len: int = 100, noise_std: float = 0.3,
                 train_freqs: tuple[float, float] = SINE_FREQ_RANGES["train"],
                 test_freqs: tuple[float, float] = SINE_FREQ_RANGES["unseen"],
                 num_train: int = 4000, num_eval: int = 500, **kw):
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
            name=self.name, shape="many_to_many", target="values", input_size=1, output_size=1,
            tokens=False, metrics=("mse",), monitor="val/mse", mode="min",
            # echoing the noisy input scores the noise variance
            baselines={"test/mse": float(((test["x"] - test["y"]) ** 2).mean())})
        return splits, info

    @torch.no_grad()
    def examples(self, system):
        val = self.splits["val"].tensors
        x, y = val["x"][:3].to(system.device), val["y"][:3]
        pred, _ = system.network(x)
        series = [{"input": x[i, :, 0].tolist(), "target": y[i, :, 0].tolist(),
                   "prediction": pred[i, :, 0].tolist()} for i in range(len(x))]
        return {"figures": {"sine/prediction": waves_figure(series, "noisy in, clean out")}}


class SineGenerationTask(GeneratedTask):
    name = "sine_gen"

    def __init__(self, *, seq_len: int = 50, num_train: int = 4000, num_eval: int = 500, **kw):
        super().__init__(num_train=num_train, num_eval=num_eval, **kw)
        self.seq_len = seq_len

    def build(self):
        splits = self.generate(lambda split, n, seed: TensorDictDataset.named(
            ("v", "y"), sine_from_params(n, self.seq_len, seed=seed)))
        test_y = splits["test"].tensors["y"]
        info = TaskInfo(
            name=self.name, shape="one_to_many", target="values", input_size=3, output_size=1,
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
