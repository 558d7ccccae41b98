"""Checking a composed training config before any work is done: one line per problem.

:func:`validate_config` raises :class:`~rnnzoo.errors.ConfigError` naming the key, the value and
what is allowed (``cell.hidden_size=0: must be >= 1``). The checking itself is OmegaConf's:

- the fixed groups are merged into their structured configs (rnnzoo.config.schema), which
  refuse unknown keys, wrong types and choices not offered (Hydra does the same at compose
  time, and :func:`message_for` words its errors alike);
- a ``_target_`` entry (task, optimizer, scheduler, logger, callbacks) is merged into a
  structured config made from its target's signature: its arguments, their annotations, and
  the :class:`~rnnzoo.utils.rules.Rule` an ``Annotated`` argument carries;
- the rules beside the fields are applied to the values.

Then the combinations: the builders' own checks are run on what the config describes (the
network is built once, small; the loss is checked against the task's kind of target), and the
rules no single builder sees (truncated BPTT, ``data.path``).
"""
from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib
import inspect
import pydoc
import types
import typing
from enum import Enum
from typing import Any, Optional, Union

import lightning as L
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

from rnnzoo.cells import cell_names
from rnnzoo.config import schema
from rnnzoo.config.compose import CONF_DIR
from rnnzoo.errors import ConfigError
from rnnzoo.models.factory import BASELINE, LINEAR, build_network, network_options
from rnnzoo.tasks.info import TaskInfo
from rnnzoo.tasks.losses import check_loss
from rnnzoo.utils.distributed import processes
from rnnzoo.utils.io import flatten
from rnnzoo.utils.rules import Rule, rule_of

#: the groups whose options are ``_target_`` entries: (keys of their own beside the target's
#: arguments, rules for the target's arguments of those names), as schema dataclasses
TARGET_GROUPS = {"task": (schema.TaskKeys, None), "optimizer": (None, schema.OptimizerArguments),
                 "scheduler": (schema.SchedulerKeys, schema.SchedulerArguments),
                 "logger": (None, None), "system": (None, None)}
#: arguments the runner passes itself (the data module's seed, the optimiser's parameters, ...)
SUPPLIED = ("self", "params", "optimizer", "seed", "num_workers", "source", "save_dir",
            "network", "info")


def as_plain(cfg: DictConfig | dict[str, Any]) -> dict[str, Any]:
    """A composed config as plain, resolved data (choices as their names)."""
    if not isinstance(cfg, DictConfig):
        cfg = OmegaConf.create(dict(cfg))
    return OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)


def validate_config(cfg: DictConfig | dict[str, Any]) -> None:
    """Raise :class:`ConfigError` for the first problem of ``cfg``."""
    config = as_plain(cfg)
    _typed(schema.TrainConfig, config, "", config)
    for group in TARGET_GROUPS:
        if group in ("task", "optimizer", "system") or config.get(group):
            check_target(config.get(group), group, config)
    for name, entry in (config.get("callbacks") or {}).items():
        check_target(entry, f"callbacks.{name}", config)
    _check_trainer(config.get("trainer") or {})
    _check_combinations(config)


# -- one node against its schema -----------------------------------------------------------
def _typed(cls, node: dict[str, Any], path: str, config: dict[str, Any]) -> None:
    """``node`` merged into the structured config ``cls`` (types, keys, choices), then the
    rules beside its fields, recursively."""
    try:
        merged = OmegaConf.merge(OmegaConf.structured(cls), node)
    except OmegaConfBaseException as error:
        raise ConfigError(message_for(error, config, prefix=path)) from None
    missing = sorted(OmegaConf.missing_keys(merged))
    if missing:
        where = f"{path}.{missing[0]}" if path else missing[0]
        raise ConfigError(f"{where}: missing; set it (e.g. {where}=VALUE)")
    _apply_rules(cls, node, path)


def _apply_rules(cls, node: dict[str, Any], path: str) -> None:
    for field in dataclasses.fields(cls):
        if field.name not in node:
            continue
        value, where = node[field.name], f"{path}.{field.name}" if path else field.name
        kind = _hints(cls)[field.name]
        if dataclasses.is_dataclass(kind) and isinstance(value, dict):
            _apply_rules(kind, value, where)
        elif rule_of(field) is not None:
            broken = rule_of(field).broken(value)
            if broken:
                raise ConfigError(f"{where}={show(value)}: {broken}")


