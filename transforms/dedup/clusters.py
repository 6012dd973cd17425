"""Clusters of duplicates: which document of each is kept, and what each other one duplicates.

The exact pairs and the verified pairs are joined into connected components;
the best-ranked member of each (``transforms.dedup.keep_rule``) is kept and
the others point at it.  The result is one decision (``DECISION_SCHEMA``) per
document in a cluster of two or more; ``complete_decisions`` adds the
documents that are alone.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from transforms.dedup.components import connected_components
from transforms.dedup.keep_rule import keep_order
from transforms.dedup.minhash import estimated_jaccard
from transforms.dedup.verify import SignatureLookup

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
