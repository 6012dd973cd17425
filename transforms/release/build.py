"""Dataset releases: immutable, verifiable snapshots of ``<output>/data``.

``create_release`` copies the current dataset into
``<output>/releases/<VERSION>/``:

* ``data/train-NNNNN-of-NNNNN.parquet``: the kept documents, re-cut into files
  of at most ``output_files.max_rows_per_file`` rows and about
  ``release.max_file_bytes`` bytes, in row groups of
  ``output_files.row_group_rows`` rows (what streaming readers read at once);
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

import hashlib
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from transforms.config import OutputConfig, PipelineConfig
from transforms.engine.parquet_io import TMP_PREFIX, atomic_path, read_json, write_json
from transforms.schema import KEPT_SCHEMA, REJECTED_SCHEMA

RELEASES_DIR = "releases"
MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "zhclean-release/1"
CARD_NAME = "README.md"
CHANGES_NAME = "CHANGES.md"
CHANGES_TABLE = "changes.parquet"
INPUTS_NAME = "inputs.parquet"
PLOTS_DIR = "plots"
RUNS_DIR = "runs"
STATS_NAME = "stats.json"
# Release sub-folder -> file stem.  "train" follows the Hugging Face naming
# convention, so hub tooling sees one split without being told.
PARQUET_GROUPS = {"data": "train", "rejected": "rejected"}

_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}")
_HASH_CHUNK = 4 * 1024 * 1024


class ReleaseError(RuntimeError):
    """The release cannot be made; the message is one line for the user."""


class ReleaseExists(ReleaseError):
    """A release with this version is already there (releases are immutable)."""


class InvalidVersion(ValueError):
    """The version cannot name a release folder."""


def validate_version(version: str) -> str:
    """Return ``version`` if it can name a release folder: letters, digits, ``. _ + -``."""
    if not _VERSION.fullmatch(version) or ".." in version:
        raise InvalidVersion(
            f"invalid release version {version!r}: use letters, digits and . _ + - "
            "(at most 100, starting with a letter or digit, no '..')"
        )
    return version


def zhclean_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("zhclean")
    except PackageNotFoundError:
        return "unknown"


# -- hashing and schemas -----------------------------------------------------


def sha256_stream(handle: Any) -> str:
    digest = hashlib.sha256()
    while chunk := handle.read(_HASH_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return sha256_stream(handle)


def type_name(data_type: pa.DataType) -> str:
    """An Arrow type as text, without list item names (``list<string>``)."""
    if pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
        prefix = "large_list" if pa.types.is_large_list(data_type) else "list"
        return f"{prefix}<{type_name(data_type.value_type)}>"
    if pa.types.is_struct(data_type):
        inner = ", ".join(f"{f.name}: {type_name(f.type)}" for f in data_type)
        return f"struct<{inner}>"
    return str(data_type)


def schema_fields(schema: pa.Schema) -> list[dict[str, Any]]:
    """The schema as JSON: one ``{name, type, nullable}`` per column, in order."""
    return [{"name": f.name, "type": type_name(f.type), "nullable": f.nullable} for f in schema]


# -- what the card and the changes need, gathered while copying --------------


def _count_into(counter: Counter, batch: pa.RecordBatch, column: str) -> None:
    if column not in batch.schema.names:
        return
    for entry in pc.value_counts(batch.column(column)).to_pylist():
        counter[entry["values"]] += entry["counts"]


def source_of(source_path: str) -> str:
    """A document's source: the first folder of its path, or the file itself."""
    return source_path.split("/", 1)[0] if source_path else "(unknown)"