def check_target(node: Any, path: str, config: dict[str, Any]) -> None:
    """A ``_target_`` entry: its target imports, every key is one of its arguments (or of the
    group's own schema), and the values fit the arguments' types and rules."""
    group = path.split(".")[0]
    if not isinstance(node, dict) or "_target_" not in node:
        if isinstance(node, dict) and node:
            raise ConfigError(key_message(f"{path}.{next(iter(node))}", config))
        if node not in (None, {}):
            raise ConfigError(f"{path}={show(node)}: must be a _target_ entry (the class it builds)")
        if group in ("task", "optimizer", "system"):
            raise ConfigError(f"{path}: missing; choose one with {path}=NAME")
        return
    arguments = Arguments.of(target_of(node, path))
    own_keys, rules = TARGET_GROUPS.get(group, (None, None))
    own, ruled = _fields(own_keys), _fields(rules)
    keys = [k for k in node if not str(k).startswith("_")]
    for key in keys:
        if key not in own and key not in arguments.types and not arguments.open:
            raise ConfigError(key_message(f"{path}.{key}", config))
    spec = [(k, *(own.get(k) or ruled.get(k) or arguments.types.get(k) or (Any, None)))
            for k in keys]
    made = dataclasses.make_dataclass("Arguments", [
        (k, kind, dataclasses.field(default=None, metadata={"rule": rule} if rule else {}))
        for k, kind, rule in spec])
    _typed(made, {k: node[k] for k in keys}, path, config)


def _fields(cls) -> dict[str, tuple[Any, Rule | None]]:
    """A schema dataclass's fields: name -> (type, rule)."""
    if cls is None:
        return {}
    return {f.name: (Optional[_hints(cls)[f.name]], rule_of(f)) for f in dataclasses.fields(cls)}


@functools.cache
def _hints(cls) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def target_of(node: dict[str, Any], path: str):
    """The class or function ``node["_target_"]`` names (imported)."""
    target = str(node["_target_"])
    found = pydoc.locate(target)
    if found is None:
        module, _, name = target.rpartition(".")
        try:
            importlib.import_module(module)
            why = f"{module} has no {name}"
        except Exception as error:  # noqa: BLE001  (any import failure is the user's to read)
            why = first_line(error)
        raise ConfigError(f"{path}._target_={target}: cannot be imported ({why})")
    return found


@dataclasses.dataclass
class Arguments:
    """A target's keyword arguments: name -> (type OmegaConf can check, rule); ``open`` when it
    takes ``**kwargs`` that go nowhere we can see."""
    types: dict[str, tuple[Any, Rule | None]]
    open: bool

    @classmethod
    @functools.cache
    def of(cls, target) -> "Arguments":
        types, functions = {}, [target]
        if isinstance(target, type):  # a class: its __init__, and its bases' while it passes **kw on
            functions = [k.__dict__["__init__"] for k in target.__mro__
                         if "__init__" in k.__dict__ and k is not object]
        for function in functions:
            try:
                signature = inspect.signature(function)
                hints = typing.get_type_hints(function, include_extras=True)
            except (TypeError, ValueError, NameError):
                return cls(types, True)
            for name, parameter in signature.parameters.items():
                if parameter.kind in (parameter.KEYWORD_ONLY, parameter.POSITIONAL_OR_KEYWORD) \
                        and name != "self" and name not in types:
                    types[name] = _checkable(hints.get(name, Any))
            if not any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
                return cls(types, False)
        return cls(types, bool(functions))


def _checkable(annotation) -> tuple[Any, Rule | None]:
    """(the part of ``annotation`` OmegaConf can check, or Any; the Rule it carries)."""
    rule = None
    if typing.get_origin(annotation) is typing.Annotated:
        rule = next((m for m in annotation.__metadata__ if isinstance(m, Rule)), None)
        annotation = typing.get_args(annotation)[0]
    return Optional[_omegaconf_type(annotation)], rule


def _omegaconf_type(annotation):
    plain = (int, float, bool, str)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation in plain:
        return annotation
    if origin in (Union, types.UnionType):
        kinds = [_omegaconf_type(a) for a in args if a is not type(None)]
        return Union[tuple(kinds)] if all(k in plain for k in kinds) else Any
    if origin in (list, tuple) and args and all(a in plain for a in args if a is not Ellipsis):
        return typing.List[args[0]]
    return Any


# -- the trainer ---------------------------------------------------------------------------
def trainer_keys() -> list[str]:
    return sorted(set(inspect.signature(L.Trainer.__init__).parameters) - {"self"})


def _check_trainer(trainer: dict[str, Any]) -> None:
    known = {f.name for f in dataclasses.fields(schema.TrainerArguments)}
    for key in trainer:
        if key in schema.MANAGED or key not in set(trainer_keys()) | known:
            raise ConfigError(key_message(f"trainer.{key}", None))
    _typed(schema.TrainerArguments, {k: v for k, v in trainer.items() if k in known}, "trainer", {})


