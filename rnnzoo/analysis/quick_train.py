"""A small training run through the real runner, for analysis scripts given no checkpoint.

It composes ``conf/train.yaml`` exactly as ``train.py`` does (Hydra's compose API), applies
the overrides, and calls :func:`rnnzoo.experiment.train`; the run lands in ``run_dir`` like
any other (checkpoints, ``results.json``, TensorBoard).
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from rnnzoo.config.compose import QUIET, compose_training

#: config groups a script passes on to training as they are (``logger=none``, ``optimizer=sgd``)
GROUPS = ("optimizer", "scheduler", "loss", "init", "trainer", "logger", "data", "experiment")


def is_training_override(key: str) -> bool:
    """A script argument meant for training: a dotted key (``optimizer.lr``) or a group."""
    return "." in key or key.lstrip("+~") in GROUPS


def parse_options(argv: list[str], defaults: dict, convert: dict) -> tuple[dict, list[str]]:
    """A script's key=value arguments: its options (each value read by ``convert[key]``) and the
    Hydra overrides it passes on to training (see :func:`is_training_override`)."""
    options, overrides = dict(defaults), []
    for arg in argv:
        key, sep, text = arg.partition("=")
        if not sep:
            raise SystemExit(f"expected key=value, got {arg!r}")
        if is_training_override(key):
            overrides.append(arg)
        elif key in convert:
            options[key] = convert[key](text)
        else:
            raise SystemExit(f"unknown key {key!r}; choose from {', '.join(defaults)} "
                             "(or a Hydra override for training: a config group or a dotted key)")
    return options, overrides


def train_run(run_dir: str | Path, overrides: list[str]) -> tuple[Path, dict]:
    """Train with ``overrides`` (Hydra syntax, e.g. "task=sine", "cell.hidden_size=32");
    returns the best checkpoint's path and the run's results."""
    from rnnzoo.experiment import train  # Lightning: imported only when a run is needed

    results = train(compose_training([f"run_dir={run_dir}", *QUIET, *overrides]))
    best = results["checkpoints"]["best"] or results["checkpoints"]["last"]
    return Path(best), results


def training_overrides(task: str, options: dict, extra: list[str]) -> list[str]:
    """The small run's Hydra overrides: the task, the script's training options (``cell``,
    ``hidden_size``, ``max_epochs``, ``train_steps``, ``train_seed``), then ``extra``."""
    return [f"task={task}", f"cell={options['cell']}", f"cell.hidden_size={options['hidden_size']}",
            f"task.max_epochs={options['max_epochs']}", f"trainer.max_steps={options['train_steps']}",
            f"seed={options['train_seed']}", "trainer.accelerator=cpu", *extra]


def trained_model(options: dict, extra: list[str], *, task: str, report: str):
    """What an analysis script works on: ``options["ckpt"]`` (the report goes inside its run
    folder), or, with no checkpoint, a small run trained now (:func:`training_overrides` with
    the ``extra`` overrides).

    Returns (network, info, config, report folder, checkpoint path, the overrides trained with
    or None). A bad or foreign checkpoint stops the script with one line.
    """
    from rnnzoo.checkpoints import CheckpointError, load_trained, run_dir_of

    ckpt, trained = options["ckpt"], None
    if ckpt:
        out = Path(options["out_dir"] or (run_dir_of(ckpt) or Path(ckpt).parent) / report)
    else:
        stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
        out = Path(options["out_dir"] or Path("outputs") / report / stamp)
        print(f"no ckpt given: training a small {task} model into {out / 'train'}", flush=True)
        trained = training_overrides(task, options, extra)
        ckpt, _ = train_run(out / "train", trained)
    try:
        network, info, config = load_trained(ckpt)
    except CheckpointError as error:
        raise SystemExit(f"error: {error}") from None
    if info.name != task:
        raise SystemExit(f"error: this report needs a task={task} checkpoint; this one is {info.name}")
    out.mkdir(parents=True, exist_ok=True)
    return network, info, config, out, Path(ckpt), trained
