"""End to end: the real flow on the five sample dumps, through Prefect's temporary server."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.paths import REPO, SAMPLE
from transforms.pipeline import STAGE_NAMES
from transforms.schema import KEPT_SCHEMA, REJECTED_SCHEMA

MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z][^>]*>|&[a-zA-Z]+;|&#\d+;")
HAN = "\u4e00-\u9fff"
ASCII_PUNCT_BETWEEN_HAN = re.compile(rf"[{HAN}][,;:?!()][{HAN}]")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run_output(tmp_path_factory):
    """One in-process run of ``zhclean run data/sample`` (Prefect's temporary server)."""
    from flows.cli import main

    output = tmp_path_factory.mktemp("run") / "out"
    assert main(["run", str(SAMPLE), "--output", str(output), "--quiet"]) == 0
    return output


@pytest.fixture(scope="module")
def kept(run_output) -> pd.DataFrame:
    return pd.read_parquet(run_output / "data")


@pytest.fixture(scope="module")
def rejected(run_output) -> pd.DataFrame:
    return pd.read_parquet(run_output / "rejected")


@pytest.fixture(scope="module")
def stats(run_output) -> dict:
    return json.loads((run_output / "stats.json").read_text(encoding="utf-8"))


def test_counts_match_the_seed_dumps(stats):
    assert stats["documents"] == {
        "extracted": 19,
        "kept": 16,
        "rejected": 3,
        "balanced": True,
        "already_in_dataset": 0,
    }
    assert stats["rejected_by_reason"] == {"exact_duplicate": 3}
    assert stats["stages"]["extract"]["input"] == 19


def test_every_extracted_record_is_kept_or_rejected(stats, kept, rejected):
    assert stats["documents"]["extracted"] == len(kept) + len(rejected)
    assert set(kept.doc_id).isdisjoint(rejected.doc_id)
    assert kept.doc_id.is_unique and rejected.doc_id.is_unique


def test_records_per_file_match_the_dumps(kept, rejected):
    both = pd.concat([kept[["source_path"]], rejected[["source_path"]]])
    per_file = both.source_path.str[:3].value_counts().to_dict()
    assert per_file == {"000": 2, "001": 6, "002": 7, "003": 3, "004": 1}


def test_output_columns_follow_the_schema(run_output):
    data = pq.read_schema(next((run_output / "data").glob("*.parquet")))
    refused = pq.read_schema(next((run_output / "rejected").glob("*.parquet")))
    assert data.names == KEPT_SCHEMA.names
    assert refused.names == REJECTED_SCHEMA.names
    assert data.field("sentences").type == KEPT_SCHEMA.field("sentences").type


def test_no_text_contains_markup(kept):
    for text in kept.text:
        assert not MARKUP.search(text)
    assert kept.html_stripped.sum() >= 5  # seed 002's records were HTML


def test_ascii_commas_of_004_became_fullwidth(kept):
    text = kept[kept.source_path.str.startswith("004")].text.iloc[0]
    assert "疫情防控，关键在治，基础在防。" in text
    assert not ASCII_PUNCT_BETWEEN_HAN.search(text)


def test_chinese_punctuation_elsewhere_stays_fullwidth(kept):
    raw = (SAMPLE / "000_ce45d41deba75528.txt").read_text(encoding="utf-8")
    rows = kept[kept.source_path.str.startswith("000")]
    # The news stage moves datelines, credits and captions to columns: count them there.
    moved = [*rows.dateline.dropna()]
    for column in ("captions", "boilerplate"):
        moved += [line for lines in rows[column] for line in lines]
    text = "\n".join([*rows.title.dropna(), *rows.text, *moved])
    for mark in "，。、；：？！“”（）…—":
        assert text.count(mark) == raw.count(mark), mark


def test_inline_html_does_not_split_words(kept):
    row = kept[kept.source_path.str.startswith("002") & (kept.source_record == 0)].iloc[0]
    assert row.dateline == "央广网河南分网2月21日消息（记者 汪宁 通讯员 甄浩鹏）"
    assert "省知联会" in row.text


def test_duplicates_point_at_kept_documents(kept, rejected):
    by_id = kept.set_index("doc_id")
    for row in rejected.itertuples():
        assert row.duplicate_of in by_id.index
        assert by_id.loc[row.duplicate_of, "dup_cluster_id"] == row.duplicate_of
    assert (rejected.reason == "exact_duplicate").all() and (rejected.similarity == 1.0).all()
    copies = {(r.source_path[:3], r.source_record) for r in rejected.itertuples()}
    assert copies == {("001", 1), ("002", 2), ("002", 3)}
    # Seed 002's three copies of one article differ only in where the credit and the
    # caption sit: without them the bodies are one text, and the first copy is kept.
    keeper = by_id.loc[_record(rejected, "002", 3).duplicate_of]
    assert (keeper.source_record, keeper.dup_cluster_size) == (1, 3)


def _record(table: pd.DataFrame, seed: str, record: int) -> pd.Series:
    rows = table[table.source_path.str.startswith(seed) & (table.source_record == record)]
    assert len(rows) == 1, (seed, record)
    return rows.iloc[0]


def test_the_samples_datelines_and_credits_are_columns(kept, rejected):
    """What issue 14 reads in the seed files, from the run's data/ and rejected/."""
    expected = {
        ("003", 2): ("新华社", "武汉", "--03-24", ["谭元斌"]),
        ("002", 0): ("央广网河南分网", None, "--02-21", ["汪宁", "甄浩鹏"]),
        ("002", 6): ("央广网", "上海", "--02-09", ["周洪"]),
    }
    for (seed, record), (agency, place, date, reporters) in expected.items():
        row = _record(kept, seed, record)
        found = (row.news_agency, row.news_place, row.news_date)
        assert tuple(None if pd.isna(v) else v for v in found) == (agency, place, date)
        assert list(row.reporters) == reporters
        assert row.dateline and not row.text.startswith(row.dateline[:4])
    # Record 2 is a near duplicate of record 1: rejected, with its closing credit kept.
    closing = _record(rejected, "002", 2)
    assert {"蔡朝阳", "唐晓安"} <= set(closing.reporters)
    assert "蔡朝阳" not in closing.text
    photos = _record(kept, "002", 4)
    assert len(photos.captions) == 2 and all(c.endswith("供图）") for c in photos.captions)
    assert not any(c in photos.text for c in photos.captions)
    byline = _record(kept, "000", 0)
    assert byline.news_agency == "新华社"
    assert list(byline.reporters[:3]) == ["于长洪", "张洪河", "刘懿德"]
    assert "新华社记者于长洪、张洪河、刘懿德" in list(byline.boilerplate)
    assert "于长洪" not in byline.text


def test_the_short_photo_story_is_kept(kept):
    assert "动物临时“奶爸”" in set(kept.title)


def test_sentences_join_back_to_the_text(kept):
    for row in kept.itertuples():
        assert "".join(row.sentences) == row.text.replace("\n", "")
        assert row.n_sentences == len(row.sentences)


def test_provenance_points_at_the_raw_bytes(kept):
    import hashlib

    for row in kept.itertuples():
        raw = (SAMPLE / row.source_path).read_bytes()
        chunk = raw[row.source_offset : row.source_offset + row.source_length]
        assert hashlib.sha256(chunk).hexdigest() == row.source_sha256
        assert row.source_uri == (SAMPLE / row.source_path).resolve().as_uri()
    assert set(kept.source_encoding) == {"utf-8"}


def test_lineage_is_set_on_every_row(kept, stats):
    assert set(kept.run_id) == {stats["run_id"]}
    assert set(kept.config_hash) == {stats["config_hash"]}
    assert kept.processed_at.notna().all()


def test_the_run_leaves_a_markdown_artifact_with_counts(stats):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    # Filtered by run on the server: a shared Prefect database holds many runs'
    # artifacts, more than one page of results.
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["zhclean-run-summary"]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[stats["run_id"]]),
            )
        )
    mine = [a for a in artifacts if str(a.flow_run_id) == stats["run_id"]]
    assert len(mine) == 1
    assert "| dedup | 19 | 16 | exact_duplicate 3 |" in mine[0].data
    rows = [line.split(" | ")[0].lstrip("| ") for line in mine[0].data.splitlines()]
    assert [r for r in rows if r in STAGE_NAMES] == list(STAGE_NAMES)
    news = mine[0].data.split("## News structure", 1)[1]
    assert "7 of 16 kept documents have a dateline (43.8%)" in news
    assert "| 新华社 | 4 |" in news and "| 北京 | 3 |" in news