# -- the combinations: the builders' own rules, on what the config describes ----------------
def task_class(config: dict[str, Any]):
    return target_of(config["task"], "task")


def _check_combinations(config: dict[str, Any]) -> None:
    task = task_class(config)
    try:
        check_loss((config.get("loss") or {}).get("name"), task.target, task.name)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    _check_network(config, task)
    _check_tbptt(config, task)
    data = config.get("data") or {}
    if data.get("path") and "source" not in Arguments.of(task).types:
        tasks = " and ".join(f"task={t}" for t in file_tasks())
        raise ConfigError(f"data.path={data['path']}: task {task.name} makes its own data; "
                          f"data.path applies to {tasks}")


def _check_network(config: dict[str, Any], task) -> None:
    """Build the network the config describes, once and small (one input, two outputs): the
    cell's name, its torch.nn twin, its options and the baseline's shapes are the builders'
    rules (rnnzoo.models.factory, rnnzoo.layers.builder)."""
    cell = config["cell"]
    names = [BASELINE, LINEAR] + cell_names()
    if cell["name"] not in names:
        raise ConfigError(f"cell={cell['name']} is not a cell{did_you_mean(cell['name'], names)}; "
                          f"choose one of: {', '.join(names)}")
    info = TaskInfo(name=task.name, shape=task.shape, target=task.target, input_size=1,
                    output_size=2, tokens=False)
    try:
        build_network(info, cell, **network_options(config["task"]))
    except (ValueError, TypeError) as error:
        text = first_line(error)
        if not text.startswith("cell="):
            options = cell.get("options")
            key = f"cell.options={show(options)}" if options and ("option" in text or "argument" in text) \
                else f"cell={cell['name']} (impl={cell.get('impl')})"
            text = f"{key}: {text}"
        raise ConfigError(text) from None


def _check_tbptt(config: dict[str, Any], task) -> None:
    tbptt = config.get("tbptt") or {}
    k1, k2 = tbptt.get("k1"), tbptt.get("k2")
    if not k1:
        if k2:
            raise ConfigError(f"tbptt.k2={k2}: needs tbptt.k1 (the steps between updates)")
        return
    if task.shape != "many_to_many":
        raise ConfigError(f"tbptt.k1={k1}: tbptt applies to aligned many-to-many tasks, not "
                          f"{task.name} ({task.shape})")
    if k2 is not None and k2 < k1:
        raise ConfigError(f"tbptt.k2={k2}: must be >= tbptt.k1={k1}")
    if processes(config.get("trainer") or {}) > 1:
        raise ConfigError(f"tbptt.k1={k1}: truncated BPTT's several updates per batch are not "
                          "kept in step across DDP processes; train it in one process "
                          "(trainer.devices=1) or without tbptt")


def file_tasks() -> list[str]:
    """The tasks (conf/task/) that read the user's file (their data module takes ``source``)."""
    found = []
    for path in sorted((CONF_DIR / "task").glob("*.yaml")):
        target = OmegaConf.load(path).get("_target_")
        if target and "source" in Arguments.of(target_of({"_target_": target}, "task")).types:
            found.append(path.stem)
    return found


# -- one line for an OmegaConf or Hydra error ----------------------------------------------
def message_for(error: BaseException, config: dict[str, Any] | None, prefix: str = "") -> str:
    """The one line for ``error`` raised while merging or composing (the OmegaConf error may be
    its cause): an unknown key names the group and its keys, a wrong value what it must be."""
    found = error
    while found is not None and not isinstance(found, OmegaConfBaseException):
        found = found.__cause__ or found.__context__
    if found is None or not getattr(found, "full_key", None):
        return first_line(error)
    key = f"{prefix}.{found.full_key}" if prefix else str(found.full_key)
    if isinstance(found, (ConfigKeyError, ConfigAttributeError)):
        parent = config if config is not None else _parent_config(found)
        return key_message(key, parent)
    kind = _field_type(found)
    what = f"must be {describe(kind)}" if kind is not None else first_line(found)
    return f"{key}={show(found.value)}: {what}"


def _parent_config(error: OmegaConfBaseException) -> dict[str, Any] | None:
    """The config around a composing error, as far as the message needs it: the node the key
    was missing from (its name, its target), at its path."""
    if error.parent_node is None:
        return None
    try:
        context = OmegaConf.to_container(error.parent_node, resolve=False, enum_to_str=True)
    except OmegaConfBaseException:  # a label is a nicety
        return None
    path = str(error.full_key).rpartition(".")[0]
    for part in reversed(path.split(".") if path else []):
        context = {part: context}
    return context


