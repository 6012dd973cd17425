"""Clusters of duplicates: which documents are kept, and what each other one duplicates.

A document is removed only as a duplicate of a **kept** document whose
verified similarity to it reaches the threshold: ``duplicate_of`` always names
a kept document and ``similarity`` is that verified value.  Joining verified
pairs into connected components and keeping one member per component would
break this: in a chain A ~ B ~ C, C may be far from A.  So, within each
component (``transforms.dedup.components``):

1. exact duplicates (the same canonical form) count as one member, their
   best-ranked document (``transforms.dedup.exact``); the others follow it;
2. documents already published by an earlier run are kept (never removed);
3. then, while some member is neither kept nor similar to a kept one, the
   member similar to most of those (documents counted, its own exact copies
   included) is kept, ties broken by the keep rule (``transforms.dedup.keep_rule``);
4. kept members of one component that were never compared (no shared band)
   are compared now; a pair that reaches the threshold joins them and the
   component is chosen again, so that a second member is kept only when no
   kept one is similar enough;
5. every other member points at the first chosen of its kept neighbours.

In a component where every pair was verified (the common case) this keeps its
best-ranked member, as the keep rule alone would.  A cluster is a kept
document and the documents that point at it.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from transforms.dedup.components import connected_components
from transforms.dedup.keep_rule import keep_order

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

# The verified similarity of pairs of doc_keys, (m, 2) -> (m,).
PairSimilarity = Callable[[np.ndarray], np.ndarray]

# Kept members of one component compared with each other at most: beyond it
# (a long chain of slightly different documents), they stay kept.
MAX_KEPT_COMPARED = 1000


def involved_keys(exact: tuple[np.ndarray, np.ndarray], verified: np.ndarray) -> np.ndarray:
    """Sorted doc_keys of every document in a cluster of two or more."""
    return np.unique(np.concatenate([exact[0], exact[1], verified.reshape(-1)]))


class _Members:
    """The documents of the run's clusters, indexed 0..n-1 in doc_key order."""

    def __init__(self, info: pa.Table, nodes: np.ndarray, exact: tuple[np.ndarray, np.ndarray]):
        info = info.filter(pc.is_in(info.column("doc_key"), pa.array(nodes)))
        info = info.take(pc.sort_indices(info, sort_keys=[("doc_key", "ascending")]))
        if not np.array_equal(info.column("doc_key").to_numpy(), nodes):
            raise ValueError("info lacks rows for some documents in duplicate clusters")
        self.keys = nodes
        self.doc_ids = np.array(info.column("doc_id").to_pylist(), dtype=object)
        self.published = info.column("priority").to_numpy() == 0
        self.rank = np.empty(len(nodes), dtype=np.int64)
        self.rank[keep_order(info)] = np.arange(len(nodes))
        # Each document's exact group is led by its best-ranked member.
        self.leader = np.arange(len(nodes))
        self.leader[self.index(exact[0])] = self.index(exact[1])
        self.weight = np.bincount(self.leader, minlength=len(nodes))

    def index(self, keys: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.keys, keys)


def _neighbours(
    members: _Members, verified: np.ndarray, similarity: np.ndarray
) -> tuple[list[dict[int, float]], np.ndarray]:
    """Verified similarity between exact-group leaders, as adjacency maps and as index pairs."""
    adjacency: list[dict[int, float]] = [{} for _ in members.keys]
    left = members.leader[members.index(verified[:, 0])]
    right = members.leader[members.index(verified[:, 1])]
    for a, b, s in zip(left.tolist(), right.tolist(), similarity.tolist(), strict=True):
        if a != b and s > adjacency[a].get(b, -1.0):
            adjacency[a][b] = adjacency[b][a] = s
    return adjacency, np.column_stack([left, right])


def _components(members: _Members, edges: np.ndarray) -> list[list[int]]:
    """The leaders of each connected component (exact groups count through their leader)."""
    leaders = np.flatnonzero(members.leader == np.arange(len(members.keys)))
    labels = connected_components(len(members.keys), edges)[leaders]
    order = np.argsort(labels, kind="stable")
    starts = np.flatnonzero(np.r_[True, labels[order][1:] != labels[order][:-1]])
    return [leaders[part].tolist() for part in np.split(order, starts[1:])]


def _choose_kept(
    component: list[int], adjacency: list[dict[int, float]], members: _Members
) -> list[int]:
    """Steps 2 and 3 of the module docstring: the kept leaders of one component."""
    open_ = set(component)
    kept = sorted((m for m in component if members.published[m]), key=lambda m: members.rank[m])
    for m in kept:
        open_.discard(m)
        open_.difference_update(adjacency[m])

    def covered(m: int) -> int:  # documents keeping ``m`` settles
        return (
            int(members.weight[m])
            - 1
            + sum(int(members.weight[u]) for u in adjacency[m] if u in open_)
        )

    heap = [(-covered(m), members.rank[m], m) for m in open_]
    heapq.heapify(heap)
    while open_:
        negative, rank, m = heapq.heappop(heap)
        if m not in open_:
            continue
        now = covered(m)
        if now != -negative:  # fewer since it was pushed: its turn may not have come
            heapq.heappush(heap, (-now, rank, m))
            continue
        kept.append(m)
        open_.discard(m)
        open_.difference_update(adjacency[m])
    return kept