def test_stats_count_the_kept_documents_datelines_agencies_and_places(stats, kept):
    news = stats["news"]
    assert (news["documents"], news["with_dateline"]) == (16, kept.dateline.notna().sum())
    assert news["with_agency"] == kept.news_agency.notna().sum()
    agencies = kept.news_agency.value_counts()
    assert news["top_agencies"][0] == ["新华社", agencies["新华社"]]
    assert dict(map(tuple, news["top_places"])) == kept.news_place.value_counts().to_dict()


def test_stats_count_every_stage_in_pipeline_order(stats):
    assert list(stats["stages"]) == list(STAGE_NAMES)
    assert stats["stages"]["quality"]["input"] == 19
    dedup = stats["stages"]["dedup"]["extra"]
    assert (dedup["clusters_with_duplicates"], dedup["largest_cluster"]) == (2, 3)
    assert stats["stages"]["news"]["extra"]["with_dateline"] == 7
    assert set(stats["dedup_seconds_by_step"]) == {
        "fingerprint", "exact", "candidate_pairs", "resolve", "index",
    }  # fmt: skip


def test_no_dedup_keeps_every_duplicate_and_the_card_says_so(tmp_path):
    """``--no-dedup`` turns the dedup stage off: the sample's three duplicates stay."""
    from flows.cli import main
    from transforms.release.build import create_release

    output = tmp_path / "out"
    assert main(["run", str(SAMPLE), "-o", str(output), "--no-dedup", "--quiet"]) == 0
    stats = json.loads((output / "stats.json").read_text(encoding="utf-8"))
    assert stats["documents"]["kept"] == 19 and stats["rejected_by_reason"] == {}
    assert stats["config"]["dedup"]["enabled"] is False
    dedup = stats["stages"]["dedup"]
    assert (dedup["input"], dedup["kept"], dedup["rejected"]) == (19, 19, {})
    assert set(stats["dedup_seconds_by_step"].values()) == {0.0}  # no fingerprint, no pairs
    kept = pd.read_parquet(output / "data")
    assert (kept.dup_cluster_size == 1).all() and (kept.dup_cluster_id == kept.doc_id).all()
    card = (create_release(output, "v1").path / "README.md").read_text(encoding="utf-8")
    assert "Deduplication was off" in card and "deduplicated" not in card.split("---")[1]


