"""Shared test helpers: composing the real Hydra config as train.py does; loading a script."""
import importlib.util
from pathlib import Path

from rnnzoo.config.compose import QUIET, compose_training

ROOT = Path(__file__).resolve().parents[1]


def make_config(tmp_path, *overrides, quiet=True):
    """The composed training config with ``overrides``, writing into ``tmp_path``."""
    return compose_training([f"run_dir={tmp_path}", *(QUIET if quiet else []), *overrides],
                            ROOT / "conf")


def load_script(name: str):
    """``scripts/<name>.py`` as a module (the scripts are not a package), to call its main()."""
    spec = importlib.util.spec_from_file_location(f"{name}_cli", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
