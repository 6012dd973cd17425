"""Loading the pipeline configuration: defaults, then a TOML file, then command-line flags."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from transforms.config import PipelineConfig


class ConfigError(ValueError):
    """The configuration cannot be used; the message is one line for the user."""


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as err:
        raise ConfigError(f"config file not found: {path}") from err
    except OSError as err:
        raise ConfigError(f"cannot read config file {path}: {err.strerror}") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"config file {path} is not valid TOML: {err}") from err


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _first_error(err: ValidationError, source: str) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "config"
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"invalid configuration in {source}: {where}: {first['msg']}{more}"


def load_config(
    config_file: Path | None = None, overrides: dict[str, Any] | None = None
) -> PipelineConfig:
    """Defaults < ``config_file`` (TOML) < ``overrides`` (nested dict from CLI flags).

    Paths in the file are relative to the current directory, like paths on the
    command line.
    """
    values: dict[str, Any] = {}
    source = "command-line options"
    if config_file is not None:
        values = read_toml(config_file)
        source = str(config_file)
    values = _merge(values, overrides or {})
    try:
        return PipelineConfig.model_validate(values)
    except ValidationError as err:
        raise ConfigError(_first_error(err, source)) from err
