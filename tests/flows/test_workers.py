import os

from flows.workers import in_worker, worker_pool


def test_jobs_run_in_another_process_inside_a_pool():
    with worker_pool(2):
        assert in_worker(os.getpid) != os.getpid()


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

    from flows.workers import WorkerLost

    with worker_pool(2):
        with pytest.raises(WorkerLost, match="_die_once"):
            in_worker(_die_once, str(tmp_path / "marker"))
        # The same job again, as a Prefect retry would run it, succeeds on a new pool.
        assert in_worker(_die_once, str(tmp_path / "marker")) != os.getpid()
