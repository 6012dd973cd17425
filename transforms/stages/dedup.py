"""Stage ``dedup``: remove the documents that duplicate a kept one, exactly or nearly.

Deciding needs every shard (``transforms.dedup``: canonical form, MinHash,
exact hashes, LSH bands, verification, clusters; run as jobs over the work
folder by ``transforms.engine.dedup_jobs``).  This stage applies the
decisions to one shard's batch: the engine gives each document its decision
in the columns of ``DECISION_COLUMNS``; the duplicates are rejected as
``exact_duplicate`` or ``near_duplicate`` with ``duplicate_of`` (the kept
document) and ``similarity``; the others are kept with their cluster's id and
size.  With ``dedup.enabled = false`` every document is kept, alone in its
cluster.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from transforms.config import DedupConfig
from transforms.stage import StageOutput, rejection_rows

# The decision of each document, as columns of the batch (DECISION_SCHEMA's,
# ``status`` named ``dedup_status``).
DECISION_COLUMNS = (
    "dedup_status",
    "duplicate_of",
    "similarity",
    "dup_cluster_id",
    "dup_cluster_size",
)


def drop_duplicates(documents: pa.Table, cfg: DedupConfig) -> StageOutput:
    if not cfg.enabled:
        return StageOutput(kept=alone(documents.drop_columns(_present(documents))))
    status = documents.column("dedup_status")
    is_kept = pc.equal(status, "kept")
    kept = documents.filter(is_kept).drop_columns(["dedup_status", "duplicate_of", "similarity"])
    duplicates = documents.filter(pc.invert(is_kept))
    reasons = duplicates.column("dedup_status").to_pylist()
    details = [
        _detail(reason, target, similarity)
        for reason, target, similarity in zip(
            reasons,
            duplicates.column("duplicate_of").to_pylist(),
            duplicates.column("similarity").to_pylist(),
            strict=True,
        )
    ]
    return StageOutput(kept=kept, rejected=rejection_rows(duplicates, reasons, details))


def _detail(reason: str, target: str, similarity: float) -> str:
    if reason == "exact_duplicate":
        return f"same canonical text as {target}"
    return f"Jaccard ~{similarity:.3f} with {target}"


def alone(documents: pa.Table) -> pa.Table:
    """``documents`` each in a cluster of its own: its id, size 1."""
    ids = documents.column("doc_id")
    documents = documents.append_column(pa.field("dup_cluster_id", pa.string()), ids)
    sizes = pa.array([1] * documents.num_rows, pa.int32())
    return documents.append_column(pa.field("dup_cluster_size", pa.int32()), sizes)


def _present(documents: pa.Table) -> list[str]:
    return [name for name in DECISION_COLUMNS if name in documents.column_names]
