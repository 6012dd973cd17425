"""Every dedup step over one in-memory batch of fingerprints: the same logic as the run's
file-to-file jobs (``transforms.engine.dedup_jobs``), for one table that fits in memory."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from transforms.config import DedupConfig
from transforms.dedup.bands import band_table, candidate_pairs
from transforms.dedup.clusters import DECISION_SCHEMA, complete_decisions, resolve_clusters
from transforms.dedup.exact import exact_duplicate_pairs
from transforms.dedup.fingerprint import signature_matrix
from transforms.dedup.keep_rule import RANK_COLUMNS
from transforms.dedup.verify import (
    SignatureLookup,
    TextLookup,
    exact_jaccard_from_texts,
    similarities,
    verify_pairs,
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


def deduplicate(fingerprints: pa.Table, cfg: DedupConfig) -> pa.Table:
    """A decision (DECISION_SCHEMA) for every document of ``fingerprints`` (FINGERPRINT_SCHEMA,
    with canonical texts): exact pairs, bands, candidate pairs, verification, clusters."""
    if not cfg.enabled or fingerprints.num_rows == 0:
        return complete_decisions(fingerprints.column("doc_id"), DECISION_SCHEMA.empty_table())
    info = fingerprints.select(RANK_COLUMNS)
    exact = exact_duplicate_pairs(info)
    with_signature = fingerprints.filter(pc.is_valid(fingerprints.column("signature")))
    matrix = signature_matrix(with_signature.column("signature"), cfg.num_perm)
    bands = band_table(with_signature.column("doc_key").to_numpy(), matrix, *cfg.banding)
    pairs = candidate_pairs(bands, exclude=exact[0])
    signatures_of, canonical_of = table_lookups(fingerprints, cfg.num_perm)
    exact_jaccard = exact_jaccard_from_texts(canonical_of, cfg.ngram_size)
    verified, similarity = verify_pairs(pairs, signatures_of, cfg.threshold, exact_jaccard)

    def measure(more: np.ndarray) -> np.ndarray:
        return similarities(more, signatures_of, cfg.threshold, exact_jaccard)

    decisions = resolve_clusters(info, exact, verified, similarity, measure, cfg.threshold)
    return complete_decisions(fingerprints.column("doc_id"), decisions)
