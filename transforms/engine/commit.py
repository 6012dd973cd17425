"""Committing a finished run: its files put in place as the dataset, recorded last.

A full run replaces the dataset: each of ``data/``, ``rejected/`` and
``index/`` is swapped by two renames (old folder aside, new folder in), so a
reader sees the old or the new folder, never a mix of two runs' files.  An
incremental run adds its part files to those folders, one rename each.

Either way, every file a publish writes (``stats.json``, the run's history
entry, the input manifest, ``dataset.json``) is written in the work folder
first, so a full disk or a read-only folder stops the publish before any part
of the previous dataset is touched.  Then the previous ``stats.json`` goes, the
folders or parts move in, and ``dataset.json``, the commit record, is renamed
in; ``stats.json`` last.  A publish stopped before the commit leaves part files
of a run ``dataset.json`` does not list, which the next run deletes
(``transforms.engine.dataset_state.remove_uncommitted``); an output folder whose
``stats.json`` is there always holds that run's files.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa

from transforms.engine.dataset_state import (
    DATASET_FILE,
    DATASET_FOLDERS,
    MANIFEST_FILE,
    RUNS_DIR,
    DatasetState,
)
from transforms.engine.run_plan import RunPlan
from transforms.engine.work_layout import final_dir, prepared_marker
from transforms.storage import read_json, write_json, write_table


def publish(
    work_dir: Path,
    output: Path,
    stats: dict[str, Any],
    *,
    incremental: bool = False,
    record: dict[str, Any] | None = None,
    manifest: pa.Table | None = None,
    tag: str | None = None,
) -> Path:
    """Put the run's finished files into ``output`` and write ``stats.json``; return its path.

    ``record`` (the new ``dataset.json``), ``manifest`` (the new input
    manifest) and ``tag`` (the run's tag, for its history entry) are written
    when given.  ``incremental`` adds the run's parts to the dataset instead
    of replacing it.
    """
    final = final_dir(work_dir)
    staged = {output / "stats.json": write_json(stats, work_dir / "stats.json")}
    if tag is not None:
        staged[output / RUNS_DIR / f"{tag}.json"] = write_json(stats, work_dir / "history.json")
    if manifest is not None:
        staged[output / MANIFEST_FILE] = write_table(manifest, work_dir / MANIFEST_FILE)
    commit = write_json(record, work_dir / DATASET_FILE) if record is not None else None

    output.mkdir(parents=True, exist_ok=True)
    (output / "stats.json").unlink(missing_ok=True)
    if not incremental:
        # The old dataset stops being one before its folders go.
        (output / DATASET_FILE).unlink(missing_ok=True)
    for name in DATASET_FOLDERS:
        folder = final / name
        folder.mkdir(parents=True, exist_ok=True)
        if incremental:
            _move_parts(folder, output / name)
        else:
            _swap_folder(folder, output / name, work_dir / f"retired-{name}")
    stats_path = staged.pop(output / "stats.json")
    for target, source in staged.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
    if commit is not None:
        os.replace(commit, output / DATASET_FILE)
    os.replace(stats_path, output / "stats.json")
    return output / "stats.json"


def _swap_folder(staged: Path, target: Path, retired: Path) -> None:
    if target.exists():
        target.rename(retired)
    staged.rename(target)
    shutil.rmtree(retired, ignore_errors=True)


def _move_parts(staged: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for item in sorted(staged.iterdir()):
        item.rename(target / item.name)


def commit_run(plan: RunPlan, stats: dict[str, Any], shard_ids: list[str]) -> Path:
    """Publish the run of ``plan`` (its shards ``shard_ids``, ``stats``) into its output:
    the dataset's files, its input manifest and its commit record; returns ``stats.json``.

    The files of the shards that ran are recorded as done, with the SHA-256 their
    jobs read, except those that could not be read: the next run tries them again.
    """
    unread = {f["path"] for f in stats["failed_inputs"]}
    done = [
        f
        for s in plan.shards
        if s.shard_id in shard_ids
        for f in s.files
        if str(f.path) not in unread
    ]
    for shard_id in shard_ids:
        prepared = read_json(prepared_marker(plan.work_dir, shard_id))
        plan.inputs.sha256.update(prepared["files_sha256"])
    output = plan.config.output.resolve()
    base = plan.state if plan.incremental else DatasetState(output)
    tag = stats["run_tag"]
    return publish(
        plan.work_dir,
        output,
        stats,
        incremental=plan.incremental,
        record=base.record(plan.config.config_hash, plan.config.run.dedup_partitions, tag),
        manifest=base.updated_manifest(plan.inputs, done, tag),
        tag=tag,
    )
