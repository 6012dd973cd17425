"""Per-shard half of deduplication: canonical form, exact hash, MinHash signature and bands.

It runs inside each shard's job so that the cross-shard steps
(``transforms.engine.dedup_jobs``) read only small fixed-size columns.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from transforms.codepoints import texts_from_code_points
from transforms.config import DedupConfig
from transforms.dedup.canonical import canonical_code_points, exact_hashes
from transforms.dedup.core import FINGERPRINT_SCHEMA, band_table, doc_keys, signature_matrix
from transforms.dedup.minhash import code_point_signatures


def fingerprint_batch(
    records: pa.Table, cfg: DedupConfig, priority: int = 1, with_canonical: bool = True
) -> pa.Table:
    """FINGERPRINT_SCHEMA rows for ``records`` (cleaned RECORD_SCHEMA rows).

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
    return band_table(matched.column("doc_key").to_numpy(), matrix, cfg)
