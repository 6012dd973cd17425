from tests.transforms.dedup.dedup_support import STORY, records
from transforms.config import DedupConfig
from transforms.dedup.exact import exact_duplicate_pairs
from transforms.dedup.fingerprint import doc_keys, fingerprint_batch
from transforms.dedup.keep_rule import RANK_COLUMNS


def test_exact_duplicate_pairs_keep_the_best_ranked_and_skip_missing_hashes():
    table = fingerprint_batch(
        records([{"text": STORY}, {"text": "……"}, {"text": STORY + "！"}, {"text": "——"}]),
        DedupConfig(),
    )
    duplicates, keepers = exact_duplicate_pairs(table.select(RANK_COLUMNS))
    assert duplicates.tolist() == doc_keys(["d2"]).tolist()
    assert keepers.tolist() == doc_keys(["d0"]).tolist()
