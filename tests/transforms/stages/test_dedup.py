"""The dedup stage applies each document's decision: duplicates out, with what they duplicate."""

import pyarrow as pa

from tests.transforms.stage_support import records, run_stage
from transforms.config import DedupConfig
from transforms.dedup.clusters import DECISION_SCHEMA
from transforms.engine.shard_jobs import with_decisions
from transforms.stages.dedup import DECISION_COLUMNS, drop_duplicates

NEWS = [
    "社区是疫情防控的最前线，约四百万名社区工作者奋战在寻常巷陌。",
    "社区是疫情防控的最前线，约四百万名社区工作者奋战在寻常巷陌！",
    "社区是疫情防控的最前线，四百万名社区工作者奋战在寻常巷陌。",
    "春耕农忙正当时，村民在田间忙着播种。",
]


def decided() -> pa.Table:
    decisions = pa.Table.from_pylist(
        [
            {"doc_id": "d0", "status": "kept", "dup_cluster_id": "d0", "dup_cluster_size": 3},
            {
                "doc_id": "d1",
                "status": "exact_duplicate",
                "duplicate_of": "d0",
                "similarity": 1.0,
                "dup_cluster_id": "d0",
                "dup_cluster_size": 3,
            },
            {
                "doc_id": "d2",
                "status": "near_duplicate",
                "duplicate_of": "d0",
                "similarity": 0.91,
                "dup_cluster_id": "d0",
                "dup_cluster_size": 3,
            },
        ],
        schema=DECISION_SCHEMA,
    )
    return with_decisions(records(NEWS), decisions)


def test_duplicates_are_rejected_with_what_they_duplicate_and_how_alike():
    run = run_stage("dedup", decided(), DedupConfig())
    rejected = {r["doc_id"]: r for r in run.rejected.to_pylist()}
    assert rejected["d1"]["reason"] == "exact_duplicate" and rejected["d1"]["duplicate_of"] == "d0"
    assert rejected["d1"]["detail"] == "same canonical text as d0"
    assert rejected["d2"]["reason"] == "near_duplicate"
    assert abs(rejected["d2"]["similarity"] - 0.91) < 1e-6
    assert rejected["d2"]["detail"] == "Jaccard ~0.910 with d0"
    assert {r["stage"] for r in rejected.values()} == {"dedup"}
    assert dict(run.counts["dedup"].rejected) == {"exact_duplicate": 1, "near_duplicate": 1}


def test_kept_documents_carry_their_cluster_and_no_decision_columns():
    kept = run_stage("dedup", decided(), DedupConfig()).kept
    assert kept.column("doc_id").to_pylist() == ["d0", "d3"]
    assert kept.column("dup_cluster_id").to_pylist() == ["d0", "d3"]
    assert kept.column("dup_cluster_size").to_pylist() == [3, 1]
    assert not {"dedup_status", "duplicate_of", "similarity"} & set(kept.column_names)


def test_with_dedup_off_every_document_is_kept_alone():
    out = drop_duplicates(decided(), DedupConfig(enabled=False))
    assert out.rejected.num_rows == 0
    assert out.kept.column("dup_cluster_id").to_pylist() == ["d0", "d1", "d2", "d3"]
    assert set(out.kept.column("dup_cluster_size").to_pylist()) == {1}
    assert not set(DECISION_COLUMNS[:3]) & set(out.kept.column_names)
