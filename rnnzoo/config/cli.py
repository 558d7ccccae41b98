"""The command line: ``python train.py [overrides]``, with bad input stopped before Hydra runs.

Hydra alone answers an unknown option (``cell=lsmt``) or key (``cell.hiden_size=3``) with a
multi-line message and exit code 1, and accepts ``cell.hidden_size=abc`` without a word. Here
the overrides are parsed with Hydra's own parser and the config composed with its compose API
first — once per combination of a ``-m`` sweep — and checked against the schemas; a problem is
one line (``config error: cell.hidden_size=0: must be >= 1``) and exit code 2. Then Hydra runs
as usual (``--help``, ``--cfg``, ``-m``, ``hydra.*`` overrides and launchers unchanged).

Exit codes: 0 done; 2 bad input (config, data file, checkpoint); 3 a NaN/Inf stopped the run;
128 + signal number when SIGTERM (143) or SIGINT (130) stopped it after a checkpoint.
``HYDRA_FULL_ERROR=1`` shows the traceback instead of the one line.
"""
from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rnnzoo.config.validate import ConfigError, validate_config

#: what to install for a Hydra plugin option that is missing
PLUGIN_HINTS = {"submitit_slurm": "slurm", "submitit_local": "slurm", "optuna": "optuna"}
#: a sweep with more combinations than this is checked one value at a time
MAX_COMBINATIONS = 64


def main(argv: list[str], config_dir: str | os.PathLike, config_name: str = "train") -> int:
    """Run ``train.py`` with ``argv``; returns the exit code."""
    from hydra._internal.utils import get_args_parser

    args = get_args_parser().parse_args(argv)
    inspecting = args.help or args.hydra_help or args.cfg or args.info or \
        args.shell_completion or args.experimental_rerun
    if not inspecting:
        try:
            argv = check_command_line(args, argv, Path(config_dir), config_name)
        except ConfigError as error:
            return report("config error", error, 2)
        except Exception as error:  # a checkpoint named by resume=...
            from rnnzoo.checkpoints import CheckpointError

            if isinstance(error, CheckpointError):
                return report("checkpoint error", error, 2)
            raise
    return run_hydra(argv, Path(config_dir), config_name)


def run_hydra(argv: list[str], config_dir: Path, config_name: str) -> int:
    import hydra

    from rnnzoo.experiment import train

    def task(cfg):
        outcome = {}
        code = run_reporting_errors(lambda: outcome.update(train(cfg)))
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


# -- reporting -------------------------------------------------------------------------------
def full_error() -> bool:
    return os.environ.get("HYDRA_FULL_ERROR") == "1"


def one_line(error: BaseException) -> str:
    """The error's message on one line. An error raised in a DataLoader worker arrives wrapped
    in the worker's traceback; its original message is the traceback's last line."""
    text = str(error).strip()
    if "Original Traceback" in text:
        last = [line for line in text.splitlines() if line.strip()][-1]
        name, sep, message = last.partition(": ")
        text = message if sep and "." in name and " " not in name else last
    return " ".join(text.split())


def report(kind: str, error: BaseException, code: int) -> int:
    if full_error():
        raise error
    print(f"{kind}: {one_line(error)}", file=sys.stderr, flush=True)
    return code


def run_reporting_errors(run: Callable[[], Any]) -> int:
    """Run ``run()``; a user's mistake or a stopped run becomes one line and an exit code."""
    from rnnzoo.callbacks import RunInterrupted
    from rnnzoo.checkpoints import CheckpointError
    from rnnzoo.data.errors import DataError
    from rnnzoo.tasks.systems.base import NumericalFault
    from rnnzoo.utils.distributed import process_rank

    try:
        run()
    except ConfigError as error:
        return report("config error", error, 2)
    except DataError as error:
        return report("data error", error, 2)
    except CheckpointError as error:
        return report("checkpoint error", error, 2)
    except NumericalFault as error:  # every process stops at the same step: one reports
        return report("numerical fault", error, 3) if process_rank() == 0 else 3
    except RunInterrupted as error:
        if full_error():
            raise
        if process_rank() == 0:
            run_dir = Path(error.checkpoint).parent.parent
            print(f"interrupted: {error}; resume with: python train.py resume={run_dir}",
                  file=sys.stderr, flush=True)
        return 128 + int(error.signum)
    return 0


