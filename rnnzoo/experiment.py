"""``train(cfg)``: one training run from a composed config, as ``train.py`` and the tests call it.

Read top to bottom: check the config; instantiate the task's data, the system (the network for
the task's sequence shape, its optimiser and schedule), the logger, the callbacks and the
Trainer from it; fit, resuming from a checkpoint when asked; test the best checkpoint; report
(``results.json`` with namespaced metrics, ``test/acc``, ``val/acc_best``, ..., the parameter
count, the time, where the logs and checkpoints went).

What keeps a run safe: checkpoints are written atomically (temp file, fsync, rename) every
``checkpoint.every_n_steps`` steps and after every validation, and read with
``weights_only=True``; they carry the random states, the data order's position and the carried
TBPTT state, so a run killed mid-epoch resumes to the same result; SIGTERM and Ctrl+C write a
checkpoint before stopping; a NaN/Inf loss or gradient stops (or skips) with the last good
state saved (rnnzoo.callbacks).

``python -m rnnzoo.experiment <config.json>`` is a DDP run's other local process (rnnzoo.utils.distributed).
"""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
import time
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import lightning as L
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate as hydra_instantiate
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities.exceptions import SIGTERMException
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from rnnzoo.callbacks import (EpochEndCheckpoint, NonFiniteGuard, RandomState, SignalCheckpoint,
                              ValidationHistory, log_baselines, log_hparams)
from rnnzoo.checkpoints import (CHECKPOINT_DIR, LAST, SafeCheckpointIO, check_resume_config,
                                resolve_resume, run_dir_of)
from rnnzoo.config.checks import Arguments, as_plain, task_class, validate_config
from rnnzoo.config.schema import TaskKeys
from rnnzoo.errors import RunInterrupted, reporting
from rnnzoo.init import initialize
from rnnzoo.models.factory import network_from_config
from rnnzoo.tasks import crossval
from rnnzoo.utils.distributed import is_ddp, local_ranks, process_rank
from rnnzoo.utils.io import flatten, write_json
from rnnzoo.utils.threads import apply_threads

#: keys of the task group that are not its data module's (the run's budget, the network's)
TASK_KEYS = tuple(f.name for f in dataclasses.fields(TaskKeys))
#: where a DDP run's other processes find the config to run
DDP_CONFIG = ".rnnzoo/ddp-config.json"


@dataclass
class Run:
    """What one run is made of, once instantiated."""
    config: dict[str, Any]
    run_dir: Path
    resume: Path | None
    data: L.LightningDataModule
    system: L.LightningModule
    trainer: L.Trainer
    best: ModelCheckpoint
    stop: SignalCheckpoint
    guard: NonFiniteGuard
    history: ValidationHistory

    @property
    def last(self) -> Path:
        return self.run_dir / CHECKPOINT_DIR / LAST


def train(cfg: DictConfig | dict[str, Any]) -> dict[str, Any]:
    config, resume = prepare(cfg)
    # a run on a user's file: the task's file recipe; data.folds=K (K runs, mean ± std) and
    # cell=linear (no network) are run by rnnzoo.tasks.crossval, with one run's steps below
    config = crossval.with_file_recipe(config)
    if crossval.takes_over(config):
        return crossval.run(config, train_one=lambda c: train_one(c, None), make_data=instantiate_data,
                            print_summary=print_summary)
    return train_one(config, resume)


def train_one(config: dict[str, Any], resume: Path | None) -> dict[str, Any]:
    L.seed_everything(config["seed"], workers=True, verbose=False)
    apply_threads(config.get("threads"), config["trainer"])
    data = instantiate_data(config)
    data.info  # reads the data: a bad file stops here, before anything is written
    with local_ranks(config["trainer"], worker_command(config)):
        run = instantiate_run(config, resume, data)
        fit_seconds = fit(run)
        tested = test(run)
    return report(run, tested, fit_seconds)


