"""Dataset releases: immutable, verifiable snapshots of ``<output>/data``.

``create_release`` copies the current dataset into
``<output>/releases/<VERSION>/``:

* ``data/train-NNNNN-of-NNNNN.parquet``: the kept documents, re-cut into files
  of at most ``write.max_rows_per_file`` rows and about
  ``release.max_file_bytes`` bytes, in row groups of
  ``write.row_group_rows`` rows (what streaming readers read at once);
* ``rejected/rejected-NNNNN-of-NNNNN.parquet`` with ``--with-rejected``;
* ``README.md`` (the dataset card, ``transforms.release.card``) and its
  ``plots/*.png``; ``CHANGES.md`` (and ``changes.parquet`` when there is a
  previous release, ``transforms.release.changes``);
* ``inputs.parquet``: a copy of the input manifest, when the dataset has one;
* ``manifest.json``: every other file with its size, rows and SHA-256, the
  Arrow schema, the runs the documents came from, written last.

The release is built in a hidden staging folder beside its final place and
renamed into place when complete, so a release folder is always whole.  A
version that exists is never written again.  ``transforms.release.store``
verifies and publishes releases.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq

from transforms import zhclean_version
from transforms.config import PipelineConfig
from transforms.release.card import CardFacts, render_card, write_plots
from transforms.release.changes import Changes, changes_markdown, compute_changes, write_changes
from transforms.release.manifest import (
    CARD_NAME,
    CHANGES_NAME,
    CHANGES_TABLE,
    INPUTS_NAME,
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    PARQUET_GROUPS,
    PLOTS_DIR,
    RELEASES_DIR,
    RUNS_DIR,
    STATS_NAME,
    ReleaseError,
    ReleaseExists,
    describe_files,
    file_sha256,
    list_releases,
    schema_fields,
    validate_version,
)
from transforms.release.parquet_copy import copy_parquet, fsync, parquet_files, scan_parquet
from transforms.release.profile import REJECTED_PROFILE_COLUMNS, KeptProfile, RejectedProfile
from transforms.schema import KEPT_SCHEMA, REJECTED_SCHEMA
from transforms.storage import TMP_PREFIX, atomic_path, read_json, write_json


def load_runs(output: Path) -> list[dict[str, Any]]:
    """Every run's stats: ``runs/*.json`` if the dataset keeps a history, and ``stats.json``.

    Sorted by start time.  A run recorded in both places counts once.
    """
    found: dict[str, dict[str, Any]] = {}
    candidates = sorted((output / RUNS_DIR).glob("*.json")) if (output / RUNS_DIR).is_dir() else []
    if (output / STATS_NAME).is_file():
        candidates.append(output / STATS_NAME)
    for path in candidates:
        try:
            stats = read_json(path)
        except (OSError, ValueError) as err:
            raise ReleaseError(f"cannot read run stats {path}: {err}") from err
        if not isinstance(stats, dict) or "run_id" not in stats:
            raise ReleaseError(f"{path} is not a zhclean run's stats (no run_id)")
        found.setdefault(str(stats["run_id"]), stats)
    return sorted(found.values(), key=lambda s: (str(s.get("started_at", "")), str(s["run_id"])))


def _remove_abandoned_staging(releases: Path) -> None:
    """Delete staging folders whose process is gone (a release that crashed)."""
    for folder in releases.glob(f"{TMP_PREFIX}*"):
        parts = folder.name.split("-")
        try:
            pid = int(parts[-2])
        except (IndexError, ValueError):
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            pass


@dataclass
class Release:
    version: str
    path: Path
    manifest: dict[str, Any]

    @property
    def documents(self) -> int:
        return int(self.manifest["documents"]["kept"])

    def files(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.manifest["files"] if f["kind"] == kind]


@dataclass
class _Build:
    """One release being built: where, from what, and against which earlier release."""

    staging: Path
    output: Path
    version: str
    config: PipelineConfig
    runs: list[dict[str, Any]]
    previous: dict[str, Any] | None
    with_rejected: bool
    now: datetime


def create_release(
    output: Path,
    version: str,
    config: PipelineConfig | None = None,
    *,
    include_rejected: bool | None = None,
    now: datetime | None = None,
) -> Release:
    """Snapshot ``output``'s dataset as ``output/releases/<version>``.

    The caller should hold the output folder's lock (``transforms.engine.lock``) so that
    no run replaces ``data/`` while it is copied.
    """
    config = config or PipelineConfig()
    validate_version(version)
    output = Path(output)
    runs = _dataset_runs(output)
    releases = output / RELEASES_DIR
    target = releases / version
    if target.exists():
        raise ReleaseExists(
            f"release {version} already exists in {releases}: releases are immutable, "
            "choose a new version"
        )
    releases.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_staging(releases)
    with_rejected = (
        config.release.include_rejected if include_rejected is None else include_rejected
    )
    staging = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{version}-{os.getpid()}-", dir=releases))
    build = _Build(
        staging,
        output,
        version,
        config,
        runs,
        (list_releases(releases) or [None])[-1],
        with_rejected,
        now or datetime.now(UTC),
    )
    try:
        manifest = _build(build)
        _move_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Release(version, target, manifest)


def _dataset_runs(output: Path) -> list[dict[str, Any]]:
    if not (output / "data").is_dir():
        raise ReleaseError(f"no dataset in {output}: {output / 'data'} does not exist")
    runs = load_runs(output)
    if not runs:
        raise ReleaseError(f"no dataset in {output}: it has no {STATS_NAME} (run zhclean first)")
    return runs


def _move_into_place(staging: Path, target: Path) -> None:
    # mkdtemp makes a folder only its owner may open; a release is for everyone.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)
    for folder in [*(p for p in staging.rglob("*") if p.is_dir()), staging]:
        fsync(folder)
    if target.exists():
        raise ReleaseExists(f"release {target.name} was made by another process meanwhile")
    staging.rename(target)
    fsync(target.parent)


def _build(build: _Build) -> dict[str, Any]:
    """Every file of the release in ``build.staging``; returns its manifest (written last)."""
    kept, rejected, data_paths, rejected_paths = _copy_documents(build)
    row_runs = set(kept.run_ids) | set(rejected.run_ids)
    contributing = [r for r in build.runs if str(r["run_id"]) in row_runs] or build.runs[-1:]
    input_manifest = _copy_input_manifest(build)
    changes = _write_changes(build, kept, rejected, contributing[-1])
    data_schema = pq.read_schema(data_paths[0])
    rejected_schema = pq.read_schema(rejected_paths[0]) if rejected_paths else None
    facts = CardFacts(
        version=build.version,
        created_at=build.now,
        release=build.config.release,
        kept=kept,
        rejected=rejected,
        rejected_included=build.with_rejected,
        data_files=_sizes(build.staging, data_paths),
        rejected_files=_sizes(build.staging, rejected_paths),
        data_schema=data_schema,
        rejected_schema=rejected_schema,
        runs=contributing,
        runs_without_stats=sorted(row_runs - {str(r["run_id"]) for r in build.runs}),
        input_manifest=input_manifest,
        previous=build.previous,
        changes=changes,
        write=build.config.write,
    )
    facts.plots = write_plots(facts, build.staging / PLOTS_DIR)
    _write_text(build.staging / CARD_NAME, render_card(facts))
    schemas = {"data": schema_fields(data_schema)}
    if rejected_schema is not None:
        schemas["rejected"] = schema_fields(rejected_schema)
    manifest = _manifest(build, facts, row_runs, schemas)
    write_json(manifest, build.staging / MANIFEST_NAME)
    return manifest


def _sizes(root: Path, paths: list[Path]) -> list[tuple[str, int]]:
    return [(p.relative_to(root).as_posix(), p.stat().st_size) for p in paths]


def _copy_documents(
    build: _Build,
) -> tuple[KeptProfile, RejectedProfile, list[Path], list[Path]]:
    """The kept (and with ``with_rejected`` the rejected) documents as release files,
    profiled on the way; the rejected ones are profiled in any case."""
    write, max_bytes = build.config.write, build.config.release.max_file_bytes
    kept = KeptProfile()
    data_paths = copy_parquet(
        parquet_files(build.output / "data"),
        build.staging / "data",
        PARQUET_GROUPS["data"],
        write,
        max_bytes,
        kept.observe,
        KEPT_SCHEMA,
    )
    rejected = RejectedProfile()
    sources = parquet_files(build.output / "rejected")
    if not build.with_rejected:
        scan_parquet(sources, REJECTED_PROFILE_COLUMNS, rejected.observe)
        return kept, rejected, data_paths, []
    rejected_paths = copy_parquet(
        sources,
        build.staging / "rejected",
        PARQUET_GROUPS["rejected"],
        write,
        max_bytes,
        rejected.observe,
        REJECTED_SCHEMA,
    )
    return kept, rejected, data_paths, rejected_paths


def _copy_input_manifest(build: _Build) -> dict[str, Any] | None:
    """A copy of the dataset's input manifest, described for the release's manifest."""
    if not (build.output / INPUTS_NAME).is_file():
        return None
    copy = build.staging / INPUTS_NAME
    shutil.copyfile(build.output / INPUTS_NAME, copy)
    fsync(copy)
    metadata = pq.ParquetFile(copy)
    sizes = None
    if "size" in metadata.schema_arrow.names:
        sizes = pq.read_table(copy, columns=["size"]).column("size")
    return {
        "path": INPUTS_NAME,
        "files": metadata.metadata.num_rows,
        "bytes": int(pc.sum(sizes).as_py() or 0) if sizes is not None else None,
        "sha256": file_sha256(copy),
    }


def _write_changes(
    build: _Build, kept: KeptProfile, rejected: RejectedProfile, latest: dict[str, Any]
) -> Changes | None:
    """``CHANGES.md`` (and ``changes.parquet`` after a first release)."""
    changes = None
    if build.previous is not None:
        previous_dir = build.output / RELEASES_DIR / build.previous["version"]
        changes = compute_changes(
            kept.ids_table(), rejected.ids_table(), previous_dir, build.previous
        )
        write_changes(changes, build.staging / CHANGES_TABLE)
    text = changes_markdown(
        build.version,
        build.previous,
        changes,
        kept.rows,
        len(kept.sources()),
        latest.get("config_hash"),
        latest.get("pipeline_version"),
    )
    _write_text(build.staging / CHANGES_NAME, text)
    return changes


def _manifest(
    build: _Build, facts: CardFacts, row_runs: set[str], schemas: dict[str, Any]
) -> dict[str, Any]:
    previous, latest = build.previous, facts.runs[-1]
    return {
        "format": MANIFEST_FORMAT,
        "version": build.version,
        "sequence": int(previous["sequence"]) + 1 if previous else 1,
        "created_at": build.now.isoformat(),
        "previous_release": previous["version"] if previous else None,
        "released_with": f"zhclean {zhclean_version()}",
        "pipeline_version": latest.get("pipeline_version"),
        "config_hash": latest.get("config_hash"),
        "license": build.config.release.license,
        "documents": {
            "kept": facts.kept.rows,
            "rejected": facts.rejected.rows if build.with_rejected else None,
            "rejected_in_dataset": facts.rejected.rows,
        },
        "lineage": {
            "run_ids": sorted(row_runs),
            "pipeline_versions": sorted(facts.kept.pipeline_versions),
            "config_hashes": sorted(facts.kept.config_hashes),
        },
        "schema": schemas,
        "files": describe_files(build.staging),
        "runs": facts.runs,
        "runs_without_stats": facts.runs_without_stats,
        "input_manifest": facts.input_manifest,
    }


def _write_text(destination: Path, text: str) -> Path:
    with atomic_path(destination) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return destination
