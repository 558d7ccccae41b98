"""The training config: its schema (Hydra structured configs), its checks, and composing it."""
from rnnzoo.config.checks import validate_config
from rnnzoo.errors import ConfigError

__all__ = ["ConfigError", "validate_config"]