# -- the config ----------------------------------------------------------------------------
def prepare(cfg: DictConfig | dict[str, Any]) -> tuple[dict[str, Any], Path | None]:
    """The checked config as plain data, its ``run_dir`` settled, and the checkpoint a resume
    goes on from (checked against the config)."""
    config = as_plain(cfg)
    validate_config(config)
    resume = None
    if config.get("resume"):
        resume = resolve_resume(config["resume"], config.get("run_dir") or _hydra_output_dir())
        # the run goes on in its own folder: the best-checkpoint bookkeeping and the logs are there
        config["run_dir"] = config.get("run_dir") or str(
            run_dir_of(resume) or _hydra_output_dir() or resume.parent)
        check_resume_config(config, resume)
    config["run_dir"] = str(config.get("run_dir") or _hydra_output_dir() or _fresh_folder(config))
    return config, resume


def _hydra_output_dir() -> Path | None:
    return Path(HydraConfig.get().runtime.output_dir) if HydraConfig.initialized() else None


def _fresh_folder(config: dict[str, Any]) -> Path:
    """Not under @hydra.main (a direct call): a fresh folder of our own."""
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    return Path("outputs") / task_class(config).name / config["cell"]["name"] / stamp


def worker_command(config: dict[str, Any]) -> list[str]:
    """What a DDP run's other local processes run: this config, written beside the run by the
    first process of the node (rnnzoo.utils.distributed)."""
    path = Path(config["run_dir"]) / DDP_CONFIG
    if is_ddp(config["trainer"].get("strategy")) and "LOCAL_RANK" not in os.environ:
        write_json(path, config)
    return [sys.executable, "-m", "rnnzoo.experiment", str(path)]


# -- instantiate ---------------------------------------------------------------------------
def instantiate_run(config: dict[str, Any], resume: Path | None, data) -> Run:
    """The system, its callbacks and logger, and the Trainer, for ``data`` (read already)."""
    run_dir, info = Path(config["run_dir"]), data.info
    skipped = getattr(data, "skipped", 0)
    if skipped and process_rank() == 0:
        print(f"rnnzoo: skipped {skipped} bad rows of data file '{config['data']['path']}' "
              "(data.on_bad_rows=skip)", file=sys.stderr, flush=True)
    system = instantiate_system(config, info)
    run_dir.mkdir(parents=True, exist_ok=True)
    folder, last = run_dir / CHECKPOINT_DIR, str(run_dir / CHECKPOINT_DIR / LAST)
    best = ModelCheckpoint(dirpath=folder, filename="best", monitor=info.monitor, mode=info.mode,
                           save_top_k=1, auto_insert_metric_name=False, enable_version_counter=False)
    periodic = ModelCheckpoint(dirpath=folder, filename="last", save_top_k=1, enable_version_counter=False,
                               every_n_train_steps=config["checkpoint"]["every_n_steps"])
    stop, history = SignalCheckpoint(last), ValidationHistory()
    guard = NonFiniteGuard(last, **config["faults"])
    callbacks = [RandomState(), guard, history, *instantiate_callbacks(config),
                 best, periodic, EpochEndCheckpoint(last), stop]
    trainer = instantiate_trainer(config, run_dir, callbacks, system)
    return Run(config, run_dir, resume, data, system, trainer, best, stop, guard, history)


def instantiate(node: dict[str, Any], **arguments):
    """Hydra's instantiate, handing plain lists and dicts to the target (not OmegaConf's)."""
    return hydra_instantiate(node, _convert_="all", **arguments)


def instantiate_data(config: dict[str, Any]) -> L.LightningDataModule:
    """The task's data module (``task._target_``) with the run's seed and loader workers, and
    the ``data`` group when the task reads a file."""
    task = {k: v for k, v in config["task"].items() if k not in TASK_KEYS}
    extra = {"seed": config["seed"], "num_workers": config["data"]["num_workers"]}
    if "source" in Arguments.of(task_class(config)).types:
        extra["source"] = config["data"]
    return instantiate(task, **extra)


