"""Several processes (DDP) on one machine or many, with one run folder.

Lightning's DDP would start the other local ranks by running the command line again
(``python train.py ...``); under Hydra that composes the config once more, can pick another
timestamped run folder, re-launches a whole ``-m`` sweep per rank, and cannot work for a run
started from Python (the tests, a notebook). So the first process of each node starts them
itself, before the Trainer exists, as a cluster's launcher would:

    python -m rnnzoo.experiment <run_dir>/.rnnzoo/ddp-config.json

with ``MASTER_ADDR``, ``MASTER_PORT``, ``NODE_RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE`` set;
Lightning then sees processes created outside it (its LightningEnvironment) and starts none.
The other ranks run rank 0's resolved config, its run folder included: the same run, by
construction. Under SLURM or torchrun the cluster has started every process already.
"""
from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# torch and Lightning are imported where they are needed: rnnzoo.errors uses this module, and
# the data code imports rnnzoo.errors
#: the DDP strategies by name, and whether they look for unused parameters
DDP_NAMES = ("ddp", "ddp_find_unused_parameters_false", "ddp_find_unused_parameters_true")
LAUNCH_KEYS = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE")


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


def local_devices(trainer: dict[str, Any]) -> int:
    """How many processes a trainer config runs on each node (1 when it is not DDP)."""
    if not is_ddp(trainer.get("strategy")):
        return 1
    devices = trainer.get("devices", 1)
    if isinstance(devices, str):
        devices = len([d for d in devices.split(",") if d.strip()]) if devices != "auto" else -1
    elif isinstance(devices, (list, tuple)):
        devices = len(devices)
    if devices == -1:  # every device: the GPUs, or the CPU's cores
        import torch

        gpu = str(trainer.get("accelerator", "auto")) in ("gpu", "cuda", "auto") and torch.cuda.is_available()
        devices = torch.cuda.device_count() if gpu else os.cpu_count() or 1
    return max(1, devices)


def processes(trainer: dict[str, Any]) -> int:
    """How many processes a trainer config starts in all."""
    return local_devices(trainer) * int(trainer.get("num_nodes") or 1)


def started_outside() -> bool:
    """Whether a launcher (ours on another rank, SLURM's, torchrun's) started this process."""
    from lightning.fabric.plugins.environments import SLURMEnvironment, TorchElasticEnvironment

    return "LOCAL_RANK" in os.environ or SLURMEnvironment.detect() or TorchElasticEnvironment.detect()


@contextmanager
def local_ranks(trainer: dict[str, Any], command: list[str]) -> Iterator[None]:
    """Start this node's other DDP processes running ``command`` (rank 0 runs the caller's
    code) and wait for them at the end; on a failure, stop them. Leaves no process group or
    launcher variables behind, so that the next run in this process starts afresh."""
    import torch

    count = local_devices(trainer)
    launching = count > 1 and not started_outside()
    saved = {k: os.environ.get(k) for k in LAUNCH_KEYS}
    children: list[subprocess.Popen] = []
    if launching:
        from lightning.fabric.plugins.environments.lightning import find_free_network_port

        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(find_free_network_port()))
        os.environ.setdefault("NODE_RANK", "0")
        os.environ["WORLD_SIZE"] = str(processes(trainer))
        os.environ["LOCAL_RANK"] = "0"
        for rank in range(1, count):
            children.append(subprocess.Popen(command, env={**os.environ, "LOCAL_RANK": str(rank)}))
        _watch(children)
    try:
        yield
        for child in children:
            child.wait()
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
        if launching:
            if torch.distributed.is_available() and torch.distributed.is_initialized():
                torch.distributed.destroy_process_group()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def _watch(children: list[subprocess.Popen]) -> None:
    """A rank that fails leaves the others waiting for it forever: stop the run then, as
    Lightning's own launcher does (its error is the failed rank's to print)."""
    def watch():
        while any(c.poll() is None for c in children):
            failed = [c for c in children if c.poll() not in (None, 0)]
            if failed:
                for child in children:
                    if child.poll() is None:
                        child.kill()
                os._exit(failed[0].returncode)
            time.sleep(1)

    threading.Thread(target=watch, daemon=True).start()
