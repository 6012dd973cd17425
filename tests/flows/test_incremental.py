"""Incremental runs: an output folder is a living dataset that later runs add to."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.cli import main
from tests.paths import SAMPLE
from transforms.engine.dataset_state import DatasetState

FIRST = ["000_ce45d41deba75528.txt", "001_7449224e27af3ec5.txt", "003_ceb8abdfd1cab23a.txt"]
LATER = ["002_ca418ce6a18ed07a.txt", "004_4ea96290340b9324.txt"]


def run(inputs: Path, output: Path, *extra: str) -> dict:
    assert main(["run", str(inputs), "-o", str(output), "--workers", "1", "--quiet", *extra]) == 0
    return json.loads((output / "stats.json").read_text(encoding="utf-8"))


def dataset(output: Path, folder: str) -> pd.DataFrame:
    return pd.read_parquet(output / folder).sort_values("doc_id").reset_index(drop=True)


@pytest.fixture(scope="module")
def grown(tmp_path_factory):
    """A dataset made from three seed files, then a run after two more were added."""
    root = tmp_path_factory.mktemp("incremental")
    inputs, output = root / "inputs", root / "out"
    inputs.mkdir()
    for name in FIRST:
        shutil.copy(SAMPLE / name, inputs / name)
    first = run(inputs, output)
    first_files = sorted(p.name for p in (output / "data").iterdir())
    for name in LATER:
        shutil.copy(SAMPLE / name, inputs / name)
    second = run(inputs, output)
    return inputs, output, first, second, first_files


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    output = tmp_path_factory.mktemp("full") / "out"
    run(SAMPLE, output)
    return output


def test_a_later_run_processes_only_the_new_files(grown):
    _, _, first, second, _ = grown
    assert first["mode"] == "full" and second["mode"] == "incremental"
    assert second["inputs"]["seen"] == 5
    assert (second["inputs"]["new"], second["inputs"]["unchanged"]) == (2, 3)
    assert second["inputs"]["files"] == 2
    assert second["documents"]["extracted"] == 7 + 1  # 002 and 004 only


def test_the_grown_dataset_equals_one_full_run_over_every_file(grown, full):
    _, output, *_ = grown
    for folder in ("data", "rejected"):
        ours, theirs = dataset(output, folder), dataset(full, folder)
        assert ours["doc_id"].tolist() == theirs["doc_id"].tolist()
    assert dataset(output, "rejected")["reason"].value_counts().to_dict() == {
        "exact_duplicate": 3,
    }


def test_earlier_files_are_left_as_they_were_and_new_parts_are_added(grown):
    _, output, _, _, first_files = grown
    now = sorted(p.name for p in (output / "data").iterdir())
    assert set(first_files) < set(now)


def test_the_manifest_history_and_commit_record_follow_the_runs(grown):
    _, output, first, second, _ = grown
    state = DatasetState.load(output)
    assert state.runs == [first["run_tag"], second["run_tag"]]
    manifest = state.manifest.to_pandas()
    assert sorted(Path(p).name for p in manifest["path"]) == sorted(FIRST + LATER)
    by_name = {Path(r.path).name: r.run_tag for r in manifest.itertuples()}
    assert {by_name[n] for n in FIRST} == {first["run_tag"]}
    assert {by_name[n] for n in LATER} == {second["run_tag"]}
    history = sorted((output / "runs").glob("*.json"))
    assert [json.loads(p.read_text())["run_id"] for p in history] == [
        first["run_id"],
        second["run_id"],
    ]


def test_documents_that_duplicate_published_ones_point_at_them(grown, tmp_path):
    inputs, output, *_ = grown
    work = tmp_path / "copy"
    shutil.copytree(output, work)
    kept = dataset(work, "data")
    original = kept.loc[kept["n_chars"].idxmax()]
    near = original["text"][: int(len(original["text"]) * 0.95)]  # a truncated copy
    # Jaccard about 0.86, within 0.1 of the threshold: decided by the exact Jaccard,
    # which reads the published document's text back from data/.
    close = original["text"][: int(len(original["text"]) * 0.86)]
    # The manifest knows input files by path: one file is added to the same folder.
    extra = inputs / "zz_copies.jsonl"
    lines = [
        {"id": "exact", "text": original["text"]},
        {"id": "near", "text": near},
        {"id": "close", "text": close},
    ]
    extra.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in lines) + "\n")
    try:
        stats = run(inputs, work)
    finally:
        extra.unlink()
    assert (stats["inputs"]["new"], stats["inputs"]["unchanged"]) == (1, 5)
    rejected = dataset(work, "rejected").set_index("source_id")
    assert rejected.loc["exact", "reason"] == "exact_duplicate"
    assert rejected.loc["near", "reason"] == "near_duplicate"
    assert rejected.loc["exact", "duplicate_of"] == original["doc_id"]
    assert rejected.loc["near", "duplicate_of"] == original["doc_id"]
    assert rejected.loc["close", "reason"] == "near_duplicate"
    assert 0.8 <= rejected.loc["close", "similarity"] < 0.9
    assert stats["documents"]["kept"] == 0


def test_a_run_with_nothing_new_changes_no_document(grown, tmp_path):
    inputs, output, *_ = grown
    work = tmp_path / "copy"
    shutil.copytree(output, work)
    before = sorted(p.name for p in (work / "data").iterdir())
    stats = run(inputs, work)
    assert stats["inputs"]["new"] == stats["inputs"]["changed"] == 0
    assert stats["documents"]["extracted"] == 0
    assert sorted(p.name for p in (work / "data").iterdir()) == before
    assert len(DatasetState.load(work).runs) == 3


def test_a_changed_file_adds_only_its_new_records(tmp_path):
    inputs, output = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    news = [
        line
        for line in (SAMPLE / "002_ca418ce6a18ed07a.txt").read_text(encoding="utf-8").splitlines()
        if len(line) > 60
    ]
    dump = inputs / "feed.jsonl"
    records = [{"id": f"r{i}", "text": "\n".join(news[i::4])} for i in range(3)]
    dump.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records[:2]))
    first = run(inputs, output)
    with dump.open("a", encoding="utf-8") as feed:  # the feed grows by one record
        feed.write(json.dumps(records[2], ensure_ascii=False) + "\n")
    second = run(inputs, output)
    assert second["inputs"]["changed"] == 1
    assert second["documents"]["already_in_dataset"] == first["documents"]["extracted"] == 2
    assert second["documents"]["extracted"] == 1
    parts = sorted((output / "data").glob("*.parquet")) + sorted(
        (output / "rejected").glob("*.parquet")
    )
    ids = [i for part in parts for i in pq.read_table(part).column("source_id").to_pylist()]
    assert sorted(ids) == ["r0", "r1", "r2"]  # each record once


def test_other_cleaning_settings_are_refused_unless_full(grown, tmp_path, capsys):
    inputs, output, *_ = grown
    work = tmp_path / "copy"
    shutil.copytree(output, work)
    args = ["run", str(inputs), "-o", str(work), "--workers", "1", "--quiet", "--min-chars", "150"]
    assert main(args) == 2
    assert "cleaned with other settings" in capsys.readouterr().err
    assert main([*args, "--full"]) == 0
    stats = json.loads((work / "stats.json").read_text())
    assert stats["mode"] == "full" and stats["inputs"]["files"] == 5
    assert DatasetState.load(work).runs == [stats["run_tag"]]


def test_files_of_a_run_that_stopped_while_publishing_are_removed(grown, tmp_path):
    inputs, output, *_ = grown
    work = tmp_path / "copy"
    shutil.copytree(output, work)
    stray = work / "data" / "part-20991231T000000-deadbeef_0123456789abcdef-00000.parquet"
    pq.write_table(pa.table({"doc_id": ["x"]}), stray)
    (work / "index" / "20991231T000000-deadbeef_0123456789abcdef").mkdir()
    run(inputs, work)
    assert not stray.exists()
    assert not (work / "index" / "20991231T000000-deadbeef_0123456789abcdef").exists()
