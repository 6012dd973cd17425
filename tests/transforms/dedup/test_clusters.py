"""Which document of a cluster is kept, and what the others point at."""

import pyarrow as pa

from tests.transforms.dedup.dedup_support import OTHER, STORY, decide
from transforms.dedup.clusters import DECISION_SCHEMA, complete_decisions


def test_the_longest_version_is_kept_then_source_order():
    shorter = STORY[:-10]
    result = decide([{"text": shorter}, {"text": STORY}])
    assert result["d1"]["status"] == "kept"
    assert result["d0"]["duplicate_of"] == "d1"
    tied = decide([{"text": STORY, "path": "b.txt"}, {"text": STORY, "path": "a.txt"}])
    assert tied["d1"]["status"] == "kept"


def test_cluster_size_and_id_are_set_on_the_kept_document():
    result = decide(
        [{"text": STORY}, {"text": STORY + "。"}, {"text": STORY[:-5]}, {"text": OTHER}]
    )
    keeper = next(
        d for d, r in result.items() if r["status"] == "kept" and r["dup_cluster_size"] == 3
    )
    assert all(r["dup_cluster_id"] == keeper for d, r in result.items() if d != "d3")
    assert result["d3"]["dup_cluster_size"] == 1 and result["d3"]["dup_cluster_id"] == "d3"


def test_exact_duplicate_of_a_near_duplicate_points_at_the_final_keeper():
    shorter = STORY[:-8]
    result = decide([{"text": shorter}, {"text": shorter}, {"text": STORY}])
    assert result["d2"]["status"] == "kept"
    assert result["d0"]["duplicate_of"] == "d2" and result["d1"]["duplicate_of"] == "d2"
    assert {result["d0"]["status"], result["d1"]["status"]} == {"near_duplicate"}


def test_complete_decisions_keep_documents_without_a_decision_alone():
    duplicate = pa.Table.from_pylist(
        [
            {
                "doc_id": "d1",
                "status": "exact_duplicate",
                "duplicate_of": "d0",
                "similarity": 1.0,
                "dup_cluster_id": "d0",
                "dup_cluster_size": 2,
            }
        ],
        schema=DECISION_SCHEMA,
    )
    full = complete_decisions(pa.array(["d0", "d1", "d7"]), duplicate).to_pylist()
    assert {r["doc_id"]: r["status"] for r in full} == {
        "d1": "exact_duplicate",
        "d0": "kept",
        "d7": "kept",
    }
    assert next(r for r in full if r["doc_id"] == "d7")["dup_cluster_size"] == 1