@dataclass
class KeptProfile:
    rows: int = 0
    n_chars: list[np.ndarray] = field(default_factory=list)
    paths: Counter = field(default_factory=Counter)
    formats: Counter = field(default_factory=Counter)
    cluster_sizes: Counter = field(default_factory=Counter)
    run_ids: Counter = field(default_factory=Counter)
    pipeline_versions: Counter = field(default_factory=Counter)
    config_hashes: Counter = field(default_factory=Counter)
    ids: list[pa.Array] = field(default_factory=list)
    id_paths: list[pa.Array] = field(default_factory=list)

    def observe(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows
        names = batch.schema.names
        if "n_chars" in names:
            self.n_chars.append(batch.column("n_chars").to_numpy(zero_copy_only=False))
        _count_into(self.paths, batch, "source_path")
        _count_into(self.formats, batch, "source_format")
        _count_into(self.cluster_sizes, batch, "dup_cluster_size")
        _count_into(self.run_ids, batch, "run_id")
        _count_into(self.pipeline_versions, batch, "pipeline_version")
        _count_into(self.config_hashes, batch, "config_hash")
        self.ids.append(batch.column("doc_id"))
        self.id_paths.append(batch.column("source_path"))

    def lengths(self) -> np.ndarray:
        return np.concatenate(self.n_chars) if self.n_chars else np.zeros(0, np.int64)

    def sources(self) -> Counter:
        out: Counter = Counter()
        for path, n in self.paths.items():
            out[source_of(path)] += n
        return out

    def ids_table(self) -> pa.Table:
        return _ids_table(self.ids, self.id_paths)


def _ids_table(ids: list[pa.Array], paths: list[pa.Array], **extra: list[pa.Array]) -> pa.Table:
    columns = {
        "doc_id": pa.chunked_array(ids, pa.string()),
        "source_path": pa.chunked_array(paths, pa.string()),
    }
    for name, chunks in extra.items():
        columns[name] = pa.chunked_array(chunks, pa.string())
    return pa.table(columns)


# Columns of the rejected documents that profiling reads (never the text).
REJECTED_PROFILE_COLUMNS = ["doc_id", "reason", "stage", "detail", "similarity", "source_path"]


@dataclass
class RejectedProfile:
    rows: int = 0
    by_stage_reason: Counter = field(default_factory=Counter)
    example_detail: dict[tuple[str, str], str] = field(default_factory=dict)
    similarity: dict[str, list[np.ndarray]] = field(default_factory=dict)
    run_ids: Counter = field(default_factory=Counter)
    ids: list[pa.Array] = field(default_factory=list)
    id_paths: list[pa.Array] = field(default_factory=list)
    reasons: list[pa.Array] = field(default_factory=list)

    def observe(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows
        if not batch.num_rows:
            return
        stages = batch.column("stage").to_pylist()
        reasons = batch.column("reason").to_pylist()
        details = batch.column("detail").to_pylist() if "detail" in batch.schema.names else []
        for i, key in enumerate(zip(stages, reasons, strict=True)):
            self.by_stage_reason[key] += 1
            if key not in self.example_detail and i < len(details) and details[i]:
                self.example_detail[key] = details[i]
        if "similarity" in batch.schema.names:
            for reason in ("exact_duplicate", "near_duplicate"):
                mask = pc.equal(batch.column("reason"), reason)
                values = pc.drop_null(pc.filter(batch.column("similarity"), mask))
                if len(values):
                    self.similarity.setdefault(reason, []).append(values.to_numpy())
        _count_into(self.run_ids, batch, "run_id")
        self.ids.append(batch.column("doc_id"))
        self.id_paths.append(batch.column("source_path"))
        self.reasons.append(batch.column("reason"))

    def by_reason(self) -> Counter:
        out: Counter = Counter()
        for (_, reason), n in self.by_stage_reason.items():
            out[reason] += n
        return out

    def similarities(self, reason: str) -> np.ndarray:
        chunks = self.similarity.get(reason, [])
        return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)

    def ids_table(self) -> pa.Table:
        return _ids_table(self.ids, self.id_paths, reason=self.reasons)


# -- copying Parquet into release files --------------------------------------


def parquet_files(folder: Path) -> list[Path]:
    """The finished Parquet files of a dataset folder, in name order."""
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.glob("*.parquet") if p.is_file() and not p.name.startswith(TMP_PREFIX)
    )


