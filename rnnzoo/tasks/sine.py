"""Sine waves (equations.md section 8).

``sine``: noisy sine in, clean sine out, per-step regression (aligned many-to-many): the RNN as
a smoother. Training and validation draw frequencies from one range; the test set uses
frequencies outside it, so test/mse measures the response to unseen frequencies.

``sine_gen``: one-to-many — from (frequency, phase, amplitude) generate the wave.
"""
from __future__ import annotations

import torch

from rnnzoo.data.synthetic import SINE_FREQ_RANGES, noisy_sine, sine_from_params
from rnnzoo.tasks.base import TaskData, TensorDictDataset
from rnnzoo.tasks.info import TaskInfo
from rnnzoo.tasks.plots import waves_figure


class SineTask(TaskData):
    name = "sine"

    def __init__(self, *, seq_len: int = 100, noise_std: float = 0.3,
                 train_freqs: tuple[float, float] = SINE_FREQ_RANGES["train"],
                 test_freqs: tuple[float, float] = SINE_FREQ_RANGES["unseen"],
                 num_train: int = 4000, num_eval: int = 500, **kw):
        super().__init__(**kw)
        self.seq_len, self.noise_std = seq_len, noise_std
        self.train_freqs, self.test_freqs = tuple(train_freqs), tuple(test_freqs)
        self.num_train, self.num_eval = num_train, num_eval

    def build(self):
        plan = (("train", self.num_train, self.train_freqs), ("val", self.num_eval, self.train_freqs),
                ("test", self.num_eval, self.test_freqs))
        splits = {}
        for offset, (split, n, freqs) in enumerate(plan):
            x, y, freq = noisy_sine(n, self.seq_len, freq_range=freqs, noise_std=self.noise_std,
                                    seed=self.seed * 3 + offset)
            splits[split] = TensorDictDataset(x=x, y=y, freq=freq)
        test = splits["test"].tensors
        info = TaskInfo(
            name=self.name, shape="many_to_many", target="values", input_size=1, output_size=1,
            tokens=False, metrics=("mse",), monitor="val/mse", mode="min",
            # echoing the noisy input scores the noise variance
            baselines={"test/mse": float(((test["x"] - test["y"]) ** 2).mean())})
        return splits, info

    def collate(self, rows):
        batch = super().collate(rows)
        batch.pop("freq")
        return batch

    @torch.no_grad()
    def examples(self, system):
        val = self.splits["val"].tensors
        x, y = val["x"][:3].to(system.device), val["y"][:3]
        pred, _ = system.network(x)
        series = [{"input": x[i, :, 0].tolist(), "target": y[i, :, 0].tolist(),
                   "prediction": pred[i, :, 0].tolist()} for i in range(len(x))]
        return {"figures": {"sine/prediction": waves_figure(series, "noisy in, clean out")}}


class SineGenerationTask(TaskData):
    name = "sine_gen"

    def __init__(self, *, seq_len: int = 50, num_train: int = 4000, num_eval: int = 500, **kw):
        super().__init__(**kw)
        self.seq_len, self.num_train, self.num_eval = seq_len, num_train, num_eval

    def build(self):
        splits = {}
        for offset, (split, n) in enumerate((("train", self.num_train), ("val", self.num_eval),
                                              ("test", self.num_eval))):
            v, y = sine_from_params(n, self.seq_len, seed=self.seed * 3 + offset)
            splits[split] = TensorDictDataset(v=v, y=y)
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
