"""``train(cfg)``: one training run from a composed config, as ``train.py`` and the tests call it.

It checks the config (:mod:`rnnzoo.config`), builds the task's data, the network (cell +
head), the system for the task's sequence shape, the logger and the checkpoints; fits
(resuming from a checkpoint when asked); tests the best checkpoint; and writes
``results.json`` with namespaced metrics (``test/acc``, ``val/acc_best``, ...), the parameter
count, the time, and where the logs and checkpoints went.

What keeps a run safe: checkpoints are written atomically (temp file, fsync, rename) every
``checkpoint.every_n_steps`` steps and read with ``weights_only=True``; they carry the random
states, the data order's position and the carried TBPTT state, so a run killed mid-epoch
resumes to the same result; SIGTERM/SIGINT write a checkpoint before stopping; a NaN/Inf loss
or gradient stops (or skips) with the last good state saved.
"""
from __future__ import annotations

import copy
import dataclasses
import os
import sys
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from omegaconf import DictConfig, OmegaConf

from rnnzoo.callbacks import (ExamplesLogger, GracefulStop, HistogramLogger, LastCheckpoint,
                              RandomState, RunInterrupted, ValidationHistory)
from rnnzoo.checkpoints import (CHECKPOINT_DIR, LAST, SafeCheckpointIO, load_checkpoint,
                                resolve_resume, run_dir_of)
from rnnzoo.config import ConfigError, validate_config
from rnnzoo.config.schema import FILE_TASKS
from rnnzoo.init import initialize
from rnnzoo.models.factory import NETWORK_KEYS, network_from_config
from rnnzoo.tasks import task_class
from rnnzoo.tasks.systems import SYSTEMS
from rnnzoo.utils.distributed import ddp_strategy, is_ddp, process_rank
from rnnzoo.utils.threads import apply_threads
from rnnzoo.utils.io import write_json

#: task config keys that shape the network or the run, not the data module
RUN_KEYS = ("name", "max_epochs", "max_steps")
#: tasks that read the top-level ``data`` group (the user's own file)
#: config keys a resumed run must share with its checkpoint (the rest may change: epochs, ...)
RESUME_MUST_MATCH = ("cell.", "task.name", "task.seq_len", "task.embedding_dim", "task.jamo",
                     "task.batch_size", "loss.", "tbptt.", "optimizer.name", "scheduler.name",
                     "data.path", "seed")


def resolve_run_dir(config: dict[str, Any]) -> Path:
    if config.get("run_dir"):
        return Path(config["run_dir"])
    hydra_dir = _hydra_output_dir()
    if hydra_dir is not None:
        return hydra_dir
    # not under @hydra.main (a direct call): a fresh folder of our own
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    return Path("outputs") / config["task"]["name"] / config["cell"]["name"] / stamp


def _hydra_output_dir() -> Path | None:
    try:
        from hydra.core.hydra_config import HydraConfig

        return Path(HydraConfig.get().runtime.output_dir)
    except ValueError:
        return None


def build_task(config: dict[str, Any]):
    task = config["task"]
    options = {k: v for k, v in task.items() if k not in NETWORK_KEYS + RUN_KEYS}
    if task["name"] in FILE_TASKS:
        options["source"] = config.get("data") or {}
    options["num_workers"] = (config.get("data") or {}).get("num_workers", 0)
    return task_class(task["name"])(seed=config["seed"], **options)


def build_system(config: dict[str, Any], info):
    network = network_from_config(info, config)
    init = dict(config.get("init") or {"scheme": "default"})
    initialize(network, **init)
    options = {}
    truncation = config.get("tbptt") or {}
    if truncation.get("k1"):
        k1 = truncation["k1"]
        options["tbptt"] = (k1, truncation.get("k2") or k1)
        # manual optimisation: the system clips, not the trainer (see train())
        trainer = config["trainer"]
        options["clip"] = (trainer.get("gradient_clip_val"),
                           trainer.get("gradient_clip_algorithm", "norm"))
    system = SYSTEMS[info.shape](network, info, loss=(config.get("loss") or {}).get("name"),
                                 optimizer=config["optimizer"], scheduler=config.get("scheduler"),
                                 **options)
    system.payload = {"format": 1, "config": config, "info": dataclasses.asdict(info)}
    faults = config.get("faults") or {}
    system.on_nonfinite = faults.get("on_nonfinite", "stop")
    system.max_skips = faults.get("max_skips")
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
    raise ConfigError(f"logger={kind} is not a logger; choose one of: tensorboard, csv, none")


