"""The training config's shape: Hydra structured configs, stored in Hydra's ConfigStore.

``conf/train.yaml`` starts from ``train_schema`` (:class:`TrainConfig`), so Hydra itself refuses,
while it composes the config, a key no group has (a typo), a value of the wrong type and a
choice that is not offered. A field's range is a :func:`~rnnzoo.utils.rules.ruled` rule beside
it, which :mod:`rnnzoo.config.checks` applies. The values themselves are written once, in the
YAML files of ``conf/``; ``MISSING`` (``???``) here means "the YAML sets it".

The groups whose options are ``_target_`` entries (task, system, optimizer, scheduler, logger,
callbacks) are open here: their keys are their target's arguments, checked against its
signature (rnnzoo.config.checks), so that adding an optimizer is one YAML file. Torch's and
Lightning's own classes carry no rules of ours; :class:`OptimizerArguments` and
:class:`SchedulerArguments` give the usual hyperparameters theirs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, List, Optional, Union

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf

from rnnzoo.init import SCHEMES
from rnnzoo.tasks.losses import LOSSES
from rnnzoo.utils.rules import Rule, ruled


def choice(name: str, values) -> type[Enum]:
    """An Enum whose names are ``values``: OmegaConf's way to say "one of these"."""
    return Enum(name, {str(v): str(v) for v in values})


def _epochs(value) -> bool:
    return value == -1 or value >= 1


EPOCHS = "must be >= 1 (or -1: no limit, with max_steps)"


# choices (an Enum per kind: OmegaConf's way to say "one of these")
Impl = choice("Impl", ("custom", "autograd", "torch", "none"))
Loss = choice("Loss", sorted({n for names in LOSSES.values() for n in names}))
Scheme = choice("Scheme", SCHEMES)
Format = choice("Format", ("auto", "tsv", "csv", "jsonl"))
OnBadRows = choice("OnBadRows", ("error", "skip"))
Missing = choice("Missing", ("error", "drop", "ffill", "interpolate"))
OnNonfinite = choice("OnNonfinite", ("stop", "skip"))
Feed = choice("Feed", ("zeros", "previous"))
Interval = choice("Interval", ("step", "epoch"))
Clip = choice("Clip", ("norm", "value"))
Pooling = choice("Pooling", ("last", "max", "mean", "attention"))


# -- the groups with a fixed shape ---------------------------------------------------------
@dataclass
class CellConfig:
    """A cell by name (rnnzoo.cells, or ``bow``); keys a cell does not use may be null."""
    name: str = MISSING
    impl: Optional[Impl] = None
    hidden_size: int = ruled(MISSING, ge=1)
    num_layers: Optional[int] = ruled(None, ge=1)
    bidirectional: Optional[bool] = None
    dropout: Optional[float] = ruled(None, ge=0.0, lt=1.0)
    bias: Optional[bool] = None
    #: the cell's own keyword arguments; open to new keys (``cell.options={proj_size:32}``)
    options: Any = field(default_factory=lambda: OmegaConf.create({}, flags={"struct": False}),
                         metadata={"rule": Rule(check=lambda o: isinstance(o, dict), why="must be a mapping")})


@dataclass
class LossConfig:
    name: Optional[Loss] = None


@dataclass
class InitConfig:
    scheme: Scheme = MISSING
    recurrent: Optional[Scheme] = None
    forget_bias: Optional[float] = None
    gain: Optional[float] = ruled(None, gt=0.0)
    std: Optional[float] = ruled(None, gt=0.0)
    bound: Optional[float] = ruled(None, gt=0.0)


