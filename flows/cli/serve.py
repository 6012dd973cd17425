"""``zhclean serve``: the flow as a Prefect deployment, run on a schedule and on demand."""

from __future__ import annotations

import argparse
import signal
from typing import Any

from flows.cli.common import add_dataset_arguments, fail, one_line, usable_config
from flows.cli.run import DASK_NEEDS_SERVER


def add_parser(commands: Any) -> None:
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
    add_dataset_arguments(serve)
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
    serve.set_defaults(command_function=command_serve)


def command_serve(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {}
    if args.inputs:
        overrides["inputs"] = [str(p) for p in args.inputs]
    if args.output:
        overrides["output"] = str(args.output)
    config = usable_config(args.config, overrides)
    if isinstance(config, str):
        return fail(config)
    if not args.name or "/" in args.name:
        return fail(f"invalid deployment name {args.name!r}: give a name without '/'")
    from flows.prefect_env import configure_prefect_environment

    configure_prefect_environment()
    from flows.serve import check_schedule, configured_api_url

    problem = check_schedule(args.cron, args.timezone)
    if problem:
        return fail(f"invalid --cron/--timezone: {problem}")
    if config.run.dask_address and not configured_api_url():
        return fail(DASK_NEEDS_SERVER)
    # SIGTERM as Ctrl-C until the runner takes over: a server being started is stopped too.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return _serve(config, args)
    except KeyboardInterrupt:
        return 0  # stopped while starting: nothing left running
    finally:
        signal.signal(signal.SIGTERM, previous)


def _serve(config: Any, args: argparse.Namespace) -> int:
    from flows.serve import ServerUnreachable, choose_server, serve
    from flows.server import ServerStartError, startup_timeout

    try:
        server = choose_server(startup_timeout(), args.port)
    except (ServerUnreachable, ServerStartError) as err:
        return fail(str(err), status=1)
    try:
        serve(config, args.name, args.cron, args.timezone, server, announce=_announce)
    except Exception as err:
        return fail(f"serve failed: {type(err).__name__}: {one_line(err)}", status=1)
    finally:
        if server.started is not None:
            server.started.stop(keep_log=False, timeout=20)
    return 0


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _announce(line: str) -> None:
    print(line, flush=True)
