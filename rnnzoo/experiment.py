"""``train(cfg)``: one training run from a composed config, as ``train.py`` and the tests call it.

It builds the task's data, the network (cell + head), the system for the task's sequence shape,
the logger and the checkpoints; fits; tests the best checkpoint; and writes ``results.json``
with namespaced metrics (``test/acc``, ``val/acc_best``, ...), the parameter count, the time,
and where the logs and checkpoints went.
"""
from __future__ import annotations

import dataclasses
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from omegaconf import DictConfig, OmegaConf

from rnnzoo.callbacks import ExamplesLogger, HistogramLogger
from rnnzoo.init import initialize
from rnnzoo.models.factory import build_network
from rnnzoo.tasks import task_class
from rnnzoo.tasks.systems import SYSTEMS
from rnnzoo.utils.io import write_json

#: task config keys that shape the network or the run, not the data module
NETWORK_KEYS = ("embedding_dim", "feed", "teacher_forcing")
RUN_KEYS = ("name", "max_epochs", "max_steps")
#: tasks that read the top-level ``data`` group (the user's own file)
FILE_TASKS = ("sentiment", "char_lm")


def resolve_run_dir(config: dict[str, Any]) -> Path:
    if config.get("run_dir"):
        return Path(config["run_dir"])
    try:
        from hydra.core.hydra_config import HydraConfig

        return Path(HydraConfig.get().runtime.output_dir)
    except ValueError:  # not under @hydra.main (a direct call): a fresh folder of our own
        stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
        return Path("outputs") / config["task"]["name"] / config["cell"]["name"] / stamp


def build_task(config: dict[str, Any]):
    task = config["task"]
    options = {k: v for k, v in task.items() if k not in NETWORK_KEYS + RUN_KEYS}
    if task["name"] in FILE_TASKS:
        options["source"] = config.get("data") or {}
    options["num_workers"] = (config.get("data") or {}).get("num_workers", 0)
    return task_class(task["name"])(seed=config["seed"], **options)


def build_system(config: dict[str, Any], info):
    task = config["task"]
    network = build_network(info, config["cell"], **{k: task[k] for k in NETWORK_KEYS if k in task})
    init = dict(config.get("init") or {"scheme": "default"})
    initialize(network, **init)
    options = {}
    truncation = config.get("tbptt") or {}
    if truncation.get("k1"):
        if info.shape != "many_to_many":
            raise ValueError(f"tbptt applies to aligned many-to-many tasks, not {info.name} ({info.shape})")
        k1 = truncation["k1"]
        options["tbptt"] = (k1, truncation.get("k2") or k1)
        # manual optimisation: the system clips, not the trainer
        trainer = config["trainer"]
        options["clip"] = (trainer.pop("gradient_clip_val", None),
                           trainer.pop("gradient_clip_algorithm", "norm"))
    system = SYSTEMS[info.shape](network, info, loss=(config.get("loss") or {}).get("name"),
                                 optimizer=config["optimizer"], scheduler=config.get("scheduler"),
                                 **options)
    system.payload = {"format": 1, "config": config, "info": dataclasses.asdict(info)}
    return system


def build_logger(config: dict[str, Any], run_dir: Path):
    kind = (config.get("logger") or {}).get("name", "tensorboard")
    if kind == "tensorboard":
        return TensorBoardLogger(save_dir=str(run_dir), name="tensorboard", version="",
                                 default_hp_metric=False)
    if kind == "csv":
        return CSVLogger(save_dir=str(run_dir), name="csv", version="")
    if kind == "none":
        return False
    raise ValueError(f"unknown logger {kind!r}; choose tensorboard, csv or none")


def flat_hparams(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Config as flat key/value pairs that TensorBoard's HPARAMS tab accepts."""
    flat = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flat_hparams(value, name + "/"))
        elif isinstance(value, (bool, int, float, str)):
            flat[name] = value
        elif value is not None:
            flat[name] = str(value)
    return flat


def train(cfg: DictConfig | dict[str, Any]) -> dict[str, Any]:
    config = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
    run_dir = resolve_run_dir(config)
    run_dir.mkdir(parents=True, exist_ok=True)
    L.seed_everything(config["seed"], workers=True, verbose=False)

    data = build_task(config)
    info = data.info
    system = build_system(config, info)
    logger = build_logger(config, run_dir)
    logging_config = config.get("logger") or {}
    checkpoint = ModelCheckpoint(dirpath=run_dir / "checkpoints", filename="best",
                                 monitor=info.monitor, mode=info.mode, save_top_k=1,
                                 save_last=True, auto_insert_metric_name=False,
                                 enable_version_counter=False)
    callbacks = [checkpoint]
    if logger:
        callbacks += [HistogramLogger(logging_config.get("histogram_every_n_steps", 100)),
                      ExamplesLogger()]
    trainer_config = dict(config["trainer"])
    trainer = L.Trainer(**trainer_config, logger=logger, callbacks=callbacks,
                        default_root_dir=str(run_dir))

    started = time.perf_counter()
    trainer.fit(system, datamodule=data, ckpt_path=config.get("resume"))
    fit_seconds = time.perf_counter() - started
    best = checkpoint.best_model_path or None
    tested = trainer.test(system, datamodule=data, ckpt_path=best, verbose=False)[0]

    results: dict[str, Any] = {k: float(v) for k, v in sorted(tested.items())}
    if system.best is not None:
        results[f"{info.monitor}_best"] = system.best
    results.update({
        "task": info.name, "cell": config["cell"]["name"], "impl": config["cell"].get("impl"),
        "params": sum(p.numel() for p in system.network.parameters()),
        "time_s": round(fit_seconds, 2), "epochs": trainer.current_epoch,
        "steps": trainer.global_step, "baselines": info.baselines, "run_dir": str(run_dir),
        "checkpoints": {"best": best, "last": checkpoint.last_model_path or None},
        "tensorboard": str(run_dir / "tensorboard") if isinstance(logger, TensorBoardLogger) else None,
    })
    if trainer.is_global_zero:
        write_json(run_dir / "results.json", results)
        if isinstance(logger, TensorBoardLogger):
            metrics = {k: v for k, v in results.items() if "/" in k and isinstance(v, float)}
            logger.log_hyperparams(flat_hparams(config), metrics=metrics)
            logger.finalize("success")
        print_summary(results)
    return results


def print_summary(results: dict[str, Any]) -> None:
    lines = [f"\nrnnzoo: {results['cell']} ({results['impl'] or '-'}) on {results['task']}: "
             f"{results['epochs']} epochs, {results['steps']} steps in {results['time_s']:.1f} s"]
    for key, value in results.items():
        if "/" in key and isinstance(value, float):
            lines.append(f"  {key:<18} {value:.4f}")
    for key, value in results["baselines"].items():
        lines.append(f"  {key:<18} {value:.4f}   (trivial baseline)")
    lines.append(f"  {'parameters':<18} {results['params']:,}")
    lines.append(f"  {'run dir':<18} {results['run_dir']}")
    for kind, path in results["checkpoints"].items():
        if path:
            lines.append(f"  {kind + ' checkpoint':<18} {path}")
    if results["tensorboard"]:
        lines.append(f"  {'tensorboard':<18} tensorboard --logdir {Path(results['run_dir']).parent}")
    lines.append(f"  {'results':<18} {Path(results['run_dir']) / 'results.json'}")
    print("\n".join(lines), flush=True)


def count_parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
