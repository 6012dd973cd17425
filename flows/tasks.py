"""The flow's Prefect tasks: each hands one job of the engine to a worker and returns a path.

A task costs 5-180 ms of Prefect's time, a document microseconds: so a task
runs a shard through several stages at once, and is named after them
(``extract+html_strip+normalize+quality``, ``dedup+segment+write``); the
cross-shard dedup steps are tasks named ``dedup-...``.  Tasks pass paths, not
tables, and retry only where a worker can be lost or I/O can fail transiently.
A job whose summary file exists (a resumed run) is not run again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.runner import in_worker
from transforms.config import PipelineConfig
from transforms.engine.commit import commit_run
from transforms.engine.dedup_jobs import (
    DedupInputs,
    find_candidate_pairs,
    find_exact_duplicates,
    resolve_duplicates,
)
from transforms.engine.inputs import Shard
from transforms.engine.run_plan import RunPlan
from transforms.engine.shard_jobs import finish_shard, prepare_shard
from transforms.engine.work_layout import (
    exact_marker,
    finished_marker,
    pairs_marker,
    prepared_marker,
    resolved_marker,
)
from transforms.pipeline import BEFORE_DEDUP, FROM_DEDUP
from transforms.storage import read_json

BEFORE_DEDUP_TASK = "+".join(stage.name for stage in BEFORE_DEDUP)
FROM_DEDUP_TASK = "+".join(stage.name for stage in FROM_DEDUP)


def unless_done(marker: Path, job: Callable[..., Path], *args: Any) -> Path:
    """Run ``job`` in a worker unless its summary ``marker`` exists (a resumed run).

    A job started early (``flows.runner.start_early``) is keyed by its marker.
    """
    if marker.exists():
        return marker
    done = in_worker(job, *args, key=marker)
    # Where the job ran (a local worker, a Dask worker on some host): in the task's log.
    get_run_logger().info("%s ran in %s", job.__name__, read_json(done).get("worker", "?"))
    return done


# Retries cover a lost worker and transient I/O (a network filesystem hiccup);
# a deterministic error fails the same way again quickly.
@task(
    name=BEFORE_DEDUP_TASK,
    task_run_name=BEFORE_DEDUP_TASK + " {shard.shard_id}",
    retries=2,
    retry_delay_seconds=1,
    cache_policy=NO_CACHE,
)
def stages_before_dedup(shard: Shard, work_dir: Path, config: PipelineConfig) -> Path:
    marker = prepared_marker(work_dir, shard.shard_id)
    return unless_done(marker, prepare_shard, shard, work_dir, config)


@task(name="dedup-exact", retries=1, retry_delay_seconds=1, cache_policy=NO_CACHE)
def dedup_exact(inputs: DedupInputs) -> Path:
    return unless_done(exact_marker(inputs.work_dir), find_exact_duplicates, inputs)


@task(
    name="dedup-candidate-pairs",
    task_run_name="dedup-candidate-pairs {partition}",
    retries=1,
    retry_delay_seconds=1,
    cache_policy=NO_CACHE,
)
def dedup_candidate_pairs(partition: int, inputs: DedupInputs) -> Path:
    marker = pairs_marker(inputs.work_dir, partition)
    return unless_done(marker, find_candidate_pairs, partition, inputs)


@task(name="dedup-resolve", retries=1, retry_delay_seconds=1, cache_policy=NO_CACHE)
def dedup_resolve(inputs: DedupInputs, config: PipelineConfig) -> Path:
    partitions = config.run.dedup_partitions
    marker = resolved_marker(inputs.work_dir)
    return unless_done(marker, resolve_duplicates, inputs, partitions, config)


@task(
    name=FROM_DEDUP_TASK,
    task_run_name=FROM_DEDUP_TASK + " {shard_id}",
    retries=2,
    retry_delay_seconds=1,
    cache_policy=NO_CACHE,
)
def stages_from_dedup(
    shard_id: str, work_dir: Path, config: PipelineConfig, lineage: dict[str, Any]
) -> Path:
    marker = finished_marker(work_dir, shard_id)
    return unless_done(marker, finish_shard, shard_id, work_dir, config, lineage)


@task(name="commit", cache_policy=NO_CACHE)
def commit(plan: RunPlan, stats: dict[str, Any], shard_ids: list[str]) -> Path:
    """Publish the run's files into the dataset, ``dataset.json`` (the commit record) last."""
    return commit_run(plan, stats, shard_ids)
