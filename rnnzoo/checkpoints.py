"""Loading rnnzoo checkpoints safely, and rebuilding the trained network from them.

Every load goes through ``torch.load(weights_only=True)``: tensors and plain containers only,
so a checkpoint can never run code (a crafted file with a pickled callable is refused before
anything of it executes). The checkpoint carries its resolved config and task info as plain
data, which is all inference needs to rebuild the network.
"""
from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from rnnzoo.tasks.info import TaskInfo


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: missing, truncated, unsafe or not rnnzoo's."""


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
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as error:
        raise CheckpointError(f"checkpoint '{path}' is truncated or not a PyTorch checkpoint "
                              f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})") from None


def load_trained(path: str | os.PathLike, map_location="cpu"):
    """(network in eval mode, TaskInfo, config) from an rnnzoo training checkpoint."""
    from rnnzoo.models.factory import build_network
    from rnnzoo.experiment import NETWORK_KEYS

    checkpoint = load_checkpoint(path, map_location)
    payload = checkpoint.get("rnnzoo") if isinstance(checkpoint, dict) else None
    if not payload or "info" not in payload or "state_dict" not in checkpoint:
        raise CheckpointError(f"checkpoint '{path}' was not written by rnnzoo's training "
                              "(no rnnzoo config and task info inside)")
    config, info = payload["config"], TaskInfo(**payload["info"])
    task = config["task"]
    network = build_network(info, config["cell"], **{k: task[k] for k in NETWORK_KEYS if k in task})
    prefix = "network."
    state = {k[len(prefix):]: v for k, v in checkpoint["state_dict"].items() if k.startswith(prefix)}
    try:
        network.load_state_dict(state)
    except RuntimeError as error:
        raise CheckpointError(f"checkpoint '{path}': weights do not fit the network its config "
                              f"describes ({str(error).splitlines()[0]})") from None
    return network.eval(), info, config
