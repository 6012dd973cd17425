"""``zhclean run --dask-address``: the flow on a real Dask cluster (a scheduler and two workers).

The cluster runs on 127.0.0.1 in processes of its own, started the way a user
starts one (``dask scheduler``, ``dask worker``), in another working
directory than the flow's.  Every job must run in a Dask worker process (each
job records ``host:pid`` in its summary and the task logs it to Prefect),
and the dataset must be the one a local run makes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import pytest

from flows.server import free_port
from tests.flows.corpus import SAMPLE, write_jsonl_corpus
from tests.flows.reliability_support import outcome, prefect_server, read_stats, run_cli

pytestmark = pytest.mark.slow

START_TIMEOUT = 90.0
LOG_TIMEOUT = 30.0
JOB_LINE = re.compile(r"^(\w+) ran in (.+):(\d+)$")


@dataclass
class DaskCluster:
    address: str
    worker_pids: set[int]
    logs: Path


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def prefect_api_url() -> Iterator[str]:
    """One Prefect server for the module; the flow and the Dask workers report to it."""
    with prefect_server():
        yield os.environ["PREFECT_API_URL"]


@pytest.fixture(scope="module")
def dask_cluster(prefect_api_url, tmp_path_factory) -> Iterator[DaskCluster]:
    from distributed import Client

    home = tmp_path_factory.mktemp("dask")
    address = f"tcp://127.0.0.1:{free_port()}"
    env = {**os.environ, "PREFECT_API_URL": prefect_api_url}
    dask = [sys.executable, "-m", "dask"]
    processes: list[subprocess.Popen] = []
    try:

        def start(name: str, *args: str) -> None:
            with open(home / f"{name}.log", "wb") as log:
                processes.append(
                    subprocess.Popen(
                        [*dask, *args],
                        cwd=home,  # not the repository: paths must be absolute
                        env=env,
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )

        port = address.rsplit(":", 1)[1]
        start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard")
        for i in (1, 2):
            start(
                f"worker{i}",
                "worker",
                address,
                "--nworkers",
                "1",
                "--nthreads",
                "1",
                "--no-dashboard",
                "--name",
                f"worker{i}",
            )
        with Client(address, timeout=START_TIMEOUT) as client:
            client.wait_for_workers(2, timeout=START_TIMEOUT)
            pids = set(client.run(os.getpid).values())
        assert len(pids) == 2 and os.getpid() not in pids
        yield DaskCluster(address, pids, home)
    finally:
        for process in reversed(processes):
            _stop(process)


def _job_lines(run_id: str, expected: int) -> list[tuple[str, int]]:
    """(job, pid) of every "JOB ran in HOST:PID" line the run's tasks logged to Prefect.

    The Dask workers send their logs in batches: poll until ``expected`` lines are in.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    log_filter = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[UUID(run_id)]))
    deadline = time.monotonic() + LOG_TIMEOUT
    while True:
        lines = []
        with get_client(sync_client=True) as client:
            offset = 0
            while page := client.read_logs(log_filter=log_filter, limit=200, offset=offset):
                lines += [m.groups() for log in page if (m := JOB_LINE.match(log.message))]
                offset += len(page)
        if len(lines) >= expected or time.monotonic() > deadline:
            return [(job, int(pid)) for job, _host, pid in lines]
        time.sleep(0.5)


@pytest.fixture(scope="module")
def synthetic_corpus(tmp_path_factory) -> Path:
    return write_jsonl_corpus(tmp_path_factory.mktemp("corpus") / "in", files=6, docs_per_file=25)


@pytest.mark.parametrize("corpus", ["sample", "synthetic"])
def test_a_dask_run_makes_the_local_dataset_with_every_job_on_the_dask_workers(
    corpus, dask_cluster, synthetic_corpus, tmp_path
):
    inputs = str(SAMPLE if corpus == "sample" else synthetic_corpus)
    shard_mb = "0.001" if corpus == "sample" else "0.02"  # several shards either way
    common = [inputs, "--shard-max-mb", shard_mb, "--quiet"]

    on_dask = run_cli(*common, "-o", str(tmp_path / "dask"), "--dask-address", dask_cluster.address)
    assert on_dask.status == 0, on_dask.stderr
    local = run_cli(*common, "-o", str(tmp_path / "local"), "--workers", "1")
    assert local.status == 0, local.stderr

    assert outcome(tmp_path / "dask") == outcome(tmp_path / "local")
    stats = read_stats(tmp_path / "dask")
    assert stats["documents"] == read_stats(tmp_path / "local")["documents"]
    if corpus == "sample":
        assert (stats["documents"]["extracted"], stats["documents"]["kept"]) == (19, 16)
    shards = stats["inputs"]["shards"]
    assert shards >= 5

    partitions = stats["config"]["run"]["dedup_partitions"]
    expected = {
        "prepare_shard": shards,
        "find_exact_duplicates": 1,
        "find_candidate_pairs": partitions,
        "resolve_duplicates": 1,
        "finish_shard": shards,
    }
    jobs = _job_lines(stats["run_id"], sum(expected.values()))
    counts = {name: sum(job == name for job, _ in jobs) for name in expected}
    assert counts == expected
    used = {pid for _, pid in jobs}
    assert used <= dask_cluster.worker_pids, f"jobs ran outside the Dask workers: {used}"
    assert used == dask_cluster.worker_pids  # both workers took work
    pair_pids = {pid for job, pid in jobs if job == "find_candidate_pairs"}
    assert pair_pids <= dask_cluster.worker_pids


def test_dask_without_a_prefect_server_is_refused_in_one_line(monkeypatch, tmp_path):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    # Neither the environment nor Prefect's settings (a profile; here the
    # module's server, if its fixture is active) name a server.
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        result = run_cli(
            str(SAMPLE), "-o", str(tmp_path / "out"), "--dask-address", "tcp://127.0.0.1:1"
        )
    assert result.status == 2
    assert result.stderr.count("\n") == 1
    assert "PREFECT_API_URL" in result.stderr and "prefect server start" in result.stderr
    assert not (tmp_path / "out").exists()
