"""Exact and near-duplicate removal across every shard of a run, in visible steps.

Every step works on columns keyed by ``doc_key`` (the first 64 bits of the
``doc_id`` hash), so that each can read its input from Parquet files and run
partition by partition, never holding every band of the corpus in memory:

1. ``exact_duplicate_pairs``: documents with the same canonical-form hash;
   all but the best-ranked of each group are exact duplicates.  Only small
   columns of the documents that share a hash are read.
2. ``band_table``: each signature cut into ``bands`` bands of ``rows`` values,
   one 64-bit ``band_key`` per band (the band index is part of the hash).  The
   rows are split into ``partitions`` by ``band_key``, so that one partition
   holds every document that can collide in it.
3. ``candidate_pairs``: per partition, documents that share a ``band_key``
   (exact duplicates left out: they are settled).  The default 20 bands of 6
   rows sit below the 0.8 threshold on purpose: a pair at Jaccard 0.8 becomes
   a candidate with probability 0.998 (datasketch's 9 x 13 gives 0.40).
4. ``verify_pairs``: a candidate is a duplicate when its signatures agree in at
   least ``threshold`` of positions; a pair whose estimate is within
   ``UNCERTAIN_MARGIN`` of the threshold is decided by exact Jaccard instead.
5. ``resolve_clusters``: connected components of exact and verified pairs.
   The best-ranked member of each cluster is kept; the others point at it.

Keep rule (``RANK_ORDER``), suited to news where the fuller copy is the
better one: earlier ``priority`` first (documents already in the dataset
before this run have priority 0), then more letters and digits (the
canonical form's length, so punctuation and spacing do not count), then
source order (``source_path``, ``source_record``), then ``doc_id``.  No step
depends on shard count, worker count or the order inputs were listed in.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from transforms.config import DedupConfig
from transforms.dedup.minhash import estimated_jaccard, shingle_hashes

FINGERPRINT_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("doc_key", pa.int64(), nullable=False),
        pa.field("exact_hash", pa.string()),  # null: nothing to match on (no letters or digits)
        pa.field("signature", pa.list_(pa.uint32())),  # null with exact_hash
        pa.field("content_chars", pa.int32(), nullable=False),  # letters and digits: completeness
        pa.field("source_path", pa.string(), nullable=False),
        pa.field("source_record", pa.int64(), nullable=False),
        pa.field("priority", pa.int8(), nullable=False),  # 0: already in the dataset; 1: new
        # Read only for the pairs near the threshold (exact Jaccard).
        pa.field("canonical", pa.string()),
    ]
)

RANK_COLUMNS = [
    "doc_key",
    "doc_id",
    "exact_hash",
    "priority",
    "content_chars",
    "source_path",
    "source_record",
]
RANK_ORDER = [
    ("priority", "ascending"),
    ("content_chars", "descending"),
    ("source_path", "ascending"),
    ("source_record", "ascending"),
    ("doc_id", "ascending"),
]

BAND_SCHEMA = pa.schema(
    [
        pa.field("band_key", pa.uint64(), nullable=False),
        pa.field("doc_key", pa.int64(), nullable=False),
    ]
)
PAIR_SCHEMA = pa.schema(
    [pa.field("left", pa.int64(), nullable=False), pa.field("right", pa.int64(), nullable=False)]
)

DECISION_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("status", pa.string(), nullable=False),  # kept, exact_duplicate, near_duplicate
        pa.field("duplicate_of", pa.string()),
        pa.field("similarity", pa.float32()),
        pa.field("dup_cluster_id", pa.string(), nullable=False),
        pa.field("dup_cluster_size", pa.int32(), nullable=False),
    ]
)

# Buckets up to this size yield every pair; larger ones (boilerplate-heavy
# near-identical pages) yield a star to their first member plus a chain, so
# that the candidate count stays linear in the bucket size.
_ALL_PAIRS_MAX_BUCKET = 16

# MinHash's Jaccard estimate from 128 permutations has a standard error of
# about 0.035 at J = 0.8, so about half of the true pairs between 0.80 and
# 0.82 would fall below the threshold.  Pairs whose estimate is within this
# margin of the threshold (3 standard errors) are decided by their exact
# Jaccard when the caller can compute it.
UNCERTAIN_MARGIN = 0.1

# Maps sorted unique doc_keys to their rows: (len(keys), num_perm) signatures,
# or canonical texts.
SignatureLookup = Callable[[np.ndarray], np.ndarray]
TextLookup = Callable[[np.ndarray], Sequence[str]]
# Exact Jaccard of pairs of doc_keys, (m, 2) -> (m,).
ExactJaccard = Callable[[np.ndarray], np.ndarray]


def doc_keys(doc_ids: Sequence[str]) -> np.ndarray:
    """int64 key of each doc_id: its first 16 hex digits (doc_ids are hashes already)."""
    return np.array([int(d[:16], 16) for d in doc_ids], dtype=np.uint64).view(np.int64)


# ----------------------------------------------------------------------------- exact


def keep_order(info: pa.Table) -> np.ndarray:
    """Indices of ``info`` (RANK_COLUMNS) in keep order: the first one wins."""
    return pc.sort_indices(info, sort_keys=RANK_ORDER).to_numpy()


def exact_duplicate_pairs(info: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """(duplicate doc_keys, their keepers' doc_keys) over ``info`` (RANK_COLUMNS).

    ``info`` may hold only the documents whose hash occurs more than once
    (``shared_hashes``); documents without a hash are never duplicates.
    """
    info = info.filter(pc.is_valid(info.column("exact_hash")))
    if info.num_rows == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    ranked = info.take(keep_order(info))
    # A stable sort by hash keeps keep order within each group.
    grouped = ranked.take(pc.sort_indices(ranked, sort_keys=[("exact_hash", "ascending")]))
    hashes = grouped.column("exact_hash").to_numpy(zero_copy_only=False)
    keys = grouped.column("doc_key").to_numpy()
    first = np.ones(len(hashes), dtype=bool)
    first[1:] = hashes[1:] != hashes[:-1]
    keeper = keys[np.maximum.accumulate(np.where(first, np.arange(len(keys)), 0))]
    return keys[~first], keeper[~first]


def shared_hashes(hashes: pa.Table) -> pa.Array:
    """The exact hashes (``exact_hash`` column) that occur more than once."""
    counts = hashes.filter(pc.is_valid(hashes.column("exact_hash"))).group_by("exact_hash")
    counts = counts.aggregate([("exact_hash", "count")])
    return counts.filter(pc.greater(counts.column("exact_hash_count"), 1)).column("exact_hash")


# ----------------------------------------------------------------------------- bands


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(n, bands) uint64: one 64-bit hash per band of ``rows`` signature values."""
    n = signatures.shape[0]
    out = np.zeros((n, bands), dtype=np.uint64)
    prime = np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        for band in range(bands):
            acc = np.full(n, np.uint64(band + 1) * prime, dtype=np.uint64)
            for col in signatures[:, band * rows : (band + 1) * rows].T:
                acc = (acc ^ col.astype(np.uint64)) * prime
                acc ^= acc >> np.uint64(29)
            out[:, band] = acc
    return out


def band_table(keys: np.ndarray, signatures: np.ndarray, cfg: DedupConfig) -> pa.Table:
    """BAND_SCHEMA rows: every band of every signature."""
    hashed = band_keys(signatures, cfg.bands, cfg.rows)
    return pa.table(
        {"band_key": hashed.reshape(-1), "doc_key": np.repeat(keys, cfg.bands)}, schema=BAND_SCHEMA
    )


def band_partitions(bands: pa.Table, partitions: int) -> dict[int, pa.Table]:
    """Split band rows by ``band_key % partitions`` (empty partitions left out)."""
    part = bands.column("band_key").to_numpy() % np.uint64(partitions)
    order = np.argsort(part, kind="stable")
    sorted_part = part[order]
    out = {}
    for p in np.unique(sorted_part):
        lo, hi = np.searchsorted(sorted_part, [p, p + 1])
        out[int(p)] = bands.take(pa.array(order[lo:hi]))
    return out


def _bucket_pairs(members: np.ndarray) -> np.ndarray:
    if len(members) <= _ALL_PAIRS_MAX_BUCKET:
        left, right = np.triu_indices(len(members), k=1)
        return np.column_stack((members[left], members[right]))
    star = np.column_stack((np.full(len(members) - 1, members[0]), members[1:]))
    chain = np.column_stack((members[1:-1], members[2:]))
    return np.concatenate([star, chain])


def candidate_pairs(bands: pa.Table, exclude: np.ndarray | None = None) -> np.ndarray:
    """(m, 2) unique doc_key pairs (left < right) that share a band_key; ``exclude`` keys skipped."""
    keys = bands.column("band_key").to_numpy()
    docs = bands.column("doc_key").to_numpy()
    if exclude is not None and len(exclude):
        keep = ~np.isin(docs, exclude)
        keys, docs = keys[keep], docs[keep]
    order = np.lexsort((docs, keys))
    keys, docs = keys[order], docs[order]
    same_as_next = keys[1:] == keys[:-1]
    if not same_as_next.any():
        return np.empty((0, 2), dtype=np.int64)
    run_start = np.flatnonzero(np.r_[True, ~same_as_next])
    run_len = np.diff(np.r_[run_start, len(keys)])
    # Buckets of two (by far the most common) are paired without a Python loop.
    twos = run_start[run_len == 2]
    found = [np.column_stack((docs[twos], docs[twos + 1]))]
    for start, length in zip(run_start[run_len > 2], run_len[run_len > 2], strict=True):
        found.append(_bucket_pairs(docs[start : start + length]))
    pairs = np.sort(np.concatenate(found), axis=1)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    return np.unique(pairs, axis=0).reshape(-1, 2)


# ----------------------------------------------------------------------------- verify


def verify_pairs(
    pairs: np.ndarray,
    signatures_of: SignatureLookup,
    threshold: float,
    exact_jaccard: ExactJaccard | None = None,
    margin: float = UNCERTAIN_MARGIN,
) -> tuple[np.ndarray, np.ndarray]:
    """The doc_key pairs that reach ``threshold``, and their similarity.

    The similarity is the signature agreement, or the exact Jaccard for pairs
    within ``margin`` of the threshold when ``exact_jaccard`` is given.
    """
    if len(pairs) == 0:
        return pairs.reshape(0, 2), np.empty(0)
    keys = np.unique(pairs)
    signatures = signatures_of(keys)
    left, right = np.searchsorted(keys, pairs[:, 0]), np.searchsorted(keys, pairs[:, 1])
    similarity = estimated_jaccard(signatures[left], signatures[right])
    if exact_jaccard is not None:
        unsure = np.abs(similarity - threshold) < margin
        if unsure.any():
            similarity[unsure] = exact_jaccard(pairs[unsure])
    ok = similarity >= threshold
    return pairs[ok], similarity[ok]


# Texts hashed at once when measuring exact Jaccard: hashing needs several
# 8-byte words per character, so a whole corpus at once would need gigabytes.
_EXACT_JACCARD_BATCH = 2048


def exact_jaccard_from_texts(canonical_of: TextLookup, ngram_size: int) -> ExactJaccard:
    """An ``ExactJaccard`` that fetches canonical texts by doc_key and compares n-gram sets."""

    def measure(pairs: np.ndarray) -> np.ndarray:
        keys = np.unique(pairs)
        texts = canonical_of(keys)
        sets: list[np.ndarray] = []
        for start in range(0, len(texts), _EXACT_JACCARD_BATCH):
            hashes, offsets = shingle_hashes(
                texts[start : start + _EXACT_JACCARD_BATCH], ngram_size
            )
            sets.extend(np.unique(hashes[a:b]) for a, b in itertools.pairwise(offsets))
        left, right = np.searchsorted(keys, pairs[:, 0]), np.searchsorted(keys, pairs[:, 1])
        return np.array([_jaccard(sets[a], sets[b]) for a, b in zip(left, right, strict=True)])

    return measure


def _jaccard(left: np.ndarray, right: np.ndarray) -> float:
    union = len(left) + len(right)
    if union == 0:
        return 1.0
    shared = len(np.intersect1d(left, right, assume_unique=True))
    return shared / (union - shared)


# ----------------------------------------------------------------------------- clusters


def connected_components(n: int, edges: np.ndarray) -> np.ndarray:
    """Component label of each of ``n`` nodes joined by ``edges`` (pairs of node indices)."""
    # Imported here: shard workers, which never cluster, skip loading scipy.
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components as _scipy_components

    if n == 0:
        return np.empty(0, dtype=np.int64)
    graph = coo_matrix(
        (np.ones(len(edges), dtype=np.int8), (edges[:, 0], edges[:, 1])), shape=(n, n)
    )
    return _scipy_components(graph, directed=False)[1].astype(np.int64)


def involved_keys(exact: tuple[np.ndarray, np.ndarray], verified: np.ndarray) -> np.ndarray:
    """Sorted doc_keys of every document in a cluster of two or more."""
    return np.unique(np.concatenate([exact[0], exact[1], verified.reshape(-1)]))


def resolve_clusters(
    info: pa.Table,
    exact: tuple[np.ndarray, np.ndarray],
    verified: np.ndarray,
    similarity: np.ndarray,
    signatures_of: SignatureLookup,
) -> pa.Table:
    """Decisions (DECISION_SCHEMA) for every document in a cluster of two or more.

    ``info`` holds RANK_COLUMNS of at least those documents
    (``involved_keys``).  Documents not in the result are kept and alone.
    """
    nodes = involved_keys(exact, verified)
    if len(nodes) == 0:
        return DECISION_SCHEMA.empty_table()
    info = info.filter(pc.is_in(info.column("doc_key"), pa.array(nodes)))
    info = info.take(pc.sort_indices(info, sort_keys=[("doc_key", "ascending")]))
    if not np.array_equal(info.column("doc_key").to_numpy(), nodes):
        raise ValueError("info lacks rows for some documents in duplicate clusters")

    edges = np.concatenate(
        [
            np.column_stack([np.searchsorted(nodes, exact[0]), np.searchsorted(nodes, exact[1])]),
            np.searchsorted(nodes, verified).reshape(-1, 2),
        ]
    )
    labels = connected_components(len(nodes), edges)
    rank = np.empty(len(nodes), dtype=np.int64)
    rank[keep_order(info)] = np.arange(len(nodes))
    keeper = _best_of_groups(labels, rank)

    doc_ids = np.array(info.column("doc_id").to_pylist(), dtype=object)
    hashes = np.array(info.column("exact_hash").to_pylist(), dtype=object)
    is_kept = keeper == np.arange(len(nodes))
    is_exact = ~is_kept & (hashes == hashes[keeper])
    sims = np.where(is_kept, np.nan, 1.0)
    near = np.flatnonzero(~is_kept & ~is_exact)
    if len(near):
        sims[near] = _similarity_to_keeper(nodes, near, keeper, verified, similarity, signatures_of)
    size = np.bincount(keeper, minlength=len(nodes))[keeper]
    status = np.where(is_kept, "kept", np.where(is_exact, "exact_duplicate", "near_duplicate"))
    return pa.table(
        {
            "doc_id": pa.array(doc_ids, pa.string()),
            "status": pa.array(status, pa.string()),
            "duplicate_of": pa.array(np.where(is_kept, None, doc_ids[keeper]), pa.string()),
            "similarity": pa.array(sims, pa.float32(), from_pandas=True),
            "dup_cluster_id": pa.array(doc_ids[keeper], pa.string()),
            "dup_cluster_size": pa.array(size, pa.int32()),
        },
        schema=DECISION_SCHEMA,
    )


def _best_of_groups(labels: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """For every node, the index of the best-ranked node sharing its label."""
    order = np.lexsort((rank, labels))
    sorted_labels = labels[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = sorted_labels[1:] != sorted_labels[:-1]
    best = np.empty(len(order), dtype=np.int64)
    best[order] = order[np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))]
    return best


def _similarity_to_keeper(
    nodes: np.ndarray,
    near: np.ndarray,
    keeper: np.ndarray,
    verified: np.ndarray,
    similarity: np.ndarray,
    signatures_of: SignatureLookup,
) -> np.ndarray:
    """Similarity of each near duplicate with its keeper.

    A document verified directly against its keeper reports the similarity
    that decided it (exact Jaccard near the threshold); one joined to its
    keeper through others reports the signature estimate of the two.
    """
    pairs = np.sort(np.column_stack([nodes[near], nodes[keeper[near]]]), axis=1)
    signatures = signatures_of(np.unique(pairs))
    keys = np.unique(pairs)
    estimate = estimated_jaccard(
        signatures[np.searchsorted(keys, pairs[:, 0])],
        signatures[np.searchsorted(keys, pairs[:, 1])],
    )
    direct = {(int(a), int(b)): float(s) for (a, b), s in zip(verified, similarity, strict=True)}
    return np.array(
        [direct.get((int(a), int(b)), float(e)) for (a, b), e in zip(pairs, estimate, strict=True)]
    )


def complete_decisions(doc_ids: pa.Array | pa.ChunkedArray, decisions: pa.Table) -> pa.Table:
    """Decisions for every one of ``doc_ids``: those without one are kept, alone in their cluster."""
    alone = pc.invert(pc.is_in(doc_ids, decisions.column("doc_id")))
    singles = pc.filter(doc_ids, alone)
    n = len(singles)
    filled = pa.table(
        {
            "doc_id": singles,
            "status": pa.array(["kept"] * n, pa.string()),
            "duplicate_of": pa.nulls(n, pa.string()),
            "similarity": pa.nulls(n, pa.float32()),
            "dup_cluster_id": singles,
            "dup_cluster_size": pa.array(np.ones(n, dtype=np.int32)),
        },
        schema=DECISION_SCHEMA,
    )
    return pa.concat_tables([decisions.select(DECISION_SCHEMA.names).cast(DECISION_SCHEMA), filled])


# ----------------------------------------------------------------------------- in memory


@dataclass
class DedupCounts:
    documents: int
    kept: int
    exact_duplicates: int
    near_duplicates: int
    candidate_pairs: int
    verified_pairs: int
    clusters_with_duplicates: int
    largest_cluster: int

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)

    @classmethod
    def of(cls, documents: int, decisions: pa.Table, candidates: int, verified: int) -> DedupCounts:
        status = decisions.column("status")
        kept = decisions.filter(pc.equal(status, "kept"))
        sizes = kept.column("dup_cluster_size").to_numpy()
        removed = decisions.num_rows - kept.num_rows
        return cls(
            documents=documents,
            kept=documents - removed,
            exact_duplicates=pc.sum(pc.equal(status, "exact_duplicate")).as_py() or 0,
            near_duplicates=pc.sum(pc.equal(status, "near_duplicate")).as_py() or 0,
            candidate_pairs=candidates,
            verified_pairs=verified,
            clusters_with_duplicates=int((sizes > 1).sum()),
            largest_cluster=int(sizes.max(initial=1 if documents else 0)),
        )


