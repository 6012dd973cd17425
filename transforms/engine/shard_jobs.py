"""The work of one shard (or of the cross-shard dedup step), from files on disk to files on disk.

These are the units the flow schedules.  They take and return paths and small
dicts of counts, never big tables, so that they can run in the flow's process,
in worker processes or on a Dask cluster alike.  Each writes its outputs
atomically and writes its ``*.json`` summary last: a job whose summary exists
finished completely.

The files they read and write are listed in ``transforms.engine.work_layout``.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from transforms.config import PipelineConfig
from transforms.dedup.core import band_partitions, complete_decisions
from transforms.dedup.fingerprint import fingerprint_bands, fingerprint_batch
from transforms.engine.dataset_state import file_sha256, part_stem, run_tag
from transforms.engine.inputs import InputFile, Shard
from transforms.engine.parquet_io import read_json, read_table, write_json, write_parts, write_table
from transforms.engine.work_layout import (
    band_partition_path,
    decisions_path,
    final_dir,
    fingerprints_path,
    finished_marker,
    job_worker,
    known_doc_ids_path,
    prepared_marker,
    resolved_marker,
    shard_dir,
)
from transforms.schema import (
    KEPT_SCHEMA,
    RECORD_SCHEMA,
    REJECTED_SCHEMA,
    REJECTION_SCHEMA,
    with_lineage,
)
from transforms.stage import StageCounts, StageResult, rejection_rows
from transforms.stages.extract import extract_file
from transforms.stages.html_strip import strip_html_batch
from transforms.stages.normalize import normalize_batch
from transforms.stages.quality import filter_batch
from transforms.stages.segment import segment_batch

STAGES = ("extract", "html_strip", "normalize", "filter", "dedup", "segment", "write")


def run_key(shards: list[Shard], cfg: PipelineConfig, base: str = "") -> str:
    """Names the work folder of a run: the same inputs and settings give the same folder.

    So a run started again with ``--resume`` finds the jobs its killed
    predecessor finished (their summary files) and redoes only the rest.
    """
    parts = [cfg.config_hash, str(cfg.run.dedup_partitions), base, *(s.shard_id for s in shards)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def warm_up() -> None:
    """Load what every shard job needs (modules, lookup tables, converters) in this process.

    Called once in each worker process while Prefect's server starts, so that
    the first shard does not pay for it.
    """
    from transforms.dedup.canonical import load_tables
    from transforms.dedup.minhash import signatures

    load_tables()
    signatures(["预热"], 5, 16, 1)  # loads (or, the first time, compiles) the kernel


def _timed(stage: Callable[..., StageResult], *args: Any) -> StageResult:
    started = time.perf_counter()
    result = stage(*args)
    result.counts.seconds = time.perf_counter() - started
    return result


# A read error may be transient (a network filesystem, a file being replaced):
# the file is read again after these pauses before it counts as failed.
READ_RETRY_DELAYS = (0.5, 2.0)


def _extract_readable(entry: InputFile, cfg: PipelineConfig) -> tuple[StageResult, str]:
    """``extract_file`` of one input and the file's SHA-256 (for the input manifest),
    read again after a pause when reading fails."""
    for delay in (*READ_RETRY_DELAYS, None):
        try:
            result = _timed(extract_file, entry.path, entry.root, cfg.extract)
            return result, file_sha256(entry.path)
        except OSError:
            if delay is None:
                raise
            time.sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _extract_shard(
    shard: Shard, cfg: PipelineConfig, known: pa.Array
) -> tuple[StageResult, int, dict[str, str], list[dict[str, str]]]:
    """Every record of the shard's files, less those already in the dataset (``known``
    doc_ids, from files that changed since an earlier run); how many those were; the
    SHA-256 of each file read; and the files that could not be read.

    A file that cannot be read (``OSError``, also after ``READ_RETRY_DELAYS``)
    gives no records, not even those read before the error, and is listed
    with its error: the run reports it and does not record it in the input
    manifest, so the next run over the folder tries it again.  The shard's
    other files go on.
    """
    counts = StageCounts(stage="extract")
    kept, rejected, failed = [], [], []
    digests: dict[str, str] = {}
    for entry in shard.files:
        try:
            result, digests[str(entry.path)] = _extract_readable(entry, cfg)
        except OSError as err:
            failed.append({"path": str(entry.path), "error": f"{type(err).__name__}: {err}"})
            continue
        kept.append(result.kept)
        rejected.append(result.rejected)
        counts.merge(result.counts)
    counts.extra["files"] += len(shard.files)
    records = pa.concat_tables([RECORD_SCHEMA.empty_table(), *kept])
    refused = pa.concat_tables([REJECTION_SCHEMA.empty_table(), *rejected])
    already = 0
    if len(known):
        new_records = pc.invert(pc.is_in(records.column("doc_id"), known))
        new_refused = pc.invert(pc.is_in(refused.column("doc_id"), known))
        records, refused = records.filter(new_records), refused.filter(new_refused)
        already = counts.input - records.num_rows - refused.num_rows
        counts.input -= already
        counts.kept = records.num_rows
        counts.rejected = Counter(refused.column("reason").to_pylist())
    result = StageResult(kept=records, rejected=refused, counts=counts.check())
    return result, already, digests, failed


def _known_doc_ids(work_dir: Path) -> pa.Array:
    path = known_doc_ids_path(work_dir)
    if not path.exists():
        return pa.array([], pa.string())
    return read_table(path).column("doc_id").combine_chunks()


def prepare_shard(shard: Shard, work_dir: Path, cfg: PipelineConfig) -> Path:
    """Extract, strip HTML, normalize, filter and fingerprint one shard; return its summary path."""
    folder = shard_dir(work_dir, shard.shard_id)
    summary = prepared_marker(work_dir, shard.shard_id)
    known = _known_doc_ids(work_dir)
    extracted, already_in_dataset, digests, failed = _extract_shard(shard, cfg, known)
    stripped = _timed(strip_html_batch, extracted.kept, cfg.html)
    normalized = _timed(normalize_batch, stripped.kept, cfg.normalize)
    filtered = _timed(filter_batch, normalized.kept, cfg.filter)

    started = time.perf_counter()
    fingerprints = fingerprint_batch(filtered.kept, cfg.dedup, with_canonical=False)
    bands = fingerprint_bands(fingerprints, cfg.dedup)
    for partition, rows in band_partitions(bands, cfg.run.dedup_partitions).items():
        write_table(rows, band_partition_path(work_dir, shard.shard_id, partition))
    fingerprint_seconds = time.perf_counter() - started

    rejected = pa.concat_tables([r.rejected for r in (extracted, stripped, normalized, filtered)])
    write_table(filtered.kept, folder / "records.parquet")
    write_table(rejected, folder / "rejected.parquet")
    # Without the canonical text: only pairs near the threshold need it, and
    # resolve_duplicates folds it again from records.parquet for those few.
    # Measured at 20,000 documents: fingerprinting 0.2 s faster over the run,
    # resolve about the same (0.58-0.75 s against 0.60 s).
    write_table(fingerprints.drop_columns(["canonical"]), folder / "fingerprints.parquet")
    write_json(
        {
            "shard_id": shard.shard_id,
            "worker": job_worker(),
            "files": [f.source_path for f in shard.files],
            "input_bytes": shard.size,
            "already_in_dataset": already_in_dataset,
            "failed_inputs": failed,
            # For the dataset's input manifest: read here, in parallel, not by the flow.
            "files_sha256": digests,
            "stages": {
                r.counts.stage: r.counts.to_dict()
                for r in (extracted, stripped, normalized, filtered)
            },
            "fingerprint_seconds": fingerprint_seconds,
        },
        summary,
    )
    return summary


def _duplicate_rejections(records: pa.Table, decisions: pa.Table) -> pa.Table:
    duplicates = decisions.filter(pc.not_equal(decisions.column("status"), "kept"))
    if duplicates.num_rows == 0:
        return REJECTION_SCHEMA.empty_table()
    rows = records.join(duplicates, "doc_id", join_type="inner").sort_by(
        [("source_path", "ascending"), ("source_record", "ascending")]
    )
    statuses = rows.column("status").to_pylist()
    targets = rows.column("duplicate_of").to_pylist()
    sims = rows.column("similarity").to_pylist()
    details = [
        f"{'same canonical text as' if s == 'exact_duplicate' else 'Jaccard ~' + format(sim, '.3f') + ' with'} {t}"
        for s, t, sim in zip(statuses, targets, sims, strict=True)
    ]
    rejected = rejection_rows(rows, statuses, details, stage="dedup")
    rejected = rejected.set_column(
        rejected.schema.get_field_index("duplicate_of"), "duplicate_of", rows.column("duplicate_of")
    )
    return rejected.set_column(
        rejected.schema.get_field_index("similarity"),
        "similarity",
        rows.column("similarity").cast(pa.float32()),
    )


def finish_shard(
    shard_id: str, work_dir: Path, cfg: PipelineConfig, lineage: dict[str, Any]
) -> Path:
    """Apply the dedup decisions, segment the kept documents, write final Parquet parts."""
    folder = shard_dir(work_dir, shard_id)
    records = read_table(folder / "records.parquet")
    decisions = complete_decisions(
        records.column("doc_id"), read_table(decisions_path(work_dir, shard_id))
    )

    kept_ids = decisions.filter(pc.equal(decisions.column("status"), "kept"))
    kept = records.join(
        kept_ids.select(["doc_id", "dup_cluster_id", "dup_cluster_size"]),
        "doc_id",
        join_type="inner",
    ).sort_by([("source_path", "ascending"), ("source_record", "ascending")])
    started = time.perf_counter()
    segmented, segment_counts = segment_batch(kept, cfg.segment)
    segment_counts.seconds = time.perf_counter() - started
    segmented = segmented.append_column("html_stripped", segmented.column("is_html"))

    started = time.perf_counter()
    rejected = pa.concat_tables(
        [read_table(folder / "rejected.parquet"), _duplicate_rejections(records, decisions)]
    )
    out = final_dir(work_dir)
    stem = part_stem(run_tag(lineage["processed_at"], lineage["run_id"]), shard_id)
    data_parts = write_parts(
        with_lineage(segmented, lineage, KEPT_SCHEMA),
        out / "data",
        f"part-{stem}",
        cfg.output_files,
    )
    rejected_parts = write_parts(
        with_lineage(rejected, lineage, REJECTED_SCHEMA),
        out / "rejected",
        f"part-{stem}",
        cfg.output_files,
    )
    _write_index(work_dir, shard_id, kept_ids.column("doc_id"), out / "index" / stem, cfg)
    write_stage = StageCounts(
        stage="write",
        input=segmented.num_rows,
        kept=segmented.num_rows,
        seconds=time.perf_counter() - started,
    )
    write_stage.extra.update({"data_files": len(data_parts), "rejected_files": len(rejected_parts)})
    return write_json(
        {
            "shard_id": shard_id,
            "worker": job_worker(),
            "kept_rows": segmented.num_rows,
            "rejected_rows": rejected.num_rows,
            "stages": {"segment": segment_counts.to_dict(), "write": write_stage.to_dict()},
        },
        finished_marker(work_dir, shard_id),
    )


def _write_index(
    work_dir: Path, shard_id: str, kept: pa.ChunkedArray, index_dir: Path, cfg: PipelineConfig
) -> None:
    """The dedup index of the shard's kept documents: what later runs deduplicate against.

    Fingerprints (without the canonical text: a later run that needs it reads
    the published text), marked priority 0 (published: never removed), and
    the documents' band keys in the run's partitions.
    """
    fingerprints = read_table(fingerprints_path(work_dir, shard_id))
    fingerprints = fingerprints.filter(pc.is_in(fingerprints.column("doc_id"), kept))
    fingerprints = fingerprints.set_column(
        fingerprints.schema.get_field_index("priority"),
        fingerprints.schema.field("priority"),
        pa.array(np.zeros(fingerprints.num_rows, dtype=np.int8)),
    )
    write_table(fingerprints, index_dir / "fingerprints.parquet")
    kept_keys = fingerprints.column("doc_key")
    for partition in range(cfg.run.dedup_partitions):
        source = band_partition_path(work_dir, shard_id, partition)
        if source.exists():
            bands = read_table(source)
            bands = bands.filter(pc.is_in(bands.column("doc_key"), kept_keys))
            write_table(bands, index_dir / "bands" / f"{partition:04d}.parquet")


def lineage_for(
    run_id: str, pipeline_version: str, config_hash: str, processed_at: datetime
) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "pipeline_version": pipeline_version,
        "config_hash": config_hash,
        "processed_at": processed_at,
    }


def run_summary(work_dir: Path, shard_ids: list[str]) -> dict[str, Any]:
    """Counts per stage and reason over the whole run, and the kept/rejected invariant."""
    stages: dict[str, StageCounts] = {name: StageCounts(stage=name) for name in STAGES}
    kept_rows = rejected_rows = already = 0
    input_bytes = files = 0
    files_sha256, failed_inputs = [], []
    for shard_id in shard_ids:
        prepared = read_json(prepared_marker(work_dir, shard_id))
        finished = read_json(finished_marker(work_dir, shard_id))
        input_bytes += prepared["input_bytes"]
        files += len(prepared["files"])
        already += prepared["already_in_dataset"]
        files_sha256.append(prepared["files_sha256"])
        failed_inputs += prepared.get("failed_inputs", [])
        for name, data in {**prepared["stages"], **finished["stages"]}.items():
            stages[name].merge(StageCounts.from_dict(name, data))
        stages["dedup"].seconds += prepared.get("fingerprint_seconds", 0.0)
        kept_rows += finished["kept_rows"]
        rejected_rows += finished["rejected_rows"]
    dedup_steps = {"fingerprint": stages["dedup"].seconds}
    dedup_path = resolved_marker(work_dir)
    if dedup_path.exists():
        resolved = read_json(dedup_path)
        stages["dedup"].merge(StageCounts.from_dict("dedup", resolved["stages"]["dedup"]))
        dedup_steps.update(resolved["seconds_by_step"])

    rejected_by_reason: dict[str, int] = {}
    for counts in stages.values():
        for reason, n in counts.rejected.items():
            rejected_by_reason[reason] = rejected_by_reason.get(reason, 0) + n
    extracted = stages["extract"].input
    return {
        "inputs": {"files": files, "bytes": input_bytes, "shards": len(shard_ids)},
        "documents": {
            "extracted": extracted,
            "kept": kept_rows,
            "rejected": rejected_rows,
            "balanced": extracted == kept_rows + rejected_rows,
            # Records of changed input files that the dataset already holds: not added again.
            "already_in_dataset": already,
        },
        "files_sha256": files_sha256,
        "failed_inputs": sorted(failed_inputs, key=lambda f: f["path"]),
        "rejected_by_reason": dict(sorted(rejected_by_reason.items())),
        "dedup_seconds_by_step": {k: round(v, 6) for k, v in dedup_steps.items()},
        "stages": {name: counts.to_dict() for name, counts in stages.items()},
    }
