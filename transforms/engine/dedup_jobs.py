"""The cross-shard dedup steps as jobs over the run's Parquet files.

``transforms.dedup`` holds the logic (``transforms.dedup.batch`` composes the
same steps over one table in memory); these jobs feed it from and to disk so
that no step holds more than one partition of bands, the small columns of the
documents that share a hash, and the documents of candidate pairs:

1. ``find_exact_duplicates``: ``dedup/exact.parquet`` (duplicate, keeper).
2. ``find_candidate_pairs`` for each band partition (independent: run them in
   parallel): ``dedup/pairs/<p>.parquet``.
3. ``resolve_duplicates``: verifies the pairs, forms clusters and writes
   ``dedup/<shard_id>.parquet`` (decisions of that shard's documents that are
   in a cluster of two or more) and ``dedup/dedup.json`` (the stage's corpus-wide
   tallies and the seconds of each step).

Each shard's first job (``transforms.engine.shard_jobs.prepare_shard``) left
``shards/<id>/fingerprints.parquet`` and ``shards/<id>/bands/<p>.parquet``.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from transforms.config import PipelineConfig
from transforms.dedup.bands import PAIR_SCHEMA, candidate_pairs
from transforms.dedup.canonical import canonical_batch
from transforms.dedup.clusters import DECISION_SCHEMA, involved_keys, resolve_clusters
from transforms.dedup.exact import exact_duplicate_pairs, shared_hashes
from transforms.dedup.fingerprint import signature_matrix
from transforms.dedup.keep_rule import RANK_COLUMNS
from transforms.dedup.verify import exact_jaccard_from_texts, similarities, verify_pairs
from transforms.engine.work_layout import (
    band_partition_path,
    decisions_path,
    dedup_members_path,
    exact_marker,
    exact_path,
    fingerprints_path,
    job_worker,
    pairs_marker,
    pairs_path,
    resolved_marker,
    shard_dir,
)
from transforms.storage import read_json, read_table, write_json, write_table

EXACT_SCHEMA = pa.schema(
    [
        pa.field("duplicate", pa.int64(), nullable=False),
        pa.field("keeper", pa.int64(), nullable=False),
    ]
)


@dataclass(frozen=True)
class DedupInputs:
    """Where the dedup steps find fingerprints and bands: this run's shards, then the
    dataset's index folders (documents already published, which are never removed)."""

    work_dir: Path
    shard_ids: list[str]
    index_dirs: list[Path] = field(default_factory=list)

    def fingerprint_files(self) -> list[tuple[str, Path]]:
        """(owner, path): the owner is a shard id, or ``INDEX_OWNER`` for the index."""
        return [(s, fingerprints_path(self.work_dir, s)) for s in self.shard_ids] + [
            (INDEX_OWNER, d / "fingerprints.parquet") for d in self.index_dirs
        ]

    def new_band_files(self, partition: int) -> list[Path]:
        paths = [band_partition_path(self.work_dir, s, partition) for s in self.shard_ids]
        return [p for p in paths if p.exists()]

    def published_band_files(self, partition: int) -> list[Path]:
        paths = [d / "bands" / f"{partition:04d}.parquet" for d in self.index_dirs]
        return [p for p in paths if p.exists()]


INDEX_OWNER = ""


def _read_matching(
    inputs: DedupInputs, columns: list[str], column: str, values: pa.Array
) -> pa.Table:
    """Rows of every fingerprint file whose ``column`` is in ``values``, with ``shard_id``.

    Index rows have an empty ``shard_id`` and no ``canonical`` text (null).
    """
    found = []
    for owner, path in inputs.fingerprint_files():
        present = [c for c in columns if c in pq.read_schema(path).names]
        table = read_table(path, columns=present)
        table = table.filter(pc.is_in(table.column(column), values))
        for missing in (c for c in columns if c not in present):
            table = table.append_column(missing, pa.nulls(table.num_rows, pa.string()))
        found.append(
            table.select(columns).append_column(
                "shard_id", pa.array([owner] * table.num_rows, pa.string())
            )
        )
    if not found:
        return pa.table({name: [] for name in [*columns, "shard_id"]})
    return pa.concat_tables(found)


def _by_key(table: pa.Table, keys: np.ndarray) -> pa.Table:
    """``table`` rows in the order of the sorted unique ``keys``; every key must be there."""
    table = table.take(pc.sort_indices(table, sort_keys=[("doc_key", "ascending")]))
    if not np.array_equal(table.column("doc_key").to_numpy(), keys):
        raise ValueError("fingerprints are missing for some documents of candidate pairs")
    return table