def _fsync(path: Path) -> None:
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if path.is_dir() else os.O_RDONLY
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _PartWriter:
    """Writes row groups into ``.part-N`` files, starting a new file at the size limits."""

    def __init__(self, folder: Path, cfg: OutputConfig, max_bytes: int, max_rows: int) -> None:
        self.folder, self.cfg, self.max_bytes, self.max_rows = folder, cfg, max_bytes, max_rows
        self.paths: list[Path] = []
        self.writer: pq.ParquetWriter | None = None
        self.sink: pa.NativeFile | None = None
        self.rows = 0
        self.last_group_bytes = 0

    def _open(self, schema: pa.Schema) -> None:
        path = self.folder / f".part-{len(self.paths):05d}.parquet"
        self.paths.append(path)
        compression = None if self.cfg.compression == "none" else self.cfg.compression
        level = self.cfg.compression_level if compression in ("zstd", "gzip") else None
        self.sink = pa.OSFile(str(path), "wb")
        self.writer = pq.ParquetWriter(
            self.sink, schema, compression=compression, compression_level=level
        )
        self.rows = 0

    def _close_current(self) -> None:
        if self.writer is not None and self.sink is not None:
            self.writer.close()
            self.sink.close()
            _fsync(self.paths[-1])
        self.writer = self.sink = None

    def write(self, table: pa.Table) -> None:
        if self.writer is not None and self.sink is not None:
            full_rows = self.rows + table.num_rows > self.max_rows
            full_bytes = self.sink.tell() + self.last_group_bytes > self.max_bytes
            if full_rows or full_bytes:
                self._close_current()
        if self.writer is None:
            self._open(table.schema)
        assert self.writer is not None and self.sink is not None
        before = self.sink.tell()
        self.writer.write_table(table, row_group_size=max(1, table.num_rows))
        self.last_group_bytes = self.sink.tell() - before
        self.rows += table.num_rows

    def close(self, schema: pa.Schema) -> list[Path]:
        if not self.paths:  # no rows at all: one empty file keeps the schema readable
            self._open(schema)
        self._close_current()
        return self.paths


