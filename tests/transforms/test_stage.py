from types import SimpleNamespace

import pyarrow as pa
import pytest

from tests.transforms.stage_support import records
from transforms.schema import REJECTION_SCHEMA
from transforms.stage import Stage, StageCounts, StageOutput, run_stages, split_by_mask


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
        records(["文本0", "文本1", "文本2"]),
        [True, False, True],
        [None, "too_short", None],
        [None, "2 characters", None],
    )
    assert result.kept.column("doc_id").to_pylist() == ["d0", "d2"]
    assert result.rejected.schema == REJECTION_SCHEMA
    row = result.rejected.to_pylist()[0]
    assert (row["doc_id"], row["reason"], row["detail"], row["source_record"]) == (
        "d1",
        "too_short",
        "2 characters",
        1,
    )


def _drop_second(batch, cfg):
    return split_by_mask(batch, [True, False, True], [None, "empty", None], [None, "x", None])


def _lose_one(batch, cfg):
    return StageOutput(kept=batch.slice(1))


def test_the_runner_counts_times_and_names_the_stage_of_each_rejection():
    stages = [Stage("first", _drop_second), Stage("second", lambda b, c: StageOutput(kept=b))]
    run = run_stages(stages, records(["甲", "乙", "丙"]), SimpleNamespace(first=None, second=None))
    assert run.kept.column("doc_id").to_pylist() == ["d0", "d2"]
    assert run.rejected.column("stage").to_pylist() == ["first"]
    first, second = run.counts["first"], run.counts["second"]
    assert (first.input, first.kept, dict(first.rejected)) == (3, 2, {"empty": 1})
    assert (second.input, second.kept) == (2, 2)
    assert first.seconds >= 0 and list(run.counts) == ["first", "second"]


def test_a_stage_that_loses_a_record_fails_the_run():
    with pytest.raises(AssertionError, match="lossy: 1 record"):
        run_stages([Stage("lossy", _lose_one)], records(["甲", "乙"]), SimpleNamespace(lossy=None))


def test_a_source_counts_what_it_found_and_a_sink_gets_every_rejection():
    seen = {}

    def source(files, cfg):
        return split_by_mask(records(["甲", "乙"]), [True, False], [None, "empty"], [None, "x"])

    def sink(batch, rejected, cfg, target):
        seen.update(rejected=rejected.column("doc_id").to_pylist(), target=target)
        return StageOutput(kept=batch, extra={"files": 1})

    stages = [Stage("read", source, role="source"), Stage("keep", sink, role="sink")]
    files = pa.table({"path": ["a.txt"]})
    run = run_stages(stages, files, SimpleNamespace(read=None, keep=None), target="here")
    assert run.counts["read"].input == 2 and run.counts["read"].kept == 1
    assert seen == {"rejected": ["d1"], "target": "here"}
    assert run.counts["keep"].extra == {"files": 1}


def test_counts_merge_and_round_trip_through_dicts():
    a = StageCounts(stage="s", input=2, kept=1)
    a.rejected["empty"] = 1
    b = StageCounts.from_dict("s", a.to_dict())
    assert a.merge(b).to_dict()["input"] == 4
    with pytest.raises(ValueError):
        a.merge(StageCounts(stage="other"))
