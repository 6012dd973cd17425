"""The file-level dedup jobs give the same decisions as the in-memory steps, whatever the sharding."""

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from tests.paths import SAMPLE
from transforms.config import PipelineConfig
from transforms.dedup.batch import deduplicate
from transforms.dedup.canonical import canonical_batch
from transforms.engine.dedup_jobs import (
    DedupInputs,
    find_candidate_pairs,
    find_exact_duplicates,
    resolve_duplicates,
)
from transforms.engine.inputs import discover_inputs, plan_shards
from transforms.engine.run_stats import RunIdentity, run_summary
from transforms.engine.shard_jobs import finish_shard, prepare_shard
from transforms.storage import read_json, read_table


def run_jobs(work_dir: Path, shard_max_bytes: int, partitions: int) -> list[str]:
    cfg = PipelineConfig.model_validate(
        {"run": {"shard_max_bytes": shard_max_bytes, "dedup_partitions": partitions}}
    )
    shards = plan_shards(discover_inputs([SAMPLE]).files, shard_max_bytes)
    ids = [s.shard_id for s in shards]
    for shard in shards:
        prepare_shard(shard, work_dir, cfg)
    inputs = DedupInputs(work_dir, ids)
    find_exact_duplicates(inputs)
    for p in range(partitions):
        find_candidate_pairs(p, inputs)
    resolve_duplicates(inputs, partitions, cfg)
    lineage = RunIdentity("run", datetime.now(UTC), "0").lineage(cfg.config_hash)
    for shard_id in ids:
        finish_shard(shard_id, work_dir, cfg, lineage)
    return ids


def decisions_of(work_dir: Path, ids: list[str]) -> dict[str, tuple]:
    rejected = pa.concat_tables(
        [read_table(p) for p in (work_dir / "final" / "rejected").glob("*.parquet")]
    )
    return {r["doc_id"]: (r["reason"], r["duplicate_of"]) for r in rejected.to_pylist()}


@pytest.fixture(scope="module")
def one_shard(tmp_path_factory):
    work = tmp_path_factory.mktemp("one")
    return work, run_jobs(work, 1 << 30, 1)


def test_sharding_and_partitioning_do_not_change_decisions(one_shard, tmp_path):
    work, ids = one_shard
    many_ids = run_jobs(tmp_path, 1, 5)
    assert len(many_ids) == 5 and len(ids) == 1
    assert decisions_of(tmp_path, many_ids) == decisions_of(work, ids)


def test_file_jobs_match_the_in_memory_steps(one_shard):
    work, ids = one_shard
    cfg = PipelineConfig()
    fingerprints = read_table(work / "shards" / ids[0] / "fingerprints.parquet")
    records = read_table(work / "shards" / ids[0] / "records.parquet")
    canonical = canonical_batch(records.column("text").to_pylist(), cfg.dedup.fold_script)
    fingerprints = fingerprints.append_column("canonical", pa.array(canonical, pa.string()))
    in_memory = deduplicate(fingerprints, cfg.dedup)
    expected = {
        r["doc_id"]: (r["status"], r["duplicate_of"])
        for r in in_memory.to_pylist()
        if r["status"] != "kept"
    }
    assert {d: v for d, v in decisions_of(work, ids).items()} == expected
    kept = in_memory.filter(pa.compute.equal(in_memory.column("status"), "kept"))
    assert kept.num_rows == 16
    tallies = read_json(work / "dedup" / "dedup.json")["extra"]
    assert tallies["largest_cluster"] == max(kept.column("dup_cluster_size").to_pylist())


def test_run_summary_proves_every_record_is_kept_or_rejected(one_shard):
    work, ids = one_shard
    summary = run_summary(work, ids)
    assert summary["documents"] == {
        "extracted": 19,
        "kept": 16,
        "rejected": 3,
        "balanced": True,
        "already_in_dataset": 0,
    }
    assert summary["rejected_by_reason"] == {"exact_duplicate": 3}


def test_dedup_results_over_another_shard_set_are_discarded(tmp_path):
    from transforms.engine.dedup_jobs import reset_stale_dedup
    from transforms.engine.work_layout import exact_marker

    reset_stale_dedup(tmp_path, ["a", "b"])
    exact_marker(tmp_path).write_text("{}")
    reset_stale_dedup(tmp_path, ["a", "b"])  # the same shards: results stay
    assert exact_marker(tmp_path).exists()
    reset_stale_dedup(tmp_path, ["a", "b", "c"])  # a shard more: start over
    assert not exact_marker(tmp_path).exists()
    assert read_json(tmp_path / "dedup" / "shards.json") == ["a", "b", "c"]
