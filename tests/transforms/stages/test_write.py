"""The write stage: a shard's documents and rejections as Parquet parts, read back as written."""

from datetime import UTC, datetime

import pyarrow.parquet as pq

from tests.transforms.stage_support import records
from transforms.config import NewsConfig, SegmentConfig, WriteConfig
from transforms.schema import KEPT_SCHEMA, REJECTED_SCHEMA
from transforms.stage import rejection_rows, with_stage
from transforms.stages.dedup import alone
from transforms.stages.news import news_batch
from transforms.stages.segment import segment_batch
from transforms.stages.write import WriteTarget, write_shard

LINEAGE = {
    "run_id": "run-1",
    "pipeline_version": "0.2.0",
    "config_hash": "abc",
    "processed_at": datetime(2026, 12, 1, tzinfo=UTC),
}
TEXTS = ["社区是疫情防控的最前线。\n他们奋战在寻常巷陌。", "春耕农忙正当时。", "短。"]


def kept_documents():
    with_news = news_batch(records(TEXTS[:2]), NewsConfig()).kept
    return segment_batch(alone(with_news), SegmentConfig()).kept


def rejected_rows():
    short = records(TEXTS).slice(2)
    return with_stage(rejection_rows(short, ["too_short"], ["2 characters"]), "quality")


def test_documents_and_rejections_round_trip_with_provenance_and_lineage(tmp_path):
    target = WriteTarget(tmp_path, "tag_shard", LINEAGE)
    out = write_shard(kept_documents(), rejected_rows(), WriteConfig(), target)
    assert out.extra == {"data_files": 1, "rejected_files": 1}
    data = pq.read_table(tmp_path / "data" / "part-tag_shard-00000.parquet")
    assert data.schema == KEPT_SCHEMA
    assert data.column("text").to_pylist() == TEXTS[:2]
    assert data.column("source_record").to_pylist() == [0, 1]
    assert data.column("run_id").to_pylist() == ["run-1", "run-1"]
    assert data.column("html_stripped").to_pylist() == [False, False]
    rejected = pq.read_table(tmp_path / "rejected" / "part-tag_shard-00000.parquet")
    assert rejected.schema == REJECTED_SCHEMA
    row = rejected.to_pylist()[0]
    assert (row["doc_id"], row["reason"], row["stage"], row["n_chars"]) == (
        "d2",
        "too_short",
        "quality",
        2,
    )


def test_parts_hold_at_most_max_rows_per_file_and_nothing_empty_is_written(tmp_path):
    target = WriteTarget(tmp_path, "t", LINEAGE)
    out = write_shard(
        kept_documents(), rejected_rows().slice(0, 0), WriteConfig(max_rows_per_file=1), target
    )
    assert out.extra == {"data_files": 2, "rejected_files": 0}
    assert not (tmp_path / "rejected").exists()
    assert out.kept.num_rows == 2