def flat_hparams(config: dict[str, Any]) -> dict[str, Any]:
    """Config as flat key/value pairs that TensorBoard's HPARAMS tab accepts: numbers, flags and
    strings as they are, other values as text, unset ones (None, {}) left out."""
    flat = {}
    for key, value in _flat(config, sep="/").items():
        if isinstance(value, (bool, int, float, str)):
            flat[key] = value
        elif value is not None and value != {}:
            flat[key] = str(value)
    return flat


def train(cfg: DictConfig | dict[str, Any]) -> dict[str, Any]:
    config = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
    validate_config(config)
    resume = _resume_checkpoint(config)
    as_given = copy.deepcopy(config)  # what the other processes of a DDP run are to run
    run_dir = resolve_run_dir(config)
    if resume is not None:
        check_resume_config(config, resume)
    L.seed_everything(config["seed"], workers=True, verbose=False)
    apply_threads(config.get("threads"), config["trainer"])

    data = build_task(config)
    info = data.info  # reads the data: a bad file stops here, before anything is written
    skipped_rows = getattr(data, "skipped", 0)
    if skipped_rows and process_rank() == 0:
        print(f"rnnzoo: skipped {skipped_rows} bad rows of data file "
              f"'{config['data']['path']}' (data.on_bad_rows=skip)", file=sys.stderr, flush=True)
    system = build_system(config, info)
    run_dir.mkdir(parents=True, exist_ok=True)
    last = str(run_dir / CHECKPOINT_DIR / LAST)
    system.fault_checkpoint = last
    logger = build_logger(config, run_dir)
    logging_config = config.get("logger") or {}
    checkpoint = ModelCheckpoint(dirpath=run_dir / CHECKPOINT_DIR, filename="best",
                                 monitor=info.monitor, mode=info.mode, save_top_k=1,
                                 save_last=False, auto_insert_metric_name=False,
                                 enable_version_counter=False)
    every = (config.get("checkpoint") or {}).get("every_n_steps", 0)
    stop = GracefulStop(last)
    # LastCheckpoint after ModelCheckpoint: Lightning keeps checkpoint callbacks' order
    history = ValidationHistory()
    callbacks = [checkpoint, LastCheckpoint(last, every), RandomState(), stop, history]
    if logger:
        callbacks += [HistogramLogger(logging_config.get("histogram_every_n_steps", 100)),
                      ExamplesLogger()]
    trainer_config = dict(config["trainer"])
    if getattr(system, "tbptt", None):  # Lightning refuses clipping under manual optimisation
        for key in ("gradient_clip_val", "gradient_clip_algorithm"):
            trainer_config.pop(key, None)
    if is_ddp(trainer_config.get("strategy")):
        trainer_config["strategy"] = ddp_strategy(trainer_config["strategy"], as_given, run_dir)

    with _distributed_session():
        trainer = L.Trainer(**trainer_config, logger=logger, callbacks=callbacks,
                            default_root_dir=str(run_dir), plugins=[SafeCheckpointIO()],
                            use_distributed_sampler=False)
        started = time.perf_counter()
        trainer.fit(system, datamodule=data, ckpt_path=resume, weights_only=True)
        fit_seconds = time.perf_counter() - started
        if stop.received is not None:  # a signal during the last validation: stop before testing
            raise RunInterrupted(stop.received, trainer.global_step, last)
        best = checkpoint.best_model_path or None
        tested = trainer.test(system, datamodule=data, ckpt_path=best, verbose=False, weights_only=True)[0]

    results: dict[str, Any] = {k: float(v) for k, v in sorted(tested.items())}
    if system.best is not None:
        results[f"{info.monitor}_best"] = system.best
    results.update({
        "task": info.name, "cell": config["cell"]["name"], "impl": config["cell"].get("impl"),
        "params": sum(p.numel() for p in system.network.parameters()),
        "time_s": round(fit_seconds, 2), "epochs": trainer.current_epoch,
        "steps": trainer.global_step, "baselines": info.baselines, "run_dir": str(run_dir),
        "checkpoints": {"best": best, "last": last if Path(last).exists() else None},
        "tensorboard": str(run_dir / "tensorboard") if isinstance(logger, TensorBoardLogger) else None,
        "resumed_from": str(resume) if resume else None,
        "faults": {"on_nonfinite": system.on_nonfinite, "skipped_steps": system.skipped_steps},
        "data": {"path": (config.get("data") or {}).get("path"), "skipped_rows": skipped_rows},
        "world_size": trainer.world_size,
        "history": history.rows,
    })
    if trainer.is_global_zero:
        write_json(run_dir / "results.json", results)
        if isinstance(logger, TensorBoardLogger):
            metrics = {k: v for k, v in results.items() if "/" in k and isinstance(v, float)}
            logger.log_hyperparams(flat_hparams(config), metrics=metrics)
            logger.finalize("success")
        print_summary(results)
    return results


