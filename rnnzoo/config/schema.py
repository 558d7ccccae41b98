"""The shape of every config group: one dataclass per group (per option, where options differ).

A field's type is what a value must be (``int``, ``float``, ``bool``, ``str``, ``Literal``
choices, ``Optional``, lists); ``rule(...)`` adds the range a value must lie in. The validator
(:mod:`rnnzoo.config.validate`) checks a composed config against these classes: no unknown
keys, the right types, values in range. Defaults here are documentation only: the YAML files
in ``conf/`` carry the real defaults, and a key the YAML leaves out is simply not checked.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Optional, Union

from rnnzoo.cells import cell_names
from rnnzoo.init import SCHEMES
from rnnzoo.tasks.losses import LOSSES


def rule(default: Any = None, *, ge=None, gt=None, le=None, lt=None, check=None, why: str = ""):
    """A field with a range: ``ge``/``gt``/``le``/``lt`` bounds, or ``check(value) -> bool``
    with ``why`` saying what is allowed."""
    return field(default=default, metadata={"ge": ge, "gt": gt, "le": le, "lt": lt,
                                            "check": check, "why": why})


# -- cell ------------------------------------------------------------------------------------
@dataclass
class RecurrentCellConfig:
    name: str = "lstm"
    impl: Literal["custom", "autograd", "torch"] = "custom"
    hidden_size: int = rule(128, ge=1)
    num_layers: int = rule(1, ge=1)
    bidirectional: bool = False
    dropout: float = rule(0.0, ge=0.0, lt=1.0)
    bias: bool = True
    options: dict = field(default_factory=dict)


@dataclass
class BowConfig:
    name: str = "bow"
    impl: Literal["none"] = "none"
    hidden_size: int = rule(128, ge=1)


BASELINE = "bow"
CELL_NAMES = [BASELINE] + cell_names()


def cell_schema(name: str):
    return BowConfig if name == BASELINE else RecurrentCellConfig


# -- task ------------------------------------------------------------------------------------
def _epochs(value) -> bool:
    return value == -1 or value >= 1


@dataclass
class TaskCommon:
    name: str = ""
    batch_size: int = rule(32, ge=1)
    max_epochs: int = rule(10, check=_epochs, why="must be >= 1 (or -1: no limit, with max_steps)")
    max_steps: Optional[int] = rule(None, ge=-1)


@dataclass
class SyntheticSizes:
    num_train: int = rule(1000, ge=1)
    num_eval: int = rule(100, ge=1)


@dataclass
class SentimentConfig(TaskCommon):
    num_samples: int = rule(6000, ge=10)
    min_freq: int = rule(1, ge=1)
    embedding_dim: int = rule(32, ge=1)


@dataclass
class CharLMConfig(TaskCommon):
    seq_len: int = rule(100, ge=1)
    max_chars: int = rule(1_000_000, ge=1)
    jamo: bool = False
    embedding_dim: int = rule(32, ge=1)
    sample_length: int = rule(300, ge=0)
    temperature: float = rule(0.8, gt=0.0)


@dataclass
class AddingConfig(TaskCommon, SyntheticSizes):
    # two marked values, one in each half of the sequence
    seq_len: int = rule(50, ge=2, why="must be >= 2 (one marked value in each half)")


@dataclass
class CopyConfig(TaskCommon, SyntheticSizes):
    seq_len: int = rule(50, ge=1)
    n_symbols: int = rule(8, ge=1)
    copy_len: int = rule(10, ge=1)
    embedding_dim: int = rule(16, ge=1)


@dataclass
class BinaryAddConfig(TaskCommon, SyntheticSizes):
    n_bits: int = rule(8, ge=1, le=62)


def _freqs(value) -> bool:
    return len(value) == 2 and 0 < value[0] < value[1]


@dataclass
class SineConfig(TaskCommon, SyntheticSizes):
    seq_len: int = rule(100, ge=1)
    noise_std: float = rule(0.3, ge=0.0)
    train_freqs: list[float] = rule(None, check=_freqs, why="must be [low, high] with 0 < low < high")
    test_freqs: list[float] = rule(None, check=_freqs, why="must be [low, high] with 0 < low < high")


@dataclass
class SineGenConfig(TaskCommon, SyntheticSizes):
    seq_len: int = rule(50, ge=1)
    embedding_dim: int = rule(32, ge=1)
    feed: Literal["zeros", "previous"] = "zeros"
    teacher_forcing: bool = True


@dataclass
class Seq2SeqAddConfig(TaskCommon, SyntheticSizes):
    max_digits: int = rule(3, ge=1)
    embedding_dim: int = rule(32, ge=1)


@dataclass
class DigitsConfig(TaskCommon):
    pass


#: task name -> (schema, sequence shape, target kind): what the validator needs without data
TASKS = {
    "sentiment": (SentimentConfig, "many_to_one", "classes"),
    "char_lm": (CharLMConfig, "many_to_many", "classes"),
    "adding": (AddingConfig, "many_to_one", "values"),
    "copy": (CopyConfig, "many_to_many", "classes"),
    "binary_add": (BinaryAddConfig, "many_to_many", "classes"),
    "sine": (SineConfig, "many_to_many", "values"),
    "sine_gen": (SineGenConfig, "one_to_many", "values"),
    "seq2seq_add": (Seq2SeqAddConfig, "seq2seq", "classes"),
    "digits": (DigitsConfig, "many_to_one", "classes"),
}
#: the tasks that read the user's file (data.path); the others make their own data
FILE_TASKS = ("sentiment", "char_lm")


# -- optimizer and scheduler -----------------------------------------------------------------
@dataclass
class OptimizerCommon:
    name: str = "adam"
    lr: float = rule(1e-3, gt=0.0)
    weight_decay: float = rule(0.0, ge=0.0)


@dataclass
class SGDConfig(OptimizerCommon):
    momentum: float = rule(0.0, ge=0.0, lt=1.0)
    dampening: float = rule(0.0, ge=0.0, le=1.0)
    nesterov: bool = False


@dataclass
class AdamConfig(OptimizerCommon):
    betas: list[float] = rule(None, check=lambda b: len(b) == 2 and all(0 <= x < 1 for x in b),
                              why="must be [beta1, beta2], each in [0, 1)")
    eps: float = rule(1e-8, gt=0.0)
    amsgrad: bool = False


@dataclass
class AdagradConfig(OptimizerCommon):
    lr_decay: float = rule(0.0, ge=0.0)
    eps: float = rule(1e-10, gt=0.0)


@dataclass
class AdadeltaConfig(OptimizerCommon):
    rho: float = rule(0.9, ge=0.0, le=1.0)
    eps: float = rule(1e-6, gt=0.0)


@dataclass
class RMSpropConfig(OptimizerCommon):
    alpha: float = rule(0.99, ge=0.0, le=1.0)
    eps: float = rule(1e-8, gt=0.0)
    momentum: float = rule(0.0, ge=0.0, lt=1.0)
    centered: bool = False


OPTIMIZERS = {"sgd": SGDConfig, "sgd_momentum": SGDConfig, "adam": AdamConfig,
              "adamw": AdamConfig, "adagrad": AdagradConfig, "adadelta": AdadeltaConfig,
              "rmsprop": RMSpropConfig}


@dataclass
class NoScheduler:
    name: str = "none"


@dataclass
class StepScheduler:
    name: str = "step"
    step_size: int = rule(5, ge=1)
    gamma: float = rule(0.5, gt=0.0)


@dataclass
class ExponentialScheduler:
    name: str = "exponential"
    gamma: float = rule(0.95, gt=0.0)


@dataclass
class CosineScheduler:
    name: str = "cosine"
    eta_min: float = rule(0.0, ge=0.0)
    T_max: Optional[int] = rule(None, ge=1)


@dataclass
class PlateauScheduler:
    name: str = "plateau"
    factor: float = rule(0.5, gt=0.0, lt=1.0)
    patience: int = rule(2, ge=0)
    threshold: float = rule(1e-4, ge=0.0)
    cooldown: int = rule(0, ge=0)
    min_lr: float = rule(0.0, ge=0.0)


SCHEDULERS = {"none": NoScheduler, "step": StepScheduler, "exponential": ExponentialScheduler,
              "cosine": CosineScheduler, "plateau": PlateauScheduler}


# -- loss, init, logger, data ----------------------------------------------------------------
@dataclass
class LossConfig:
    name: Optional[Literal[tuple(sorted({n for names in LOSSES.values() for n in names}))]] = None


@dataclass
class InitConfig:
    scheme: Literal[SCHEMES] = "default"
    recurrent: Optional[Literal[SCHEMES]] = None
    forget_bias: Optional[float] = None
    gain: float = rule(1.0, gt=0.0)
    std: float = rule(0.01, gt=0.0)
    bound: float = rule(0.08, gt=0.0)


@dataclass
class TensorBoardLoggerConfig:
    name: str = "tensorboard"
    histogram_every_n_steps: int = rule(100, ge=0)


@dataclass
class PlainLoggerConfig:
    name: str = "csv"


LOGGERS = {"tensorboard": TensorBoardLoggerConfig, "csv": PlainLoggerConfig,
           "none": PlainLoggerConfig}


@dataclass
class DataConfig:
    path: Optional[str] = None
    format: Literal["auto", "tsv", "csv", "jsonl"] = "auto"
    text_field: str = "text"
    label_field: str = "label"
    split_field: Optional[str] = None
    labels: Optional[list[Union[str, int]]] = None
    on_bad_rows: Literal["error", "skip"] = "error"
    cache_dir: Optional[str] = None
    num_workers: int = rule(0, ge=0)


# -- trainer ---------------------------------------------------------------------------------
def _limit(value) -> bool:
    return value is None or (isinstance(value, float) and 0.0 <= value <= 1.0) or \
        (isinstance(value, int) and value >= 0)


def _devices(value) -> bool:
    if isinstance(value, int):
        return value >= 1 or value == -1
    if isinstance(value, str):
        return value == "auto" or all(part.strip().lstrip("-").isdigit()
                                      for part in value.split(",") if part.strip())
    return all(v >= 0 for v in value)


LIMIT = "must be a fraction in [0.0, 1.0], a number of batches >= 0, or null"
PRECISIONS = ("64-true", "64", 64, "32-true", "32", 32, "16-mixed", "16", 16, "bf16-mixed",
              "bf16", "16-true", "bf16-true", "transformer-engine", "transformer-engine-float16")


@dataclass
class TrainerConfig:
    """The Lightning Trainer's arguments that rnnzoo's configs set; any other argument of
    ``lightning.Trainer`` is accepted too (checked by Lightning itself)."""
    accelerator: str = "auto"
    devices: Union[int, str, list[int]] = rule(1, check=lambda d: _devices(d),
                                               why="must be >= 1, -1 (all), auto, or device ids ([0,1] or '0,1')")
    num_nodes: int = rule(1, ge=1)
    strategy: str = "auto"
    precision: Union[str, int] = rule("32-true", check=lambda p: p in PRECISIONS,
                                      why="must be one of: " + ", ".join(
                                          str(p) for p in PRECISIONS if isinstance(p, str) and "-" in p))
    max_epochs: int = rule(10, check=_epochs, why="must be >= 1 (or -1: no limit, with max_steps)")
    max_steps: int = rule(-1, check=lambda s: s == -1 or s >= 1, why="must be >= 1 (or -1: no limit)")
    gradient_clip_val: Optional[float] = rule(1.0, ge=0.0)
    gradient_clip_algorithm: Literal["norm", "value"] = "norm"
    log_every_n_steps: int = rule(10, ge=1)
    enable_progress_bar: bool = True
    enable_model_summary: bool = True
    deterministic: Union[bool, Literal["warn"]] = False
    limit_train_batches: Union[int, float, None] = rule(None, check=_limit, why=LIMIT)
    limit_val_batches: Union[int, float, None] = rule(None, check=_limit, why=LIMIT)
    limit_test_batches: Union[int, float, None] = rule(None, check=_limit, why=LIMIT)
    fast_dev_run: Union[bool, int] = rule(False, ge=0)
    num_sanity_val_steps: int = rule(2, ge=-1)
    accumulate_grad_batches: int = rule(1, ge=1)
    check_val_every_n_epoch: Optional[int] = rule(1, ge=1)
    val_check_interval: Union[int, float, None] = rule(None, gt=0)


# -- rnnzoo's own top-level groups -----------------------------------------------------------
@dataclass
class TbpttConfig:
    k1: Optional[int] = rule(None, ge=1)
    k2: Optional[int] = rule(None, ge=1)


@dataclass
class FaultsConfig:
    #: a NaN/Inf loss or gradient: stop the run, or skip that optimiser step
    on_nonfinite: Literal["stop", "skip"] = "stop"
    #: with skip: stop anyway after this many skipped steps (null: never)
    max_skips: Optional[int] = rule(None, ge=0)


@dataclass
class CheckpointConfig:
    #: write checkpoints/last.ckpt every this many optimiser steps, mid-epoch too (0: off)
    every_n_steps: int = rule(100, ge=0)


@dataclass
class TrainConfig:
    """The top level: the groups, then rnnzoo's own keys."""
    cell: Any = None
    task: Any = None
    optimizer: Any = None
    scheduler: Any = None
    loss: LossConfig = field(default_factory=LossConfig)
    init: InitConfig = field(default_factory=InitConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    logger: Any = None
    data: DataConfig = field(default_factory=DataConfig)
    seed: int = rule(0, ge=0, lt=2 ** 32)
    #: torch threads per process (null: torch's default; DDP on the CPU: cores / processes)
    threads: Optional[int] = rule(None, ge=1)
    run_dir: Optional[str] = None
    resume: Optional[str] = None
    tbptt: TbpttConfig = field(default_factory=TbpttConfig)
    faults: FaultsConfig = field(default_factory=FaultsConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)


#: groups whose schema depends on the option's ``name``: group -> (name -> schema)
BY_NAME = {
    "task": {name: schema for name, (schema, _, _) in TASKS.items()},
    "optimizer": OPTIMIZERS,
    "scheduler": SCHEDULERS,
    "logger": LOGGERS,
}
