import pytest

from transforms.schema import RECORD_SCHEMA, REJECTION_SCHEMA, table_from_rows
from transforms.stage import StageCounts, split_by_mask


def records(n):
    return table_from_rows(
        [
            {
                "doc_id": f"d{i}",
                "text": f"文本{i}",
                "is_html": False,
                "source_uri": "file:///a",
                "source_path": "a.txt",
                "source_record": i,
                "source_sha256": "0" * 64,
                "source_format": "txt",
                "source_encoding": "utf-8",
            }
            for i in range(n)
        ],
        RECORD_SCHEMA,
    )


def test_counts_that_lose_a_record_fail_the_check():
    with pytest.raises(AssertionError, match="neither kept nor rejected"):
        StageCounts(stage="x", input=3, kept=1).check()


def test_undocumented_reason_fails_the_check():
    counts = StageCounts(stage="x", input=1)
    counts.rejected["because"] = 1
    with pytest.raises(AssertionError, match="undocumented"):
        counts.check()


def test_split_by_mask_keeps_provenance_on_both_sides():
    result = split_by_mask(
        records(3),
        [True, False, True],
        [None, "too_short", None],
        [None, "2 characters", None],
        "filter",
    )
    assert result.kept.column("doc_id").to_pylist() == ["d0", "d2"]
    assert result.rejected.schema == REJECTION_SCHEMA
    row = result.rejected.to_pylist()[0]
    assert (row["doc_id"], row["reason"], row["detail"], row["stage"], row["source_record"]) == (
        "d1",
        "too_short",
        "2 characters",
        "filter",
        1,
    )
    assert result.counts.to_dict()["rejected"] == {"too_short": 1}


def test_counts_merge_and_round_trip_through_dicts():
    a = StageCounts(stage="s", input=2, kept=1)
    a.rejected["empty"] = 1
    b = StageCounts.from_dict("s", a.to_dict())
    assert a.merge(b).to_dict()["input"] == 4
    with pytest.raises(ValueError):
        a.merge(StageCounts(stage="other"))
