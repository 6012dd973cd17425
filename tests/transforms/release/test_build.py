"""Making a release: layout, manifest, file sizing, immutability, provenance, CHANGES."""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.transforms.release.release_support import build_dataset, kept_row, rejected_row
from transforms.config import PipelineConfig
from transforms.release.build import create_release
from transforms.release.manifest import (
    InvalidVersion,
    ReleaseError,
    ReleaseExists,
    list_releases,
    validate_version,
)
from transforms.schema import KEPT_SCHEMA, REJECTED_SCHEMA


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(root: Path) -> dict[str, tuple[str, int]]:
    """Every file under root: relative path -> (SHA-256, mtime in ns)."""
    return {
        p.relative_to(root).as_posix(): (sha256(p), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def dataset(tmp_path):
    data = build_dataset(tmp_path / "out")
    data.write()
    return data


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    """One default release of the test dataset, for tests that only read it."""
    data = build_dataset(tmp_path_factory.mktemp("first") / "out")
    data.write()
    return data, create_release(data.root, "v1")


def test_a_release_holds_data_card_changes_plots_and_a_manifest_listing_every_file(first):
    dataset, release = first
    root = dataset.root / "releases" / "v1"
    assert release.path == root
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert {"manifest.json", "README.md", "CHANGES.md"} <= on_disk
    assert {p for p in on_disk if p.startswith("plots/")} == {
        "plots/length_distribution.png",
        "plots/documents_per_source.png",
        "plots/removals_per_reason.png",
    }
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest == release.manifest
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(listed) == on_disk - {"manifest.json"}
    for path, entry in listed.items():
        assert entry["bytes"] == (root / path).stat().st_size
        assert entry["sha256"] == sha256(root / path)
        if path.endswith(".parquet"):
            assert entry["rows"] == pq.ParquetFile(root / path).metadata.num_rows
    data_rows = sum(f["rows"] for f in manifest["files"] if f["kind"] == "data")
    assert manifest["documents"]["kept"] == data_rows == len(dataset.kept)
    assert manifest["documents"]["rejected"] is None  # not included by default
    assert manifest["documents"]["rejected_in_dataset"] == len(dataset.rejected)
    assert [c["name"] for c in manifest["schema"]["data"]] == KEPT_SCHEMA.names
    assert manifest["schema"]["data"][3] == {
        "name": "sentences",
        "type": "list<string>",
        "nullable": False,
    }
    assert manifest["version"] == "v1" and manifest["sequence"] == 1
    assert manifest["previous_release"] is None
    assert manifest["config_hash"] == dataset.runs[-1]["config_hash"]
    assert manifest["pipeline_version"] == dataset.runs[-1]["pipeline_version"]
    assert manifest["license"] == "unknown"
    assert not (root / "rejected").exists()
    umask = os.umask(0)
    os.umask(umask)
    for folder in (root, root / "data", root / "plots"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o777 & ~umask  # readable by all


def test_the_released_rows_are_the_dataset_rows(first):
    dataset, release = first
    released = pq.read_table(release.path / "data")
    original = pq.read_table(dataset.root / "data")
    assert released.schema.equals(original.schema)
    assert released.sort_by("doc_id").equals(original.sort_by("doc_id"))


def test_files_and_row_groups_follow_the_output_files_settings(dataset):
    config = PipelineConfig.model_validate(
        {"write": {"max_rows_per_file": 16, "row_group_rows": 5}}
    )
    release = create_release(dataset.root, "v1", config)
    files = sorted((release.path / "data").glob("*.parquet"))
    per_file = 15  # whole row groups of 5 rows, at most 16 rows
    count = math.ceil(len(dataset.kept) / per_file)
    assert [f.name for f in files] == [
        f"train-{i:05d}-of-{count:05d}.parquet" for i in range(count)
    ]
    for f in files:
        meta = pq.ParquetFile(f).metadata
        assert meta.num_rows == per_file or f == files[-1]
        groups = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        assert all(n <= 5 for n in groups)
        assert all(n == 5 for n in groups[:-1])  # whole row groups except at the end
        assert meta.row_group(0).column(0).compression == "ZSTD"


def group_bytes(meta: pq.FileMetaData, i: int) -> int:
    group = meta.row_group(i)
    return sum(group.column(c).total_compressed_size for c in range(group.num_columns))


def test_files_stop_growing_at_max_file_bytes(dataset):
    limit = 120_000
    config = PipelineConfig.model_validate(
        {
            "write": {"row_group_rows": 4, "compression": "none"},
            "release": {"max_file_bytes": limit},
        }
    )
    release = create_release(dataset.root, "v1", config)
    files = sorted((release.path / "data").glob("*.parquet"))
    assert len(files) >= 2
    for position, f in enumerate(files):
        meta = pq.ParquetFile(f).metadata
        sizes = [group_bytes(meta, i) for i in range(meta.num_row_groups)]
        # The last row group is the one that may overshoot the limit ...
        assert sum(sizes[:-1]) <= limit
        assert f.stat().st_size <= limit + max(sizes) + meta.serialized_size
        # ... and a file ends only when one more group of that size would pass it.
        if position < len(files) - 1:
            assert sum(sizes) + sizes[-1] > limit
    assert sum(pq.ParquetFile(f).metadata.num_rows for f in files) == len(dataset.kept)


@pytest.mark.parametrize(
    "version",
    ["", "..", "../v1", "v1/../../x", "a/b", "a\\b", ".hidden", "v1..2", "a b", "v\n1", "x" * 101],
)
def test_versions_that_cannot_name_a_folder_are_refused(dataset, version):
    with pytest.raises(InvalidVersion, match="invalid release version"):
        create_release(dataset.root, version)
    assert not (dataset.root / "releases").exists()


@pytest.mark.parametrize("version", ["v1", "2026.11.1", "1.0.0-rc.1+build.5", "nightly_2026-11"])
def test_ordinary_versions_are_accepted(version):
    assert validate_version(version) == version


def test_releasing_an_existing_version_fails_and_changes_nothing(dataset):
    create_release(dataset.root, "v1")
    before = tree(dataset.root / "releases")
    dataset.kept = dataset.kept[:5]  # the dataset changed since
    dataset.write()
    with pytest.raises(ReleaseExists, match="release v1 already exists"):
        create_release(dataset.root, "v1")
    assert tree(dataset.root / "releases") == before


def test_a_failing_release_leaves_no_folder_behind(dataset, monkeypatch):
    import transforms.release.build as build

    def broken(facts, folder):
        (folder / "half.png").parent.mkdir(parents=True, exist_ok=True)
        (folder / "half.png").write_bytes(b"half")
        raise RuntimeError("card failed")

    monkeypatch.setattr(build, "write_plots", broken)
    with pytest.raises(RuntimeError, match="card failed"):
        create_release(dataset.root, "v1")
    assert list((dataset.root / "releases").iterdir()) == []


def test_staging_folders_of_dead_releases_are_cleaned_up(dataset):
    releases = dataset.root / "releases"
    dead = releases / ".tmp-v0-999999999-abc"  # no process has this pid
    alive = releases / f".tmp-v0-{os.getpid()}-def"
    for folder in (dead, alive):
        (folder / "data").mkdir(parents=True)
    create_release(dataset.root, "v1")
    assert not dead.exists() and alive.exists()
    assert [m["version"] for m in list_releases(releases)] == ["v1"]


def test_a_folder_without_a_dataset_is_refused(tmp_path):
    with pytest.raises(ReleaseError, match="no dataset"):
        create_release(tmp_path, "v1")
    (tmp_path / "data").mkdir()
    with pytest.raises(ReleaseError, match=r"stats\.json"):
        create_release(tmp_path, "v1")


def test_with_rejected_the_rejected_documents_are_released_too(dataset):
    config = PipelineConfig.model_validate({"release": {"include_rejected": True}})
    release = create_release(dataset.root, "v1", config)  # from the config
    rejected = pq.read_table(release.path / "rejected")
    assert rejected.schema.names == REJECTED_SCHEMA.names
    assert sorted(rejected["doc_id"].to_pylist()) == sorted(r["doc_id"] for r in dataset.rejected)
    assert release.manifest["documents"]["rejected"] == len(dataset.rejected)
    assert [c["name"] for c in release.manifest["schema"]["rejected"]] == REJECTED_SCHEMA.names
    assert all(f["path"].startswith("rejected/rejected-") for f in release.files("rejected"))
    no = create_release(dataset.root, "v2", config, include_rejected=False)  # the flag wins
    assert not no.files("rejected") and not (no.path / "rejected").exists()


def test_an_empty_dataset_still_releases_a_readable_schema(tmp_path):
    data = build_dataset(tmp_path / "out")
    data.kept, data.rejected = [], []
    data.write()
    release = create_release(data.root, "v1")
    files = release.files("data")
    assert len(files) == 1 and files[0]["rows"] == 0
    assert pq.read_schema(release.path / files[0]["path"]).names == KEPT_SCHEMA.names
    assert pd.read_parquet(release.path / "data").empty
    assert "removals" not in (release.path / "README.md").read_text()
    assert "No document was removed." in (release.path / "README.md").read_text()


# -- provenance --------------------------------------------------------------


def test_without_a_run_history_the_release_records_the_run_in_stats_json(first):
    dataset, release = first
    manifest = release.manifest
    assert [r["run_id"] for r in manifest["runs"]] == ["run-1"]
    assert manifest["runs"][0] == json.loads((dataset.root / "stats.json").read_text())
    assert manifest["input_manifest"] is None and manifest["runs_without_stats"] == []
    assert manifest["lineage"]["run_ids"] == ["run-1"]


def test_runs_from_the_history_that_made_the_documents_and_the_input_manifest(tmp_path):
    data = build_dataset(tmp_path / "out", run_id="run-1")
    # A later incremental run added the blog's documents; an old run left nothing.
    for row in data.kept:
        if row["source_path"] == "blog.txt":
            row["run_id"] = "run-2"
    data.kept.append(kept_row("late.txt", "txt", 0, "run-2"))
    data.write(history=True, inputs=True)
    old = dict(data.runs[0], run_id="run-0", started_at="2026-10-01T00:00:00+00:00")
    (data.root / "runs" / "2026-10-01-run-0.json").write_text(json.dumps(old))

    manifest = create_release(data.root, "v1").manifest
    assert [r["run_id"] for r in manifest["runs"]] == ["run-1", "run-2"]
    assert manifest["runs"] == data.runs
    assert manifest["lineage"]["run_ids"] == ["run-1", "run-2"]

    root = data.root / "releases" / "v1"
    copy = root / "inputs.parquet"
    assert sha256(copy) == sha256(data.root / "inputs.parquet")
    inputs = pq.read_table(copy)
    assert manifest["input_manifest"] == {
        "path": "inputs.parquet",
        "files": inputs.num_rows,
        "bytes": sum(inputs["size"].to_pylist()),
        "sha256": sha256(copy),
    }
    assert {"path": "inputs.parquet", "kind": "inputs"}.items() <= next(
        f for f in manifest["files"] if f["path"] == "inputs.parquet"
    ).items()
    card = (root / "README.md").read_text()
    assert "`run-2`" in card and "`run-0`" not in card
    assert f"lists the {inputs.num_rows:,} input files" in card


def test_documents_of_a_run_with_no_stats_left_are_reported(dataset):
    dataset.kept[0]["run_id"] = "ghost-run"
    dataset.write()
    (dataset.root / "stats.json").write_text(json.dumps(dataset.runs[-1]))  # run-1 only
    manifest = create_release(dataset.root, "v1").manifest
    assert manifest["runs_without_stats"] == ["ghost-run"]
    assert [r["run_id"] for r in manifest["runs"]] == ["run-1"]


def test_unreadable_run_stats_are_a_clear_error(dataset):
    (dataset.root / "stats.json").write_text("{not json")
    with pytest.raises(ReleaseError, match="cannot read run stats"):
        create_release(dataset.root, "v1")


# -- CHANGES.md --------------------------------------------------------------


def test_the_first_release_says_it_is_the_first(first):
    dataset, release = first
    changes = (release.path / "CHANGES.md").read_text()
    assert "first release" in changes and f"{len(dataset.kept)} documents" in changes
    assert not (release.path / "changes.parquet").exists()


def test_changes_list_every_added_and_removed_document_with_its_reason(dataset):
    create_release(dataset.root, "v1", include_rejected=True)
    v1_files = tree(dataset.root / "releases" / "v1")
    by_id = {r["doc_id"]: r for r in dataset.kept}
    rejected_by_id = {r["doc_id"]: r for r in dataset.rejected}
    blog = [r for r in dataset.kept if r["source_path"] == "blog.txt"]
    c_file = [r for r in dataset.kept if r["source_path"] == "新闻/c.txt"]
    b_file = [r for r in dataset.kept if r["source_path"] == "news/b.jsonl"]

    expected: dict[str, tuple[str, str]] = {}
    # Removed: one blog document is now a near duplicate, the whole c.txt is gone,
    # one record of b.jsonl is no longer there (its file changed).
    now_dup = blog[2]
    dataset.kept.remove(now_dup)
    dataset.rejected.append(rejected_row(now_dup, "near_duplicate", "dedup", blog[1]["doc_id"]))
    expected[now_dup["doc_id"]] = ("removed", "near_duplicate")
    for row in c_file:
        dataset.kept.remove(row)
        expected[row["doc_id"]] = ("removed", "input_file_gone")
    dataset.kept.remove(b_file[0])
    expected[b_file[0]["doc_id"]] = ("removed", "record_gone")
    # Added: a new file, a new record of a known file, a formerly too-short record.
    for i in range(3):
        row = kept_row("news/new.jsonl", "jsonl", i, "run-1")
        dataset.kept.append(row)
        expected[row["doc_id"]] = ("added", "new_input_file")
    row = kept_row("blog.txt", "txt", 50, "run-1")
    dataset.kept.append(row)
    expected[row["doc_id"]] = ("added", "new_record")
    short = next(r for r in dataset.rejected if r["reason"] == "too_short")
    dataset.rejected.remove(short)
    revived = kept_row(short["source_path"], "jsonl", short["source_record"], "run-1")
    assert revived["doc_id"] == short["doc_id"]
    dataset.kept.append(revived)
    expected[revived["doc_id"]] = ("added", "previously_rejected:too_short")
    dataset.write()

    release = create_release(dataset.root, "v2")
    assert tree(dataset.root / "releases" / "v1") == v1_files  # never rewritten
    assert release.manifest["previous_release"] == "v1" and release.manifest["sequence"] == 2
    table = pq.read_table(release.path / "changes.parquet")
    got = {r["doc_id"]: (r["change"], r["reason"]) for r in table.to_pylist()}
    assert got == expected
    sources = {r["doc_id"]: r["source"] for r in table.to_pylist()}
    assert sources[c_file[0]["doc_id"]] == "新闻" and sources[now_dup["doc_id"]] == "blog.txt"
    assert set(by_id) >= {d for d, (c, _) in expected.items() if c == "removed"}
    assert revived["doc_id"] in rejected_by_id

    text = (release.path / "CHANGES.md").read_text()
    added = sum(1 for c, _ in expected.values() if c == "added")
    removed = len(expected) - added
    assert f"| removed | {removed} |" in text and f"| added | {added} |" in text
    assert f"| in v2 | {len(dataset.kept)} |" in text
    assert "| news | 4 |" in text  # added by source: 3 from news/new.jsonl, 1 from news/a.jsonl
    assert f"| 新闻 | {len(c_file)} |" in text  # removed by source
    assert f"| `input_file_gone` | {len(c_file)} |" in text
    assert "| `near_duplicate` | 1 | rejected now:" in text
    assert "| `previously_rejected:too_short` | 1 |" in text
    for doc in expected:
        assert f"`{doc}`" in text


def test_the_previous_release_is_the_last_one_made_not_the_largest_name(dataset):
    first = create_release(dataset.root, "2")
    second = create_release(dataset.root, "10")  # sorts before "2" as text
    stats = json.loads((dataset.root / "stats.json").read_text())
    stats["config_hash"] = "0123456789abcdef"
    (dataset.root / "stats.json").write_text(json.dumps(stats))
    third = create_release(dataset.root, "1")
    assert first.manifest["previous_release"] is None
    assert second.manifest["previous_release"] == "2"
    assert third.manifest["previous_release"] == "10"
    assert [m["version"] for m in list_releases(dataset.root / "releases")] == ["2", "10", "1"]
    changes = (third.path / "CHANGES.md").read_text()
    assert "Compared with the previous release, **10**" in changes
    assert "config hash `cafef00dcafef00d` → `0123456789abcdef`" in changes
    assert "Same cleaning settings" in (second.path / "CHANGES.md").read_text()


def test_a_schema_change_between_source_files_is_cast_or_refused(dataset):
    files = sorted((dataset.root / "data").glob("*.parquet"))
    table = pq.read_table(files[-1])
    narrowed = table.set_column(
        table.schema.get_field_index("source_record"),
        "source_record",
        table["source_record"].cast(pa.int32()),
    )
    pq.write_table(narrowed, files[-1])
    release = create_release(dataset.root, "v1")  # castable: same columns
    assert pq.read_table(release.path / "data").schema.field("source_record").type == pa.int64()
    pq.write_table(table.drop_columns(["title"]), files[-1])
    with pytest.raises(ReleaseError, match="does not have the same columns"):
        create_release(dataset.root, "v2")