@dataclass
class DataConfig:
    path: Optional[str] = None
    format: Format = MISSING
    text_field: str = MISSING
    label_field: str = MISSING
    split_field: Optional[str] = None
    labels: Optional[List[Union[str, int]]] = None
    on_bad_rows: OnBadRows = MISSING
    cache_dir: Optional[str] = None
    num_workers: int = ruled(MISSING, ge=0)
    #: the file's text encoding (a directory's files share it)
    encoding: str = "utf-8"
    #: k-fold cross-validation: this many runs and their mean ± std (rnnzoo.tasks.crossval)
    folds: Optional[int] = ruled(None, ge=2)
    #: which fold this run is (set by the fold loop; null: the one 80/10/10 split)
    fold: Optional[int] = ruled(None, ge=0)
    #: pretrained word vectors (GloVe or word2vec text) for the embedding
    embeddings: Optional[str] = None
    # task=forecast's columns (rnnzoo.data.series)
    target: Optional[str] = None
    features: Optional[List[str]] = None
    date: Optional[str] = None
    missing: Optional[Missing] = None


@dataclass
class TbpttConfig:
    k1: Optional[int] = ruled(None, ge=1)
    k2: Optional[int] = ruled(None, ge=1)


@dataclass
class FaultsConfig:
    on_nonfinite: OnNonfinite = MISSING
    max_skips: Optional[int] = ruled(None, ge=0)


@dataclass
class CheckpointConfig:
    every_n_steps: int = ruled(MISSING, ge=0)


@dataclass
class TrainConfig:
    """The top level: the groups of ``conf/``, then rnnzoo's own keys (set in train.yaml)."""
    cell: CellConfig = field(default_factory=CellConfig)
    task: Any = MISSING
    system: Any = MISSING
    optimizer: Any = MISSING
    scheduler: Any = None
    loss: LossConfig = field(default_factory=LossConfig)
    init: InitConfig = field(default_factory=InitConfig)
    trainer: Any = MISSING
    logger: Any = None
    callbacks: Any = None
    data: DataConfig = field(default_factory=DataConfig)
    seed: int = ruled(MISSING, ge=0, lt=2 ** 32)
    threads: Optional[int] = ruled(None, ge=1)
    run_dir: Optional[str] = None
    resume: Optional[str] = None
    tbptt: TbpttConfig = field(default_factory=TbpttConfig)
    faults: FaultsConfig = field(default_factory=FaultsConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)


# -- what the open groups' keys must be, where their targets do not say --------------------
@dataclass
class TaskKeys:
    """Keys of the task group that are not its data module's: the run's budget, and how the
    network takes the task's input (rnnzoo.models.factory.NETWORK_KEYS)."""
    max_epochs: int = ruled(MISSING, check=_epochs, why=EPOCHS)
    max_steps: Optional[int] = ruled(None, ge=-1)
    embedding_dim: Optional[int] = ruled(None, ge=1)
    feed: Optional[Feed] = None
    teacher_forcing: Optional[bool] = None
    # the small-data levers of many-to-one text models (rnnzoo.models.encoders, networks)
    pooling: Optional[Pooling] = None
    embedding_dropout: Optional[float] = ruled(None, ge=0.0, lt=1.0)
    word_dropout: Optional[float] = ruled(None, ge=0.0, lt=1.0)
    head_dropout: Optional[float] = ruled(None, ge=0.0, lt=1.0)
    freeze_embeddings: Optional[bool] = None
    #: values for this group's null keys: on a file (data.path), on the built-in data
    #: (rnnzoo.tasks.crossval.with_file_recipe)
    file_recipe: Any = None
    builtin_recipe: Any = None


def _betas(b) -> bool:
    return len(b) == 2 and all(0 <= x < 1 for x in b)


@dataclass
class OptimizerArguments:
    lr: Optional[float] = ruled(None, gt=0.0)
    weight_decay: Optional[float] = ruled(None, ge=0.0)
    momentum: Optional[float] = ruled(None, ge=0.0, lt=1.0)
    dampening: Optional[float] = ruled(None, ge=0.0, le=1.0)
    nesterov: Optional[bool] = None
    betas: Optional[List[float]] = ruled(None, check=_betas, why="must be [beta1, beta2], each in [0, 1)")
    eps: Optional[float] = ruled(None, gt=0.0)
    amsgrad: Optional[bool] = None
    lr_decay: Optional[float] = ruled(None, ge=0.0)
    rho: Optional[float] = ruled(None, ge=0.0, le=1.0)
    alpha: Optional[float] = ruled(None, ge=0.0, le=1.0)
    centered: Optional[bool] = None


