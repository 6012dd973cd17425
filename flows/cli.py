"""The ``zhclean`` command line.

Exit status: 0 on success, 1 when the run itself failed, 2 for a usage error
(unknown option, missing input path, unreadable or invalid config), always
with one line on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

from flows.config import ConfigError, load_config
from transforms.config import PipelineConfig


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse would print the whole usage block; one line says enough.
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _defaults() -> PipelineConfig:
    return PipelineConfig()


def build_parser() -> argparse.ArgumentParser:
    d = _defaults()
    parser = _Parser(
        prog="zhclean",
        description="Clean Chinese text corpora into a deduplicated Parquet dataset.",
    )
    parser.add_argument("--version", action="version", version=f"zhclean {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    run = commands.add_parser(
        "run",
        help="clean input files into a dataset",
        description=(
            "Extract documents from raw dumps (.txt, .html, .jsonl, .jsonl.gz, .parquet), strip "
            "HTML, normalize, filter, remove exact and near duplicates, segment, and write "
            "<output>/data (kept), <output>/rejected (with reasons) and <output>/stats.json. "
            "Settings come from defaults, then --config, then these flags."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    run.add_argument(
        "inputs",
        nargs="*",
        type=Path,
        metavar="INPUT",
        help="input files or folders, searched recursively (default: data/sample)",
    )
    run.add_argument("--output", "-o", type=Path, help=f"output folder (default: {d.output})")
    run.add_argument("--config", "-c", type=Path, help="TOML file with any of the settings below")
    run.add_argument("--workers", type=int, help="parallel shard workers (default: all cores)")
    run.add_argument(
        "--shard-max-mb",
        type=float,
        help=f"group small files into shards up to this size (default: {d.run.shard_max_bytes // 2**20})",
    )
    run.add_argument(
        "--min-chars", type=int, help=f"reject shorter documents (default: {d.filter.min_chars})"
    )
    run.add_argument(
        "--min-chinese-ratio",
        type=float,
        help=f"reject documents with a smaller share of Chinese characters (default: {d.filter.min_chinese_ratio})",
    )
    run.add_argument(
        "--t2s",
        action="store_true",
        default=None,
        help="convert traditional script to simplified in the output (OpenCC t2s; default: off)",
    )
    run.add_argument("--no-dedup", action="store_true", default=None, help="keep duplicates")
    run.add_argument(
        "--threshold",
        type=float,
        help=f"near-duplicate Jaccard threshold (default: {d.dedup.threshold})",
    )
    run.add_argument(
        "--num-perm", type=int, help=f"MinHash permutations (default: {d.dedup.num_perm})"
    )
    run.add_argument("--bands", type=int, help=f"LSH bands (default: {d.dedup.bands})")
    run.add_argument("--rows", type=int, help=f"LSH rows per band (default: {d.dedup.rows})")
    run.add_argument(
        "--ngram", type=int, help=f"character n-gram size (default: {d.dedup.ngram_size})"
    )
    run.add_argument(
        "--words",
        action="store_true",
        default=None,
        help="also write a `words` column (default: off)",
    )
    run.add_argument(
        "--word-segmenter",
        choices=["rjieba", "jieba"],
        help=f"word segmenter for --words (default: {d.segment.word_segmenter})",
    )
    run.add_argument(
        "--resume",
        action="store_true",
        help="after a killed run with the same inputs and settings, redo only its unfinished work",
    )
    run.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="no progress display and no summary line (errors are still printed)",
    )
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("zhclean")
    except PackageNotFoundError:
        return "unknown"


# flag -> (config section or None for top level, field, converter)
_FLAG_FIELDS: dict[str, tuple[str | None, str, Any]] = {
    "output": (None, "output", str),
    "workers": ("run", "workers", int),
    "shard_max_mb": ("run", "shard_max_bytes", lambda mb: int(mb * 2**20)),
    "min_chars": ("filter", "min_chars", int),
    "min_chinese_ratio": ("filter", "min_chinese_ratio", float),
    "t2s": ("normalize", "traditional_to_simplified", bool),
    "no_dedup": ("dedup", "enabled", lambda flag: not flag),
    "threshold": ("dedup", "threshold", float),
    "num_perm": ("dedup", "num_perm", int),
    "bands": ("dedup", "bands", int),
    "rows": ("dedup", "rows", int),
    "ngram": ("dedup", "ngram_size", int),
    "words": ("segment", "words", bool),
    "word_segmenter": ("segment", "word_segmenter", str),
}


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    if args.inputs:
        overrides["inputs"] = [str(p) for p in args.inputs]
    for flag, (section, name, convert) in _FLAG_FIELDS.items():
        value = getattr(args, flag)
        if value is None:
            continue
        target = overrides if section is None else overrides.setdefault(section, {})
        target[name] = convert(value)
    return overrides


def _fail(message: str, status: int = 2) -> int:
    print(f"zhclean: error: {message}", file=sys.stderr)
    return status


def _silence_exit_noise() -> None:
    # Prefect's temporary server can print event-flush errors and CancelledError
    # tracebacks while the interpreter shuts down, after our work is done and
    # reported.  Nothing useful is written to stderr after this point.
    sys.stderr.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)


def command_run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    try:
        config = load_config(args.config, overrides_from_args(args))
    except ConfigError as err:
        return _fail(str(err))
    from transforms.inputs import InputError, discover_inputs

    try:
        discover_inputs(config.inputs, exclude=config.output.resolve())
    except InputError as err:
        return _fail(str(err))

    from flows.prefect_env import configure_prefect_environment

    configure_prefect_environment()
    from flows.lock import OutputLocked, output_lock
    from flows.prefect_server import prefect_api, startup_timeout

    try:
        with output_lock(config.output), prefect_api() as server:
            # Imported while the server boots: the two overlap.
            from flows.pipeline import run_pipeline

            api_ready = (lambda: server.wait_until_healthy(startup_timeout())) if server else None
            stats = run_pipeline(
                config, resume=args.resume, show_progress=not args.quiet, api_ready=api_ready
            )
    except OutputLocked as err:
        return _fail(str(err), status=1)
    except Exception as err:  # the run failed: say what in one line, keep the traceback
        log = _write_error_log(config.output)
        return _fail(f"run failed: {type(err).__name__}: {err} (traceback in {log})", status=1)
    if not args.quiet:
        print(_one_line_summary(stats, config, time.perf_counter() - started))
    for failure in stats["failed_shards"]:
        files = ", ".join(failure["files"])
        print(f"zhclean: error: shard failed ({files}): {failure['error']}", file=sys.stderr)
    return 0 if stats["documents"]["balanced"] and not stats["failed_shards"] else 1


def _write_error_log(output: Path) -> Path:
    import traceback

    output.mkdir(parents=True, exist_ok=True)
    log = output / "zhclean-error.log"
    log.write_text(traceback.format_exc(), encoding="utf-8")
    return log


def _one_line_summary(stats: dict[str, Any], config: PipelineConfig, seconds: float) -> str:
    docs = stats["documents"]
    reasons = ", ".join(f"{r} {n}" for r, n in stats["rejected_by_reason"].items())
    return (
        f"zhclean: {docs['extracted']} documents from {stats['inputs']['files']} files: "
        f"{docs['kept']} kept, {docs['rejected']} rejected"
        + (f" ({reasons})" if reasons else "")
        + f" -> {config.output}/ in {seconds:.1f} s"
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status = command_run(args) if args.command == "run" else 2
    if argv is None:  # a real process exit, not a call from tests
        _silence_exit_noise()
    return status


if __name__ == "__main__":
    sys.exit(main())
