"""What every command shares: its one-line errors, the settings it runs with, its error log."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any, NoReturn

from transforms.config import ConfigError, PipelineConfig, load_config
from transforms.engine.inputs import InputError, discover_inputs


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse would print the whole usage block; one line says enough.
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def add_dataset_arguments(parser: argparse.ArgumentParser) -> None:
    """The inputs, ``--output`` and ``--config`` of a command that cleans into a dataset."""
    parser.add_argument(
        "inputs",
        nargs="*",
        type=Path,
        metavar="INPUT",
        help="input files or folders, searched recursively (default: data/sample)",
    )
    parser.add_argument("--output", "-o", type=Path, help="output folder (default: output)")
    parser.add_argument("--config", "-c", type=Path, help="TOML file with any of the settings")


def fail(message: str, status: int = 2) -> int:
    """Say what went wrong in one line on stderr; return the exit status."""
    print(f"zhclean: error: {message}", file=sys.stderr)
    return status


def one_line(text: object) -> str:
    return " ".join(str(text).split())


def usable_config(path: Path | None, overrides: dict[str, Any]) -> PipelineConfig | str:
    """The settings, or what is wrong with them or with the inputs they name (a usage error)."""
    try:
        config = load_config(path, overrides)
        discover_inputs(config.inputs, exclude=config.output.resolve())
    except (ConfigError, InputError) as err:
        return str(err)
    return config


def write_error_log(output: Path) -> Path:
    """The traceback in ``<output>/zhclean-error.log``, or in the temporary folder when the
    output cannot take it (the run failed because the disk is full or read-only)."""
    text = traceback.format_exc()
    try:
        output.mkdir(parents=True, exist_ok=True)
        log = output / "zhclean-error.log"
        log.write_text(text, encoding="utf-8")
        return log
    except OSError:
        handle, name = tempfile.mkstemp(prefix="zhclean-error-", suffix=".log")
        with os.fdopen(handle, "w", encoding="utf-8") as log_file:
            log_file.write(text)
        return Path(name)
