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
