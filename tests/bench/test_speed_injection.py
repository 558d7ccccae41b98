"""The speed check catches real slowdowns: a baseline measured here, then the same benchmark with
a 2x slowdown injected into the custom path, or into custom and torch alike, must be flagged.

The slowdown is injected by the test (each timed call runs twice), never by a switch in the
benchmark's own code."""
import pytest
from omegaconf import OmegaConf

from rnnzoo.bench import regression, runner

CONFIG = OmegaConf.create({
    "cells": ["lstm"], "impls": ["custom", "torch"], "modes": ["train"],
    "shapes": [[20, 8, 16, 32]], "layers": [1], "bidirectional": False, "device": "cpu",
    "dtype": "float32", "threads": 1, "allocator": "default", "min_run_time": 0.1,
    "rounds": 3, "memory": False, "gemm_reference": False, "seed": 0})


def twice(call):
    def slower():
        call()
        call()
    return slower


@pytest.fixture(scope="module")
def baseline():
    return regression.update_baseline(None, runner.run_benchmark(CONFIG))


def measured_with(monkeypatch, slowed: set[str]) -> list[dict]:
    make_call = runner.make_call

    def injected(config, impl, seed=0):
        call = make_call(config, impl, seed)
        return twice(call) if impl in slowed else call

    monkeypatch.setattr(runner, "make_call", injected)
    return runner.run_benchmark(CONFIG)


def regressed(rows, baseline) -> set[tuple[str, str]]:
    return {(o.check["key"].get("impl"), o.check["metric"])
            for o in regression.compare(rows, baseline) if o.status == "REGRESSED"}


def test_a_2x_slower_custom_path_is_flagged(monkeypatch, baseline):
    flagged = regressed(measured_with(monkeypatch, {"custom"}), baseline)
    assert ("custom", "ratio_vs_torch") in flagged


def test_a_2x_slowdown_of_custom_and_torch_alike_is_flagged(monkeypatch, baseline):
    flagged = regressed(measured_with(monkeypatch, {"custom", "torch"}), baseline)
    assert (None, "time_geomean") in flagged  # the ratio cannot see it; the times do
