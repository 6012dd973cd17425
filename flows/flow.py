"""The zhclean flow: the list of stages, one Prefect task per shard.

Tasks are thin: each calls one job of ``transforms.engine.shard_jobs`` with paths and
returns paths.  A Prefect task costs 5-180 ms, so there is never one per
document.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pyarrow as pa
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import get_run_context
from prefect.futures import as_completed
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from flows.progress import StageProgress, run_progress
from flows.runner import RunInterrupted, in_worker, start_early, worker_pool
from transforms.config import PipelineConfig
from transforms.engine.commit import publish
from transforms.engine.dataset_state import (
    DatasetState,
    InputPlan,
    remove_uncommitted,
    run_tag,
)
from transforms.engine.dedup_jobs import (
    DedupInputs,
    find_candidate_pairs,
    find_exact_duplicates,
    reset_stale_dedup,
    resolve_duplicates,
)
from transforms.engine.inputs import Discovery, Shard, discover_inputs, plan_shards
from transforms.engine.parquet_io import read_json, write_table
from transforms.engine.shard_jobs import (
    finish_shard,
    lineage_for,
    prepare_shard,
    run_key,
    run_summary,
    warm_up,
)
from transforms.engine.work_layout import (
    exact_marker,
    finished_marker,
    known_doc_ids_path,
    pairs_marker,
    prepared_marker,
    resolved_marker,
)

WORK_DIR_NAME = ".work"


def pipeline_version() -> str:
    return version("zhclean")


def _unless_done(marker: Path, job, *args: Any) -> Path:
    """Run ``job`` in a worker unless its summary ``marker`` exists (a resumed run).

    A job started early (``start_preparing``) is keyed by its marker.
    """
    if marker.exists():
        return marker
    done = in_worker(job, *args, key=marker)
    # Where the job ran (a local worker, a Dask worker on some host): in the task's log.
    get_run_logger().info("%s ran in %s", job.__name__, read_json(done).get("worker", "?"))
    return done


# Retries cover transient I/O (a network filesystem hiccup); a deterministic
# error fails the same way again quickly.
@task(name="prepare-shard", retries=2, retry_delay_seconds=1, cache_policy=NO_CACHE)
def prepare_shard_task(shard: Shard, work_dir: Path, config: PipelineConfig) -> Path:
    return _unless_done(
        prepared_marker(work_dir, shard.shard_id), prepare_shard, shard, work_dir, config
    )


@task(name="exact-duplicates", retries=1, retry_delay_seconds=1, cache_policy=NO_CACHE)
def exact_duplicates_task(inputs: DedupInputs) -> Path:
    return _unless_done(exact_marker(inputs.work_dir), find_exact_duplicates, inputs)


@task(name="candidate-pairs", retries=1, retry_delay_seconds=1, cache_policy=NO_CACHE)
def candidate_pairs_task(partition: int, inputs: DedupInputs) -> Path:
    marker = pairs_marker(inputs.work_dir, partition)
    return _unless_done(marker, find_candidate_pairs, partition, inputs)


@task(name="resolve-duplicates", retries=1, retry_delay_seconds=1, cache_policy=NO_CACHE)
def resolve_duplicates_task(inputs: DedupInputs, config: PipelineConfig) -> Path:
    partitions = config.run.dedup_partitions
    marker = resolved_marker(inputs.work_dir)
    return _unless_done(marker, resolve_duplicates, inputs, partitions, config)


@task(name="finish-shard", retries=2, retry_delay_seconds=1, cache_policy=NO_CACHE)
def finish_shard_task(
    shard_id: str, work_dir: Path, config: PipelineConfig, lineage: dict[str, Any]
) -> Path:
    marker = finished_marker(work_dir, shard_id)
    return _unless_done(marker, finish_shard, shard_id, work_dir, config, lineage)


@task(name="publish", cache_policy=NO_CACHE)
def publish_task(work_dir: Path, output: Path, stats: dict[str, Any], **commit: Any) -> Path:
    return publish(work_dir, output, stats, **commit)


def summary_markdown(stats: dict[str, Any]) -> str:
    docs = stats["documents"]
    lines = [
        f"# zhclean run {stats['run_id']}",
        "",
        f"{docs['extracted']} documents extracted from {stats['inputs']['files']} files: "
        f"**{docs['kept']} kept**, {docs['rejected']} rejected "
        f"(extracted == kept + rejected: {'yes' if docs['balanced'] else '**NO**'}).",
        "",
        "| stage | in | kept | rejected | seconds |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, counts in stats["stages"].items():
        rejected = ", ".join(f"{r} {n}" for r, n in counts["rejected"].items()) or "0"
        lines.append(
            f"| {name} | {counts['input']} | {counts['kept']} | {rejected} | {counts['seconds']:.2f} |"
        )
    failures = [
        (f"shard {f['shard_id']} ({', '.join(f['files'])})", f["error"])
        for f in stats["failed_shards"]
    ] + [(f"input {f['path']}", f["error"]) for f in stats["failed_inputs"]]
    if failures:
        lines += ["", "**Failed** (not in this run's counts; the next run tries them again):", ""]
        lines += [f"- {what}: {error}" for what, error in failures]
    lines += ["", "| reason | documents |", "|---|---:|"]
    lines += [f"| {reason} | {n} |" for reason, n in stats["rejected_by_reason"].items()] or [
        "| (none) | 0 |"
    ]
    return "\n".join(lines)


def _remove_if_empty(folder: Path) -> None:
    # Another run's work may still be there, or the folder is gone already.
    with contextlib.suppress(OSError):
        folder.rmdir()


def _current_run_id() -> str:
    context = get_run_context()
    return str(context.flow_run.id)


def _skipped(discovery: Discovery) -> list[dict[str, str]]:
    return [{"path": s.path, "reason": s.reason} for s in discovery.skipped]


class ShardsFailed(RuntimeError):
    """Every shard of a run failed: nothing was prepared, so nothing is published."""


def _prepare_all(
    shards: list[Shard], work_dir: Path, config: PipelineConfig, progress: StageProgress
) -> dict[str, Any]:
    """Prepare every shard; a shard whose job still fails after its retries is left out.

    Such an error is deterministic (a bug met by some input): the other shards
    go on, and the failed shard's files are reported in ``failed_shards`` of
    the run summary so that nothing is lost silently.  Its records were never
    extracted, so the kept/rejected counts hold for the shards that ran.

    An ``OSError`` stops the run instead: a job catches the read errors of
    its input files itself (``failed_inputs``), so what is left is the work
    folder's disk or permissions (full, read-only), which every shard meets.
    So does a run in which every shard failed: there is nothing to publish.
    """
    futures = {prepare_shard_task.submit(s, work_dir, config): s for s in shards}
    failed: dict[str, Any] = {}
    for future in as_completed(list(futures)):
        shard = futures[future]
        try:
            summary = read_json(future.result())
        except (OSError, RunInterrupted):
            raise
        except Exception as err:  # reported in stats.json; the run goes on
            failed[shard.shard_id] = {
                "shard_id": shard.shard_id,
                "files": [str(f.path) for f in shard.files],
                "error": f"{type(err).__name__}: {err}",
            }
            summary = {"stages": {"extract": {"input": 0}}}
        progress.shard_done(shard.size, summary["stages"]["extract"]["input"])
    if shards and len(failed) == len(shards):
        first = failed[shards[0].shard_id]
        raise ShardsFailed(
            f"every shard failed ({len(shards)}); the first, with {', '.join(first['files'])}: "
            f"{first['error']}"
        )
    return failed


def _deduplicate(inputs: DedupInputs, config: PipelineConfig) -> None:
    if not inputs.shard_ids:
        return  # nothing new: the published documents were deduplicated when they came
    reset_stale_dedup(inputs.work_dir, inputs.shard_ids)
    # Submitted, not called: a called task runs in the flow's process, and on a
    # Dask cluster these steps must run on its workers like the others.
    exact_duplicates_task.submit(inputs).result()
    partitions = range(config.run.dedup_partitions)
    for future in [candidate_pairs_task.submit(p, inputs) for p in partitions]:
        future.result()
    resolve_duplicates_task.submit(inputs, config).result()


def _finish_all(
    sizes: dict[str, int],
    work_dir: Path,
    config: PipelineConfig,
    lineage: dict[str, Any],
    progress: StageProgress,
) -> None:
    """Finish every shard (``sizes``: input bytes by shard id, in order)."""
    futures = {finish_shard_task.submit(sid, work_dir, config, lineage): sid for sid in sizes}
    for future in as_completed(list(futures)):
        summary = read_json(future.result())
        progress.shard_done(sizes[futures[future]], summary["kept_rows"])


@dataclass
class RunPlan:
    """What a run will do: its inputs split by what the dataset already has, its shards,
    its work folder, and whether it adds to the dataset or replaces it."""

    discovery: Discovery
    inputs: InputPlan
    shards: list[Shard]
    work_dir: Path
    state: DatasetState
    incremental: bool
    config: PipelineConfig  # the run's settings (an incremental run keeps the dataset's partitions)


def plan_run(config: PipelineConfig, full: bool = False) -> RunPlan:
    """Plan a run over ``config.inputs`` into ``config.output``.

    Over an existing dataset with the same cleaning settings, only new and
    changed input files are done, and their documents are added (incremental);
    otherwise, or with ``full``, every input is done and the dataset replaced.
    Raises ``DatasetMismatch`` for a dataset made with other settings.
    """
    output = config.output.resolve()
    discovery = discover_inputs(config.inputs, exclude=output)
    state = DatasetState.load(output)
    incremental = state.exists and not full
    if incremental:
        state.check_compatible(config.config_hash)
        run = config.run.model_copy(update={"dedup_partitions": state.dedup_partitions})
        config = config.model_copy(update={"run": run})
        inputs = state.plan_inputs(discovery.files)
    else:
        inputs = InputPlan(new=list(discovery.files))
    shards = plan_shards(inputs.to_process, config.run.shard_max_bytes)
    # A run over a dataset that has changed since (another run committed) is another run.
    base = state.runs[-1] if incremental else "full"
    work_dir = output / WORK_DIR_NAME / run_key(shards, config, base)
    return RunPlan(discovery, inputs, shards, work_dir, state, incremental, config)


def start_preparing(config: PipelineConfig, full: bool = False) -> Path | None:
    """Empty a full run's work folder and start every shard's prepare job in the worker pool.

    Called before the flow while Prefect's server boots (seconds of idle
    workers otherwise); the flow's prepare tasks then wait for these jobs
    instead of starting them.  Returns the work folder; None (nothing
    started) for an incremental run, which must first read the dataset.
    """
    plan = plan_run(config, full)
    if plan.incremental:
        return None
    shutil.rmtree(plan.work_dir, ignore_errors=True)
    for shard in plan.shards:
        marker = prepared_marker(plan.work_dir, shard.shard_id)
        start_early(marker, prepare_shard, shard, plan.work_dir, plan.config)
    return plan.work_dir


def _write_known_doc_ids(plan: RunPlan) -> None:
    """The doc_ids the dataset already holds from the files this run does (changed files,
    or files of a run that crashed while publishing): their records are not added again."""
    path = known_doc_ids_path(plan.work_dir)
    if plan.incremental and plan.shards and not path.exists():
        paths = [str(f.path) for f in plan.inputs.to_process]
        write_table(pa.table({"doc_id": plan.state.known_doc_ids(paths)}), path)


@flow(name="zhclean", log_prints=False)
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
    caller has just emptied the work folder and started preparing shards in
    it (``start_preparing``).  Over an existing dataset the run adds the
    documents of new and changed inputs, unless ``full`` (see ``plan_run``).
    """
    started = time.perf_counter()
    started_at = datetime.now(UTC)
    run_id = _current_run_id()
    output = config.output.resolve()

    removed = remove_uncommitted(output)
    plan = plan_run(config, full)
    discovery, shards, work_dir, config = plan.discovery, plan.shards, plan.work_dir, plan.config
    shard_ids = [s.shard_id for s in shards]
    if not resume and not work_dir_ready:
        shutil.rmtree(work_dir, ignore_errors=True)
    _write_known_doc_ids(plan)
    resumed = {
        stage: sum(marker(work_dir, sid).exists() for sid in shard_ids) if resume else 0
        for stage, marker in (("prepare", prepared_marker), ("finish", finished_marker))
    }

    logger = get_run_logger()
    for path in removed:
        logger.warning("removed %s, left by a run that stopped while publishing", path)
    logger.info(
        "%s run: %d input files (%s), %d to do in %d shards (%d skipped), work folder %s",
        "incremental" if plan.incremental else "full",
        len(discovery.files),
        ", ".join(f"{k} {v}" for k, v in plan.inputs.counts().items()),
        len(plan.inputs.to_process),
        len(shards),
        len(discovery.skipped),
        work_dir,
    )
    # A deployment calls the flow directly: it then starts its own workers.
    workers = local_workers(config)
    with worker_pool(workers, warm_up), run_progress(show_progress) as progress:
        total_bytes = sum(s.size for s in shards)
        failed = _prepare_all(
            shards, work_dir, config, progress.stage("prepare", len(shards), total_bytes)
        )
        shard_ids = [sid for sid in shard_ids if sid not in failed]
        for failure in failed.values():
            logger.error("shard %s failed: %s", failure["shard_id"], failure["error"])
        logger.info("prepared %d shards", len(shard_ids))
        index_dirs = plan.state.index_dirs() if plan.incremental else []
        _deduplicate(DedupInputs(work_dir, shard_ids, index_dirs), config)
        logger.info("deduplicated across %d shards", len(shard_ids))
        lineage = lineage_for(run_id, pipeline_version(), config.config_hash, started_at)
        sizes = {s.shard_id: s.size for s in shards if s.shard_id in shard_ids}
        finish = progress.stage("finish", len(sizes), sum(sizes.values()))
        _finish_all(sizes, work_dir, config, lineage, finish)

    tag = run_tag(started_at, run_id)
    summary = run_summary(work_dir, shard_ids)
    # A file that could not be read is not recorded as done: the next run tries it again.
    unread = {f["path"] for f in summary["failed_inputs"]}
    done = [
        f for s in shards if s.shard_id in shard_ids for f in s.files if str(f.path) not in unread
    ]
    inputs = plan.inputs
    for digest in summary.pop("files_sha256"):
        inputs.sha256.update(digest)
    base = plan.state if plan.incremental else DatasetState(output)
    stats = {
        "run_id": run_id,
        "run_tag": tag,
        "mode": "incremental" if plan.incremental else "full",
        "pipeline_version": pipeline_version(),
        "config_hash": config.config_hash,
        "started_at": started_at.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "seconds": round(time.perf_counter() - started, 3),
        **summary,
        "skipped_inputs": _skipped(discovery),
        "resumed_shards": resumed,
        "failed_shards": [failed[sid] for sid in sorted(failed)],
        "config": config.model_dump(mode="json"),
    }
    stats["inputs"].update(inputs.counts())
    publish_task(
        work_dir,
        output,
        stats,
        incremental=plan.incremental,
        record=base.record(config.config_hash, config.run.dedup_partitions, tag),
        manifest=base.updated_manifest(inputs, done, tag),
        tag=tag,
    )
    docs = stats["documents"]
    logger.info(
        "published %s: %d documents extracted, %d kept, %d rejected",
        output,
        docs["extracted"],
        docs["kept"],
        docs["rejected"],
    )
    shutil.rmtree(work_dir, ignore_errors=True)
    _remove_if_empty(work_dir.parent)
    create_markdown_artifact(
        summary_markdown(stats), key="zhclean-run-summary", description="zhclean counts per stage"
    )
    return stats


