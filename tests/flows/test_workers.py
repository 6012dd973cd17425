import os
from pathlib import Path

from flows.runner import in_worker, worker_pool


def test_jobs_run_in_another_process_inside_a_pool():
    with worker_pool(2):
        assert in_worker(os.getpid) != os.getpid()


def _loaded_before_any_job() -> dict:
    import sys

    canonical = sys.modules.get("transforms.dedup.canonical")
    return {
        "shard_jobs": "transforms.engine.shard_jobs" in sys.modules,
        "tables": canonical is not None and canonical._fold_table.cache_info().currsize > 0,
        "parent": os.getppid(),
    }


def test_workers_start_with_the_shard_jobs_loaded_by_their_forkserver():
    with worker_pool(2):  # no warm-up of its own
        state = in_worker(_loaded_before_any_job)
    assert state["shard_jobs"] and state["tables"]
    assert state["parent"] != os.getpid()  # forked by the forkserver, not by this process


def test_one_worker_runs_jobs_in_this_process():
    with worker_pool(1):
        assert in_worker(os.getpid) == os.getpid()
    assert in_worker(os.getpid) == os.getpid()  # no pool outside the block


def test_job_errors_reach_the_caller():
    import pytest

    with worker_pool(2), pytest.raises(ZeroDivisionError):
        in_worker(divmod, 1, 0)


def _die_once(marker: str) -> int:
    import signal
    from pathlib import Path

    path = Path(marker)
    if not path.exists():
        path.write_text("died")
        os.kill(os.getpid(), signal.SIGKILL)
    return os.getpid()


def test_a_killed_worker_raises_worker_lost_and_the_pool_recovers(tmp_path):
    import pytest

    from flows.runner import WorkerLost

    with worker_pool(2):
        with pytest.raises(WorkerLost, match="_die_once"):
            in_worker(_die_once, str(tmp_path / "marker"))
        # The same job again, as a Prefect retry would run it, succeeds on a new pool.
        assert in_worker(_die_once, str(tmp_path / "marker")) != os.getpid()


def _append_and_return(path: str, value: str) -> str:
    from pathlib import Path

    with Path(path).open("a") as log:
        log.write(value + "\n")
    return value


def test_a_job_started_early_runs_once_and_its_result_is_awaited_by_key(tmp_path):
    from flows.runner import start_early

    log = tmp_path / "log"
    with worker_pool(2):
        assert start_early("shard-1", _append_and_return, str(log), "early")
        # The caller asks for the job under its key: the early run's result, not a second run.
        assert in_worker(_append_and_return, str(log), "late", key="shard-1") == "early"
        # A key asked for again (a Prefect retry) runs the job anew.
        assert in_worker(_append_and_return, str(log), "retry", key="shard-1") == "retry"
    assert log.read_text().split() == ["early", "retry"]


def test_nothing_starts_early_without_a_pool(tmp_path):
    from flows.runner import start_early

    assert not start_early("k", _append_and_return, str(tmp_path / "log"), "x")
    assert not (tmp_path / "log").exists()


def test_workers_exit_when_the_run_that_started_them_is_killed(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "owner.py"
    script.write_text(
        "import time\n"
        "from flows import runner as workers\n"
        "if __name__ == '__main__':\n"
        "    with workers.worker_pool(2):\n"
        "        processes = workers._pool.executor._processes\n"
        "        while len(processes) < 2:  # launched by a thread of the pool\n"
        "            time.sleep(0.05)\n"
        "        print(*processes, flush=True)\n"
        "        time.sleep(60)\n"
    )
    owner = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=Path.cwd()
    )
    pids = [int(p) for p in owner.stdout.readline().split()]
    assert len(pids) == 2
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    deadline = time.monotonic() + 15
    alive = pids
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [p for p in pids if Path(f"/proc/{p}").exists() and _not_zombie(p)]
    assert not alive, f"workers {alive} outlived their owner"


def _not_zombie(pid: int) -> bool:
    try:
        return " Z " not in Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
