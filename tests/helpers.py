"""Shared test helpers: composing the real Hydra config as train.py does; loading a script."""
import importlib.util
from pathlib import Path

from hydra import compose, initialize_config_dir

ROOT = Path(__file__).resolve().parents[1]

QUIET = ["trainer.enable_progress_bar=false", "trainer.enable_model_summary=false"]


def make_config(tmp_path, *overrides, quiet=True):
    """The composed training config with ``overrides``, writing into ``tmp_path``."""
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose("train", overrides=[f"run_dir={tmp_path}", *(QUIET if quiet else []), *overrides])


def load_script(name: str):
    """``scripts/<name>.py`` as a module (the scripts are not a package), to call its main()."""
    spec = importlib.util.spec_from_file_location(f"{name}_cli", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