@dataclass
class SchedulerKeys:
    #: how often the schedule steps (Lightning's ``interval``); not an argument of the class
    interval: Optional[Interval] = None


@dataclass
class SchedulerArguments:
    step_size: Optional[int] = ruled(None, ge=1)
    gamma: Optional[float] = ruled(None, gt=0.0)
    eta_min: Optional[float] = ruled(None, ge=0.0)
    T_max: Optional[int] = ruled(None, ge=1)
    factor: Optional[float] = ruled(None, gt=0.0, lt=1.0)
    patience: Optional[int] = ruled(None, ge=0)
    threshold: Optional[float] = ruled(None, ge=0.0)
    cooldown: Optional[int] = ruled(None, ge=0)
    min_lr: Optional[float] = ruled(None, ge=0.0)


def _limit(value) -> bool:
    return (isinstance(value, float) and 0.0 <= value <= 1.0) or (isinstance(value, int) and value >= 0)


def _devices(value) -> bool:
    if isinstance(value, int):
        return value >= 1 or value == -1
    if isinstance(value, str):
        return value == "auto" or all(part.strip().lstrip("-").isdigit()
                                      for part in value.split(",") if part.strip())
    return isinstance(value, list) and all(isinstance(v, int) and v >= 0 for v in value)


LIMIT = "must be a fraction in [0.0, 1.0], a number of batches >= 0, or null"
PRECISIONS = ("64-true", "64", 64, "32-true", "32", 32, "16-mixed", "16", 16, "bf16-mixed",
              "bf16", "16-true", "bf16-true", "transformer-engine", "transformer-engine-float16")


@dataclass
class TrainerArguments:
    """The Lightning Trainer's arguments that rnnzoo's configs set; the Trainer's others are
    accepted as Lightning takes them."""
    accelerator: Optional[str] = None
    devices: Any = ruled(  # an integer, a string or a list: OmegaConf types no such union
        None, check=_devices, why="must be >= 1, -1 (all), auto, or device ids ([0,1] or '0,1')")
    num_nodes: Optional[int] = ruled(None, ge=1)
    strategy: Optional[str] = None
    precision: Optional[Union[str, int]] = ruled(
        None, check=lambda p: p in PRECISIONS,
        why="must be one of: " + ", ".join(p for p in PRECISIONS if isinstance(p, str) and "-" in p))
    max_epochs: Optional[int] = ruled(None, check=_epochs, why=EPOCHS)
    max_steps: Optional[int] = ruled(None, check=lambda s: s == -1 or s >= 1,
                                     why="must be >= 1 (or -1: no limit)")
    gradient_clip_val: Optional[float] = ruled(None, ge=0.0)
    gradient_clip_algorithm: Optional[Clip] = None
    log_every_n_steps: Optional[int] = ruled(None, ge=1)
    enable_progress_bar: Optional[bool] = None
    enable_model_summary: Optional[bool] = None
    deterministic: Optional[Union[bool, str]] = ruled(None, check=lambda d: d == "warn",
                                                      why="must be true, false or warn")
    limit_train_batches: Optional[Union[int, float]] = ruled(None, check=_limit, why=LIMIT)
    limit_val_batches: Optional[Union[int, float]] = ruled(None, check=_limit, why=LIMIT)
    limit_test_batches: Optional[Union[int, float]] = ruled(None, check=_limit, why=LIMIT)
    fast_dev_run: Optional[Union[bool, int]] = ruled(None, ge=0)
    num_sanity_val_steps: Optional[int] = ruled(None, ge=-1)
    accumulate_grad_batches: Optional[int] = ruled(None, ge=1)
    check_val_every_n_epoch: Optional[int] = ruled(None, ge=1)
    val_check_interval: Optional[Union[int, float]] = ruled(None, gt=0)


#: Trainer arguments the runner sets itself (its callbacks, logger, checkpoint I/O, sampler)
MANAGED = ("logger", "callbacks", "default_root_dir", "plugins", "enable_checkpointing",
           "use_distributed_sampler")

ConfigStore.instance().store(name="train_schema", node=TrainConfig)
