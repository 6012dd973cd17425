"""The zhclean flow: the pipeline's stages over every shard, then the commit.

``clean_corpus`` reads as the pipeline (``transforms.pipeline.STAGES``): the
stages before dedup run per shard, dedup's cross-shard steps run, the stages
from dedup on run per shard, and the run is committed.  The tasks
(``flows.tasks``) hand each job to a worker process (``flows.runner``); the
jobs and the stages are plain code of ``transforms``.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.context import get_run_context
from prefect.futures import as_completed
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from flows.artifact import publish_summary
from flows.progress import RunProgress, StageProgress, run_progress
from flows.runner import RunInterrupted, local_workers, start_early
from flows.tasks import (
    commit,
    dedup_candidate_pairs,
    dedup_exact,
    dedup_resolve,
    stages_before_dedup,
    stages_from_dedup,
)
from transforms import zhclean_version
from transforms.config import PipelineConfig
from transforms.engine.dataset_state import remove_uncommitted
from transforms.engine.dedup_jobs import DedupInputs, reset_stale_dedup
from transforms.engine.inputs import Shard
from transforms.engine.run_plan import RunPlan, plan_run, write_known_doc_ids
from transforms.engine.run_stats import RunIdentity, run_stats
from transforms.engine.shard_jobs import prepare_shard
from transforms.engine.work_layout import finished_marker, prepared_marker
from transforms.pipeline import BEFORE_DEDUP, FROM_DEDUP
from transforms.stage import Stage
from transforms.storage import read_json


class ShardsFailed(RuntimeError):
    """Every shard of a run failed: nothing was prepared, so nothing is published."""


@flow(name="clean-corpus", log_prints=False)
def clean_corpus(
    config: PipelineConfig,
    resume: bool = False,
    show_progress: bool = False,
    work_dir_ready: bool = False,
    full: bool = False,
) -> dict[str, Any]:
    """Clean every input into ``config.output``: kept documents, rejected documents, stats.json.

    With ``resume``, the jobs that a killed run with the same inputs and
    settings finished are not done again; without it, such leftovers are
    discarded and the run starts afresh.  ``work_dir_ready`` says that the
    caller has just emptied the work folder and started the first shard jobs
    in it (``start_early_jobs``).  Over an existing dataset the run adds the
    documents of new and changed inputs, unless ``full`` (see ``plan_run``).
    """
    started = time.perf_counter()
    identity = RunIdentity(str(get_run_context().flow_run.id), datetime.now(UTC), zhclean_version())
    plan = _open_run(config, resume, work_dir_ready, full)
    resumed = _resumed_jobs(plan) if resume else {"prepare": 0, "finish": 0}
    with run_progress(show_progress) as progress:
        failed = _stages_before_dedup(plan, progress)
        shard_ids = [s.shard_id for s in plan.shards if s.shard_id not in failed]
        _dedup(plan, shard_ids)
        _stages_from_dedup(plan, shard_ids, identity.lineage(plan.config.config_hash), progress)
    stats = run_stats(plan, identity, shard_ids, failed, resumed, time.perf_counter() - started)
    commit(plan, stats, shard_ids)
    _close_run(plan, stats)
    return stats


def _open_run(config: PipelineConfig, resume: bool, work_dir_ready: bool, full: bool) -> RunPlan:
    logger = get_run_logger()
    for path in remove_uncommitted(config.output.resolve()):
        logger.warning("removed %s, left by a run that stopped while publishing", path)
    plan = plan_run(config, full)
    if not resume and not work_dir_ready:
        shutil.rmtree(plan.work_dir, ignore_errors=True)
    write_known_doc_ids(plan)
    logger.info(
        "%s run: %d input files (%s), %d to do in %d shards (%d skipped), work folder %s",
        plan.mode,
        len(plan.discovery.files),
        ", ".join(f"{k} {v}" for k, v in plan.inputs.counts().items()),
        len(plan.inputs.to_process),
        len(plan.shards),
        len(plan.discovery.skipped),
        plan.work_dir,
    )
    return plan


def _resumed_jobs(plan: RunPlan) -> dict[str, int]:
    """How many shards' jobs a resumed run found finished."""
    return {
        phase: sum(marker(plan.work_dir, s.shard_id).exists() for s in plan.shards)
        for phase, marker in (("prepare", prepared_marker), ("finish", finished_marker))
    }


def _stages_before_dedup(plan: RunPlan, progress: RunProgress) -> dict[str, Any]:
    """The stages before dedup over every shard; a shard whose job still fails after its
    retries is left out, and returned with its error (by shard id).

    Such an error is deterministic (a bug met by some input): the other shards
    go on, and the failed shard's files are reported in ``failed_shards`` of
    the run's stats so that nothing is lost silently.  Its records were never
    extracted, so the kept/rejected counts hold for the shards that ran.

    An ``OSError`` stops the run instead: a job catches the read errors of
    its input files itself (``failed_inputs``), so what is left is the work
    folder's disk or permissions (full, read-only), which every shard meets.
    So does a run in which every shard failed: there is nothing to publish.
    """
    bar = progress.stage(_label(BEFORE_DEDUP), len(plan.shards), sum(s.size for s in plan.shards))
    futures = {stages_before_dedup.submit(s, plan.work_dir, plan.config): s for s in plan.shards}
    failed: dict[str, Any] = {}
    for future in as_completed(list(futures)):
        shard = futures[future]
        found = 0
        try:
            found = read_json(future.result())["stages"]["extract"]["input"]
        except (OSError, RunInterrupted):
            raise
        except Exception as err:  # reported in stats.json; the run goes on
            failed[shard.shard_id] = _failure(shard, err)
            get_run_logger().error("shard %s failed: %s", shard.shard_id, err)
        bar.shard_done(shard.size, found)
    if plan.shards and len(failed) == len(plan.shards):
        first = failed[plan.shards[0].shard_id]
        raise ShardsFailed(
            f"every shard failed ({len(plan.shards)}); the first, with "
            f"{', '.join(first['files'])}: {first['error']}"
        )
    return failed


