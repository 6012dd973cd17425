"""Prefect servers zhclean starts, and the Prefect API a command-line run talks to.

With ``PREFECT_API_URL`` set, a run uses that server.  Otherwise Prefect
would start its temporary server only when the flow begins, and importing
the server's code in the flow's process first costs seconds more: measured,
the flow began 8 s after the command started, most of a 20,000-document
run's wall time (bench/RESULTS.md).  ``TemporaryServer`` starts the same
server (Prefect's own app in ephemeral mode, the database in
``PREFECT_HOME``) as a subprocess the moment the command starts, so that it
boots while the flow's process imports its modules and the worker
processes warm up, and points ``PREFECT_API_URL`` at it.

Worker processes and Dask workers started by the run inherit the variable,
so they report to the same server instead of each starting their own
(../shared/FACTS.md).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DEFAULT_STARTUP_TIMEOUT = 120.0


class ServerStartError(RuntimeError):
    """A Prefect server did not become healthy."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthy(api_url: str) -> bool:
    """Whether the Prefect API at ``api_url`` answers its health check."""
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


class ServerProcess:
    """A Prefect server as a child process: its API's address, its log, start-up and stop.

    ``name`` says which server in messages; the log file is kept when the
    server fails to start (the message names it) and removed otherwise.
    """

    name = "Prefect's server"

    def __init__(
        self, command: list[str], env: dict[str, str], port: int, host: str = "127.0.0.1"
    ) -> None:
        self.port = port
        self.url = f"http://{host}:{port}"
        self.api_url = f"{self.url}/api"
        self.log = Path(tempfile.mkstemp(prefix="zhclean-prefect-server-", suffix=".log")[1])
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Out of the terminal's process group: Ctrl-C stops zhclean, which
                # then still reports to the server and stops it itself.
                start_new_session=True,
            )

    def wait_until_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerStartError(
                    f"{self.name} exited with status {self.process.returncode}"
                    f" (its output is in {self.log})"
                )
            if healthy(self.api_url):
                return
            time.sleep(0.1)
        raise ServerStartError(
            f"{self.name} did not answer within {timeout:.0f} s"
            f" (PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS; its output is in {self.log})"
        )

    def stop(self, keep_log: bool = True, timeout: float = 10) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not keep_log:
            self.log.unlink(missing_ok=True)


# Runs first in the server's process, then replaces itself with the server's
# command: Linux sends SIGTERM to the server when the thread that started it
# ends, so a run that is SIGKILLed leaves no server behind.  (The signal is
# kept across exec; not on other systems, where prctl does not exist.)
_ENDS_WITH_PARENT = """
import ctypes, os, signal, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
except (AttributeError, OSError):
    pass
if os.getppid() != int(sys.argv[1]):
    sys.exit(1)  # the parent ended before prctl took effect
os.execvp(sys.argv[2], sys.argv[2:])
"""


ZHCLEAN_APP = "flows.server_app:create_app"


class TemporaryServer(ServerProcess):
    """Prefect's server app, ephemeral mode, in a subprocess on a free local port.

    The subprocess ends with the thread that created this object (Linux), even
    when that is killed with SIGKILL: create it in a thread that lives as long
    as the run, such as the main thread.
    """

    name = "Prefect's temporary server"

    # ``app``: Prefect's own, ``prefect.server.api.server:create_app``, for comparison.
    def __init__(self, command: list[str] | None = None, app: str = ZHCLEAN_APP) -> None:
        port = free_port()
        # The command Prefect's own temporary server runs
        # (prefect.server.api.server.SubprocessASGIServer), with Prefect's app
        # wrapped to skip start-up set-up that has nothing to do (flows.server_app).
        command = command or [
            *(sys.executable, "-m", "uvicorn", "--factory", app),
            *("--host", "127.0.0.1", "--port", str(port)),
            *("--log-level", "error", "--lifespan", "on"),
        ]
        env = {
            **os.environ,
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
        }
        wrapped = [sys.executable, "-c", _ENDS_WITH_PARENT, str(os.getpid()), *command]
        super().__init__(wrapped, env, port)


class PrefectServer(ServerProcess):
    """``prefect server start``: the API, the UI and the scheduler, for ``zhclean serve``."""

    name = "`prefect server start`"

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        command = [sys.executable, "-m", "prefect", "server", "start"]
        command += ["--host", host, "--port", str(port), "--log-level", "WARNING"]
        env = dict(os.environ)
        env.pop("PREFECT_API_URL", None)
        # zhclean's quiet defaults turn the UI off for run's temporary server; a
        # long-lived server is where people look at runs.
        env["PREFECT_UI_ENABLED"] = "true"
        super().__init__(command, env, port, host)


def _drain_prefect_clients() -> None:
    """Deliver the run's queued logs and events before the server goes away."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)
    EventsWorker.drain_all(timeout=10)


@contextmanager
def prefect_api() -> Iterator[TemporaryServer | None]:
    """Inside the block, Prefect calls go to a Prefect server.

    The user's own server wins (None is yielded): ``PREFECT_API_URL`` in the
    environment or in Prefect's settings (the active profile, ``prefect.toml``).
    Otherwise a temporary server starts now; call ``wait_until_healthy`` on it
    before the first Prefect call.  It is stopped, and the settings restored,
    on exit.
    """
    if os.environ.get("PREFECT_API_URL"):
        yield None
        return
    # Started before Prefect's settings are read (that import alone takes a
    # second or more): most runs use this server, and it boots meanwhile.
    server = TemporaryServer()
    clean_exit = False
    try:
        # Imported before the variable is set: Prefect fixes its settings from
        # the environment at its first import, and they must not keep this
        # server's address after the block.
        from prefect.settings import (
            PREFECT_API_URL,
            PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
            temporary_settings,
        )

        if PREFECT_API_URL.value():  # the user's profile names a server
            server.stop(keep_log=False)
            clean_exit = True
            yield None
            return
        # Child processes read the variable; this process, the settings.
        os.environ["PREFECT_API_URL"] = server.api_url
        # No flow-run heartbeats: they let a long-lived server notice a crashed
        # run, but this server ends with the run.  Their thread sleeps in whole
        # seconds and is joined when the flow ends: measured, 1.0 s of every
        # run's wall time.
        updates = {PREFECT_API_URL: server.api_url, PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
        with temporary_settings(updates=updates):
            try:
                yield server
            finally:
                _drain_prefect_clients()
        clean_exit = True
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        server.stop(keep_log=not clean_exit)


def startup_timeout() -> float:
    value = os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS")
    return float(value) if value else DEFAULT_STARTUP_TIMEOUT
