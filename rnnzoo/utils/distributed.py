"""Several processes (DDP) on one machine or many, with one run folder.

Lightning's DDP starts the other local ranks by running the command line again (``python
train.py ...``); under Hydra that composes the config once more, which can pick a different
timestamped run folder, re-launches a whole ``-m`` sweep per rank, and cannot work for a run
started from Python (the tests, a notebook). Here the other ranks start as

    python -m rnnzoo.utils.distributed <run_dir>/.rnnzoo/ddp-config.json

and run rank 0's resolved config (its run folder included) — the same run, by construction.
Rank 0 writes results and summaries; Lightning writes checkpoints from rank 0 only.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from lightning.pytorch.strategies import DDPStrategy
from lightning.pytorch.strategies.launchers import _SubprocessScriptLauncher

from rnnzoo.utils.io import write_json

CONFIG_NAME = ".rnnzoo/ddp-config.json"
DDP_NAMES = {"ddp": False, "ddp_find_unused_parameters_false": False,
             "ddp_find_unused_parameters_true": True}


def is_ddp(strategy: Any) -> bool:
    return isinstance(strategy, str) and strategy in DDP_NAMES


def process_rank() -> int:
    """This process's rank as its launcher set it (0 when not distributed): for printing once
    before the Trainer exists. Without RANK or SLURM_PROCID, the first process of every node
    counts as 0."""
    for key in ("RANK", "SLURM_PROCID", "LOCAL_RANK"):
        if key in os.environ:
            return int(os.environ[key])
    return 0


def ddp_strategy(name: str, config: dict[str, Any], run_dir: Path) -> DDPStrategy:
    """A DDPStrategy whose other local ranks run ``config`` (written beside the run)."""
    path = Path(run_dir) / CONFIG_NAME
    if "LOCAL_RANK" not in os.environ:  # the first process of this node writes it
        write_json(path, {**config, "run_dir": str(run_dir)})
    return ConfigDDPStrategy(config_path=path, find_unused_parameters=DDP_NAMES[name])


class ConfigDDPStrategy(DDPStrategy):
    def __init__(self, *, config_path: Path, **kwargs):
        super().__init__(**kwargs)
        self.config_path = config_path

    def _configure_launcher(self) -> None:
        self._launcher = ConfigLauncher(self.cluster_environment, self.num_processes,
                                        self.num_nodes, self.config_path)


class ConfigLauncher(_SubprocessScriptLauncher):
    """Lightning's subprocess launcher, but the other ranks run a config file, not argv."""

    def __init__(self, cluster_environment, num_processes: int, num_nodes: int, config_path: Path):
        super().__init__(cluster_environment, num_processes, num_nodes)
        self.config_path = config_path

    def _call_children_scripts(self) -> None:
        self._check_can_spawn_children()
        self.procs = []
        env = self.cluster_environment
        os.environ["MASTER_ADDR"] = env.main_address
        os.environ["MASTER_PORT"] = str(env.main_port)
        os.environ["NODE_RANK"] = str(env.node_rank())
        os.environ["LOCAL_RANK"] = str(env.local_rank())
        os.environ["WORLD_SIZE"] = str(self.num_processes * self.num_nodes)
        for local_rank in range(1, self.num_processes):
            child_env = {**os.environ, "LOCAL_RANK": str(local_rank)}
            command = [sys.executable, "-m", "rnnzoo.utils.distributed", str(self.config_path)]
            self.procs.append(subprocess.Popen(command, env=child_env))


def main(argv: list[str] | None = None) -> int:
    """A non-zero local rank: run the config rank 0 wrote."""
    from rnnzoo.config.cli import run_reporting_errors
    from rnnzoo.experiment import train

    argv = sys.argv[1:] if argv is None else argv
    config = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    code = run_reporting_errors(lambda: train(config))
    # a NaN stop (3) or a signal (128 + n) stops every rank at the same step, and rank 0
    # reports it; a non-zero exit here would make Lightning's watcher kill rank 0 mid-report
    return 0 if code == 3 or code >= 128 else code


if __name__ == "__main__":
    sys.exit(main())
