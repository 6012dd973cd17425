"""Worker processes for the CPU-bound shard jobs.

The stages are pure Python (HTML parsing, normalization, hashing), so threads
share one core.  Prefect's own process-pool runner starts a temporary Prefect
server in every worker (../shared/FACTS.md); instead, Prefect tasks stay in the
flow's process and hand their job, a function of ``transforms.shard_jobs``
with paths for arguments, to a pool of plain worker processes that never
import Prefect.  Workers are spawned, not forked: forking a process that runs
Prefect's threads and event loop can deadlock.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

# The pool of the run in progress.  Module state because Prefect tasks cannot
# take a process pool as a parameter; ``worker_pool`` sets and clears it.
_pool: ProcessPoolExecutor | None = None


@contextmanager
def worker_pool(workers: int, warm_up: Callable[[], None] | None = None) -> Iterator[None]:
    """Run shard jobs in ``workers`` processes inside this block (in-process when 1).

    ``warm_up`` runs once in every worker as soon as it starts, so that loading
    modules and tables overlaps with whatever the caller does next (Prefect's
    server start-up takes seconds).
    """
    global _pool
    if workers <= 1:
        yield
        return
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=warm_up,
    )
    for _ in range(workers):
        pool.submit(int)  # start every worker now; initializer runs in each
    _pool = pool
    try:
        yield
    finally:
        _pool = None
        pool.shutdown(wait=True, cancel_futures=True)


def in_worker(job: Callable[..., T], *args: Any) -> T:
    """Run ``job(*args)`` in a worker process if a pool is active, else here."""
    if _pool is None:
        return job(*args)
    return _pool.submit(job, *args).result()
