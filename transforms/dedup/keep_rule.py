"""Which document of a group of duplicates is kept: the rank every dedup step orders by.

Suited to news, where the fuller copy is the better one: earlier ``priority``
first (documents already published by an earlier run have priority 0 and are
never removed), then more letters and digits (the canonical form's length,
so punctuation and spacing do not count), then source order
(``source_path``, ``source_record``), then ``doc_id``.  Nothing depends on
shard count, worker count or the order inputs were listed in.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# The columns of the fingerprints that ranking and clustering read.
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


def keep_order(info: pa.Table) -> np.ndarray:
    """Indices of ``info`` (RANK_COLUMNS) in keep order: the first one wins."""
    return pc.sort_indices(info, sort_keys=RANK_ORDER).to_numpy()
