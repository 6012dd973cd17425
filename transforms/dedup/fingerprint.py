"""Per-shard half of deduplication: canonical form, exact hash, MinHash signature and bands.

It runs inside each shard's job so that the cross-shard steps
(``transforms.engine.dedup_jobs``) read only small fixed-size columns.
Every step keys documents by ``doc_key``, the first 64 bits of the
``doc_id`` hash.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from transforms.codepoints import texts_from_code_points
from transforms.config import DedupConfig
from transforms.dedup.bands import band_table
from transforms.dedup.canonical import canonical_code_points, exact_hashes
from transforms.dedup.minhash import code_point_signatures

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


def doc_keys(doc_ids: Sequence[str]) -> np.ndarray:
    """int64 key of each doc_id: its first 16 hex digits (doc_ids are hashes already)."""
    return np.array([int(d[:16], 16) for d in doc_ids], dtype=np.uint64).view(np.int64)


def signature_matrix(column: pa.Array | pa.ChunkedArray, num_perm: int) -> np.ndarray:
    """A signature column as a (rows, num_perm) uint32 matrix."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    flat = column.flatten().to_numpy(zero_copy_only=False).astype(np.uint32, copy=False)
    if flat.size != len(column) * num_perm:
        raise ValueError(f"signatures must all have num_perm = {num_perm} values")
    return flat.reshape(len(column), num_perm)


def fingerprint_batch(
    records: pa.Table, cfg: DedupConfig, priority: int = 1, with_canonical: bool = True
) -> pa.Table:
    """FINGERPRINT_SCHEMA rows for ``records`` (cleaned documents).

    A document whose canonical form is empty (no letter or digit) gets no hash
    and no signature: it has nothing to be matched on and is never a duplicate.
    Without ``with_canonical`` the ``canonical`` column is null: making a
    string of every canonical form costs about a tenth of this function
    (measured), and the shard jobs fold the few they need again.
    """
    cps, bounds = canonical_code_points(records.column("text").to_pylist(), cfg.fold_script)
    if with_canonical:
        canonical = pa.array(texts_from_code_points(cps, bounds), pa.string())
    else:
        canonical = pa.nulls(records.num_rows, pa.string())
    matrix = code_point_signatures(cps, bounds, cfg.ngram_size, cfg.num_perm, cfg.seed)
    content_chars = np.diff(bounds)
    has_words = content_chars > 0
    flat = pa.array(matrix.reshape(-1), pa.uint32())
    offsets = pa.array(np.arange(0, matrix.size + 1, cfg.num_perm, dtype=np.int32))
    signature = pa.ListArray.from_arrays(offsets, flat, mask=pa.array(~has_words))
    doc_ids = records.column("doc_id").to_pylist()
    return pa.table(
        {
            "doc_id": records.column("doc_id"),
            "doc_key": doc_keys(doc_ids),
            "exact_hash": pa.array(exact_hashes(cps, bounds), pa.string()),
            "signature": signature,
            "content_chars": pa.array(content_chars.astype(np.int32)),
            "source_path": records.column("source_path"),
            "source_record": records.column("source_record"),
            "priority": pa.array(np.full(records.num_rows, priority, dtype=np.int8)),
            "canonical": canonical,
        },
        schema=FINGERPRINT_SCHEMA,
    )


def fingerprint_bands(fingerprints: pa.Table, cfg: DedupConfig) -> pa.Table:
    """BAND_SCHEMA rows of every document that has a signature."""
    matched = fingerprints.filter(pc.is_valid(fingerprints.column("signature")))
    matrix = signature_matrix(matched.column("signature"), cfg.num_perm)
    return band_table(matched.column("doc_key").to_numpy(), matrix, *cfg.banding)