def _field_type(error: OmegaConfBaseException):
    cls = error.object_type
    if isinstance(cls, type) and dataclasses.is_dataclass(cls) and error.key in _hints(cls):
        return _hints(cls)[error.key]
    return None


def key_message(key: str, config: dict[str, Any] | None) -> str:
    """``key`` is not a key of its group: say so, with the closest key and the group's keys."""
    path, _, name = key.rpartition(".")
    if path == "trainer" and name in schema.MANAGED:
        return f"{key}: is set by rnnzoo itself; use the logger and checkpoint groups instead"
    keys, label = (trainer_keys(), "trainer") if path == "trainer" else _keys_of(path, config)
    if name in keys:  # Hydra's struct mode: a key the chosen option's file does not set
        return f"{key}: is a key of {label} that this config does not set; add it with +{key}=VALUE"
    if path == "trainer":
        return f"{key}: is not a trainer key{did_you_mean(name, keys)}"
    if not path and not did_you_mean(name, keys):
        nested = nested_key(name, config)
        if nested:  # `seq_len=20`: the key lives in a group (task.seq_len)
            return f"{key}: is not a top-level key (did you mean {nested}?)"
    listed = f"; {'top-level keys' if not path else 'keys'}: {', '.join(keys)}" if keys else ""
    group = f"a key of {label}" if path else "a config key"
    return f"{key}: is not {group}{did_you_mean(name, keys)}{listed}"


def nested_key(name: str, config: dict[str, Any] | None) -> str | None:
    """The group key a top-level ``name`` most likely meant: one whose last part is ``name``
    (the model's and the optimiser's groups first), else the closest such part."""
    # nested keys only: `+foo=1` puts foo itself at the top
    found = [k for k in flatten(config or {}) if "." in k and not k.startswith(("hydra.", "_"))]
    found += [f"trainer.{k}" for k in trainer_keys()]
    order = ("task.", "cell.", "optimizer.", "scheduler.", "trainer.")

    def rank(key: str):
        return next((i for i, p in enumerate(order) if key.startswith(p)), len(order)), key

    exact = sorted((k for k in found if k.rpartition(".")[2] == name), key=rank)
    if exact:
        return exact[0]
    close = difflib.get_close_matches(name, sorted({k.rpartition(".")[2] for k in found}), n=1, cutoff=0.75)
    matches = sorted((k for k in found if close and k.rpartition(".")[2] == close[0]), key=rank)
    return matches[0] if matches else None


def _keys_of(path: str, config: dict[str, Any] | None) -> tuple[list[str], str]:
    node = config or {}
    for part in path.split(".") if path else []:
        node = node.get(part) if isinstance(node, dict) else None
    group = path.split(".")[0]
    if isinstance(node, dict) and "_target_" in node:
        target = target_of(node, path)
        keys = [k for k in Arguments.of(target).types if k not in SUPPLIED]
        keys += list(_fields(TARGET_GROUPS.get(group, (None, None))[0]))
        name = getattr(target, "name", None) if group == "task" else None
        return keys, f"{path} ({name if isinstance(name, str) else target.__name__})"
    if group in TARGET_GROUPS or group == "callbacks":
        return [], f"{path} (none)"
    cls = schema.TrainConfig
    for part in path.split(".") if path else []:
        cls = _hints(cls).get(part)
    keys = [f.name for f in dataclasses.fields(cls)] if dataclasses.is_dataclass(cls) else []
    named = isinstance(node, dict) and node.get("name") and path == "cell"
    return keys, f"{path} ({node['name']})" if named else path


# -- words ---------------------------------------------------------------------------------
def describe(kind) -> str:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is Union:
        parts = [describe(a) for a in args if a is not type(None)]
        return " or ".join(dict.fromkeys(parts)) + (" or null" if type(None) in args else "")
    if isinstance(kind, type) and issubclass(kind, Enum):
        return "one of: " + ", ".join(kind.__members__)
    if origin in (list, typing.List):
        return f"a list of {describe(args[0]).removeprefix('a ').removeprefix('an ')}s"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string",
            dict: "a mapping"}.get(kind, getattr(kind, "__name__", str(kind)))


def show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)) or OmegaConf.is_list(value):
        return "[" + ",".join(show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{show(v)}" for k, v in value.items()) + "}"
    return str(value)


def did_you_mean(word: str, options) -> str:
    close = difflib.get_close_matches(word, [str(o) for o in options], n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