def reset_stale_dedup(work_dir: Path, shard_ids: list[str]) -> None:
    """Discard dedup results computed over another set of shards; record the current set.

    A resumed run may dedup other shards than its killed predecessor (a shard
    that failed then may succeed now); the earlier results no longer apply.
    """
    members = dedup_members_path(work_dir)
    if members.exists() and read_json(members) != shard_ids:
        shutil.rmtree(members.parent)
    write_json(shard_ids, members)


def _record_seconds(marker: Path, started: float) -> None:
    write_json({"seconds": time.perf_counter() - started, "worker": job_worker()}, marker)


def find_exact_duplicates(inputs: DedupInputs) -> Path:
    started = time.perf_counter()
    hashes = pa.concat_tables(
        [read_table(path, columns=["exact_hash"]) for _, path in inputs.fingerprint_files()]
    )
    shared = shared_hashes(hashes)
    info = _read_matching(inputs, RANK_COLUMNS, "exact_hash", shared)
    duplicate, keeper = exact_duplicate_pairs(info.drop_columns(["shard_id"]))
    table = pa.table({"duplicate": duplicate, "keeper": keeper}, schema=EXACT_SCHEMA)
    write_table(table, exact_path(inputs.work_dir))
    _record_seconds(exact_marker(inputs.work_dir), started)
    return exact_marker(inputs.work_dir)