def _label(stages: tuple[Stage, ...]) -> str:
    """A progress bar's label: the first and last stage its jobs run."""
    return f"{stages[0].name}…{stages[-1].name}"


def _failure(shard: Shard, err: Exception) -> dict[str, Any]:
    return {
        "shard_id": shard.shard_id,
        "files": [str(f.path) for f in shard.files],
        "error": f"{type(err).__name__}: {err}",
    }


def _dedup(plan: RunPlan, shard_ids: list[str]) -> None:
    """Dedup's cross-shard steps: exact duplicates, candidate pairs per band partition,
    then verification and clusters."""
    if not shard_ids or not plan.config.dedup.enabled:
        return  # nothing new: the published documents were deduplicated when they came
    inputs = DedupInputs(plan.work_dir, shard_ids, plan.index_dirs())
    reset_stale_dedup(inputs.work_dir, inputs.shard_ids)
    # Submitted, not called: a called task runs in the flow's process, and on a
    # Dask cluster these steps must run on its workers like the others.
    dedup_exact.submit(inputs).result()
    partitions = range(plan.config.run.dedup_partitions)
    for future in [dedup_candidate_pairs.submit(p, inputs) for p in partitions]:
        future.result()
    dedup_resolve.submit(inputs, plan.config).result()
    get_run_logger().info("deduplicated across %d shards", len(shard_ids))


def _stages_from_dedup(
    plan: RunPlan, shard_ids: list[str], lineage: dict[str, Any], progress: RunProgress
) -> None:
    sizes = {s.shard_id: s.size for s in plan.shards if s.shard_id in shard_ids}
    bar: StageProgress = progress.stage(_label(FROM_DEDUP), len(sizes), sum(sizes.values()))
    futures = {
        stages_from_dedup.submit(sid, plan.work_dir, plan.config, lineage): sid for sid in sizes
    }
    for future in as_completed(list(futures)):
        summary = read_json(future.result())
        bar.shard_done(sizes[futures[future]], summary["kept_rows"])


def _close_run(plan: RunPlan, stats: dict[str, Any]) -> None:
    docs = stats["documents"]
    get_run_logger().info(
        "published %s: %d documents extracted, %d kept, %d rejected",
        plan.config.output.resolve(),
        docs["extracted"],
        docs["kept"],
        docs["rejected"],
    )
    shutil.rmtree(plan.work_dir, ignore_errors=True)
    _remove_if_empty(plan.work_dir.parent)
    publish_summary(stats)


def _remove_if_empty(folder: Path) -> None:
    # Another run's work may still be there, or the folder is gone already.
    with contextlib.suppress(OSError):
        folder.rmdir()


def task_runner_for(config: PipelineConfig) -> TaskRunner:
    """Dask's runner for ``run.dask_address``, else threads that hand jobs to local workers."""
    if config.run.dask_address:
        from prefect_dask import DaskTaskRunner  # only a Dask run needs it (and dask)

        return DaskTaskRunner(address=config.run.dask_address)
    return ThreadPoolTaskRunner(max_workers=config.run.resolved_workers())


def start_early_jobs(config: PipelineConfig, full: bool = False) -> Path | None:
    """Empty a full run's work folder and start every shard's first job in the worker pool.

    Called before the flow while Prefect's server boots (seconds of idle
    workers otherwise); the flow's tasks then wait for these jobs instead of
    starting them.  Returns the work folder; None (nothing started) for an
    incremental run, which must first read the dataset.
    """
    plan = plan_run(config, full)
    if plan.incremental:
        return None
    shutil.rmtree(plan.work_dir, ignore_errors=True)
    for shard in plan.shards:
        marker = prepared_marker(plan.work_dir, shard.shard_id)
        start_early(marker, prepare_shard, shard, plan.work_dir, plan.config)
    return plan.work_dir


def run_pipeline(
    config: PipelineConfig,
    resume: bool = False,
    show_progress: bool = False,
    api_ready: Callable[[], None] | None = None,
    full: bool = False,
) -> dict[str, Any]:
    """Run the flow; return the run's stats.

    The caller holds the output folder's lock and the worker pool
    (``flows.runner.worker_pool`` with ``local_workers(config)``): the thread
    pool lets that many shard tasks be in flight at once, each handing its
    job to a worker process.  ``api_ready`` blocks until the Prefect API
    answers; the first jobs start before it is called, so that the two
    overlap.  With ``run.dask_address`` the tasks, and so their jobs, run on
    that Dask cluster's workers instead.
    """
    work_dir = None
    if api_ready is not None and not resume and local_workers(config) > 1:
        work_dir = start_early_jobs(config, full)
    if api_ready is not None:
        api_ready()
    stats = clean_corpus.with_options(task_runner=task_runner_for(config))(
        config, resume, show_progress, work_dir_ready=work_dir is not None, full=full
    )
    if work_dir is not None:
        # Gone already, unless the inputs changed between the two plans.
        shutil.rmtree(work_dir, ignore_errors=True)
        _remove_if_empty(work_dir.parent)
    return stats