def copy_parquet(
    sources: Iterable[Path],
    folder: Path,
    stem: str,
    cfg: OutputConfig,
    max_file_bytes: int,
    observe: Callable[[pa.RecordBatch], None],
    empty_schema: pa.Schema,
) -> list[Path]:
    """Stream ``sources`` into ``folder/stem-NNNNN-of-NNNNN.parquet``; return the files.

    Rows keep their order.  Every file but the last holds whole row groups of
    ``cfg.row_group_rows`` rows; a file ends before it would pass
    ``cfg.max_rows_per_file`` rows or ``max_file_bytes`` bytes (judged by the
    size of the previous row group).  Each batch is handed to ``observe``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    group = min(cfg.row_group_rows, cfg.max_rows_per_file)
    writer = _PartWriter(folder, cfg, max_file_bytes, cfg.max_rows_per_file)
    schema: pa.Schema | None = None
    first: Path | None = None
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    for source in sources:
        parquet = pq.ParquetFile(source)
        if schema is None:
            schema, first = parquet.schema_arrow, source
        elif parquet.schema_arrow.names != schema.names:
            raise ReleaseError(f"{source} does not have the same columns as {first}")
        for batch in parquet.iter_batches(batch_size=group):
            if not batch.schema.equals(schema):
                batch = pa.Table.from_batches([batch]).cast(schema).to_batches()[0]
            observe(batch)
            pending.append(batch)
            pending_rows += batch.num_rows
            if pending_rows >= group:
                table = pa.Table.from_batches(pending, schema).combine_chunks()
                offset = 0
                while table.num_rows - offset >= group:
                    writer.write(table.slice(offset, group))
                    offset += group
                pending = table.slice(offset).to_batches()
                pending_rows = table.num_rows - offset
    if pending_rows:
        writer.write(pa.Table.from_batches(pending, schema))
    parts = writer.close(schema if schema is not None else empty_schema)
    final = []
    for i, part in enumerate(parts):
        path = folder / f"{stem}-{i:05d}-of-{len(parts):05d}.parquet"
        part.rename(path)
        final.append(path)
    return final


def scan_parquet(
    sources: Iterable[Path], columns: list[str], observe: Callable[[pa.RecordBatch], None]
) -> None:
    """Hand ``observe`` every batch of ``sources`` (only ``columns`` that exist)."""
    for source in sources:
        parquet = pq.ParquetFile(source)
        present = [c for c in columns if c in parquet.schema_arrow.names]
        for batch in parquet.iter_batches(columns=present, batch_size=65_536):
            observe(batch)


# -- runs, inputs and earlier releases ---------------------------------------


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


def list_releases(releases: Path) -> list[dict[str, Any]]:
    """The manifests of the finished releases in ``releases``, oldest first.

    Releases are ordered by the ``sequence`` their manifests record (the order
    they were made in), never by their version's spelling.
    """
    manifests = []
    if not releases.is_dir():
        return manifests
    for folder in releases.iterdir():
        path = folder / MANIFEST_NAME
        if folder.name.startswith(".") or not path.is_file():
            continue
        try:
            manifest = read_json(path)
            key = (int(manifest["sequence"]), str(manifest["created_at"]))
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ReleaseError(f"cannot read the manifest of release {folder.name}: {err}") from err
        manifests.append((key, manifest))
    return [m for _, m in sorted(manifests, key=lambda item: item[0])]


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


# -- making a release --------------------------------------------------------


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


def _kind_of(relative: str) -> str:
    top = relative.split("/", 1)[0]
    if top in PARQUET_GROUPS and "/" in relative:
        return top
    return {
        CARD_NAME: "card",
        CHANGES_NAME: "changes",
        CHANGES_TABLE: "changes",
        INPUTS_NAME: "inputs",
    }.get(relative, "plot" if top == PLOTS_DIR else "other")


def describe_files(root: Path) -> list[dict[str, Any]]:
    """Every file under ``root`` but the manifest: path, kind, bytes, rows (Parquet), SHA-256."""
    entries = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if relative == MANIFEST_NAME:
            continue
        entry: dict[str, Any] = {
            "path": relative,
            "kind": _kind_of(relative),
            "bytes": path.stat().st_size,
            "rows": pq.read_metadata(path).num_rows if path.suffix == ".parquet" else None,
            "sha256": file_sha256(path),
        }
        entries.append(entry)
    return entries


def create_release(
    output: Path,
    version: str,
    config: PipelineConfig = PipelineConfig(),
    *,
    include_rejected: bool | None = None,
    now: datetime | None = None,
) -> Release:
    """Snapshot ``output``'s dataset as ``output/releases/<version>``.

    The caller should hold the output folder's lock (``transforms.engine.lock``) so that
    no run replaces ``data/`` while it is copied.
    """
    validate_version(version)
    output = Path(output)
    if not (output / "data").is_dir():
        raise ReleaseError(f"no dataset in {output}: {output / 'data'} does not exist")
    runs = load_runs(output)
    if not runs:
        raise ReleaseError(f"no dataset in {output}: it has no {STATS_NAME} (run zhclean first)")
    releases = output / RELEASES_DIR
    target = releases / version
    if target.exists():
        raise ReleaseExists(
            f"release {version} already exists in {releases}: releases are immutable, "
            "choose a new version"
        )
    releases.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_staging(releases)
    previous = (list_releases(releases) or [None])[-1]
    with_rejected = (
        config.release.include_rejected if include_rejected is None else include_rejected
    )
    staging = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{version}-{os.getpid()}-", dir=releases))
    try:
        # mkdtemp makes a folder only its owner may open; a release is for everyone.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o777 & ~umask)
        manifest = _build(
            staging,
            output,
            version,
            config,
            runs,
            previous,
            with_rejected,
            now or datetime.now(UTC),
        )
        for folder in [*(p for p in staging.rglob("*") if p.is_dir()), staging]:
            _fsync(folder)
        if target.exists():
            raise ReleaseExists(f"release {version} was made by another process meanwhile")
        staging.rename(target)
        _fsync(releases)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Release(version, target, manifest)


def _build(
    staging: Path,
    output: Path,
    version: str,
    config: PipelineConfig,
    runs: list[dict[str, Any]],
    previous: dict[str, Any] | None,
    with_rejected: bool,
    now: datetime,
) -> dict[str, Any]:
    from transforms.release.card import CardFacts, render_card, write_plots
    from transforms.release.changes import changes_markdown, compute_changes, write_changes

    out_cfg, rel_cfg = config.output_files, config.release
    kept = KeptProfile()
    data_paths = copy_parquet(
        parquet_files(output / "data"),
        staging / "data",
        PARQUET_GROUPS["data"],
        out_cfg,
        rel_cfg.max_file_bytes,
        kept.observe,
        KEPT_SCHEMA,
    )
    rejected = RejectedProfile()
    rejected_sources = parquet_files(output / "rejected")
    rejected_paths: list[Path] = []
    if with_rejected:
        rejected_paths = copy_parquet(
            rejected_sources,
            staging / "rejected",
            PARQUET_GROUPS["rejected"],
            out_cfg,
            rel_cfg.max_file_bytes,
            rejected.observe,
            REJECTED_SCHEMA,
        )
    else:
        scan_parquet(rejected_sources, REJECTED_PROFILE_COLUMNS, rejected.observe)

    row_runs = set(kept.run_ids) | set(rejected.run_ids)
    contributing = [r for r in runs if str(r["run_id"]) in row_runs] or runs[-1:]
    without_stats = sorted(row_runs - {str(r["run_id"]) for r in runs})
    latest = contributing[-1]

    input_manifest = None
    if (output / INPUTS_NAME).is_file():
        copy = staging / INPUTS_NAME
        shutil.copyfile(output / INPUTS_NAME, copy)
        _fsync(copy)
        metadata = pq.ParquetFile(copy)
        sizes = (
            pq.read_table(copy, columns=["size"]).column("size")
            if "size" in metadata.schema_arrow.names
            else None
        )
        input_manifest = {
            "path": INPUTS_NAME,
            "files": metadata.metadata.num_rows,
            "bytes": int(pc.sum(sizes).as_py() or 0) if sizes is not None else None,
            "sha256": file_sha256(copy),
        }

    changes = None
    if previous is not None:
        changes = compute_changes(
            kept.ids_table(),
            rejected.ids_table(),
            output / RELEASES_DIR / previous["version"],
            previous,
        )
        write_changes(changes, staging / CHANGES_TABLE)
    _write_text(
        staging / CHANGES_NAME,
        changes_markdown(
            version,
            previous,
            changes,
            kept.rows,
            len(kept.sources()),
            latest.get("config_hash"),
            latest.get("pipeline_version"),
        ),
    )

    data_schema = pq.read_schema(data_paths[0])
    rejected_schema = pq.read_schema(rejected_paths[0]) if rejected_paths else None
    facts = CardFacts(
        version=version,
        created_at=now,
        release=rel_cfg,
        kept=kept,
        rejected=rejected,
        rejected_included=with_rejected,
        data_files=[(p.relative_to(staging).as_posix(), p.stat().st_size) for p in data_paths],
        rejected_files=[
            (p.relative_to(staging).as_posix(), p.stat().st_size) for p in rejected_paths
        ],
        data_schema=data_schema,
        rejected_schema=rejected_schema,
        runs=contributing,
        runs_without_stats=without_stats,
        input_manifest=input_manifest,
        previous=previous,
        changes=changes,
        output_files=out_cfg,
    )
    facts.plots = write_plots(facts, staging / PLOTS_DIR)
    _write_text(staging / CARD_NAME, render_card(facts))

    schemas = {"data": schema_fields(data_schema)}
    if rejected_schema is not None:
        schemas["rejected"] = schema_fields(rejected_schema)
    manifest = {
        "format": MANIFEST_FORMAT,
        "version": version,
        "sequence": int(previous["sequence"]) + 1 if previous else 1,
        "created_at": now.isoformat(),
        "previous_release": previous["version"] if previous else None,
        "released_with": f"zhclean {zhclean_version()}",
        "pipeline_version": latest.get("pipeline_version"),
        "config_hash": latest.get("config_hash"),
        "license": rel_cfg.license,
        "documents": {
            "kept": kept.rows,
            "rejected": rejected.rows if with_rejected else None,
            "rejected_in_dataset": rejected.rows,
        },
        "lineage": {
            "run_ids": sorted(row_runs),
            "pipeline_versions": sorted(kept.pipeline_versions),
            "config_hashes": sorted(kept.config_hashes),
        },
        "schema": schemas,
        "files": describe_files(staging),
        "runs": contributing,
        "runs_without_stats": without_stats,
        "input_manifest": input_manifest,
    }
    write_json(manifest, staging / MANIFEST_NAME)
    return manifest


def _write_text(destination: Path, text: str) -> Path:
    with atomic_path(destination) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return destination
