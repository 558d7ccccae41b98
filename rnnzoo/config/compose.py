"""The training config composed in code exactly as train.py composes it (Hydra's compose API):
for the tests and for the scripts that train runs of their own (the accuracy suite, the
analysis scripts), whether or not they run inside a Hydra app of their own."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

import rnnzoo.config.schema  # noqa: F401  the ConfigStore's train_schema

#: the config folder of a checkout (rnnzoo is used from its repository)
CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
#: overrides that keep a run started from code quiet
QUIET = ["trainer.enable_progress_bar=false", "trainer.enable_model_summary=false"]


@contextmanager
def hydra_for(config_dir: Path = CONF_DIR):
    """Hydra's compose API on ``config_dir``; a Hydra app already running (a script's own)
    is set aside meanwhile and comes back after."""
    if not Path(config_dir).is_dir():
        raise FileNotFoundError(f"no config folder at {config_dir}: run from a checkout of rnnzoo")
    running = GlobalHydra.instance().hydra if GlobalHydra.instance().is_initialized() else None
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(Path(config_dir).resolve()), version_base="1.3"):
            yield
    finally:
        GlobalHydra.instance().clear()
        if running is not None:
            GlobalHydra.instance().initialize(running)


def compose_training(overrides: list[str], config_dir: Path = CONF_DIR):
    """The training config (``train.yaml``) with ``overrides``."""
    with hydra_for(config_dir):
        return compose("train", overrides=overrides)