def instantiate_system(config: dict[str, Any], info) -> L.LightningModule:
    """The system (``system._target_``) with its network, initialised as ``init`` says, and the
    optimiser and schedule factories (``_partial_`` entries)."""
    network = network_from_config(info, config)
    initialize(network, **{k: v for k, v in config["init"].items() if v is not None})
    schedule = dict(config.get("scheduler") or {})
    interval = schedule.pop("interval", "epoch")
    options = {}
    tbptt = config.get("tbptt") or {}
    if tbptt.get("k1"):  # manual optimisation: the system clips, not the trainer
        options["tbptt"] = (tbptt["k1"], tbptt.get("k2") or tbptt["k1"])
        trainer = config["trainer"]
        options["clip"] = (trainer.get("gradient_clip_val"), trainer.get("gradient_clip_algorithm", "norm"))
    make = instantiate(config["system"], _partial_=True)
    return make(network, info, loss=config["loss"]["name"], optimizer=instantiate(config["optimizer"]),
                scheduler=instantiate(schedule) if schedule else None, scheduler_interval=interval,
                record={"format": 1, "config": config, "info": dataclasses.asdict(info)}, **options)


def instantiate_callbacks(config: dict[str, Any]) -> list[L.Callback]:
    return [instantiate(entry) for entry in (config.get("callbacks") or {}).values() if entry]


def instantiate_logger(config: dict[str, Any], run_dir: Path):
    """The logger, writing into the run's folder; TensorBoard's, in a sweep, into a folder named
    after the swept values (``cell=gru,optimizer=adam``) beside the jobs' folders: TensorBoard
    names a run by its folder, and ``0``, ``1``, ... say nothing."""
    logger = config.get("logger")
    if not logger:
        return False
    make, swept = instantiate(logger), swept_overrides()
    if swept and issubclass(getattr(make, "func", make), TensorBoardLogger):
        return make(save_dir=str(run_dir.parent), name="", version=swept_name(swept))
    return make(save_dir=str(run_dir))


def swept_overrides() -> dict[str, str]:
    """In a Hydra sweep, this job's values of the keys the sweep varies, in the command
    line's order ({"cell": "gru", "optimizer": "adam"}); {} outside one."""
    if not HydraConfig.initialized() or str(HydraConfig.get().mode) != "RunMode.MULTIRUN":
        return {}
    try:
        return _swept(HydraConfig.get())
    except (HydraException, OmegaConfBaseException):  # a name is a nicety: never stop a run for it
        return {}


def _swept(hydra) -> dict[str, str]:
    parser = OverridesParser.create()
    # the command line's overrides (not its flags: -m, --config-dir DIR) that sweep
    lines = [a for a in sys.argv[1:] if "=" in a and not a.startswith("-")]
    swept = [o.key_or_group for o in parser.parse_overrides(lines) if o.is_sweep_override()]
    swept += [str(k) for k in (OmegaConf.select(hydra, "sweeper.params") or {})]
    # this job's own values (key_or_group has no +/++/~ prefix)
    job = {o.key_or_group: o.value() for o in parser.parse_overrides(list(hydra.overrides.task))}
    return {k: str(job[k]) for k in dict.fromkeys(swept) if k in job}


def swept_name(swept: dict[str, str]) -> str:
    """A folder name: no path separators in the values, and short enough for a file system
    (a long one gives way to the job's number, as Hydra names the job's own folder)."""
    name = ",".join(f"{k}={v}".replace("/", "_") for k, v in swept.items())
    return name if len(name) <= 200 else str(HydraConfig.get().job.num)


def instantiate_trainer(config: dict[str, Any], run_dir: Path, callbacks, system) -> L.Trainer:
    options = dict(config["trainer"])
    if not system.automatic_optimization:  # Lightning refuses clipping under manual optimisation
        options.pop("gradient_clip_val", None)
        options.pop("gradient_clip_algorithm", None)
    return L.Trainer(**options, logger=instantiate_logger(config, run_dir), callbacks=callbacks,
                     default_root_dir=str(run_dir), plugins=[SafeCheckpointIO()],
                     use_distributed_sampler=False)


