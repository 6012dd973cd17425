import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from transforms.engine.dataset_state import (
    DatasetMismatch,
    DatasetState,
    InputPlan,
    file_sha256,
    remove_uncommitted,
)
from transforms.engine.inputs import discover_inputs


def commit(output, runs, config_hash="h", partitions=8):
    output.mkdir(parents=True, exist_ok=True)
    record = {"config_hash": config_hash, "dedup_partitions": partitions, "runs": runs}
    (output / "dataset.json").write_text(json.dumps(record))


def test_files_are_new_changed_touched_or_unchanged(tmp_path):
    inputs, output = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    for name in ("same.txt", "touched.txt", "edited.txt"):
        (inputs / name).write_text(f"{name} 内容")
    commit(output, ["t1"])
    files = discover_inputs([inputs]).files
    state = DatasetState.load(output)
    plan = InputPlan(new=files, sha256={str(f.path): file_sha256(f.path) for f in files})
    state.manifest = state.updated_manifest(plan, files, "t1")

    (inputs / "new.txt").write_text("新文件")
    os.utime(inputs / "touched.txt", ns=(1, 1))  # same bytes, another time
    (inputs / "edited.txt").write_text("改过的内容")
    plan = state.plan_inputs(discover_inputs([inputs]).files)
    names = {
        k: sorted(f.path.name for f in getattr(plan, k)) for k in ("new", "changed", "unchanged")
    }
    assert names == {
        "new": ["new.txt"],
        "changed": ["edited.txt"],
        "unchanged": ["same.txt", "touched.txt"],
    }
    manifest = state.updated_manifest(plan, plan.to_process, "t2").to_pylist()
    by_name = {os.path.basename(r["path"]): r for r in manifest}
    assert by_name["touched.txt"]["mtime_ns"] == 1 and by_name["touched.txt"]["run_tag"] == "t1"
    assert by_name["edited.txt"]["run_tag"] == by_name["new.txt"]["run_tag"] == "t2"
    assert by_name["edited.txt"]["sha256"] == file_sha256(inputs / "edited.txt")


def test_other_settings_are_a_mismatch_and_no_dataset_is_none(tmp_path):
    DatasetState.load(tmp_path / "nothing").check_compatible("x")  # no dataset: fine
    commit(tmp_path / "out", ["t1"], config_hash="old")
    with pytest.raises(DatasetMismatch, match="config hash old, this run's is new"):
        DatasetState.load(tmp_path / "out").check_compatible("new")


def test_only_committed_runs_files_are_part_of_the_dataset(tmp_path):
    output = tmp_path / "out"
    commit(output, ["20260101T000000-aaaaaaaa"])
    for folder in ("data", "rejected"):
        (output / folder).mkdir()
        for tag in ("20260101T000000-aaaaaaaa", "20260102T000000-bbbbbbbb"):
            pq.write_table(pa.table({"x": [1]}), output / folder / f"part-{tag}_s1-00000.parquet")
    for tag in ("20260101T000000-aaaaaaaa", "20260102T000000-bbbbbbbb"):
        (output / "index" / f"{tag}_s1").mkdir(parents=True)
    state = DatasetState.load(output)
    assert [d.name for d in state.index_dirs()] == ["20260101T000000-aaaaaaaa_s1"]
    removed = remove_uncommitted(output)
    assert sorted(p.name for p in removed) == [
        "20260102T000000-bbbbbbbb_s1",
        "part-20260102T000000-bbbbbbbb_s1-00000.parquet",
        "part-20260102T000000-bbbbbbbb_s1-00000.parquet",
    ]
    assert [p.name for p in (output / "data").iterdir()] == [
        "part-20260101T000000-aaaaaaaa_s1-00000.parquet"
    ]


def test_a_folder_that_is_no_dataset_is_left_alone(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "part-x-00000.parquet").write_text("")
    assert remove_uncommitted(tmp_path) == []
    assert (tmp_path / "data" / "part-x-00000.parquet").exists()
