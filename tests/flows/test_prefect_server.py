import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.server import ServerStartError, TemporaryServer, prefect_api
from tests.paths import REPO


def test_the_users_own_prefect_server_is_used_as_it_is(monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    with prefect_api() as server:
        assert server is None
        assert os.environ["PREFECT_API_URL"] == "http://127.0.0.1:4200/api"


def test_a_temporary_server_serves_prefect_inside_the_block_and_stops_after(monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY

    heartbeats = PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value()
    with prefect_api() as server:
        assert server is not None
        server.wait_until_healthy(120)
        # Child processes (env) and this process's Prefect settings both point at it.
        assert os.environ["PREFECT_API_URL"] == server.api_url == PREFECT_API_URL.value()
        # Nothing watches heartbeats on a server that ends with the run.
        assert PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value() is None
    assert server.process.poll() is not None
    assert "PREFECT_API_URL" not in os.environ
    assert not PREFECT_API_URL.value()
    assert PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value() == heartbeats
    assert not server.log.exists()


def test_a_server_that_exits_at_start_is_reported_with_its_output():
    server = TemporaryServer(
        command=[sys.executable, "-c", "import sys; print('no database'); sys.exit(3)"]
    )
    with pytest.raises(ServerStartError, match="exited with status 3") as failure:
        server.wait_until_healthy(30)
    assert str(server.log) in str(failure.value)
    assert "no database" in server.log.read_text()
    server.log.unlink()


def test_a_server_named_in_prefects_settings_is_used_and_none_is_left_running(monkeypatch):
    """A profile's PREFECT_API_URL (not the environment's) also wins over a temporary server."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    import flows.server as prefect_server

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    started = []

    class RecordedServer(TemporaryServer):
        def __init__(self) -> None:
            super().__init__(command=[sys.executable, "-c", "import time; time.sleep(60)"])
            started.append(self)

    monkeypatch.setattr(prefect_server, "TemporaryServer", RecordedServer)
    profile_url = temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:4200/api"})
    with profile_url, prefect_api() as server:
        assert server is None
        assert "PREFECT_API_URL" not in os.environ  # workers read the same profile
        assert PREFECT_API_URL.value() == "http://127.0.0.1:4200/api"
    [unused] = started
    assert unused.process.poll() is not None
    assert not unused.log.exists()


def _running(pid: int) -> bool:
    """``pid`` exists and is not a zombie (an orphan's zombie may wait for a reaper here)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_temporary_server_ends_when_the_run_is_killed():
    """A SIGKILLed run cannot stop its server; the server notices and ends itself."""
    script = (
        "import sys, time\n"
        "from flows.server import TemporaryServer\n"
        "server = TemporaryServer(command=[sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        "print(server.process.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    run = subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    server_pid = int(run.stdout.readline())
    try:
        time.sleep(0.5)  # past the start-up check: the server is the sleeping command now
        assert _running(server_pid)
        run.send_signal(signal.SIGKILL)
        run.wait()
        deadline = time.monotonic() + 10
        while _running(server_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _running(server_pid)
    finally:
        run.kill()
        if _running(server_pid):
            os.kill(server_pid, signal.SIGKILL)
