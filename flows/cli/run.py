"""``zhclean run``: clean input files into a dataset, through Prefect."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import Any

from flows.cli.common import add_dataset_arguments, fail, usable_config, write_error_log
from flows.cli.options import add_setting_flags, overrides_from_args

INTERRUPTED = (
    "interrupted: nothing was published; the shards finished so far are kept, "
    "and the same command with --resume goes on from them"
)
DASK_NEEDS_SERVER = (
    "--dask-address (run.dask_address) needs a Prefect server that the Dask workers reach too: "
    "start one (`prefect server start --host 0.0.0.0`) and set "
    "PREFECT_API_URL=http://HOST:4200/api here and for the workers"
)


def add_parser(commands: Any) -> None:
    run = commands.add_parser(
        "run",
        help="clean input files into a dataset",
        description=(
            "Extract documents from raw dumps (.txt, .html, .jsonl, .jsonl.gz, .parquet), strip "
            "HTML, normalize, filter by quality, remove exact and near duplicates, segment, and "
            "write <output>/data (kept), <output>/rejected (with reasons) and "
            "<output>/stats.json. Settings come from defaults, then --config, then these flags."
        ),
    )
    add_dataset_arguments(run)
    add_setting_flags(run)
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
    run.set_defaults(command_function=command_run)


def command_run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    config = usable_config(args.config, overrides_from_args(args))
    if isinstance(config, str):
        return fail(config)
    from flows.prefect_env import configure_prefect_environment

    configure_prefect_environment()
    if config.run.dask_address:
        from flows.serve import configured_api_url

        if not configured_api_url():
            return fail(DASK_NEEDS_SERVER)
    try:
        stats = _run_with_prefect(config, args)
    except _Refused as err:
        return fail(str(err), status=err.status)
    if not args.quiet:
        print(_one_line_summary(stats, config.output, time.perf_counter() - started))
    for failure in stats["failed_shards"]:
        files = ", ".join(failure["files"])
        print(f"zhclean: error: shard failed ({files}): {failure['error']}", file=sys.stderr)
    for failure in stats["failed_inputs"]:
        print(
            f"zhclean: error: could not read {failure['path']}: {failure['error']}", file=sys.stderr
        )
    failed = stats["failed_shards"] or stats["failed_inputs"]
    return 0 if stats["documents"]["balanced"] and not failed else 1


class _Refused(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _run_with_prefect(config: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Lock the output, start the workers and Prefect's server, run the flow; the flow's stats.

    Raises ``_Refused`` with the exit status for what the user must see in one line.
    """
    from flows.runner import interrupt_workers, local_workers, warm_up_shard_workers, worker_pool
    from flows.server import prefect_api, startup_timeout
    from transforms.engine.lock import OutputLocked, output_lock

    def stop_now(signum: int, frame: Any) -> None:
        interrupt_workers()  # at once: waiting for the shards in progress could take minutes
        raise KeyboardInterrupt

    # The worker processes start first, then the server: both boot while this
    # process imports Prefect (the workers start 1.2 s sooner; a 20,000-document
    # run's wall time did not change measurably).
    pool = worker_pool(local_workers(config), warm_up_shard_workers)
    previous = signal.signal(signal.SIGINT, stop_now)
    try:
        with output_lock(config.output), pool, prefect_api() as server:
            api_ready = (lambda: server.wait_until_healthy(startup_timeout())) if server else None
            return _run_flow(config, args, api_ready)
    except OutputLocked as err:
        raise _Refused(str(err), 1) from err
    except KeyboardInterrupt as err:
        raise _Refused(INTERRUPTED, 130) from err
    except _Refused:
        raise
    except Exception as err:  # the run failed: say what in one line, keep the traceback
        log = write_error_log(config.output)
        raise _Refused(f"run failed: {type(err).__name__}: {err} (traceback in {log})", 1) from err
    finally:
        signal.signal(signal.SIGINT, previous)


def _run_flow(config: Any, args: argparse.Namespace, api_ready: Any) -> dict[str, Any]:
    # Imported while the server boots: the two overlap.
    from transforms.engine.dataset_state import DatasetMismatch, DatasetState

    if not args.full:
        try:
            DatasetState.load(config.output.resolve()).check_compatible(config.config_hash)
        except DatasetMismatch as err:
            raise _Refused(str(err), 2) from err
    from flows.flow import run_pipeline

    return run_pipeline(
        config,
        resume=args.resume,
        show_progress=not args.quiet,
        api_ready=api_ready,
        full=args.full,
    )


def _one_line_summary(stats: dict[str, Any], output: Path, seconds: float) -> str:
    docs = stats["documents"]
    reasons = ", ".join(f"{r} {n}" for r, n in stats["rejected_by_reason"].items())
    return (
        f"zhclean: {docs['extracted']} documents from {stats['inputs']['files']} files: "
        f"{docs['kept']} kept, {docs['rejected']} rejected"
        + (f" ({reasons})" if reasons else "")
        + f" -> {output}/ in {seconds:.1f} s"
    )
