import pyarrow as pa
import pytest

from tests.transforms.dedup.dedup_support import OTHER, STORY, records
from transforms.config import DedupConfig
from transforms.dedup.fingerprint import fingerprint_batch, signature_matrix


def test_a_document_without_letters_or_digits_has_no_hash_and_no_signature():
    table = fingerprint_batch(records([{"text": STORY}, {"text": "……！！"}]), DedupConfig())
    assert table.column("exact_hash").null_count == 1
    assert table.column("signature").to_pylist()[1] is None
    assert table.column("content_chars").to_pylist()[1] == 0


def test_signature_width_mismatch_is_an_error():
    cfg = DedupConfig()
    table = fingerprint_batch(records([{"text": STORY}, {"text": OTHER}]), cfg)
    assert signature_matrix(table.column("signature"), cfg.num_perm).shape == (2, 128)
    short = pa.array([[1, 2, 3], [4, 5, 6]], pa.list_(pa.uint32()))
    with pytest.raises(ValueError, match="num_perm"):
        signature_matrix(short, cfg.num_perm)