def table_lookups(table: pa.Table, num_perm: int) -> tuple[SignatureLookup, TextLookup]:
    """Signature and canonical-text lookups by doc_key over an in-memory FINGERPRINT table."""
    keys = table.column("doc_key").to_numpy()
    order = np.argsort(keys)

    def rows_of(wanted: np.ndarray) -> pa.Array:
        return pa.array(order[np.searchsorted(keys, wanted, sorter=order)])

    def signatures_of(wanted: np.ndarray) -> np.ndarray:
        return signature_matrix(table.column("signature").take(rows_of(wanted)), num_perm)

    def canonical_of(wanted: np.ndarray) -> list[str]:
        return table.column("canonical").take(rows_of(wanted)).to_pylist()

    return signatures_of, canonical_of


def signature_matrix(column: pa.Array | pa.ChunkedArray, num_perm: int) -> np.ndarray:
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    flat = column.flatten().to_numpy(zero_copy_only=False).astype(np.uint32, copy=False)
    if flat.size != len(column) * num_perm:
        raise ValueError(f"signatures must all have num_perm = {num_perm} values")
    return flat.reshape(len(column), num_perm)


def deduplicate(table: pa.Table, cfg: DedupConfig) -> tuple[pa.Table, DedupCounts]:
    """All steps in memory over one FINGERPRINT table: a decision for every document.

    The pipeline runs the same steps over Parquet files, partition by
    partition (``transforms.engine.shard_jobs``); this is the same logic for a
    single batch.
    """
    n = table.num_rows
    if not cfg.enabled or n == 0:
        return complete_decisions(table.column("doc_id"), DECISION_SCHEMA.empty_table()), (
            DedupCounts.of(n, DECISION_SCHEMA.empty_table(), 0, 0)
        )
    info = table.select(RANK_COLUMNS)
    exact = exact_duplicate_pairs(info)
    with_signature = table.filter(pc.is_valid(table.column("signature")))
    keys = with_signature.column("doc_key").to_numpy()
    bands = band_table(
        keys, signature_matrix(with_signature.column("signature"), cfg.num_perm), cfg
    )
    pairs = candidate_pairs(bands, exclude=exact[0])
    signatures_of, canonical_of = table_lookups(table, cfg.num_perm)
    verified, similarity = verify_pairs(
        pairs,
        signatures_of,
        cfg.threshold,
        exact_jaccard_from_texts(canonical_of, cfg.ngram_size),
    )
    decisions = resolve_clusters(info, exact, verified, similarity, signatures_of)
    counts = DedupCounts.of(n, decisions, len(pairs), len(verified))
    return complete_decisions(table.column("doc_id"), decisions), counts
