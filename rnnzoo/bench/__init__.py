"""Measurement: the speed benchmark and the regression check that guards it.

- :mod:`~rnnzoo.bench.flops`: GEMM FLOPs of a recurrent layer, counted analytically;
- :mod:`~rnnzoo.bench.measure`: timing (torch.utils.benchmark, interleaved rounds) and peak memory;
- :mod:`~rnnzoo.bench.runner`: the grid of configurations and implementations, run and written out;
- :mod:`~rnnzoo.bench.report`: JSON, Markdown, plots, the linear-in-T and scan tables;
- :mod:`~rnnzoo.bench.regression`: fresh results against a committed baseline (speed ratios and
  accuracy rows alike).

Entry points: ``scripts/benchmark.py`` (Hydra, ``scripts/conf/benchmark.yaml``) and
``scripts/check_regression.py``.
"""