# -- fit, test -----------------------------------------------------------------------------
def fit(run: Run) -> float:
    """Fit (from ``run.resume`` when given); returns the seconds it took. A signal stops it
    with :class:`RunInterrupted` once ``last.ckpt`` is written."""
    started = time.perf_counter()
    try:
        with warnings.catch_warnings():
            # Lightning 2.6 asks for a copy of the weights before each optimiser step when a
            # ModelCheckpoint saves every n steps under manual optimisation (truncated BPTT);
            # last.ckpt holds the state after step n, which is what a resume needs
            warnings.filterwarnings("ignore", message="Using ModelCheckpoint with manual optimization")
            run.trainer.fit(run.system, datamodule=run.data, ckpt_path=run.resume, weights_only=True)
    except SIGTERMException:
        raise RunInterrupted(run.stop.signum or signal.SIGTERM, run.trainer.global_step, run.last) from None
    if run.trainer.received_sigterm:  # during the last validation: stop before testing
        raise RunInterrupted(run.stop.signum or signal.SIGTERM, run.trainer.global_step, run.last)
    return time.perf_counter() - started


def test(run: Run) -> dict[str, float]:
    best = run.best.best_model_path or None
    return run.trainer.test(run.system, datamodule=run.data, ckpt_path=best, verbose=False,
                            weights_only=True)[0]


# -- report --------------------------------------------------------------------------------
def report(run: Run, tested: dict[str, float], fit_seconds: float) -> dict[str, Any]:
    """The run's results: written to ``results.json``, the TensorBoard HPARAMS tab and the
    summary by rank 0; returned by every rank."""
    config, info, trainer = run.config, run.system.info, run.trainer
    logger = trainer.logger
    results: dict[str, Any] = {k: float(v) for k, v in sorted(tested.items())}
    if run.system.best is not None:
        results[f"{info.monitor}_best"] = run.system.best
    if getattr(run.system, "loss_is_metric", False):  # not charted twice, but results keep it
        results.setdefault("test/loss", results.get(f"test/{run.system.loss_name}"))
    results.update({
        "task": info.name, "cell": config["cell"]["name"], "impl": config["cell"].get("impl"),
        "params": sum(p.numel() for p in run.system.network.parameters()),
        "time_s": round(fit_seconds, 2), "epochs": trainer.current_epoch,
        "steps": trainer.global_step, "baselines": info.baselines, "run_dir": str(run.run_dir),
        "checkpoints": {"best": run.best.best_model_path or None,
                        "last": str(run.last) if run.last.exists() else None},
        "tensorboard": logger.log_dir if isinstance(logger, TensorBoardLogger) else None,
        "resumed_from": str(run.resume) if run.resume else None,
        "faults": {"on_nonfinite": run.guard.on_nonfinite, "skipped_steps": run.guard.skipped_steps},
        "data": {"path": config["data"].get("path"), "skipped_rows": getattr(run.data, "skipped", 0)},
        "world_size": trainer.world_size,
        "history": run.history.rows,
        # input time steps trained on per second of training batches (see ValidationHistory)
        "train_tokens": run.history.train_tokens,
        "train_tokens_per_s": round(run.history.train_tokens / run.history.train_batch_s, 1)
        if run.history.train_batch_s else None,
    })
    if trainer.is_global_zero:
        write_json(run.run_dir / "results.json", results)
        if isinstance(logger, TensorBoardLogger):
            # the HPARAMS tab reads the metrics' own scalars (logged at the step they were
            # measured); nothing is logged again at step 0
            swept = swept_overrides()
            # the swept keys and the task first (TensorBoard opens on the `differs` ones)
            log_hparams(logger.experiment, comparison_hparams(config, swept), differs={*swept, "task"})
            log_baselines(logger.log_dir, info.baselines, trainer.global_step)
            logger.finalize("success")
        print_summary(results)
    return results


