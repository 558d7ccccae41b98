"""Check a composed training config against the schemas, before any work is done.

:func:`validate_config` raises :class:`ConfigError` with one line that names the key, the
value and what is allowed (``cell.hidden_size=0: must be >= 1``), for: an unknown option
(``cell.name``, ``task.name``, ``optimizer.name``, ...), a key no schema knows (a typo), a value
of the wrong type, a value out of range, and combinations that cannot work (a loss for the
wrong kind of target, truncated BPTT on a task without aligned outputs, ...).
"""
from __future__ import annotations

import dataclasses
import difflib
import functools
import inspect
import typing
from typing import Any, Literal, Union

from rnnzoo.config import schema


class ConfigError(ValueError):
    """A config that cannot run, worded as one line: ``key=value: what is allowed``."""


def validate_config(config: dict[str, Any]) -> None:
    """Raise :class:`ConfigError` for the first problem in ``config`` (a plain resolved dict)."""
    config = dict(config)
    _check_keys(config, schema.TrainConfig, "")
    cell = _named(config, "cell", schema.CELL_NAMES, "a cell")
    _check_dataclass(cell, schema.cell_schema(cell["name"]), "cell")
    task = _named(config, "task", list(schema.TASKS), "a task")
    task_schema, shape, target = schema.TASKS[task["name"]]
    _check_dataclass(task, task_schema, "task")
    for group, what in (("optimizer", "an optimizer"), ("scheduler", "a scheduler"),
                        ("logger", "a logger")):
        options = schema.BY_NAME[group]
        node = _named(config, group, list(options), what)
        _check_dataclass(node, options[node["name"]], group)
    for group, cls in (("loss", schema.LossConfig), ("init", schema.InitConfig),
                       ("data", schema.DataConfig), ("tbptt", schema.TbpttConfig),
                       ("faults", schema.FaultsConfig), ("checkpoint", schema.CheckpointConfig)):
        if config.get(group) is not None:
            _check_dataclass(_mapping(config[group], group), cls, group)
    _check_trainer(_mapping(config.get("trainer") or {}, "trainer"))
    for key in ("seed", "run_dir", "resume"):
        if key in config:
            _check_field(config[key], _field(schema.TrainConfig, key), key)
    _check_combinations(config, shape, target)


# -- combinations ----------------------------------------------------------------------------
def _check_combinations(config: dict[str, Any], shape: str, target: str) -> None:
    from rnnzoo.layers.builder import TWINS
    from rnnzoo.cells import resolve_cell_name
    from rnnzoo.tasks.losses import LOSSES

    cell, task = config["cell"], config["task"]
    loss = (config.get("loss") or {}).get("name")
    if loss is not None and loss not in LOSSES[target]:
        raise ConfigError(f"loss={loss} does not apply to task {task['name']} ({target}); "
                          f"choose one of {', '.join(LOSSES[target])}")
    if cell["name"] == schema.BASELINE:
        if shape not in ("many_to_one", "many_to_many"):
            raise ConfigError(f"cell=bow (no recurrence) is a baseline for many-to-one and aligned "
                              f"many-to-many tasks, not for task {task['name']} ({shape})")
    elif cell.get("impl") == "torch":
        if resolve_cell_name(cell["name"]) not in TWINS:
            raise ConfigError(f"cell.impl=torch: cell {cell['name']} has no torch.nn twin (torch.nn "
                              f"has {', '.join(TWINS)}); use cell.impl=custom")
        if cell.get("options"):
            raise ConfigError(f"cell.options={dict(cell['options'])}: options apply only to "
                              "rnnzoo's cells (cell.impl=custom or autograd)")
    tbptt = config.get("tbptt") or {}
    if tbptt.get("k1"):
        if shape != "many_to_many":
            raise ConfigError(f"tbptt.k1={tbptt['k1']}: tbptt applies to aligned many-to-many "
                              f"tasks, not {task['name']} ({shape})")
        if tbptt.get("k2") is not None and tbptt["k2"] < tbptt["k1"]:
            raise ConfigError(f"tbptt.k2={tbptt['k2']}: must be >= tbptt.k1={tbptt['k1']}")
        if _processes(config.get("trainer") or {}) > 1:
            raise ConfigError(f"tbptt.k1={tbptt['k1']}: truncated BPTT's several updates per "
                              "batch are not kept in step across DDP processes; train it in one "
                              "process (trainer.devices=1) or without tbptt")
    elif tbptt.get("k2"):
        raise ConfigError(f"tbptt.k2={tbptt['k2']}: needs tbptt.k1 (the steps between updates)")
    data = config.get("data") or {}
    if data.get("path") and task["name"] not in schema.FILE_TASKS:
        tasks = " and ".join(f"task={t}" for t in schema.FILE_TASKS)
        raise ConfigError(f"data.path={data['path']}: task {task['name']} makes its own data; "
                          f"data.path applies to {tasks}")


def _processes(trainer: dict[str, Any]) -> int:
    """How many processes a DDP trainer config starts (1 when it is not DDP)."""
    from rnnzoo.utils.distributed import is_ddp

    if not is_ddp(trainer.get("strategy")):
        return 1
    devices = trainer.get("devices", 1)
    if isinstance(devices, str):
        devices = len([d for d in devices.split(",") if d.strip()]) if devices != "auto" else 2
    elif isinstance(devices, (list, tuple)):
        devices = len(devices)
    return max(devices, 2 if devices == -1 else 1) * int(trainer.get("num_nodes") or 1)