def _compare_kept(
    kept: list[int],
    adjacency: list[dict[int, float]],
    members: _Members,
    measure: PairSimilarity,
    threshold: float,
    compared: set[tuple[int, int]],
) -> bool:
    """Step 4: compare the component's kept leaders not compared yet (``compared`` grows);
    adds the pairs that reach ``threshold`` to ``adjacency`` and says whether there were any."""
    if len(kept) < 2 or len(kept) > MAX_KEPT_COMPARED:
        return False
    ordered = sorted(kept)
    pairs = [
        (a, b)
        for i, a in enumerate(ordered)
        for b in ordered[i + 1 :]
        if b not in adjacency[a] and (a, b) not in compared
    ]
    if not pairs:
        return False
    compared.update(pairs)
    indices = np.array(pairs, dtype=np.int64)
    keys = np.sort(members.keys[indices], axis=1)
    found = measure(keys)
    for (a, b), s in zip(pairs, found.tolist(), strict=True):
        if s >= threshold:
            adjacency[a][b] = adjacency[b][a] = s
    return bool((found >= threshold).any())


def _decide(
    component: list[int], kept: list[int], adjacency: list[dict[int, float]]
) -> dict[int, tuple[int, float]]:
    """Step 5: each leader's kept leader and similarity (a kept one: itself, 1.0).

    ``kept`` is in the order the members were chosen: a duplicate points at
    the first chosen of its kept neighbours, the member similar to most of the
    component, as a set cover assigns an element to the first set that covers it.
    """
    chosen = {m: order for order, m in enumerate(kept)}
    target = {m: (m, 1.0) for m in kept}
    for m in component:
        if m not in chosen:
            keeper = min((k for k in adjacency[m] if k in chosen), key=chosen.__getitem__)
            target[m] = (keeper, adjacency[m][keeper])
    return target


def resolve_clusters(
    info: pa.Table,
    exact: tuple[np.ndarray, np.ndarray],
    verified: np.ndarray,
    similarity: np.ndarray,
    measure: PairSimilarity,
    threshold: float,
) -> pa.Table:
    """Decisions (DECISION_SCHEMA) for every document in a cluster of two or more.

    ``info`` holds RANK_COLUMNS of at least those documents
    (``involved_keys``); ``exact`` the exact pairs (duplicate, best-ranked
    copy); ``verified`` and ``similarity`` the verified pairs; ``measure``
    verifies more pairs (step 4).  Documents not in the result are kept and
    alone.
    """
    nodes = involved_keys(exact, verified)
    if len(nodes) == 0:
        return DECISION_SCHEMA.empty_table()
    members = _Members(info, nodes, exact)
    adjacency, edges = _neighbours(members, verified.reshape(-1, 2), similarity)
    keeper = np.empty(len(nodes), dtype=np.int64)
    similar = np.empty(len(nodes), dtype=np.float64)
    for component in _components(members, edges):
        kept = _choose_kept(component, adjacency, members)
        compared: set[tuple[int, int]] = set()
        while _compare_kept(kept, adjacency, members, measure, threshold, compared):
            kept = _choose_kept(component, adjacency, members)
        for leader, (target, value) in _decide(component, kept, adjacency).items():
            keeper[leader], similar[leader] = target, value
    # Exact copies follow their leader: its keeper, and the same similarity.
    keeper, similar = keeper[members.leader], similar[members.leader]
    return _decision_table(members, keeper, similar)


def _decision_table(members: _Members, keeper: np.ndarray, similar: np.ndarray) -> pa.Table:
    n = len(members.keys)
    is_kept = keeper == np.arange(n)
    is_exact = ~is_kept & (members.leader == keeper)
    status = np.where(is_kept, "kept", np.where(is_exact, "exact_duplicate", "near_duplicate"))
    size = np.bincount(keeper, minlength=n)[keeper]
    doc_ids = members.doc_ids
    return pa.table(
        {
            "doc_id": pa.array(doc_ids, pa.string()),
            "status": pa.array(status, pa.string()),
            "duplicate_of": pa.array(np.where(is_kept, None, doc_ids[keeper]), pa.string()),
            "similarity": pa.array(
                np.where(is_kept, np.nan, similar), pa.float32(), from_pandas=True
            ),
            "dup_cluster_id": pa.array(doc_ids[keeper], pa.string()),
            "dup_cluster_size": pa.array(size, pa.int32()),
        },
        schema=DECISION_SCHEMA,
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