def test_command_line_run_is_quiet_and_independent_of_sharding(tmp_path, kept, rejected):
    """A subprocess run, one shard per file: one summary line, nothing on stderr, same result."""
    output = tmp_path / "out"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "run",
            str(SAMPLE),
            "-o",
            str(output),
            "--shard-max-mb",
            "0.001",
            "--workers",
            "2",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.count("\n") == 1 and "16 kept, 3 rejected" in done.stdout
    again_kept = pd.read_parquet(output / "data")
    again_rejected = pd.read_parquet(output / "rejected")
    assert len({p.name for p in (output / "data").glob("*.parquet")}) == 5
    assert sorted(again_kept.doc_id) == sorted(kept.doc_id)
    columns = ["doc_id", "reason", "duplicate_of"]
    assert (
        again_rejected[columns]
        .sort_values("doc_id")
        .reset_index(drop=True)
        .equals(rejected[columns].sort_values("doc_id").reset_index(drop=True))
    )


def test_a_shard_that_keeps_failing_is_reported_and_the_others_are_published(
    run_output, tmp_path, monkeypatch, capsys
):
    """A deterministic bug met by one file fails that shard only (after Prefect's retries)."""
    import transforms.stages.extract as extract_stage
    from flows.cli import main

    real_extract = extract_stage.extract_file

    def extract_or_fail(path, root, cfg):
        if path.name.startswith("001_"):
            raise RuntimeError("injected bug")
        return real_extract(path, root, cfg)

    monkeypatch.setattr(extract_stage, "extract_file", extract_or_fail)
    output = tmp_path / "out"
    args = ["run", str(SAMPLE), "-o", str(output), "--workers", "1", "--shard-max-mb", "0.001"]
    assert main([*args, "--quiet"]) == 1
    stats = json.loads((output / "stats.json").read_text(encoding="utf-8"))
    assert [Path(f).name for f in stats["failed_shards"][0]["files"]] == [
        "001_7449224e27af3ec5.txt"
    ]
    assert "RuntimeError: injected bug" in stats["failed_shards"][0]["error"]
    # 001 held 6 records and the exact duplicate; 002's two near duplicates remain.
    assert stats["documents"] == {
        "extracted": 13,
        "kept": 11,
        "rejected": 2,
        "balanced": True,
        "already_in_dataset": 0,
    }
    assert "shard failed" in capsys.readouterr().err
    assert not set(pd.read_parquet(output / "data").source_path.str[:3]) & {"001"}


