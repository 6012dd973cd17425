"""Exact duplicates: documents whose canonical forms hash alike.

All but the best-ranked document of each group of equal hashes are exact
duplicates of it.  Only the documents whose hash occurs more than once are
read (``shared_hashes``); documents without a hash (no letter or digit) are
never duplicates.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from transforms.dedup.keep_rule import keep_order


def shared_hashes(hashes: pa.Table) -> pa.Array:
    """The exact hashes (``exact_hash`` column) that occur more than once."""
    counts = hashes.filter(pc.is_valid(hashes.column("exact_hash"))).group_by("exact_hash")
    counts = counts.aggregate([("exact_hash", "count")])
    return counts.filter(pc.greater(counts.column("exact_hash_count"), 1)).column("exact_hash")


def exact_duplicate_pairs(info: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """(duplicate doc_keys, their keepers' doc_keys) over ``info`` (RANK_COLUMNS)."""
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
