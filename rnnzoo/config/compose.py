"""The training config composed in code exactly as train.py composes it (Hydra's compose API):
for the scripts that train runs of their own (the accuracy suite, the analysis scripts)."""
from __future__ import annotations

from pathlib import Path

#: the config folder of a checkout (rnnzoo is used from its repository)
CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
#: overrides that keep a run started from code quiet
QUIET = ["trainer.enable_progress_bar=false", "trainer.enable_model_summary=false"]


def compose_training(overrides: list[str], config_dir: Path = CONF_DIR):
    """The training config with ``overrides``: inside a running Hydra app (a script whose
    config folder it shares) or from scratch."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():
        return compose("train", overrides=overrides)
    if not Path(config_dir).is_dir():
        raise FileNotFoundError(f"no config folder at {config_dir}: run from a checkout of rnnzoo")
    with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
        return compose("train", overrides=overrides)
