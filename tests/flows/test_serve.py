"""``zhclean serve``: a real Prefect server, the deployment, runs triggered through Prefect.

``serve`` runs as a user runs it, in its own process with no PREFECT_API_URL,
so it starts its own ``prefect server start`` (in a fresh PREFECT_HOME).  Runs
are triggered with the command the README gives (``prefect deployment run``)
and followed through Prefect's API, never by calling the flow.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import pytest

from flows.cli import main
from flows.server import free_port, healthy
from tests.flows.reliability_support import CliRun
from tests.paths import SAMPLE
from transforms.engine.lock import output_lock

START_TIMEOUT = 120.0
RUN_TIMEOUT = 120.0
ANNOUNCED = re.compile(r"PREFECT_API_URL=(\S+) prefect deployment run '([^']+)'")


@dataclass
class Served:
    process: subprocess.Popen
    api_url: str
    deployment: str
    output: Path
    env: dict[str, str]
    stdout: Path
    stderr: Path


def _wait_for(what: str, check, timeout: float, process: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if process is not None and process.poll() is not None:
            raise AssertionError(f"zhclean serve exited ({process.returncode}) before {what}")
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _serve_cli(*args: str):
    """``zhclean serve ARGS`` in this process, for the refusals that return at once."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["serve", *args])
    return CliRun(status, out.getvalue(), err.getvalue())


def test_an_invalid_cron_is_a_usage_error(tmp_path):
    result = _serve_cli(str(SAMPLE), "-o", str(tmp_path / "out"), "--cron", "61 3 * * *")
    assert result.status == 2 and result.stderr.count("\n") == 1
    assert "invalid --cron" in result.stderr and "61 3 * * *" in result.stderr
    bad_zone = _serve_cli(str(SAMPLE), "--cron", "0 3 * * *", "--timezone", "Mars/Olympus")
    assert bad_zone.status == 2 and "Mars/Olympus" in bad_zone.stderr


def test_a_prefect_api_url_that_does_not_answer_is_not_replaced(monkeypatch, tmp_path):
    url = f"http://127.0.0.1:{free_port()}/api"
    monkeypatch.setenv("PREFECT_API_URL", url)
    result = _serve_cli(str(SAMPLE), "-o", str(tmp_path / "out"))
    assert result.status == 1 and result.stderr.count("\n") == 1
    assert f"PREFECT_API_URL ({url}) does not answer" in result.stderr


def test_a_dask_cluster_needs_a_prefect_server_the_workers_reach(tmp_path):
    # A process of its own (no PREFECT_API_URL, a fresh Prefect profile): if it wrongly
    # went on to start a server and serve, the timeout ends it and the test fails.
    config = tmp_path / "zhclean.toml"
    config.write_text('[run]\ndask_address = "tcp://127.0.0.1:8786"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    command = [sys.executable, "-m", "flows.cli", "serve", str(SAMPLE), "--config", str(config)]
    command += ["-o", str(tmp_path / "out"), "--port", str(free_port())]
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    assert process.returncode == 2 and stderr.count("\n") == 1, stdout + stderr
    assert "PREFECT_API_URL" in stderr and "prefect server start" in stderr


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("serve")
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_PROFILE")}
    # A fresh Prefect database, and the runner polls often (default every 10 s).
    env.update(PREFECT_HOME=str(home / "prefect-home"), PREFECT_RUNNER_POLL_FREQUENCY="2")
    output = home / "out"
    stdout, stderr = home / "serve.out", home / "serve.err"
    command = [sys.executable, "-m", "flows.cli", "serve", str(SAMPLE), "-o", str(output)]
    command += ["--cron", "0 3 * * *", "--name", "test", "--port", str(free_port())]
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        # Its own process group: the finalizer can end serve and the server it started.
        process = subprocess.Popen(
            command, cwd=home, env=env, stdout=out, stderr=err, start_new_session=True
        )
    try:
        found = _wait_for(
            "the deployment",
            lambda: ANNOUNCED.search(stdout.read_text(encoding="utf-8")),
            START_TIMEOUT,
            process,
        )
        yield Served(process, found.group(1), found.group(2), output, env, stdout, stderr)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _trigger(served: Served) -> UUID:
    """``prefect deployment run`` as the README says; the new flow run's id."""
    done = subprocess.run(
        [sys.executable, "-m", "prefect", "deployment", "run", served.deployment],
        env={**served.env, "PREFECT_API_URL": served.api_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return UUID(re.search(r"UUID: ([0-9a-f-]{36})", done.stdout).group(1))


def _final_state(served: Served, flow_run_id: UUID):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    def final():
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(flow_run_id).state
        return state if state is not None and state.is_final() else None

    with temporary_settings(updates={PREFECT_API_URL: served.api_url}):
        return _wait_for("the flow run to end", final, RUN_TIMEOUT, served.process)


def _deployment(served: Served):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with (
        temporary_settings(updates={PREFECT_API_URL: served.api_url}),
        get_client(sync_client=True) as client,
    ):
        return client.read_deployment_by_name(served.deployment)


@pytest.mark.slow
def test_serve_announces_its_own_server_and_the_nightly_deployment(served):
    line = served.stdout.read_text(encoding="utf-8")
    assert line.count("\n") == 1
    assert "started by zhclean serve" in line and "'zhclean/test'" in line
    deployment = _deployment(served)
    assert [s.schedule.cron for s in deployment.schedules] == ["0 3 * * *"]
    assert [s.schedule.timezone for s in deployment.schedules] == ["UTC"]
    config = deployment.parameters["config"]
    assert config["inputs"] == [str(SAMPLE)] and config["output"] == str(served.output)


@pytest.mark.slow
def test_triggered_runs_hold_the_output_lock_and_clean_the_sample(served):
    # Another writer holds the output folder: the deployment's run must fail, not write.
    with output_lock(served.output):
        state = _final_state(served, _trigger(served))
    assert state.is_failed()
    assert "another zhclean run" in (state.message or "")
    assert not (served.output / "stats.json").exists()

    state = _final_state(served, _trigger(served))
    assert state.is_completed(), state.message
    stats = json.loads((served.output / "stats.json").read_text(encoding="utf-8"))
    assert stats["documents"]["extracted"] == 19 and stats["documents"]["kept"] == 16
    assert len(list((served.output / "data").glob("*.parquet"))) >= 1


@pytest.mark.slow
def test_sigterm_stops_serve_and_the_server_it_started(served):
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(timeout=60) == 0
    assert _wait_for("the server to stop", lambda: not healthy(served.api_url), 30)
    assert "Traceback" not in served.stderr.read_text(encoding="utf-8")
