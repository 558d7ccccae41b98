"""``python train.py [overrides]``: Hydra's command line over :func:`rnnzoo.experiment.train`.

Hydra's flags work as in any Hydra app (``--help``, ``--cfg``, ``--info``, ``-m``,
``--config-dir``, ``hydra.*`` overrides, launchers and sweepers). Before Hydra runs, the
command line is checked (:mod:`rnnzoo.config.preflight`); a mistake there, and every error a
run reports (:mod:`rnnzoo.errors`), is one line on stderr and an exit code.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import hydra

from rnnzoo.config.preflight import CommandLine, check_command_line
from rnnzoo.config.schema import MANAGED, TrainerArguments
from rnnzoo.errors import Reported, report, reporting
from rnnzoo.experiment import train

#: Hydra's flags that show something instead of running
INSPECTING = ("help", "hydra_help", "version", "cfg", "info", "shell_completion",
              "experimental_rerun")


def hydra_flags(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """(Hydra's flags, the overrides) of ``argv``, as Hydra's command line reads them."""
    parser = argparse.ArgumentParser(add_help=False)
    for names, options in [
        (("-h", "--help"), {"action": "store_true"}), (("--hydra-help",), {"action": "store_true"}),
        (("--version",), {"action": "store_true"}), (("-c", "--cfg"), {}),
        (("--resolve",), {"action": "store_true"}), (("-p", "--package"), {}),
        (("-r", "--run"), {"action": "store_true"}), (("-m", "--multirun"), {"action": "store_true"}),
        (("-sc", "--shell-completion"), {"action": "store_true"}), (("-cp", "--config-path"), {}),
        (("-cn", "--config-name"), {}), (("-cd", "--config-dir"), {}),
        (("--experimental-rerun",), {}), (("-i", "--info"), {"nargs": "?", "const": "all"})]:
        parser.add_argument(*names, **options)
    return parser.parse_known_args(argv)


def trainer_override(override: str) -> str:
    """``trainer.val_check_interval=100`` as ``++trainer.val_check_interval=100``: a Trainer
    argument the schema knows (:class:`TrainerArguments`, with its rules) is added when the
    trainer's file does not set it, not refused by Hydra's struct mode. Lightning's other
    arguments still take a ``+`` (the error says so); a typo still gets its "did you mean"."""
    key, equals, _ = override.partition("=")
    name = key.removeprefix("trainer.")
    if equals and key.startswith("trainer.") and "." not in name and name in trainer_arguments():
        return "++" + override
    return override


def trainer_arguments() -> set[str]:
    return {f.name for f in dataclasses.fields(TrainerArguments)} - set(MANAGED)


def main(argv: list[str], config_dir: str | Path, config_name: str = "train") -> int:
    """Run ``train.py`` with ``argv``; returns the exit code."""
    config_dir = Path(config_dir)
    flags, overrides = hydra_flags(argv)
    argv = [trainer_override(a) if a in overrides else a for a in argv]
    overrides = [trainer_override(o) for o in overrides]
    if not any(getattr(flags, name) for name in INSPECTING):
        line = CommandLine(
            overrides, config_dir=config_dir.parent / flags.config_path if flags.config_path
            else config_dir, config_name=flags.config_name or config_name,
            multirun=flags.multirun, extra_dirs=[Path(flags.config_dir)] if flags.config_dir else [])
        try:
            argv = [*argv, *check_command_line(line)]
        except Reported as error:
            return report(error)
    return run_hydra(argv, config_dir, config_name)


def run_hydra(argv: list[str], config_dir: Path, config_name: str) -> int:
    def task(cfg):
        outcome = {}
        code = reporting(lambda: outcome.update(train(cfg)))
        if code:
            raise SystemExit(code)
        # a sweeper (e.g. Optuna) optimises what the task returns: the monitored metric's best
        return next((v for k, v in outcome.items() if k.endswith("_best")), None)

    entry = hydra.main(version_base="1.3", config_path=str(config_dir.resolve()),
                       config_name=config_name)(task)
    saved = sys.argv
    sys.argv = [saved[0] if saved else "train.py", *argv]
    try:
        entry()
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    finally:
        sys.argv = saved
    return 0
