"""Checkpoints: written atomically, read safely, and turned back into the trained network.

Every load goes through ``torch.load(weights_only=True)``: tensors and plain containers only,
so a checkpoint can never run code (a crafted file with a pickled callable is refused before
anything of it executes). That covers resuming (the Trainer reads through
:class:`SafeCheckpointIO`), testing the best checkpoint, and inference. Every write goes to a
temporary file that is fsynced and then renamed over the target, so a crash mid-write leaves
the previous checkpoint intact. The checkpoint carries its resolved config and task info as
plain data, which is all inference needs to rebuild the network.
"""
from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from rnnzoo.errors import CheckpointError, ConfigError
from rnnzoo.models.factory import network_from_config
from rnnzoo.tasks.info import TaskInfo
from rnnzoo.utils.io import atomic_path, flatten

CHECKPOINT_DIR = "checkpoints"
LAST = "last.ckpt"
#: config keys a resumed run must share with its checkpoint (the rest may change: epochs, ...)
RESUME_MUST_MATCH = ("cell.", "task._target_", "task.seq_len", "task.embedding_dim", "task.jamo",
                     "task.batch_size", "loss.", "tbptt.", "optimizer._target_",
                     "scheduler._target_", "data.path", "seed")


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint '{path}' does not exist")
    if path.is_dir():
        raise CheckpointError(f"checkpoint '{path}' is a directory, not a file")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(
            f"checkpoint '{path}' holds objects that are not plain data, so it was refused "
            f"unopened (weights_only loading): {first}") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as error:
        raise CheckpointError(f"checkpoint '{path}' is truncated or not a PyTorch checkpoint "
                              f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})") from None


class SafeCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint I/O, made crash-safe (temp file, fsync, rename) and safe to read
    (``weights_only=True`` always; a bad file raises :class:`CheckpointError`)."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options=None) -> None:
        if storage_options is not None:
            raise TypeError("SafeCheckpointIO.save_checkpoint takes no storage_options")
        with atomic_path(path) as tmp:
            torch.save(checkpoint, tmp)

    def load_checkpoint(self, path, map_location=None, weights_only=None) -> dict[str, Any]:
        return load_checkpoint(path, map_location="cpu" if map_location is None else map_location)


def resolve_resume(resume: str, run_dir: str | os.PathLike | None = None) -> Path:
    """The checkpoint file that ``resume=...`` names: a ``.ckpt`` file; a run folder (its
    ``checkpoints/last.ckpt``); or ``last``: ``run_dir``'s last checkpoint."""
    if resume == "last":
        if not run_dir:
            raise CheckpointError("resume=last needs the run to resume: give run_dir=<run folder>, "
                                  "or resume=<run folder or .ckpt file>")
        target = Path(run_dir) / CHECKPOINT_DIR / LAST
        if not target.exists():
            raise CheckpointError(f"resume=last: run folder '{run_dir}' has no {CHECKPOINT_DIR}/{LAST}")
        return target
    path = Path(resume)
    if path.is_dir():
        target = path / CHECKPOINT_DIR / LAST
        if not target.exists():
            raise CheckpointError(f"resume={resume}: the folder has no {CHECKPOINT_DIR}/{LAST}; "
                                  "give a run folder or a .ckpt file")
        return target
    if not path.exists():
        raise CheckpointError(f"resume={resume}: no such checkpoint file or run folder")
    return path


def run_dir_of(checkpoint: str | os.PathLike) -> Path | None:
    """The run folder a checkpoint was written into (``<run>/checkpoints/x.ckpt``), or None."""
    path = Path(checkpoint).resolve()
    return path.parent.parent if path.parent.name == CHECKPOINT_DIR else None


def check_resume_config(config: dict[str, Any], path: str | os.PathLike) -> None:
    """Refuse to resume ``path`` with a config that builds another model or task."""
    checkpoint = load_checkpoint(path)  # refuses a truncated or unsafe file, with one line
    payload = checkpoint.get("rnnzoo") if isinstance(checkpoint, dict) else None
    if not payload or "config" not in payload or "loops" not in checkpoint:
        raise CheckpointError(f"checkpoint '{path}' is not an rnnzoo training checkpoint "
                              "(no config or training state inside)")
    saved, current = flatten(payload["config"]), flatten(config)
    for key in sorted(set(saved) | set(current)):
        if key.startswith(RESUME_MUST_MATCH) and saved.get(key) != current.get(key):
            raise ConfigError(f"resume={config['resume']}: the checkpoint was trained with "
                              f"{key}={saved.get(key)}, this run has {key}={current.get(key)}; "
                              "resume with the run's own settings (python train.py "
                              "resume=<run folder> re-applies them)")


def load_trained(path: str | os.PathLike, map_location="cpu"):
    """(network in eval mode, TaskInfo, config) from an rnnzoo training checkpoint."""
    checkpoint = load_checkpoint(path, map_location)
    payload = checkpoint.get("rnnzoo") if isinstance(checkpoint, dict) else None
    if not payload or "info" not in payload or "state_dict" not in checkpoint:
        raise CheckpointError(f"checkpoint '{path}' was not written by rnnzoo's training "
                              "(no rnnzoo config and task info inside)")
    config, info = payload["config"], TaskInfo(**payload["info"])
    network = network_from_config(info, config)
    prefix = "network."
    state = {k[len(prefix):]: v for k, v in checkpoint["state_dict"].items() if k.startswith(prefix)}
    try:
        network.load_state_dict(state)
    except RuntimeError as error:
        raise CheckpointError(f"checkpoint '{path}': weights do not fit the network its config "
                              f"describes ({str(error).splitlines()[0]})") from None
    return network.eval(), info, config