#: the settings that tell runs apart, after the swept ones: the model's, then the optimiser's
#: left out while off (false, 0, unset): the HPARAMS tab opens on its first five columns
OFF_BY_DEFAULT = ("cell.bidirectional", "cell.dropout", "optimizer.weight_decay", "optimizer.momentum")
COMPARED = ("cell.hidden_size", "cell.num_layers", "cell.bidirectional", "cell.dropout", "cell.impl",
            "optimizer.lr", "optimizer.weight_decay", "optimizer.momentum", "task.batch_size", "seed")


def comparison_hparams(config: dict[str, Any], swept: dict[str, str] | None = None) -> dict[str, Any]:
    """What the HPARAMS tab compares runs by: the swept keys first, then the task, cell and
    optimiser by name and :data:`COMPARED`: flags as flags, numbers as numbers, whole numbers
    (sizes, counts, the seed) as text, which TensorBoard shows as written."""
    flat = flatten(config, sep=".")
    choices = _group_choices()
    named = {"task": task_class(config).name, "cell": config["cell"]["name"],
             "optimizer": choices.get("optimizer") or _target_name(config.get("optimizer")),
             "scheduler": choices.get("scheduler") or _target_name(config.get("scheduler"))}
    values = {}
    for key in [*(swept or {}), *named, *COMPARED]:
        value = named.get(key, flat.get(key, choices.get(key, (swept or {}).get(key))))
        if key in OFF_BY_DEFAULT and not value and key not in (swept or {}):
            continue  # a flag that is off says nothing a reader compares runs by
        if isinstance(value, bool) or isinstance(value, (float, str)):
            values.setdefault(key, value)
        elif isinstance(value, int):  # TensorBoard has no integers: 128 would show as 128.000
            values.setdefault(key, str(value))
    return values


def _group_choices() -> dict[str, str]:
    if not HydraConfig.initialized():
        return {}
    return {str(k): str(v) for k, v in HydraConfig.get().runtime.choices.items() if v is not None}


def _target_name(node: dict[str, Any] | None) -> str | None:
    target = (node or {}).get("_target_")
    return target.rpartition(".")[2].lower() if target else None


def print_summary(results: dict[str, Any]) -> None:
    lines = [f"\nrnnzoo: {results['cell']} ({results['impl'] or '-'}) on {results['task']}: "
             f"{results['epochs']} epochs, {results['steps']} steps in {results['time_s']:.1f} s"]
    for key, value in results.items():
        if "/" in key and isinstance(value, float):
            lines.append(f"  {key:<18} {value:.4f}")
    for key, value in results["baselines"].items():
        kind = "linear baseline" if key.startswith("linear/") else "trivial baseline"
        lines.append(f"  {key:<18} {value:.4f}   ({kind})")
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
        lines.append(f"  {'tensorboard':<18} tensorboard --logdir {logdir_for(results)}")
    lines.append(f"  {'results':<18} {Path(results['run_dir']) / 'results.json'}")
    print("\n".join(lines), flush=True)


def logdir_for(results: dict[str, Any]) -> Path:
    """The folder to point TensorBoard at: a run of Hydra's ``outputs/<task>/<cell>/<time>``
    from ``outputs`` (its runs then read ``<task>/<cell>/<time>``), a sweep's from the sweep."""
    run_dir = Path(results["run_dir"])
    if run_dir.parent.name == results["cell"] and run_dir.parent.parent.name == results["task"]:
        return run_dir.parents[2]
    return Path(results["tensorboard"]).parent if results["tensorboard"] else run_dir.parent


# -- a DDP run's other processes -----------------------------------------------------------
def worker(argv: list[str] | None = None) -> int:
    """A non-zero local rank: run the config rank 0 wrote."""
    argv = sys.argv[1:] if argv is None else argv
    config = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    code = reporting(lambda: train(config))
    # a NaN stop (3) or a signal (128 + n) stops every rank at the same step, and rank 0
    # reports it; a non-zero exit here would make rank 0's watcher stop it mid-report
    return 0 if code == 3 or code >= 128 else code


if __name__ == "__main__":
    sys.exit(worker())
