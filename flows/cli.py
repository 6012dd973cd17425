"""The ``zhclean`` command line: ``run``, and ``release``, ``verify``, ``publish``.

Exit status: 0 on success, 1 when the run itself failed (or a release could
not be made, published or verified), 2 for a usage error
(unknown option, missing input path, unreadable or invalid config), always
with one line on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
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
        "--dask-address",
        metavar="ADDRESS",
        help="run the tasks on this Dask cluster (e.g. tcp://10.0.0.5:8786) instead of local "
        "worker processes; needs PREFECT_API_URL (default: off)",
    )
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
        "--full",
        action="store_true",
        help="process every input and replace the dataset (default: over an existing dataset, "
        "only new and changed input files are processed and their documents added)",
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
    _add_release_commands(commands)
    _add_serve_command(commands)
    return parser


def _add_serve_command(commands: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="serve the flow as a Prefect deployment, on a schedule and on demand",
        description=(
            "Register the Prefect deployment 'zhclean/NAME' that cleans INPUT... into OUTPUT "
            "(settings from defaults, then --config, then these flags) and run its flow runs: "
            "on the --cron schedule and whenever one is triggered (`prefect deployment run "
            "'zhclean/NAME'`). Uses the Prefect server of PREFECT_API_URL, else one answering on "
            "127.0.0.1:4200, else starts `prefect server start` and stops it on exit. "
            "Runs until Ctrl-C or SIGTERM."
        ),
    )
    serve.add_argument(
        "inputs",
        nargs="*",
        type=Path,
        metavar="INPUT",
        help="input files or folders, searched recursively (default: data/sample)",
    )
    serve.add_argument("--output", "-o", type=Path, help="output folder (default: output)")
    serve.add_argument("--config", "-c", type=Path, help="TOML file with the run's settings")
    serve.add_argument(
        "--cron",
        metavar="CRON",
        help='schedule, e.g. "0 3 * * *" for 03:00 every night (default: none, runs only '
        "when triggered)",
    )
    serve.add_argument(
        "--timezone",
        default="UTC",
        metavar="TZ",
        help="IANA time zone of --cron, e.g. Asia/Shanghai (default: UTC)",
    )
    serve.add_argument(
        "--name", default="default", help="deployment name: 'zhclean/NAME' (default: default)"
    )
    serve.add_argument(
        "--port",
        type=int,
        default=4200,
        help="without PREFECT_API_URL: port of the local Prefect server to use, or to start "
        "(default: 4200)",
    )


def command_serve(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {}
    if args.inputs:
        overrides["inputs"] = [str(p) for p in args.inputs]
    if args.output:
        overrides["output"] = str(args.output)
    config = _usable_config(args.config, overrides)
    if isinstance(config, str):
        return _fail(config)
    if not args.name or "/" in args.name:
        return _fail(f"invalid deployment name {args.name!r}: give a name without '/'")
    from flows.prefect_env import configure_prefect_environment

    configure_prefect_environment()
    from flows.serve import (
        ServerUnreachable,
        check_schedule,
        choose_server,
        configured_api_url,
        serve,
    )
    from flows.server import ServerStartError, startup_timeout

    problem = check_schedule(args.cron, args.timezone)
    if problem:
        return _fail(f"invalid --cron/--timezone: {problem}")
    if config.run.dask_address and not configured_api_url():
        return _fail(DASK_NEEDS_SERVER)
    # SIGTERM as Ctrl-C until the runner takes over: a server being started is stopped too.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        try:
            server = choose_server(startup_timeout(), args.port)
        except (ServerUnreachable, ServerStartError) as err:
            return _fail(str(err), status=1)
        try:
            serve(config, args.name, args.cron, args.timezone, server, announce=_announce)
        except Exception as err:
            return _fail(f"serve failed: {type(err).__name__}: {_one_line(err)}", status=1)
        finally:
            if server.started is not None:
                server.started.stop()
    except KeyboardInterrupt:
        pass  # stopped while starting: nothing left running
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _announce(line: str) -> None:
    print(line, flush=True)


INTERRUPTED = (
    "interrupted: nothing was published; the shards finished so far are kept, "
    "and the same command with --resume goes on from them"
)
DASK_NEEDS_SERVER = (
    "--dask-address (run.dask_address) needs a Prefect server that the Dask workers reach too: "
    "start one (`prefect server start --host 0.0.0.0`) and set "
    "PREFECT_API_URL=http://HOST:4200/api here and for the workers"
)


def _add_release_commands(commands: Any) -> None:
    release = commands.add_parser(
        "release",
        help="snapshot the dataset as a versioned, verifiable release",
        description=(
            "Copy <output>/data (and with --with-rejected <output>/rejected) into "
            "<output>/releases/VERSION/ with a manifest (sizes, rows, SHA-256, schema, runs), "
            "a dataset card (README.md with plots) and CHANGES.md. A version is made once: "
            "releasing it again fails. Credentials for --publish come from the environment."
        ),
    )
    release.add_argument(
        "--version",
        required=True,
        metavar="VERSION",
        help="release name: letters, digits and . _ + - (e.g. 2026.11.1 or v3)",
    )
    release.add_argument("--output", "-o", type=Path, help="dataset folder (default: output)")
    release.add_argument(
        "--config", "-c", type=Path, help="TOML file (release.* and output_files.* settings)"
    )
    release.add_argument(
        "--with-rejected",
        action="store_true",
        default=None,
        help="also put the rejected documents into the release (default: release.include_rejected)",
    )
    release.add_argument(
        "--publish",
        metavar="URL",
        help="then copy the release to URL/VERSION (s3://bucket/prefix or a folder) and verify it",
    )
    release.add_argument("--quiet", "-q", action="store_true", help="no summary line")

    verify = commands.add_parser(
        "verify",
        help="check a release's files against its manifest",
        description=(
            "Recompute the size, SHA-256, rows and schema of every file of a release (a folder "
            "or an fsspec URL such as s3://bucket/prefix/VERSION) and refuse files the manifest "
            "does not list. Exits 1 naming the first mismatch."
        ),
    )
    verify.add_argument("release", metavar="RELEASE", help="release folder or URL")
    verify.add_argument(
        "--config", "-c", type=Path, help="TOML file (release.storage_options for URLs)"
    )
    verify.add_argument("--quiet", "-q", action="store_true", help="no summary line")

    publish = commands.add_parser(
        "publish",
        help="copy an existing release to a URL and verify the copy",
        description=(
            "Copy the release folder RELEASE to URL/VERSION (manifest.json last) and verify the "
            "copy; what `zhclean release --publish` does, for a release made earlier."
        ),
    )
    publish.add_argument("release", type=Path, metavar="RELEASE", help="release folder")
    publish.add_argument("url", metavar="URL", help="s3://bucket/prefix, a folder, any fsspec URL")
    publish.add_argument(
        "--config", "-c", type=Path, help="TOML file (release.storage_options for the URL)"
    )
    publish.add_argument("--quiet", "-q", action="store_true", help="no summary line")


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
    "dask_address": ("run", "dask_address", str),
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


def _usable_config(path: Path | None, overrides: dict[str, Any]) -> PipelineConfig | str:
    """The settings, or what is wrong with them or with the inputs they name (a usage error)."""
    from transforms.engine.inputs import InputError, discover_inputs

    try:
        config = load_config(path, overrides)
        discover_inputs(config.inputs, exclude=config.output.resolve())
    except (ConfigError, InputError) as err:
        return str(err)
    return config


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
    config = _usable_config(args.config, overrides_from_args(args))
    if isinstance(config, str):
        return _fail(config)
    from flows.prefect_env import configure_prefect_environment

    configure_prefect_environment()
    if config.run.dask_address:
        from flows.serve import configured_api_url

        if not configured_api_url():
            return _fail(DASK_NEEDS_SERVER)
    from flows.runner import interrupt_workers, warm_up_shard_workers, worker_pool
    from flows.server import prefect_api, startup_timeout
    from transforms.engine.lock import OutputLocked, output_lock

    def stop_now(signum: int, frame: Any) -> None:
        interrupt_workers()  # at once: waiting for the shards in progress could take minutes
        raise KeyboardInterrupt

    # The worker processes start first, then the server: both boot while this
    # process imports Prefect (the workers start 1.2 s sooner; a 20,000-document
    # run's wall time did not change measurably).  On a Dask cluster the tasks
    # run in its workers: no local pool.
    workers = 1 if config.run.dask_address else config.run.resolved_workers()
    pool = worker_pool(workers, warm_up_shard_workers)
    previous = signal.signal(signal.SIGINT, stop_now)
    try:
        with output_lock(config.output), pool, prefect_api() as server:
            # Imported while the server boots: the two overlap.
            from transforms.engine.dataset_state import DatasetMismatch, DatasetState

            if not args.full:
                try:
                    DatasetState.load(config.output.resolve()).check_compatible(config.config_hash)
                except DatasetMismatch as err:
                    return _fail(str(err))
            from flows.flow import run_pipeline

            api_ready = (lambda: server.wait_until_healthy(startup_timeout())) if server else None
            stats = run_pipeline(
                config,
                resume=args.resume,
                show_progress=not args.quiet,
                api_ready=api_ready,
                full=args.full,
            )
    except OutputLocked as err:
        return _fail(str(err), status=1)
    except KeyboardInterrupt:
        return _fail(INTERRUPTED, status=130)
    except Exception as err:  # the run failed: say what in one line, keep the traceback
        log = _write_error_log(config.output)
        return _fail(f"run failed: {type(err).__name__}: {err} (traceback in {log})", status=1)
    finally:
        signal.signal(signal.SIGINT, previous)
    if not args.quiet:
        print(_one_line_summary(stats, config, time.perf_counter() - started))
    for failure in stats["failed_shards"]:
        files = ", ".join(failure["files"])
        print(f"zhclean: error: shard failed ({files}): {failure['error']}", file=sys.stderr)
    for failure in stats["failed_inputs"]:
        print(
            f"zhclean: error: could not read {failure['path']}: {failure['error']}", file=sys.stderr
        )
    failed = stats["failed_shards"] or stats["failed_inputs"]
    return 0 if stats["documents"]["balanced"] and not failed else 1


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _release_config(args: argparse.Namespace) -> PipelineConfig:
    overrides = {"output": str(args.output)} if getattr(args, "output", None) else {}
    return load_config(args.config, overrides)


def command_release(args: argparse.Namespace) -> int:
    from transforms.release.build import (
        InvalidVersion,
        ReleaseError,
        create_release,
        validate_version,
    )
    from transforms.release.store import InvalidLocation, check_url

    try:
        config = _release_config(args)
        validate_version(args.version)
        if args.publish:
            check_url(args.publish)
    except (ConfigError, InvalidVersion, InvalidLocation) as err:
        return _fail(str(err))
    if not (config.output / "data").is_dir():
        return _fail(f"no dataset in {config.output} (run `zhclean run` first)", status=1)
    from transforms.engine.lock import OutputLocked, output_lock

    try:
        with output_lock(config.output):
            release = create_release(
                config.output, args.version, config, include_rejected=args.with_rejected
            )
    except (OutputLocked, ReleaseError) as err:
        return _fail(_one_line(err), status=1)
    except Exception as err:
        log = _write_error_log(config.output)
        return _fail(
            f"release failed: {type(err).__name__}: {_one_line(err)} (traceback in {log})", 1
        )
    if not args.quiet:
        data = release.files("data")
        size = sum(f["bytes"] for f in data)
        print(
            f"zhclean: release {release.version}: {release.documents:,} documents in "
            f"{len(data)} data file(s), {size:,} bytes -> {release.path}"
        )
    if args.publish:
        return _publish(release.path, args.publish, config, args.quiet)
    return 0


def _publish(release_dir: Path, url: str, config: PipelineConfig, quiet: bool) -> int:
    from transforms.release.build import ReleaseError
    from transforms.release.store import publish_release

    try:
        verified = publish_release(release_dir, url, config.release.storage_options)
    except ReleaseError as err:
        return _fail(f"publish failed: {_one_line(err)}", status=1)
    except Exception as err:  # network, permissions, missing bucket: say what, in one line
        return _fail(
            f"publish of {release_dir} to {url} failed: {type(err).__name__}: {_one_line(err)}",
            status=1,
        )
    if not quiet:
        print(f"zhclean: published to {verified.location} and verified: {verified.files} files")
    return 0


def command_publish(args: argparse.Namespace) -> int:
    from transforms.release.store import InvalidLocation, check_url

    try:
        config = _release_config(args)
        check_url(args.url)
    except (ConfigError, InvalidLocation) as err:
        return _fail(str(err))
    return _publish(args.release, args.url, config, args.quiet)


def command_verify(args: argparse.Namespace) -> int:
    from transforms.release.build import ReleaseError
    from transforms.release.store import verify_release

    try:
        config = _release_config(args)
    except ConfigError as err:
        return _fail(str(err))
    try:
        verified = verify_release(args.release, config.release.storage_options)
    except ReleaseError as err:
        return _fail(f"release does not verify: {_one_line(err)}", status=1)
    except Exception as err:
        return _fail(f"cannot verify {args.release}: {type(err).__name__}: {_one_line(err)}", 1)
    if not args.quiet:
        print(f"zhclean: {verified.summary()}")
    return 0


def _write_error_log(output: Path) -> Path:
    """The traceback in ``<output>/zhclean-error.log``, or in the temporary folder when the
    output cannot take it (the run failed because the disk is full or read-only)."""
    import tempfile
    import traceback

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
    commands = {
        "run": command_run,
        "release": command_release,
        "verify": command_verify,
        "publish": command_publish,
        "serve": command_serve,
    }
    status = commands[args.command](args) if args.command in commands else 2
    if argv is None:  # a real process exit, not a call from tests
        _silence_exit_noise()
    return status


if __name__ == "__main__":
    sys.exit(main())
