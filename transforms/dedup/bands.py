"""LSH bands and candidate pairs: documents that agree on a whole band of their signature.

``band_table`` cuts each signature into ``bands`` bands of ``rows`` values,
one 64-bit ``band_key`` per band (the band index is part of the hash).
``band_partitions`` splits the rows by ``band_key``, so that one partition
holds every document that can collide in it and partitions are paired on
their own.  ``candidate_pairs`` pairs the documents that share a key.  How
many bands of how many rows: ``transforms.dedup.lsh``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

BAND_SCHEMA = pa.schema(
    [
        pa.field("band_key", pa.uint64(), nullable=False),
        pa.field("doc_key", pa.int64(), nullable=False),
    ]
)
PAIR_SCHEMA = pa.schema(
    [pa.field("left", pa.int64(), nullable=False), pa.field("right", pa.int64(), nullable=False)]
)

# Buckets up to this size yield every pair; larger ones (boilerplate-heavy
# near-identical pages) yield a star to their first member plus a chain, so
# that the candidate count stays linear in the bucket size.
_ALL_PAIRS_MAX_BUCKET = 16


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


def band_table(keys: np.ndarray, signatures: np.ndarray, bands: int, rows: int) -> pa.Table:
    """BAND_SCHEMA rows: every band of every signature (``keys``: their doc_keys)."""
    hashed = band_keys(signatures, bands, rows)
    return pa.table(
        {"band_key": hashed.reshape(-1), "doc_key": np.repeat(keys, bands)}, schema=BAND_SCHEMA
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
