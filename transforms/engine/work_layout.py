"""Where a run keeps its intermediate files: one place for every path of the work folder.

Every job writes its outputs atomically and its ``*.json`` summary last: a job
whose summary exists finished completely, which is what ``--resume`` relies on.

    known_doc_ids.parquet                    doc_ids already in the dataset, from changed files
    shards/<shard_id>/records.parquet        documents that passed the stages before dedup
    shards/<shard_id>/rejected.parquet       rejected by those stages (with their stage)
    shards/<shard_id>/fingerprints.parquet   dedup input (hash, signature, rank columns; no text)
    shards/<shard_id>/bands/<p>.parquet      LSH band keys of partition p
    shards/<shard_id>/prepared.json          counts per stage           (prepare done)
    dedup/shards.json                        the shard ids the dedup steps cover
    dedup/exact.parquet, exact.json          exact duplicate pairs       (exact step done)
    dedup/pairs/<p>.parquet, <p>.json        candidate pairs of a band partition
    dedup/<shard_id>.parquet                 decisions of that shard's clustered documents
    dedup/dedup.json                         dedup counts               (dedup done)
    final/data/part-<tag>_<shard_id>-NNNNN.parquet     kept documents, ready to publish
    final/rejected/part-<tag>_<shard_id>-NNNNN.parquet every rejected record
    final/index/<tag>_<shard_id>/...         dedup index of the kept documents
    final/<shard_id>.json                    rows written               (finish done)
"""

from __future__ import annotations

import os
import socket
from pathlib import Path


def shard_dir(work_dir: Path, shard_id: str) -> Path:
    return work_dir / "shards" / shard_id


def fingerprints_path(work_dir: Path, shard_id: str) -> Path:
    return shard_dir(work_dir, shard_id) / "fingerprints.parquet"


def band_partition_path(work_dir: Path, shard_id: str, partition: int) -> Path:
    return shard_dir(work_dir, shard_id) / "bands" / f"{partition:04d}.parquet"


def prepared_marker(work_dir: Path, shard_id: str) -> Path:
    return shard_dir(work_dir, shard_id) / "prepared.json"


def dedup_members_path(work_dir: Path) -> Path:
    return work_dir / "dedup" / "shards.json"


def exact_path(work_dir: Path) -> Path:
    return work_dir / "dedup" / "exact.parquet"


def exact_marker(work_dir: Path) -> Path:
    return work_dir / "dedup" / "exact.json"


def pairs_path(work_dir: Path, partition: int) -> Path:
    return work_dir / "dedup" / "pairs" / f"{partition:04d}.parquet"


def pairs_marker(work_dir: Path, partition: int) -> Path:
    return pairs_path(work_dir, partition).with_suffix(".json")


def decisions_path(work_dir: Path, shard_id: str) -> Path:
    return work_dir / "dedup" / f"{shard_id}.parquet"


def resolved_marker(work_dir: Path) -> Path:
    return work_dir / "dedup" / "dedup.json"


def final_dir(work_dir: Path) -> Path:
    return work_dir / "final"


def finished_marker(work_dir: Path, shard_id: str) -> Path:
    return final_dir(work_dir) / f"{shard_id}.json"


def known_doc_ids_path(work_dir: Path) -> Path:
    return work_dir / "known_doc_ids.parquet"


def job_worker() -> str:
    """``host:pid`` of the process running a job, recorded in its summary.

    Says where a job ran: a local worker process, the flow's own process, or
    a Dask worker on another machine.
    """
    return f"{socket.gethostname()}:{os.getpid()}"