def _exact_pairs(work_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    table = read_table(exact_path(work_dir))
    return table.column("duplicate").to_numpy(), table.column("keeper").to_numpy()


def find_candidate_pairs(partition: int, inputs: DedupInputs) -> Path:
    """Candidate pairs of one band partition that involve at least one of this run's documents.

    Published documents were paired with each other when they came; their
    band rows count only where they share a band with a new document, so an
    incremental run's pairs grow with its new documents, not with the dataset.
    """
    started = time.perf_counter()
    new = [read_table(p) for p in inputs.new_band_files(partition)]
    published = inputs.published_band_files(partition)
    pairs = np.empty((0, 2), dtype=np.int64)
    if new:
        bands = pa.concat_tables(new)
        if published:
            wanted = pc.unique(bands.column("band_key"))
            old = [read_table(p) for p in published]
            old = [t.filter(pc.is_in(t.column("band_key"), wanted)) for t in old]
            bands = pa.concat_tables([bands, *old])
        exclude = np.sort(_exact_pairs(inputs.work_dir)[0])
        pairs = candidate_pairs(bands, exclude=exclude)
        if published:
            fresh = np.sort(pa.concat_tables(new).column("doc_key").to_numpy())
            touches = np.isin(pairs[:, 0], fresh) | np.isin(pairs[:, 1], fresh)
            pairs = pairs[touches]
    table = pa.table({"left": pairs[:, 0], "right": pairs[:, 1]}, schema=PAIR_SCHEMA)
    write_table(table, pairs_path(inputs.work_dir, partition))
    _record_seconds(pairs_marker(inputs.work_dir, partition), started)
    return pairs_marker(inputs.work_dir, partition)


def _lookups(inputs: DedupInputs, cfg: PipelineConfig):
    def signatures_of(keys: np.ndarray) -> np.ndarray:
        found = _read_matching(inputs, ["doc_key", "signature"], "doc_key", pa.array(keys))
        return signature_matrix(_by_key(found, keys).column("signature"), cfg.dedup.num_perm)

    def canonical_of(keys: np.ndarray) -> list[str]:
        # Fingerprints keep no canonical text: the documents' own text, folded again.
        found = _by_key(
            _read_matching(inputs, ["doc_key", "doc_id"], "doc_key", pa.array(keys)), keys
        )
        doc_ids = found.column("doc_id").to_pylist()
        owners = found.column("shard_id").to_pylist()
        text_of: dict[str, str] = {}
        for owner in set(owners):
            wanted = [d for d, o in zip(doc_ids, owners, strict=True) if o == owner]
            if owner == INDEX_OWNER:
                text_of.update(zip(wanted, published_texts(inputs, wanted), strict=True))
            else:
                text_of.update(_record_texts(inputs.work_dir, owner, wanted))
        return canonical_batch([text_of[d] for d in doc_ids], cfg.dedup.fold_script)

    return signatures_of, canonical_of


def _record_texts(work_dir: Path, shard_id: str, doc_ids: list[str]) -> dict[str, str]:
    """``text`` of this run's documents ``doc_ids`` of shard ``shard_id``, by doc_id."""
    table = read_table(
        shard_dir(work_dir, shard_id) / "records.parquet", columns=["doc_id", "text"]
    )
    table = table.filter(pc.is_in(table.column("doc_id"), pa.array(doc_ids, pa.string())))
    return dict(zip(table["doc_id"].to_pylist(), table["text"].to_pylist(), strict=True))


def published_texts(inputs: DedupInputs, doc_ids: list[str]) -> list[str]:
    """``text`` of published documents, in the order of ``doc_ids``."""
    wanted = pa.array(doc_ids, pa.string())
    text_of: dict[str, str] = {}
    for index_dir in inputs.index_dirs:
        data = index_dir.parent.parent / "data"
        for part in sorted(data.glob(f"part-{index_dir.name}-*.parquet")):
            table = read_table(part, columns=["doc_id", "text"])
            table = table.filter(pc.is_in(table.column("doc_id"), wanted))
            text_of.update(zip(table["doc_id"].to_pylist(), table["text"].to_pylist(), strict=True))
    missing = [d for d in doc_ids if d not in text_of]
    if missing:
        raise ValueError(f"published documents missing from data/: {missing[:3]}")
    return [text_of[d] for d in doc_ids]


def _candidate_pairs_of_run(work_dir: Path, partitions: int) -> np.ndarray:
    """Every partition's candidate pairs, once each (a pair may share bands in several)."""
    files = [pairs_path(work_dir, p) for p in range(partitions)]
    tables = [read_table(p) for p in files if p.exists()] or [PAIR_SCHEMA.empty_table()]
    found = pa.concat_tables(tables)
    stacked = np.column_stack([found.column("left").to_numpy(), found.column("right").to_numpy()])
    return np.unique(stacked, axis=0).reshape(-1, 2)


def resolve_duplicates(inputs: DedupInputs, partitions: int, cfg: PipelineConfig) -> Path:
    """Verify the candidate pairs, form clusters and write each shard's decisions."""
    started = time.perf_counter()
    work_dir = inputs.work_dir
    pairs = _candidate_pairs_of_run(work_dir, partitions)
    signatures_of, canonical_of = _lookups(inputs, cfg)
    exact_jaccard = exact_jaccard_from_texts(canonical_of, cfg.dedup.ngram_size)
    threshold = cfg.dedup.threshold
    verified, similarity = verify_pairs(pairs, signatures_of, threshold, exact_jaccard)
    exact = _exact_pairs(work_dir)
    info = _read_matching(inputs, RANK_COLUMNS, "doc_key", pa.array(involved_keys(exact, verified)))

    def measure(more: np.ndarray) -> np.ndarray:
        return similarities(more, signatures_of, threshold, exact_jaccard)

    decisions = resolve_clusters(
        info.drop_columns(["shard_id"]), exact, verified, similarity, measure, threshold
    )
    decisions = decisions.join(info.select(["doc_id", "shard_id"]), "doc_id", join_type="inner")
    # Published documents stay as they are: only this run's documents get decisions.
    decisions = decisions.filter(pc.not_equal(decisions.column("shard_id"), INDEX_OWNER))
    for shard_id in inputs.shard_ids:
        mine = decisions.filter(pc.equal(decisions.column("shard_id"), shard_id))
        write_table(mine.select(DECISION_SCHEMA.names), decisions_path(work_dir, shard_id))
    return write_json(
        {
            "extra": _corpus_tallies(decisions, len(pairs), len(verified)),
            "seconds_by_step": _step_seconds(work_dir, partitions, started),
            "worker": job_worker(),
        },
        resolved_marker(work_dir),
    )


def _corpus_tallies(decisions: pa.Table, candidates: int, verified: int) -> dict[str, int]:
    """The dedup stage's tallies that only the whole run knows."""
    kept = decisions.filter(pc.equal(decisions.column("status"), "kept"))
    sizes = kept.column("dup_cluster_size").to_numpy()
    return {
        "candidate_pairs": candidates,
        "verified_pairs": verified,
        "clusters_with_duplicates": int((sizes > 1).sum()),
        "largest_cluster": int(sizes.max(initial=1)),
    }


def _step_seconds(work_dir: Path, partitions: int, resolve_started: float) -> dict[str, float]:
    """Summed job time of each corpus-wide dedup step (the pair jobs may have run in parallel)."""
    pair_markers = [pairs_marker(work_dir, p) for p in range(partitions)]
    return {
        "exact": read_json(exact_marker(work_dir))["seconds"],
        "candidate_pairs": sum(read_json(f)["seconds"] for f in pair_markers if f.exists()),
        "resolve": time.perf_counter() - resolve_started,
    }