def _failing_reads(monkeypatch, name_prefix: str, times: int | None = None) -> list[str]:
    """Make reading the sample file ``name_prefix*`` fail with EIO (``times`` times, or always)."""
    import errno
    import os

    import transforms.stages.extract as extract_stage

    real_extract = extract_stage.extract_file
    calls: list[str] = []

    def extract_or_eio(path, root, cfg):
        if path.name.startswith(name_prefix):
            calls.append(path.name)
            if times is None or len(calls) <= times:
                raise OSError(errno.EIO, os.strerror(errno.EIO), str(path))
        return real_extract(path, root, cfg)

    monkeypatch.setattr(extract_stage, "extract_file", extract_or_eio)
    monkeypatch.setattr(extract_stage, "READ_RETRY_DELAYS", (0.0, 0.0))
    return calls


def test_an_input_that_cannot_be_read_is_reported_and_read_by_the_next_run(
    kept, rejected, tmp_path, monkeypatch, capsys
):
    """The shard goes on without the file; the file is not in the manifest, so it comes next time."""
    from flows.cli import main

    calls = _failing_reads(monkeypatch, "001_")
    output = tmp_path / "out"
    assert main(["run", str(SAMPLE), "-o", str(output), "--workers", "1", "--quiet"]) == 1
    assert calls == ["001_7449224e27af3ec5.txt"] * 3  # read, then twice more after a pause
    stats = json.loads((output / "stats.json").read_text(encoding="utf-8"))
    assert not stats["failed_shards"] and stats["inputs"]["shards"] == 1
    [failure] = stats["failed_inputs"]
    assert Path(failure["path"]).name == "001_7449224e27af3ec5.txt"
    assert failure["error"].startswith("OSError: [Errno 5] Input/output error")
    assert stats["documents"]["extracted"] == 13 and stats["documents"]["balanced"]
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "could not read" in err and "001_7449224e27af3ec5.txt" in err
    manifest = pd.read_parquet(output / "inputs.parquet")
    assert sorted(Path(p).name[:3] for p in manifest.path) == ["000", "002", "003", "004"]

    monkeypatch.undo()  # the file can be read again
    assert main(["run", str(SAMPLE), "-o", str(output), "--workers", "1", "--quiet"]) == 0
    again = json.loads((output / "stats.json").read_text(encoding="utf-8"))
    assert again["mode"] == "incremental" and again["inputs"]["new"] == 1
    assert again["documents"]["extracted"] == 6 and not again["failed_inputs"]
    everything = pd.concat([pd.read_parquet(output / "data"), pd.read_parquet(output / "rejected")])
    assert sorted(everything.doc_id) == sorted([*kept.doc_id, *rejected.doc_id])


def test_a_read_error_that_passes_is_not_a_failure(kept, tmp_path, monkeypatch):
    from flows.cli import main

    calls = _failing_reads(monkeypatch, "001_", times=1)
    output = tmp_path / "out"
    assert main(["run", str(SAMPLE), "-o", str(output), "--workers", "1", "--quiet"]) == 0
    assert len(calls) == 2
    stats = json.loads((output / "stats.json").read_text(encoding="utf-8"))
    assert not stats["failed_inputs"] and stats["documents"]["extracted"] == 19
    assert sorted(pd.read_parquet(output / "data").doc_id) == sorted(kept.doc_id)


def test_a_run_in_which_every_shard_fails_fails_with_the_first_error(tmp_path, monkeypatch, capsys):
    import transforms.stages.extract as extract_stage
    from flows.cli import main

    def always_fail(path, root, cfg):
        raise RuntimeError(f"injected bug in {path.name}")

    monkeypatch.setattr(extract_stage, "extract_file", always_fail)
    output = tmp_path / "out"
    args = ["run", str(SAMPLE), "-o", str(output), "--workers", "1", "--shard-max-mb", "0.001"]
    assert main([*args, "--quiet"]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("zhclean: error: run failed: ShardsFailed: every shard failed (5)")
    assert "injected bug in 000_ce45d41deba75528.txt" in line
    assert not (output / "data").exists() and not (output / "stats.json").exists()


def test_the_run_logs_through_prefects_run_logger(stats):
    import time
    import uuid

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    wanted = "19 documents extracted, 16 kept, 3 rejected"
    run = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[uuid.UUID(stats["run_id"])]))
    messages: list[str] = []
    deadline = time.monotonic() + 30  # records reach the API in batches
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            messages = [log.message for log in client.read_logs(limit=200, log_filter=run)]
            if any(wanted in m for m in messages):
                break
            time.sleep(0.5)
    assert any(wanted in m for m in messages), messages
