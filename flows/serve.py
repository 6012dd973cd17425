"""``zhclean serve``: the flow as a Prefect deployment, run on a schedule and on demand.

A schedule fires only when Prefect's scheduler service runs, which a real
Prefect server (``prefect server start``) does and the temporary server of
``zhclean run`` does not (../shared/FACTS.md).  So ``serve`` uses, in order:

1. the server of ``PREFECT_API_URL`` (environment or Prefect profile), which
   must answer: a deployment on another server than the one asked for would
   be a surprise, so an unreachable one is an error, not a reason to start one;
2. a Prefect server already answering on 127.0.0.1:4200 (a plain
   ``prefect server start``; ``--port`` to look elsewhere);
3. else a server it starts itself: ``prefect server start --host 127.0.0.1``
   on that port (another free port if it is taken), with its database in
   ``PREFECT_HOME`` as usual, stopped when ``serve`` stops.

Then a Prefect runner in this process registers the deployment
``zhclean/NAME`` (flow ``flows.deployment.scheduled_clean``, the settings as
its ``config`` parameter) and runs each scheduled or triggered flow run in a
subprocess, one at a time.  On Ctrl-C or SIGTERM the runner stops (pausing
the schedule, cancelling a run in progress) and a server started here stops.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flows.server import PrefectServer, ServerStartError, free_port, healthy

if TYPE_CHECKING:
    from transforms.config import PipelineConfig

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4200


class ServerUnreachable(RuntimeError):
    """``PREFECT_API_URL`` names a server that does not answer."""


@dataclass
class ServerChoice:
    api_url: str
    how: str  # for the user: where the server comes from
    started: PrefectServer | None = None


def configured_api_url() -> str | None:
    """``PREFECT_API_URL`` from the environment or the active Prefect profile."""
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None


def _port_free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((DEFAULT_HOST, port))
        except OSError:
            return False
    return True


def choose_server(startup_timeout: float, port: int = DEFAULT_PORT) -> ServerChoice:
    """The Prefect server to serve on (see the module's docstring); starts one if needed.

    ``port``: where to look for a running server and start one (another free
    port if it is taken by something that is not a Prefect server).
    """
    configured = configured_api_url()
    if configured:
        if not healthy(configured):
            raise ServerUnreachable(
                f"the Prefect server of PREFECT_API_URL ({configured}) does not answer: start it, "
                "or unset PREFECT_API_URL to let `zhclean serve` start one"
            )
        return ServerChoice(configured, "PREFECT_API_URL")
    default = f"http://{DEFAULT_HOST}:{port}/api"
    if healthy(default):
        return ServerChoice(default, "found running")
    server = PrefectServer(port if _port_free(port) else free_port())
    try:
        server.wait_until_healthy(startup_timeout)
    except ServerStartError:
        server.stop(keep_log=True, timeout=20)  # the error names it
        raise
    except BaseException:  # Ctrl-C or SIGTERM while it starts
        server.stop(keep_log=False, timeout=20)
        raise
    return ServerChoice(server.api_url, "started by zhclean serve, stops with it", server)


def deployment_parameters(config: PipelineConfig) -> dict[str, Any]:
    """The deployment's parameters: every setting, with absolute paths.

    A flow run starts in the runner's working directory; absolute paths make
    it independent of it, and show in the UI exactly what a run will read
    and write.
    """
    settings = config.model_dump(mode="json")
    settings["inputs"] = [str(p.resolve()) for p in config.inputs]
    settings["output"] = str(config.output.resolve())
    return {"config": settings}


def check_schedule(cron: str | None, timezone: str) -> str | None:
    """Why ``cron`` in ``timezone`` is not a schedule Prefect accepts, or None."""
    from prefect.client.schemas.schedules import CronSchedule
    from pydantic import ValidationError

    try:
        CronSchedule(cron=cron or "0 3 * * *", timezone=timezone)
    except ValidationError as err:
        return "; ".join(e["msg"].removeprefix("Value error, ") for e in err.errors())
    return None


def schedule_text(cron: str | None, timezone: str) -> str:
    return f"cron '{cron}' {timezone}" if cron else "no schedule: runs when triggered"


def serve(
    config: PipelineConfig,
    name: str,
    cron: str | None,
    timezone: str,
    server: ServerChoice,
    announce: Callable[[str], None] = print,
) -> None:
    """Register deployment ``zhclean/NAME`` on ``server`` and run its flow runs until stopped.

    ``announce`` gets one line once the deployment exists.  Returns once the
    runner has stopped after SIGTERM or SIGINT (Ctrl-C); a server that
    ``choose_server`` started is for the caller to stop.
    """
    import asyncio

    from prefect.runner import Runner
    from prefect.schedules import Cron
    from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL, temporary_settings
    from prefect.types.entrypoint import EntrypointType

    from flows.deployment import FLOW_NAME, scheduled_clean

    # The runner's flow-run subprocesses read the variable; this process, the settings.
    os.environ["PREFECT_API_URL"] = server.api_url
    with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
        runner = Runner(name=f"zhclean-serve-{name}", pause_on_shutdown=True, limit=1)
        deployment_id = runner.add_flow(
            scheduled_clean,
            name=name,
            schedules=[Cron(cron, timezone=timezone)] if cron else None,
            parameters=deployment_parameters(config),
            description="zhclean: clean the configured inputs into the configured dataset",
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
        ui = PREFECT_UI_URL.value()  # Prefect's own guess from the API's address
        announce(
            f"zhclean: serving deployment '{FLOW_NAME}/{name}' ({schedule_text(cron, timezone)}) "
            f"on the Prefect server at {server.api_url} ({server.how}); "
            f"open {ui}/deployments/deployment/{deployment_id} or run "
            f"`PREFECT_API_URL={server.api_url} prefect deployment run '{FLOW_NAME}/{name}'`; "
            "Ctrl-C stops"
        )
        asyncio.run(_run_until_signalled(runner))


async def _run_until_signalled(runner: Any) -> None:
    """``runner.start()`` until SIGTERM or SIGINT, then the runner's own graceful stop.

    The runner's SIGTERM handler leaves its stop coroutine un-awaited (a
    RuntimeWarning on stderr) and exits mid-loop; this one stops it in its loop:
    a run in progress is cancelled, the schedule paused.
    """
    import asyncio
    import signal

    loop = asyncio.get_running_loop()
    serving = asyncio.ensure_future(runner.start())
    await asyncio.sleep(0)  # start() has set its SIGTERM handler before its first await

    stopping: list[asyncio.Future[None]] = []

    def stop() -> None:
        if stopping:
            return
        if runner.started:
            stopping.append(asyncio.ensure_future(runner.astop()))
        else:
            serving.cancel()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop)
    try:
        await serving
    except asyncio.CancelledError:
        pass
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    if stopping:
        await stopping[0]
