"""Runs on a user's labelled file: the file recipe, k-fold cross-validation, the linear baseline
alone.

``rnnzoo.experiment.train`` hands a run here when one of these applies:

- :func:`with_file_recipe`: a run that reads a file (``data.path``) fills the task's null
  keys (epochs, pooling, dropouts, embedding size, ...) from ``task.file_recipe``, a run on
  the built-in data from ``task.builtin_recipe`` (whose levers left out keep the network's
  defaults). A value set in the config always wins.
- :func:`cross_validate`: ``data.folds=K`` trains K runs, one per stratified fold (each in
  ``run_dir/fold-k``, each with its own val part for the best checkpoint and the baseline's C),
  and reports every test metric as mean ± std over the folds, the model's and the linear
  baseline's, as the small-data literature does (Kim 2014: 10-fold on MR).
- ``cell=linear`` (:func:`linear_run`): no network; the linear baseline's metrics are the
  run's, written through the same ``results.json`` and summary.

The functions that train one run, build the data and print the summary are passed in, so this
module sits below ``rnnzoo.experiment`` and imports nothing from it.
"""
from __future__ import annotations

import copy
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra.utils import get_class

from rnnzoo.baselines.linear import linear_baseline_name
from rnnzoo.baselines.metrics import format_summary, summarize_folds
from rnnzoo.errors import ConfigError
from rnnzoo.tasks.sentiment import SentimentTask
from rnnzoo.utils.io import write_json

LINEAR = "linear"  # rnnzoo.models.factory.LINEAR: the cell that trains nothing


def with_file_recipe(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with the task's null keys taken from ``task.file_recipe`` when the run reads a
    file, else from ``task.builtin_recipe``; the embedding size is handed to the data too,
    which checks a vectors file against it."""
    task = config["task"]
    recipe = task.get("file_recipe" if config["data"].get("path") else "builtin_recipe") or {}
    for key, value in recipe.items():
        if task.get(key) is None:
            task[key] = value
    trainer = config["trainer"]
    if trainer.get("max_epochs") is None and trainer.get("max_steps", -1) == -1:
        trainer["max_epochs"] = task.get("max_epochs")  # ${task.max_epochs}, read while it was null
    if config["data"].get("embeddings"):
        config["data"]["embedding_dim"] = task.get("embedding_dim") or 32  # the network's default
    return config


def takes_over(config: dict[str, Any]) -> bool:
    """Whether the run is a fold loop or the linear baseline alone (not one network run)."""
    data = config["data"]
    return bool(data.get("folds") and data.get("fold") is None) or config["cell"]["name"] == LINEAR


def run(config: dict[str, Any], *, train_one: Callable, make_data: Callable,
        print_summary: Callable) -> dict[str, Any]:
    """The folds (``data.folds``) or the linear baseline alone, reported like one run."""
    def one(fold_config):
        if fold_config["cell"]["name"] == LINEAR:
            return linear_run(fold_config, make_data, print_summary)
        return train_one(fold_config)

    if config["data"].get("folds") and config["data"].get("fold") is None:
        _check_folds(config)
        return cross_validate(config, one)
    return one(config)


def _check_folds(config: dict[str, Any]) -> None:
    folds = config["data"]["folds"]
    if not issubclass(get_class(config["task"]["_target_"]), SentimentTask):
        raise ConfigError(f"data.folds={folds}: cross-validation applies to text classification "
                          "(task=sentiment)")
    if config.get("resume"):
        raise ConfigError(f"data.folds={folds}: resume one fold's run instead "
                          f"(resume=<run_dir>/fold-k, with data.fold=k)")


def linear_run(config: dict[str, Any], make_data: Callable, print_summary: Callable) -> dict[str, Any]:
    """``cell=linear``: fit tf-idf + logistic regression on the run's split (no network)."""
    started = time.perf_counter()
    data = make_data(config)
    info = data.info  # a run on a file fits the baseline while it builds its splits
    if data.linear is None:  # the built-in data: fit it here, on the same rows
        data.linear_baseline(*_rows(data))
    run_dir = Path(config["run_dir"])
    results = {k: float(v) for k, v in sorted(data.linear.items()) if "/" in k}
    results.update({
        "task": info.name, "cell": LINEAR, "impl": None, "params": 0,
        "time_s": round(time.perf_counter() - started, 2), "epochs": 0, "steps": 0,
        "baselines": {}, "run_dir": str(run_dir), "checkpoints": {}, "tensorboard": None,
        "resumed_from": None, "model": f"{linear_baseline_name()} (C={data.linear['C']:g})",
        "data": {"path": config["data"].get("path"), "skipped_rows": getattr(data, "skipped", 0)},
    })
    write_json(run_dir / "results.json", results)
    print_summary(results)
    return results


def _rows(data):
    """(texts, label ids, (train, val, test)) of a built data module, for the baseline."""
    rows = [data.splits[name] for name in ("train", "val", "test")]
    texts = [r["text"] for part in rows for r in part]
    labels = [r["y"] for part in rows for r in part]
    bounds, parts, start = [len(p) for p in rows], [], 0
    for size in bounds:
        parts.append(list(range(start, start + size)))
        start += size
    return texts, labels, parts


def cross_validate(config: dict[str, Any], one: Callable) -> dict[str, Any]:
    """K runs, one per fold, each in ``run_dir/fold-k``; ``results.json`` in ``run_dir`` has
    every fold's results and each metric's mean ± std (the model's, then the baseline's)."""
    folds, run_dir = config["data"]["folds"], Path(config["run_dir"])
    per_fold = []
    for k in range(folds):
        fold_config = copy.deepcopy(config)
        fold_config["data"]["fold"] = k
        fold_config["run_dir"] = str(run_dir / f"fold-{k}")
        print(f"rnnzoo: fold {k + 1} of {folds}", flush=True)
        per_fold.append(one(fold_config))
    model = summarize_folds([_metrics(r) for r in per_fold])
    linear = summarize_folds([_metrics(r["baselines"], "linear/") for r in per_fold])
    results = {"task": per_fold[0]["task"], "cell": config["cell"]["name"], "folds": folds,
               "mean": {k: v.to_dict() for k, v in model.items()},
               "linear": {k: v.to_dict() for k, v in linear.items()},
               "time_s": round(sum(r["time_s"] for r in per_fold), 2),
               "run_dir": str(run_dir), "per_fold": per_fold}
    write_json(run_dir / "results.json", results)
    print(f"\nrnnzoo: {config['cell']['name']} over {folds} folds: "
          f"{format_summary(model, ['test/acc', 'test/f1'])}")
    if linear:
        print(f"  the number to beat: {format_summary(linear, ['test/acc', 'test/f1'])}, "
              f"{linear_baseline_name()}")
    print(f"  results            {run_dir / 'results.json'}", flush=True)
    return results


def _metrics(results: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """The test/val metrics of one fold's results (those under ``prefix``, unprefixed)."""
    return {k[len(prefix):]: v for k, v in results.items()
            if k.startswith(prefix) and k[len(prefix):].split("/")[0] in ("test", "val")
            and isinstance(v, float)}
