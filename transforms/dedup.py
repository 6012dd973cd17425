"""Exact and near-duplicate removal across every shard of a run, in visible steps.

Input: one row per document that survived filtering, from all shards
(``DEDUP_INPUT_SCHEMA``): its canonical-form hash, MinHash signature, length
and source order.  Output: one decision per document (``DECISION_SCHEMA``).

Steps:

1. ``keep_rank``: the order in which documents win a cluster.  For news the
   most complete text wins: earlier ``priority`` (documents already in the
   dataset before this run come first), then more letters and digits (the
   canonical form's length, so punctuation and spacing do not count), then source
   order (``source_path``, ``source_record``), then ``doc_id``.  Nothing here
   depends on shard or worker count, or on the order inputs were listed.
2. ``exact_groups``: documents with the same canonical-form hash; only the
   best-ranked of each group goes on to MinHash.
3. ``band_hashes`` and ``candidate_pairs``: LSH banding.  The default 20 bands
   of 6 rows sit below the 0.8 threshold on purpose (a pair at Jaccard 0.8
   becomes a candidate with probability 0.998), because every candidate is
   then verified.
4. ``verify_pairs``: a candidate is a duplicate when its signatures agree in
   at least ``threshold`` of positions (the MinHash Jaccard estimate).
5. ``connected_components`` of the verified pairs form the clusters; the
   best-ranked document of each cluster is kept, every other one points at it
   with ``duplicate_of``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as _scipy_components

from transforms.config import DedupConfig
from transforms.minhash import estimated_jaccard, shingle_hashes

DEDUP_INPUT_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("exact_hash", pa.string()),  # null: nothing to match on (no letters or digits)
        pa.field("signature", pa.list_(pa.uint32())),
        pa.field("content_chars", pa.int32(), nullable=False),  # letters and digits: how complete
        pa.field("source_path", pa.string(), nullable=False),
        pa.field("source_record", pa.int64(), nullable=False),
        pa.field("priority", pa.int8(), nullable=False),  # 0: already in the dataset; 1: new
        # Read only for the few pairs near the threshold (exact Jaccard).
        pa.field("canonical", pa.string()),
    ]
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


def keep_rank(table: pa.Table) -> np.ndarray:
    """rank[i] = position of document i in keep order (0 wins)."""
    frame = pd.DataFrame(
        {
            "priority": table.column("priority").to_numpy(),
            "neg_chars": -table.column("content_chars").to_numpy().astype(np.int64),
            "source_path": table.column("source_path").to_pylist(),
            "source_record": table.column("source_record").to_numpy(),
            "doc_id": table.column("doc_id").to_pylist(),
        }
    )
    order = frame.sort_values(list(frame.columns), kind="stable").index.to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank


def exact_groups(exact_hashes: list[str | None]) -> np.ndarray:
    """group[i]: a label shared by documents with the same hash; a null hash is its own group."""
    codes, _ = pd.factorize(pd.Series(exact_hashes, dtype="object"), use_na_sentinel=True)
    labels = codes.astype(np.int64)
    missing = labels < 0
    labels[missing] = labels.max(initial=-1) + 1 + np.arange(int(missing.sum()))
    return labels


def best_of_groups(labels: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """For every document, the index of the best-ranked document sharing its label."""
    order = np.lexsort((rank, labels))
    sorted_labels = labels[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = sorted_labels[1:] != sorted_labels[:-1]
    group_start = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
    best = np.empty(len(order), dtype=np.int64)
    best[order] = order[group_start]
    return best


def band_hashes(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
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


def _bucket_pairs(members: np.ndarray) -> list[tuple[int, int]]:
    if len(members) <= _ALL_PAIRS_MAX_BUCKET:
        return [(int(a), int(b)) for i, a in enumerate(members) for b in members[i + 1 :]]
    star = [(int(members[0]), int(m)) for m in members[1:]]
    chain = [(int(a), int(b)) for a, b in itertools.pairwise(members)]
    return star + chain


def candidate_pairs(bands: np.ndarray) -> np.ndarray:
    """(m, 2) int64 unique pairs (i < j) of documents that share at least one band."""
    found: list[np.ndarray] = []
    for column in bands.T:
        order = np.argsort(column, kind="stable")
        keys = column[order]
        same_as_next = keys[1:] == keys[:-1]
        if not same_as_next.any():
            continue
        # Buckets of two (by far the most common) are paired without a Python loop.
        run_start = np.flatnonzero(np.r_[True, ~same_as_next])
        run_len = np.diff(np.r_[run_start, len(keys)])
        twos = run_start[run_len == 2]
        found.append(np.column_stack((order[twos], order[twos + 1])))
        for start, length in zip(run_start[run_len > 2], run_len[run_len > 2], strict=True):
            members = np.sort(order[start : start + length])
            found.append(np.array(_bucket_pairs(members), dtype=np.int64).reshape(-1, 2))
    if not found:
        return np.empty((0, 2), dtype=np.int64)
    pairs = np.sort(np.concatenate(found).astype(np.int64), axis=1)
    return np.unique(pairs, axis=0)


# MinHash's Jaccard estimate from 128 permutations has a standard error of
# about 0.035 at J = 0.8, so about half of the true pairs between 0.80 and
# 0.82 would fall below the threshold.  Pairs whose estimate is within this
# margin of the threshold (3 standard errors) are decided by their exact
# Jaccard when the caller can compute it.
UNCERTAIN_MARGIN = 0.1

# Exact Jaccard of candidate pairs, given as (m, 2) rows of the dedup input.
ExactJaccard = Callable[[np.ndarray], np.ndarray]


def verify_pairs(
    signatures: np.ndarray,
    pairs: np.ndarray,
    threshold: float,
    exact_jaccard: ExactJaccard | None = None,
    margin: float = UNCERTAIN_MARGIN,
    chunk: int = 65_536,
) -> tuple[np.ndarray, np.ndarray]:
    """The pairs that reach ``threshold``, and their similarity.

    The similarity is the signature agreement, or the exact Jaccard for pairs
    within ``margin`` of the threshold when ``exact_jaccard`` is given.
    """
    estimate = np.concatenate(
        [np.empty(0)]
        + [
            estimated_jaccard(signatures[block[:, 0]], signatures[block[:, 1]])
            for block in (pairs[i : i + chunk] for i in range(0, len(pairs), chunk))
        ]
    )
    similarity = estimate.copy()
    if exact_jaccard is not None and len(pairs):
        unsure = np.abs(estimate - threshold) < margin
        if unsure.any():
            similarity[unsure] = exact_jaccard(pairs[unsure])
    ok = similarity >= threshold
    return pairs[ok].reshape(-1, 2), similarity[ok]


def exact_jaccard_from_texts(
    canonical_texts: Callable[[np.ndarray], Sequence[str]], ngram_size: int
) -> ExactJaccard:
    """An ``ExactJaccard`` that fetches canonical texts by row and compares n-gram sets."""

    def measure(pairs: np.ndarray) -> np.ndarray:
        rows = np.unique(pairs)
        hashes, offsets = shingle_hashes(canonical_texts(rows), ngram_size)
        sets = [np.unique(hashes[offsets[i] : offsets[i + 1]]) for i in range(len(rows))]
        position = {int(row): i for i, row in enumerate(rows)}
        return np.array(
            [_jaccard(sets[position[int(a)]], sets[position[int(b)]]) for a, b in pairs],
            dtype=np.float64,
        )

    return measure


def _jaccard(left: np.ndarray, right: np.ndarray) -> float:
    union = len(left) + len(right)
    if union == 0:
        return 1.0
    shared = len(np.intersect1d(left, right, assume_unique=True))
    return shared / (union - shared)


def connected_components(n: int, pairs: np.ndarray) -> np.ndarray:
    """Component label of each of ``n`` nodes joined by ``pairs``."""
    if n == 0:
        return np.empty(0, dtype=np.int64)
    graph = coo_matrix(
        (np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n)
    )
    _, labels = _scipy_components(graph, directed=False)
    return labels.astype(np.int64)


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


def deduplicate(
    table: pa.Table,
    cfg: DedupConfig,
    canonical_texts: Callable[[np.ndarray], Sequence[str]] | None = None,
) -> tuple[pa.Table, DedupCounts]:
    """Decide, for every document of ``table`` (DEDUP_INPUT_SCHEMA), whether it is kept.

    ``canonical_texts(rows)`` returns the canonical forms of those rows of
    ``table``; with it, pairs near the threshold are decided by exact Jaccard.
    """
    n = table.num_rows
    rank = keep_rank(table)
    exact_best = best_of_groups(exact_groups(table.column("exact_hash").to_pylist()), rank)
    if not cfg.enabled:
        exact_best = np.arange(n)

    # MinHash runs only over the survivors of exact dedup that have a signature.
    has_signature = table.column("signature").is_valid().to_numpy(zero_copy_only=False)
    survivors = np.flatnonzero((exact_best == np.arange(n)) & has_signature)
    signatures = _signature_matrix(table, survivors, cfg.num_perm)
    pairs = np.empty((0, 2), dtype=np.int64)
    verified, similarity = pairs, np.empty(0)
    if cfg.enabled and len(survivors) > 1:
        pairs = candidate_pairs(band_hashes(signatures, cfg.bands, cfg.rows))
        exact = None
        if canonical_texts is not None:
            by_row = exact_jaccard_from_texts(canonical_texts, cfg.ngram_size)
            exact = lambda survivor_pairs: by_row(survivors[survivor_pairs])  # noqa: E731
        verified, similarity = verify_pairs(signatures, pairs, cfg.threshold, exact)
    component = np.arange(n)
    component[survivors] = survivors[connected_components(len(survivors), verified)]
    near_best = best_of_groups(component, rank)

    keeper = near_best[exact_best]  # a document's final keeper, through both steps
    edges = {
        (int(a), int(b)): float(sim)
        for (a, b), sim in zip(survivors[verified], similarity, strict=True)
    }
    decisions = _decisions(table, keeper, survivors, signatures, edges)
    status = decisions.column("status").to_numpy(zero_copy_only=False)
    sizes = np.bincount(keeper, minlength=n)
    counts = DedupCounts(
        documents=n,
        kept=int((status == "kept").sum()),
        exact_duplicates=int((status == "exact_duplicate").sum()),
        near_duplicates=int((status == "near_duplicate").sum()),
        candidate_pairs=len(pairs),
        verified_pairs=len(verified),
        clusters_with_duplicates=int((sizes > 1).sum()),
        largest_cluster=int(sizes.max(initial=0)),
    )
    return decisions, counts


def _signature_matrix(table: pa.Table, rows: np.ndarray, num_perm: int) -> np.ndarray:
    column = table.column("signature").take(pa.array(rows, pa.int64())).combine_chunks()
    if len(column) == 0:
        return np.empty((0, num_perm), dtype=np.uint32)
    flat = column.values.to_numpy(zero_copy_only=False).astype(np.uint32, copy=False)
    if flat.size != len(column) * num_perm:
        raise ValueError(f"signatures must all have num_perm = {num_perm} values")
    return flat.reshape(len(column), num_perm)


def _decisions(
    table: pa.Table,
    keeper: np.ndarray,
    survivors: np.ndarray,
    signatures: np.ndarray,
    edges: dict[tuple[int, int], float],
) -> pa.Table:
    """One decision row per document; ``edges`` holds the verified similarity of direct pairs."""
    n = table.num_rows
    doc_ids = np.array(table.column("doc_id").to_pylist(), dtype=object)
    hashes = np.array(table.column("exact_hash").to_pylist(), dtype=object)
    is_kept = keeper == np.arange(n)
    exact = ~is_kept & (hashes == hashes[keeper]) & pd.notna(hashes)

    similarity = np.where(is_kept, np.nan, 1.0)
    near = ~is_kept & ~exact
    if near.any():
        position = np.full(n, -1, dtype=np.int64)
        position[survivors] = np.arange(len(survivors))
        left, right = position[np.flatnonzero(near)], position[keeper[near]]
        # Every near duplicate and its keeper passed exact dedup, so both have rows.
        similarity[near] = estimated_jaccard(signatures[left], signatures[right])
        # A near duplicate verified directly against its keeper reports the
        # similarity that decided it (exact Jaccard near the threshold).
        for doc in np.flatnonzero(near):
            pair = (min(doc, keeper[doc]), max(doc, keeper[doc]))
            if pair in edges:
                similarity[doc] = edges[pair]

    cluster_size = np.bincount(keeper, minlength=n)[keeper]
    status = np.where(is_kept, "kept", np.where(exact, "exact_duplicate", "near_duplicate"))
    return pa.table(
        {
            "doc_id": pa.array(doc_ids, pa.string()),
            "status": pa.array(status, pa.string()),
            "duplicate_of": pa.array(np.where(is_kept, None, doc_ids[keeper]), pa.string()),
            "similarity": pa.array(similarity, pa.float32(), from_pandas=True),
            "dup_cluster_id": pa.array(doc_ids[keeper], pa.string()),
            "dup_cluster_size": pa.array(cluster_size, pa.int32()),
        },
        schema=DECISION_SCHEMA,
    )
