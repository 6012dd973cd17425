"""The worker runner: processes for the CPU-bound jobs of the engine.

The stages are pure Python (HTML parsing, normalization, hashing), so threads
share one core.  Prefect's own process-pool runner starts a temporary Prefect
server in every worker (../shared/FACTS.md); instead, Prefect tasks stay in the
flow's process and hand their job, a function of ``transforms.engine.shard_jobs``
with paths for arguments, to a pool of plain worker processes that never
import Prefect.  The caller that runs the flow (the ``run`` command, a
deployment's flow) starts one pool with ``worker_pool`` around it; without
one, jobs run in the calling process.  Workers are not forked from the run's process: forking a
process that runs Prefect's threads and event loop can deadlock.  They are
forked from a forkserver, a clean process that has loaded the shard jobs'
modules and tables once (``flows.worker_preload``), so that each worker starts
with them instead of loading them itself (about 1.8 CPU seconds a worker).

A worker that dies (killed, out of memory) breaks the whole pool; the pool is
then replaced and the jobs that were running raise ``WorkerLost``, which the
Prefect tasks retry.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from transforms.config import PipelineConfig

T = TypeVar("T")


class WorkerLost(RuntimeError):
    """A worker process died while running a job; running the job again may succeed."""


class RunInterrupted(RuntimeError):
    """The run was interrupted (Ctrl-C): no job starts any more."""


# Set by ``interrupt_workers``; cleared when the next pool starts.
_interrupted = threading.Event()


def _launch_workers(executor: ProcessPoolExecutor, workers: int) -> None:
    with contextlib.suppress(RuntimeError):  # shut down meanwhile (a run that ended at once)
        for _ in range(workers):
            executor.submit(int)


class WorkerPool:
    def __init__(self, workers: int, warm_up: Callable[[], None] | None) -> None:
        self.workers = workers
        self.warm_up = warm_up
        self._lock = threading.Lock()
        # Jobs started before the flow asked for them (``submit_early``), by key.
        self.early: dict[Hashable, tuple[ProcessPoolExecutor, Future[Any]]] = {}
        self.executor = self._start()

    def _start(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("forkserver")
        # Read when this process starts its forkserver, at its first pool.
        context.set_forkserver_preload([WORKER_PRELOAD])
        executor = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=context,
            initializer=_start_worker,
            initargs=(self.warm_up, os.getpid()),
        )
        # Start every worker now (the initializer runs in each), from a thread:
        # a launch waits for the forkserver's preload, a second or more, which
        # the caller spends starting Prefect's server and importing Prefect.
        threading.Thread(target=_launch_workers, args=(executor, self.workers), daemon=True).start()
        return executor

    def submit_early(self, key: Hashable, job: Callable[..., Any], *args: Any) -> None:
        self.early[key] = (self.executor, self.executor.submit(job, *args))

    def run(self, job: Callable[..., T], *args: Any, key: Hashable | None = None) -> T:
        early = self.early.pop(key, None) if key is not None else None
        executor, future = early or (self.executor, None)
        try:
            if future is None:
                future = executor.submit(job, *args)
            return future.result()
        except BrokenProcessPool as err:
            if _interrupted.is_set():
                raise RunInterrupted(f"interrupted while running {job.__name__}") from err
            with self._lock:
                if self.executor is executor:  # the first job to notice replaces the pool
                    executor.shutdown(wait=False, cancel_futures=True)
                    self.executor = self._start()
            raise WorkerLost(f"a worker process died while running {job.__name__}") from err

    def shutdown(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)

    def terminate(self) -> None:
        """End the workers now, jobs and all: their half-written files keep temporary names."""
        # No lock: called from a signal handler, which may interrupt its holder.
        executors = {id(e): e for e in (self.executor, *(e for e, _ in self.early.values()))}
        for executor in executors.values():
            # ProcessPoolExecutor offers no way to stop a running job but its processes.
            for process in list((executor._processes or {}).values()):
                process.terminate()
            executor.shutdown(wait=False, cancel_futures=True)


# How often a worker checks that the process that started it is still there.
PARENT_CHECK_SECONDS = 1.0

# Imported by the forkserver before it forks the first worker.
WORKER_PRELOAD = "flows.worker_preload"


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # it exists, as another user
    return False


def _exit_with_owner(parent: int, owner: int) -> None:
    """End this worker once the run's process ``owner`` is gone.

    A pool's workers hold both ends of its job queue, so they never see it
    close: when the run's process is killed (SIGKILL, or a Prefect runner
    cancelling a deployment's run) they would otherwise wait, or finish their
    shard, forever as orphans.  ``parent`` is the forkserver, which exits as
    soon as the owner does; a killed owner that is not yet reaped still
    exists, so the parent is watched as well.
    """
    while True:
        if os.getppid() != parent or _gone(owner):
            os._exit(1)
        time.sleep(PARENT_CHECK_SECONDS)


def warm_up_shard_workers() -> None:
    """``transforms.engine.shard_jobs.warm_up``, imported in the worker: the process that starts
    the pool need not import the shard jobs first."""
    from transforms.engine.shard_jobs import warm_up

    warm_up()


def _start_worker(warm_up: Callable[[], None] | None, owner: int) -> None:
    # Ctrl-C reaches every process of the terminal's process group; the run's
    # own process decides what stops (``interrupt_workers``), and a worker's
    # KeyboardInterrupt would only print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()
    threading.Thread(target=_exit_with_owner, args=(parent, owner), daemon=True).start()
    if warm_up is not None:
        warm_up()  # done already in the forkserver, unless its preload failed


# The pool of the run in progress.  Module state because Prefect tasks cannot
# take a process pool as a parameter; ``worker_pool`` sets and clears it.
_pool: WorkerPool | None = None


@contextmanager
def worker_pool(workers: int, warm_up: Callable[[], None] | None = None) -> Iterator[None]:
    """Run this process's jobs in ``workers`` worker processes inside the block (here when 1).

    ``warm_up`` runs once in every worker as soon as it starts, so that loading
    modules and tables overlaps with whatever the caller does next (Prefect's
    server start-up takes seconds).  One pool at a time: a second raises
    ``RuntimeError``.
    """
    global _pool
    if _pool is not None:
        raise RuntimeError("this process already runs a worker pool")
    _interrupted.clear()  # a new run
    if workers <= 1:
        yield
        return
    pool = WorkerPool(workers, warm_up)
    _pool = pool
    try:
        yield
    finally:
        _pool = None
        pool.shutdown()


def local_workers(config: PipelineConfig) -> int:
    """Worker processes this machine starts for the jobs of a run with ``config``.

    On a Dask cluster none (1: ``worker_pool`` then starts no pool): each task
    runs in a Dask worker process, and ``in_worker`` runs its job right there.
    """
    return 1 if config.run.dask_address else config.run.resolved_workers()


def interrupt_workers() -> None:
    """Stop the run's jobs now (Ctrl-C): no job starts any more, and the workers are ended.

    A job that runs in this process (one worker) cannot be stopped: it
    finishes, and no other starts.  Safe to call from a signal handler.
    """
    _interrupted.set()
    if _pool is not None:
        _pool.terminate()


def in_worker(job: Callable[..., T], *args: Any, key: Hashable | None = None) -> T:
    """Run ``job(*args)`` in a worker process if a pool is active, else here.

    If the same job was started early under ``key`` (``start_early``), its
    result is awaited instead of running it again.  Raises ``RunInterrupted``
    once ``interrupt_workers`` was called.
    """
    if _interrupted.is_set():
        raise RunInterrupted(f"interrupted before {job.__name__}")
    if _pool is None:
        return job(*args)
    return _pool.run(job, *args, key=key)


def start_early(key: Hashable, job: Callable[..., Any], *args: Any) -> bool:
    """Start ``job(*args)`` in a worker now, for a later ``in_worker(..., key=key)``.

    Used to start shard work while Prefect's server boots.  Returns False
    (nothing started) when no pool is active.
    """
    if _pool is None:
        return False
    _pool.submit_early(key, job, *args)
    return True
