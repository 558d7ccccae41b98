"""Config schemas and validation: a bad config stops the run with one clear line."""
from rnnzoo.config.validate import ConfigError, validate_config

__all__ = ["ConfigError", "validate_config"]
