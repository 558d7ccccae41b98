"""A small training run through the real runner, for analysis scripts given no checkpoint.

It composes ``conf/train.yaml`` exactly as ``train.py`` does (Hydra's compose API), applies
the overrides, and calls :func:`rnnzoo.experiment.train`; the run lands in ``run_dir`` like
any other (checkpoints, ``results.json``, TensorBoard).
"""
from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir

CONF = Path(__file__).resolve().parents[2] / "conf"
QUIET = ["trainer.enable_progress_bar=false", "trainer.enable_model_summary=false"]
#: config groups a script passes on to training as they are (``logger=none``, ``optimizer=sgd``)
GROUPS = ("optimizer", "scheduler", "loss", "init", "trainer", "logger", "data", "experiment")


def is_training_override(key: str) -> bool:
    """A script argument meant for training: a dotted key (``optimizer.lr``) or a group."""
    return "." in key or key.lstrip("+~") in GROUPS


def train_run(run_dir: str | Path, overrides: list[str]) -> tuple[Path, dict]:
    """Train with ``overrides`` (Hydra syntax, e.g. "task=sine", "cell.hidden_size=32");
    returns the best checkpoint's path and the run's results."""
    from rnnzoo.experiment import train  # Lightning: imported only when a run is needed

    if not CONF.is_dir():
        raise FileNotFoundError(f"no config folder at {CONF}: run from a checkout of rnnzoo")
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=[f"run_dir={run_dir}", *QUIET, *overrides])
    results = train(cfg)
    best = results["checkpoints"]["best"] or results["checkpoints"]["last"]
    return Path(best), results


def run_dir_of(checkpoint: str | Path) -> Path:
    """The run folder a checkpoint belongs to (``<run>/checkpoints/best.ckpt`` -> ``<run>``)."""
    checkpoint = Path(checkpoint)
    return checkpoint.parent.parent if checkpoint.parent.name == "checkpoints" else checkpoint.parent