# -- checking the command line ---------------------------------------------------------------
def check_command_line(args, argv: list[str], config_dir: Path, config_name: str) -> list[str]:
    """Check every config the command would run; returns the argv to give Hydra (a resume
    adds the run's own overrides and its folder)."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    if args.config_path:
        config_dir = Path(args.config_path) if Path(args.config_path).is_absolute() \
            else config_dir.parent / args.config_path
    config_name = args.config_name or config_name
    extra_dirs = [Path(args.config_dir).resolve()] if args.config_dir else []
    extra = [f"hydra.searchpath=[file://{d}]" for d in extra_dirs]
    with initialize_config_dir(config_dir=str(config_dir.resolve()), version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        parser = OverridesParser.create(config_loader=loader)
        try:
            overrides = parser.parse_overrides(list(args.overrides))
        except HydraException as error:
            raise ConfigError(f"cannot read the overrides: {_first_line(error)}") from None
        checker = _Checker(loader, parser, config_name, extra, extra_dirs)
        for override in overrides:
            checker.check_group(override)
        base = checker.compose([o.input_line for o in overrides if not o.is_sweep_override()]
                               + [f"{o.key_or_group}={_first(o)}" for o in overrides
                                  if o.is_sweep_override()], hydra=True)
        multirun = args.multirun or str(base.hydra.mode) == "RunMode.MULTIRUN"
        if multirun:
            checker.check_sweep(overrides, base)
            return argv
        checker.check([o.input_line for o in overrides])
        argv, folder = _with_run_dir(argv, overrides, base, parser)
        if folder is not None:  # a resume: check the config it will run against its checkpoint
            final = parser.parse_overrides([a for a in argv if "=" in a and not a.startswith("-")])
            config = checker.check([o.input_line for o in final])
            _check_resume(config, folder)
        return argv


class _Checker:
    def __init__(self, loader, parser, config_name: str, extra: list[str], extra_dirs: list[Path]):
        self.loader, self.parser, self.config_name, self.extra = loader, parser, config_name, extra
        self.extra_dirs = extra_dirs  # --config-dir: more options for the groups

    def is_group(self, key: str) -> bool:
        return self.loader.repository.group_exists(key) or \
            any((d / key).is_dir() for d in self.extra_dirs)

    def options(self, group: str) -> list[str]:
        found = set(self.loader.get_group_options(group))
        for folder in self.extra_dirs:
            found |= {p.stem for p in (folder / group).glob("*.yaml")}
        return sorted(found)

    def check_group(self, override) -> None:
        key = override.key_or_group
        if override.is_delete() or not self.is_group(key):
            return
        values = list(override.sweep_string_iterator()) if override.is_discrete_sweep() \
            else [override.value()]
        options = self.options(key)
        for value in values:
            if value is None or str(value) == "null" or str(value) in options:
                continue
            what = key.split("/")[-1]
            hint = f" (pip install -e \".[{PLUGIN_HINTS[value]}]\")" if value in PLUGIN_HINTS else ""
            raise ConfigError(f"{key}={value} is not {_article(what)} {what}{hint}; choose one of: "
                              f"{', '.join(options) or '(none installed)'}")

    def compose(self, lines: list[str], hydra: bool = False, force: bool = True):
        from hydra import compose
        from hydra.errors import HydraException
        from omegaconf.errors import OmegaConfBaseException

        lines = self.extra + [self._forced(line) if force else line for line in lines]
        try:
            return compose(self.config_name, overrides=lines, return_hydra_config=hydra)
        except (HydraException, OmegaConfBaseException) as error:
            text = _first_line(error)
            cause = error.__cause__ or error.__context__
            if cause is not None and "struct" in str(cause):  # Hydra's own line omits the why
                text += f" ({_first_line(cause).rstrip('.')})"
            for option, extra in PLUGIN_HINTS.items():
                if f"'{option}'" in str(error) or f"/{option}" in str(error):
                    text += f" (pip install -e \".[{extra}]\")"
            raise ConfigError(text) from None

    def _forced(self, line: str) -> str:
        # a plain key=value is composed as ++key=value, so a misspelt key reaches the schema
        # check (one line naming it) instead of Hydra's struct error
        override = self.parser.parse_override(line)
        if override.is_delete() or override.is_add() or override.is_force_add() or \
                override.is_hydra_override() or self.is_group(override.key_or_group) or \
                override.package is not None:
            return line
        return "++" + line

    def check(self, lines: list[str]) -> dict[str, Any]:
        from omegaconf import OmegaConf
        from omegaconf.errors import OmegaConfBaseException

        cfg = self.compose(lines)
        try:
            config = OmegaConf.to_container(cfg, resolve=True)
        except OmegaConfBaseException as error:
            raise ConfigError(_first_line(error)) from None
        validate_config(config)
        return config

    def check_sweep(self, overrides, base) -> None:
        """Check each combination of a -m sweep: its command-line sweeps and the sweeper's
        ``params`` (choices and ranges by value, intervals by their two ends)."""
        from omegaconf import OmegaConf

        # as Hydra does: plain overrides apply to the config the sweep starts from
        plain = [o.input_line for o in overrides if not o.is_sweep_override()]
        try:
            self.compose(plain, force=False)
        except ConfigError as error:
            raise ConfigError(f"{error} (in a -m sweep, plain overrides apply to the config "
                              "before the sweep's choices)") from None
        axes: dict[str, list[str]] = {}
        params = OmegaConf.select(base, "hydra.sweeper.params")
        params = OmegaConf.to_container(params, resolve=False) if params is not None else {}
        for key, value in (params or {}).items():
            override = self.parser.parse_override(f"{key}={value}")
            self.check_group(override)
            axes[key] = self._values(override)
        for override in overrides:  # the command line wins over the sweeper's params
            if override.is_sweep_override() or override.key_or_group in axes:
                axes[override.key_or_group] = self._values(override)
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

    @staticmethod
    def _values(override) -> list[str]:
        if override.is_discrete_sweep():
            return list(override.sweep_string_iterator())
        if override.is_interval_sweep():
            sweep = override.value()
            return [str(sweep.start), str(sweep.end)]
        return [override.get_value_element_as_str()]


def _with_run_dir(argv: list[str], overrides, base, parser) -> tuple[list[str], Path | None]:
    """Hydra's run folder is the run's folder: ``run_dir=X`` makes Hydra write its record
    (``.hydra/``) there too, and ``resume=...`` goes on in the stopped run's folder with the
    overrides it was started with. Returns the argv for Hydra and, for a resume, the folder."""
    from omegaconf import OmegaConf

    from rnnzoo.checkpoints import CheckpointError, resolve_resume, run_dir_of

    given = {o.key_or_group: o for o in overrides}
    value = {k: o.value() for k, o in given.items() if not o.is_sweep_override()}
    run_dir = str(value["run_dir"]) if value.get("run_dir") not in (None, "null") else None
    resume = str(value["resume"]) if value.get("resume") not in (None, "null") else None
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
        return argv, None
    saved = []
    record = folder / ".hydra" / "overrides.yaml"
    if resume and record.exists():
        for line in OmegaConf.load(record) or []:
            key = parser.parse_override(str(line)).key_or_group
            if key not in given and key not in ("resume", "run_dir") and not key.startswith("hydra"):
                saved.append(str(line))
    extra = [] if "hydra.run.dir" in given else [f"hydra.run.dir={_quote(folder)}"]
    # beside the user's overrides (a flag's value may follow them), none of them repeated
    lines = {o.input_line for o in overrides}
    at = max((i for i, a in enumerate(argv) if a in lines), default=len(argv) - 1) + 1
    return [*argv[:at], *saved, *extra, *argv[at:]], (folder if resume else None)


def _check_resume(config: dict[str, Any], folder: Path) -> None:
    from rnnzoo.checkpoints import resolve_resume
    from rnnzoo.experiment import check_resume_config

    check_resume_config(config, resolve_resume(config["resume"], config.get("run_dir") or folder))


def _quote(path) -> str:
    text = str(path).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def _first(override) -> str:
    return (_Checker._values(override) or [""])[0]


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"
