"""The ``zhclean`` command line: ``run``, ``serve``, and ``release``, ``verify``, ``publish``.

Exit status: 0 on success, 1 when the run itself failed (or a release could
not be made, published or verified), 2 for a usage error (unknown option,
missing input path, unreadable or invalid config), 130 when interrupted;
always with one line on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import os
import sys

from flows.cli import release, run, serve
from flows.cli.common import Parser, write_error_log
from flows.cli.options import overrides_from_args
from transforms import zhclean_version

__all__ = ["build_parser", "main", "overrides_from_args", "write_error_log"]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="zhclean",
        description="Clean Chinese text corpora into a deduplicated Parquet dataset.",
    )
    parser.add_argument("--version", action="version", version=f"zhclean {zhclean_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True
    run.add_parser(commands)
    release.add_parsers(commands)
    serve.add_parser(commands)
    return parser


def _silence_exit_noise() -> None:
    # Prefect's temporary server can print event-flush errors and CancelledError
    # tracebacks while the interpreter shuts down, after our work is done and
    # reported.  Nothing useful is written to stderr after this point.
    sys.stderr.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status = args.command_function(args)
    if argv is None:  # a real process exit, not a call from tests
        _silence_exit_noise()
    return status