def _resume_checkpoint(config: dict[str, Any]) -> Path | None:
    """The checkpoint ``resume`` names, with ``config["run_dir"]`` set to its run folder."""
    resume = config.get("resume")
    if not resume:
        return None
    path = resolve_resume(resume, config.get("run_dir") or _hydra_output_dir())
    if not config.get("run_dir"):
        # the run goes on in its own folder: the best-checkpoint bookkeeping and the logs are there
        config["run_dir"] = str(run_dir_of(path) or _hydra_output_dir() or path.parent)
    return path


def check_resume_config(config: dict[str, Any], path: Path) -> None:
    """Refuse to resume ``path`` with a config that builds another model or task."""
    from rnnzoo.checkpoints import CheckpointError

    checkpoint = load_checkpoint(path)  # refuses a truncated or unsafe file, with one line
    payload = checkpoint.get("rnnzoo") if isinstance(checkpoint, dict) else None
    if not payload or "config" not in payload or "loops" not in checkpoint:
        raise CheckpointError(f"checkpoint '{path}' is not an rnnzoo training checkpoint "
                              "(no config or training state inside)")
    saved, current = _flat(payload["config"]), _flat(config)
    for key in sorted(set(saved) | set(current)):
        if key.startswith(RESUME_MUST_MATCH) and saved.get(key) != current.get(key):
            raise ConfigError(f"resume={config['resume']}: the checkpoint was trained with "
                              f"{key}={saved.get(key)}, this run has {key}={current.get(key)}; "
                              "resume with the run's own settings (python train.py "
                              "resume=<run folder> re-applies them)")


def _flat(config: dict[str, Any], prefix: str = "", sep: str = ".") -> dict[str, Any]:
    """Nested dicts as one level of ``a.b.c`` keys (an empty dict stays a value)."""
    flat = {}
    for key, value in config.items():
        if isinstance(value, dict) and value:
            flat.update(_flat(value, f"{prefix}{key}{sep}", sep))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


@contextmanager
def _distributed_session():
    """Leave no process group or launcher variables behind, so that the next run in this
    process (a ``-m`` sweep's next job) starts its own processes afresh."""
    keys = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE")
    saved = {k: os.environ.get(k) for k in keys}
    launching = "LOCAL_RANK" not in os.environ
    try:
        yield
    finally:
        if launching:
            if torch.distributed.is_available() and torch.distributed.is_initialized():
                torch.distributed.destroy_process_group()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def print_summary(results: dict[str, Any]) -> None:
    lines = [f"\nrnnzoo: {results['cell']} ({results['impl'] or '-'}) on {results['task']}: "
             f"{results['epochs']} epochs, {results['steps']} steps in {results['time_s']:.1f} s"]
    for key, value in results.items():
        if "/" in key and isinstance(value, float):
            lines.append(f"  {key:<18} {value:.4f}")
    for key, value in results["baselines"].items():
        lines.append(f"  {key:<18} {value:.4f}   (trivial baseline)")
    lines.append(f"  {'parameters':<18} {results['params']:,}")
    if results.get("world_size", 1) > 1:
        lines.append(f"  {'processes':<18} {results['world_size']}")
    if (results.get("faults") or {}).get("skipped_steps"):
        lines.append(f"  {'skipped steps':<18} {results['faults']['skipped_steps']} (NaN/Inf)")
    if (results.get("data") or {}).get("skipped_rows"):
        lines.append(f"  {'skipped rows':<18} {results['data']['skipped_rows']} (bad data rows)")
    if results.get("resumed_from"):
        lines.append(f"  {'resumed from':<18} {results['resumed_from']}")
    lines.append(f"  {'run dir':<18} {results['run_dir']}")
    for kind, path in results["checkpoints"].items():
        if path:
            lines.append(f"  {kind + ' checkpoint':<18} {path}")
    if results["tensorboard"]:
        lines.append(f"  {'tensorboard':<18} tensorboard --logdir {Path(results['run_dir']).parent}")
    lines.append(f"  {'results':<18} {Path(results['run_dir']) / 'results.json'}")
    print("\n".join(lines), flush=True)