# -- groups ----------------------------------------------------------------------------------
def _mapping(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{path}={_show(value)}: must be a group of keys, not a single value")
    return value


def _named(config: dict[str, Any], group: str, names: list[str], what: str) -> dict[str, Any]:
    node = _mapping(config.get(group), group) if group in config else None
    if node is None:
        raise ConfigError(f"{group}: missing; choose one with {group}=NAME")
    name = node.get("name")
    if name not in names:
        hint = _did_you_mean(str(name), names)
        raise ConfigError(f"{group}={_show(name)} is not {what}{hint}; choose one of: "
                          f"{', '.join(map(str, names))}")
    return node


def _check_trainer(trainer: dict[str, Any]) -> None:
    import lightning as L

    known = {f.name for f in dataclasses.fields(schema.TrainerConfig)}
    lightning = set(inspect.signature(L.Trainer.__init__).parameters) - {"self"}
    managed = {"logger", "callbacks", "default_root_dir", "plugins", "enable_checkpointing",
               "use_distributed_sampler"}
    for key in trainer:
        if key in managed:
            raise ConfigError(f"trainer.{key}: is set by rnnzoo itself; use the logger and "
                              "checkpoint groups instead")
        if key not in known | lightning:
            raise ConfigError(f"trainer.{key}: is not a trainer key"
                              f"{_did_you_mean(key, sorted(known | lightning))}")
    _check_dataclass({k: v for k, v in trainer.items() if k in known}, schema.TrainerConfig,
                     "trainer", check_keys=False)


def _check_keys(node: dict[str, Any], cls, path: str, label: str | None = None) -> None:
    """Every key of ``node`` is a field of ``cls``; ``path`` "" is the top level, ``label``
    names the group in the message (default: its path)."""
    names = [f.name for f in dataclasses.fields(cls)]
    for key in node:
        if key not in names:
            where = f"{path}.{key}" if path else str(key)
            group = f"a key of {label or path}" if path else "a config key"
            raise ConfigError(f"{where}: is not {group}{_did_you_mean(str(key), names)}; "
                              f"{'keys' if path else 'top-level keys'}: {', '.join(names)}")


def _check_dataclass(node: dict[str, Any], cls, path: str, check_keys: bool = True) -> None:
    if check_keys:
        named = "name" in node and path in ("cell", "task", "optimizer", "scheduler", "logger")
        _check_keys(node, cls, path, label=f"{path} ({node['name']})" if named else None)
    for key, value in node.items():
        _check_field(value, _field(cls, key), f"{path}.{key}")


# -- one value -------------------------------------------------------------------------------
@functools.cache
def _fields(cls) -> dict[str, tuple[Any, Any]]:
    """Each field's (type, rules) of a schema dataclass, resolved once per class."""
    hints = typing.get_type_hints(cls)
    return {f.name: (hints[f.name], f.metadata) for f in dataclasses.fields(cls)}


def _field(cls, name: str):
    return _fields(cls)[name]


def _check_field(value: Any, spec, path: str) -> None:
    kind, meta = spec
    if kind is Any or _is_dataclass_type(kind):
        return
    if not _matches(value, kind):
        raise ConfigError(f"{path}={_show(value)}: must be {_describe(kind)}")
    if value is None or isinstance(value, bool) or not meta:
        return
    check = meta.get("check")
    if check is not None:
        if not check(value):
            raise ConfigError(f"{path}={_show(value)}: {meta['why']}")
        return
    bounds = [(meta.get("ge"), lambda v, b: v >= b), (meta.get("gt"), lambda v, b: v > b),
              (meta.get("le"), lambda v, b: v <= b), (meta.get("lt"), lambda v, b: v < b)]
    if not isinstance(value, (int, float)):
        return
    for bound, ok in bounds:
        if bound is not None and not ok(value, bound):
            raise ConfigError(f"{path}={_show(value)}: {meta.get('why') or _describe_range(meta)}")


def _describe_range(meta) -> str:
    low = ("[", meta["ge"]) if meta.get("ge") is not None else ("(", meta["gt"]) \
        if meta.get("gt") is not None else None
    high = (meta["le"], "]") if meta.get("le") is not None else (meta["lt"], ")") \
        if meta.get("lt") is not None else None
    if low and high:
        return f"must be in {low[0]}{low[1]}, {high[0]}{high[1]}"
    if low:
        return f"must be {'>=' if low[0] == '[' else '>'} {low[1]}"
    return f"must be {'<=' if high[1] == ']' else '<'} {high[0]}"


def _is_dataclass_type(kind) -> bool:
    return isinstance(kind, type) and dataclasses.is_dataclass(kind)


def _matches(value: Any, kind) -> bool:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is Any:
        return True
    if origin is Union:
        return any(_matches(value, a) for a in args)
    if kind is type(None):
        return value is None
    if origin is Literal:
        return any(value == a and type(value) is type(a) for a in args)
    if origin is list:
        return isinstance(value, (list, tuple)) and all(_matches(v, args[0]) for v in value)
    if kind is dict or origin is dict:
        return isinstance(value, dict)
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is str:
        return isinstance(value, str)
    return isinstance(value, kind)


def _describe(kind) -> str:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is Union:
        parts = [_describe(a) for a in args if a is not type(None)]
        text = " or ".join(dict.fromkeys(parts))
        return text + (" or null" if type(None) in args else "")
    if origin is Literal:
        return "one of: " + ", ".join(str(a) for a in args)
    if origin is list:
        return f"a list of {_describe(args[0]).removeprefix('a ').removeprefix('an ')}s"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string",
            dict: "a mapping"}.get(kind, getattr(kind, "__name__", str(kind)))


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_show(v) for v in value) + "]"
    return str(value)


def _did_you_mean(word: str, options) -> str:
    close = difflib.get_close_matches(word, [str(o) for o in options], n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""
