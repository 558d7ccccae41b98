"""A command line checked before Hydra runs it: every config it would run, composed with
Hydra's compose API and checked by :func:`rnnzoo.config.checks.validate_config`.

Hydra reports a config it cannot compose in several lines and exit code 1, after it has made
the run's folder; a ``-m`` sweep would start before a bad combination's turn came. So the
command line is composed first, once per combination of a sweep (the command line's sweeps
and the sweeper's ``params``, as Hydra's sweepers combine them), and a mistake stops it with
one line. A resume also gets its folder and the overrides its run was started with here.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra import compose
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException, MissingConfigException
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from rnnzoo.checkpoints import check_resume_config, resolve_resume, run_dir_of
from rnnzoo.config.checks import as_plain, first_line, message_for, validate_config
from rnnzoo.config.compose import hydra_for
from rnnzoo.errors import CheckpointError, ConfigError

#: what to install for a Hydra plugin option that is missing
PLUGIN_HINTS = {"submitit_slurm": "slurm", "submitit_local": "slurm", "optuna": "optuna"}
#: a sweep with more combinations than this is checked one value at a time
MAX_COMBINATIONS = 64
SWEEP_NOTE = "(in a -m sweep, plain overrides apply to the config before the sweep's choices)"


@dataclass
class CommandLine:
    overrides: list[str]
    config_dir: Path
    config_name: str = "train"
    multirun: bool = False
    extra_dirs: list[Path] = field(default_factory=list)  # --config-dir: more group options


def check_command_line(line: CommandLine) -> list[str]:
    """Check every config ``line`` would run; returns the overrides to add for Hydra (a
    resume's: the run's own overrides and its folder; ``run_dir``'s folder)."""
    with hydra_for(line.config_dir):
        parser = OverridesParser.create()
        try:
            overrides = parser.parse_overrides(line.overrides)
        except HydraException as error:
            raise ConfigError(f"cannot read the overrides: {first_line(error)}") from None
        composer = _Composer(line, parser)
        try:
            base = composer.compose([o.input_line for o in overrides if not o.is_sweep_override()]
                                    + [f"{o.key_or_group}={_values(o)[0]}" for o in overrides
                                       if o.is_sweep_override()], hydra=True)
        except ConfigError as error:
            if composer.multirun(overrides):
                raise ConfigError(f"{error} {SWEEP_NOTE}") from None
            raise
        if line.multirun or _is_multirun(base):
            composer.check_sweep(overrides, base)
            return []
        config = composer.check([o.input_line for o in overrides])
        return _run_folder(overrides, base, composer, config)


class _Composer:
    def __init__(self, line: CommandLine, parser):
        self.line, self.parser = line, parser
        self.extra = [f"hydra.searchpath=[file://{d.resolve()}]" for d in line.extra_dirs]

    def compose(self, lines: list[str], hydra: bool = False):
        try:
            return compose(self.line.config_name, overrides=self.extra + lines,
                           return_hydra_config=hydra)
        except MissingConfigException as error:
            raise ConfigError(_missing_option(error)) from None
        except (HydraException, OmegaConfBaseException) as error:
            raise ConfigError(message_for(error, None)) from None

    def multirun(self, overrides) -> bool:
        """Whether the command line runs a sweep, told by its group choices alone (an
        experiment can ask for one)."""
        if self.line.multirun:
            return True
        loader = GlobalHydra.instance().config_loader()
        groups = [o.input_line for o in overrides if not o.is_sweep_override()
                  and loader.get_group_options(o.key_or_group)]
        try:
            return _is_multirun(self.compose(groups, hydra=True))
        except ConfigError:
            return False

    def check(self, lines: list[str]) -> dict[str, Any]:
        cfg = self.compose(lines)
        try:
            config = as_plain(cfg)
        except OmegaConfBaseException as error:  # an interpolation that does not resolve
            raise ConfigError(first_line(error)) from None
        validate_config(config)
        return config

    def check_sweep(self, overrides, base) -> None:
        """Check each combination of a -m sweep: its command-line sweeps and the sweeper's
        ``params`` (choices and ranges by value, intervals by their two ends)."""
        # as Hydra does: plain overrides apply to the config the sweep starts from
        plain = [o.input_line for o in overrides if not o.is_sweep_override()]
        try:
            self.compose(plain)
        except ConfigError as error:
            raise ConfigError(f"{error} {SWEEP_NOTE}") from None
        axes: dict[str, list[str]] = {}
        params = OmegaConf.select(base, "hydra.sweeper.params")
        params = OmegaConf.to_container(params, resolve=False) if params is not None else {}
        for key, value in (params or {}).items():
            axes[key] = _values(self.parser.parse_override(f"{key}={value}"))
        for override in overrides:  # the command line wins over the sweeper's params
            if override.is_sweep_override() or override.key_or_group in axes:
                axes[override.key_or_group] = _values(override)
        fixed = [o.input_line for o in overrides
                 if not o.is_sweep_override() and o.key_or_group not in axes]
        keys = list(axes)
        total = 1
        for values in axes.values():
            total *= len(values)
        if total <= MAX_COMBINATIONS:
            combos = itertools.product(*(axes[k] for k in keys))
        else:  # each value once, the other keys at their first value
            combos = [tuple(v if k == key else axes[k][0] for k in keys)
                      for key in keys for v in axes[key]]
        for combo in combos:
            self.check(fixed + [f"{k}={v}" for k, v in zip(keys, combo)])


def _is_multirun(base) -> bool:
    return str(base.hydra.mode) == "RunMode.MULTIRUN"


def _values(override) -> list[str]:
    if override.is_discrete_sweep():
        return list(override.sweep_string_iterator())
    if override.is_interval_sweep():
        sweep = override.value()
        return [str(sweep.start), str(sweep.end)]
    return [override.get_value_element_as_str()]


def _missing_option(error) -> str:
    """``cell=lsmt`` names no option of its group: say which there are."""
    group, _, value = str(error.missing_cfg_file or "").rpartition("/")
    hint = f" (pip install -e \".[{PLUGIN_HINTS[value]}]\")" if value in PLUGIN_HINTS else ""
    if not group or error.options is None:
        return first_line(error) + hint
    what = group.split("/")[-1]
    article = "an" if what[:1] in "aeiou" else "a"
    return (f"{group}={value} is not {article} {what}{hint}; choose one of: "
            f"{', '.join(sorted(error.options)) or '(none installed)'}")


# -- the run's folder ----------------------------------------------------------------------
def _run_folder(overrides, base, composer: _Composer, config: dict[str, Any]) -> list[str]:
    """Hydra's run folder is the run's folder: ``run_dir=X`` makes Hydra write its record
    (``.hydra/``) there too, and ``resume=...`` goes on in the stopped run's folder with the
    overrides it was started with (the command line's win). Returns the overrides to add."""
    given = {o.key_or_group for o in overrides}
    run_dir, resume = config.get("run_dir"), config.get("resume")
    folder = Path(run_dir) if run_dir else None
    if resume == "last" and not run_dir:
        runs = Path(OmegaConf.select(base, "hydra.run.dir")).parent
        found = sorted(runs.glob("*/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime)
        if not found:
            raise CheckpointError(f"resume=last: no run under '{runs}' has checkpoints/last.ckpt; "
                                  "give run_dir=<run folder> or resume=<run folder or .ckpt file>")
        folder = found[-1].parent.parent
    elif resume:
        folder = folder or run_dir_of(resolve_resume(resume, run_dir))
    if folder is None:
        return []
    saved = []
    record = folder / ".hydra" / "overrides.yaml"
    if resume and record.exists():
        for line in OmegaConf.load(record) or []:
            key = composer.parser.parse_override(str(line)).key_or_group
            if key not in given and key not in ("resume", "run_dir") and not key.startswith("hydra"):
                saved.append(str(line))
    extra = [] if "hydra.run.dir" in given else [f"hydra.run.dir={_quote(folder)}"]
    if resume:  # the config it will run, against its checkpoint
        if saved:
            config = composer.check([o.input_line for o in overrides] + saved)
        check_resume_config(config, resolve_resume(resume, run_dir or folder))
    return saved + extra


def _quote(path) -> str:
    text = str(path).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"