def local_workers(config: PipelineConfig) -> int:
    """Worker processes this machine starts for the shard jobs.

    On a Dask cluster none (1: ``worker_pool`` then starts no pool): each task
    runs in a Dask worker process, and ``in_worker`` runs its job right there.
    """
    return 1 if config.run.dask_address else config.run.resolved_workers()


def task_runner_for(config: PipelineConfig) -> TaskRunner:
    """Dask's runner for ``run.dask_address``, else threads that hand jobs to local workers."""
    if config.run.dask_address:
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=config.run.dask_address)
    return ThreadPoolTaskRunner(max_workers=config.run.resolved_workers())


def run_pipeline(
    config: PipelineConfig,
    resume: bool = False,
    show_progress: bool = False,
    api_ready: Callable[[], None] | None = None,
    full: bool = False,
) -> dict[str, Any]:
    """Run the flow with ``config.run`` worker processes; return the run's stats.

    The thread pool lets that many shard tasks be in flight at once; each
    hands its CPU work to a worker process.  ``api_ready`` blocks until the
    Prefect API answers; it is called once the workers are warming up, so
    that the two overlap.  With ``run.dask_address`` the tasks, and so their
    jobs, run on that Dask cluster's workers instead, and no local worker
    process starts.
    """
    workers = local_workers(config)
    runner = task_runner_for(config)
    with worker_pool(workers, warm_up):
        work_dir = None
        if api_ready is not None and not resume and workers > 1:
            work_dir = start_preparing(config, full)
        if api_ready is not None:
            api_ready()
        stats = clean_corpus.with_options(task_runner=runner)(
            config, resume, show_progress, work_dir_ready=work_dir is not None, full=full
        )
    if work_dir is not None:
        # Gone already, unless the inputs changed between the two plans.
        shutil.rmtree(work_dir, ignore_errors=True)
        _remove_if_empty(work_dir.parent)
    return stats
