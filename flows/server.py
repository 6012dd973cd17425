"""The Prefect API a command-line run talks to: the user's server, or a temporary one.

With ``PREFECT_API_URL`` set, a run uses that server.  Otherwise Prefect
would start its temporary server only when the flow begins, and importing
the server's code in the flow's process first costs seconds more: measured,
the flow began 8 s after the command started, most of a 20,000-document
run's wall time (bench/RESULTS.md).  ``temporary_server`` starts the same
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
    """The temporary Prefect server did not become healthy."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


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


class TemporaryServer:
    """Prefect's server app, ephemeral mode, in a subprocess on a free local port.

    The subprocess ends with the thread that created this object (Linux), even
    when that is killed with SIGKILL: create it in a thread that lives as long
    as the run, such as the main thread.
    """

    # ``app``: Prefect's own, ``prefect.server.api.server:create_app``, for comparison.
    def __init__(self, command: list[str] | None = None, app: str = ZHCLEAN_APP) -> None:
        self.port = _free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.log = Path(tempfile.mkstemp(prefix="zhclean-prefect-server-", suffix=".log")[1])
        # The command Prefect's own temporary server runs
        # (prefect.server.api.server.SubprocessASGIServer), with Prefect's app
        # wrapped to skip start-up set-up that has nothing to do (flows.server_app).
        command = command or [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            app,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "error",
            "--lifespan",
            "on",
        ]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _ENDS_WITH_PARENT, str(os.getpid()), *command],
                env={
                    **os.environ,
                    "PREFECT_UI_ENABLED": "0",
                    "PREFECT__SERVER_EPHEMERAL": "1",
                    "PREFECT__SERVER_FINAL": "1",
                },
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Out of the terminal's process group: Ctrl-C stops the run, which
                # then still reports to the server and stops it itself.
                start_new_session=True,
            )

    def wait_until_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerStartError(
                    f"Prefect's temporary server exited with status {self.process.returncode}"
                    f" (its output is in {self.log})"
                )
            if _healthy(self.api_url):
                return
            time.sleep(0.1)
        raise ServerStartError(
            f"Prefect's temporary server did not answer within {timeout:.0f} s"
            f" (PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS; its output is in {self.log})"
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


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
            server.stop()
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
        server.stop()
        if clean_exit:
            server.log.unlink(missing_ok=True)


def startup_timeout() -> float:
    value = os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS")
    return float(value) if value else DEFAULT_STARTUP_TIMEOUT
