import numpy as np
import pyarrow as pa

from tests.transforms.dedup.dedup_support import STORY, records
from transforms.config import DedupConfig
from transforms.dedup.bands import BAND_SCHEMA, band_partitions, candidate_pairs
from transforms.dedup.components import connected_components
from transforms.dedup.fingerprint import doc_keys, fingerprint_bands, fingerprint_batch


def bands_of(keys, band_values):
    return pa.table(
        {
            "band_key": np.array(band_values, dtype=np.uint64),
            "doc_key": np.array(keys, dtype=np.int64),
        },
        schema=BAND_SCHEMA,
    )


def test_candidate_pairs_come_from_shared_bands_only():
    bands = bands_of([0, 1, 2, 3, 4, 0, 1, 2, 3, 4], [1, 1, 2, 3, 4, 10, 11, 12, 12, 13])
    assert candidate_pairs(bands).tolist() == [[0, 1], [2, 3]]


def test_excluded_documents_make_no_pairs():
    bands = bands_of([0, 1, 2], [5, 5, 5])
    assert candidate_pairs(bands, exclude=np.array([1])).tolist() == [[0, 2]]


def test_large_bucket_yields_star_and_chain_not_all_pairs():
    pairs = candidate_pairs(bands_of(list(range(40)), [7] * 40))
    assert len(pairs) == 39 + 38
    assert connected_components(40, pairs).max() == 0


def test_band_partitions_keep_every_row_and_colliding_keys_together():
    bands = bands_of(list(range(100)), [i % 13 for i in range(100)])
    parts = band_partitions(bands, 4)
    assert sum(t.num_rows for t in parts.values()) == 100
    for p, table in parts.items():
        assert all(k % 4 == p for k in table.column("band_key").to_pylist())


def test_banding_makes_a_high_similarity_pair_a_candidate():
    cfg = DedupConfig()
    table = fingerprint_batch(records([{"text": STORY}, {"text": STORY[:-6]}]), cfg)
    assert candidate_pairs(fingerprint_bands(table, cfg)).tolist() == [
        sorted(doc_keys(["d0", "d1"]).tolist())
    ]
