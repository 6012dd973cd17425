"""Faults while a run writes: a full disk and an output folder made read-only mid-run.

Every file zhclean writes goes through ``transforms.storage.atomic_path``;
these tests replace its seam ``_written`` with a ``WriteFault`` so that, from
some write on, the write fails the way a full disk (``ENOSPC``) or a read-only folder
(``EROFS``) fails it, after half the file's bytes are written.  The runs are
in this process with one worker (``--workers 1``), so the jobs meet the
fault too.  Tests run as root, on whom permissions have no effect, and may
not mount file systems: the same faults made for real (a full tmpfs, a
folder made read-only with chmod for a process without root's powers) are in
``bench/reliability.py`` and ``bench/RELIABILITY.md``.

For each fault: the run stops with status 1 and one line naming the error,
nothing it half-wrote has a final name, the dataset already in the output
folder is untouched, and a rerun gives the same dataset as a clean run.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import pytest

import transforms.storage as storage
from tests.flows.reliability_support import (
    WriteFault,
    outcome,
    prefect_server,
    read_stats,
    run_cli,
    tree_digest,
    unfinished_files_that_look_finished,
)
from tests.paths import SAMPLE

# Three shards of the five sample dumps; jobs in this process, where the fault is injected.
OPTIONS = ("--workers", "1", "--shard-max-mb", "0.1", "--quiet")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server():
    with prefect_server():
        yield


@pytest.fixture(scope="module")
def clean_outcome(server, tmp_path_factory):
    output = tmp_path_factory.mktemp("clean") / "out"
    run = run_cli(str(SAMPLE), "-o", str(output), *OPTIONS)
    assert run.status == 0, run.stderr
    return outcome(output)


def assert_failed_cleanly(run, output: Path, message: str) -> None:
    assert run.status == 1
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("zhclean: error: run failed: ") and message in lines[0], lines[0]
    assert (output / "zhclean-error.log").is_file()
    assert unfinished_files_that_look_finished(output) == []
    assert not list(output.rglob(f"{storage.TMP_PREFIX}*"))


def test_disk_full_while_preparing_stops_and_resume_finishes_the_same(
    clean_outcome, tmp_path, monkeypatch
):
    output = tmp_path / "out"
    before = tree_digest(SAMPLE)
    # The first shard gets prepared, then the disk is full.
    fault = WriteFault(
        errno.ENOSPC, armed_by=lambda destination: destination.name == "prepared.json"
    )
    monkeypatch.setattr(storage, "_written", fault)
    run = run_cli(str(SAMPLE), "-o", str(output), *OPTIONS)
    assert fault.failed, "the fault was never met"
    assert_failed_cleanly(run, output, "No space left on device")
    assert not (output / "stats.json").exists() and not (output / "data").exists()
    assert len(list(output.glob(".work/*/shards/*/prepared.json"))) == 1

    fault.clear()  # space was freed
    again = run_cli(str(SAMPLE), "-o", str(output), "--resume", *OPTIONS)
    assert again.status == 0, again.stderr
    stats = read_stats(output)
    assert stats["resumed_shards"]["prepare"] == 1
    assert stats["documents"]["balanced"] and not stats["failed_shards"]
    assert outcome(output) == clean_outcome
    assert tree_digest(SAMPLE) == before


def test_output_made_read_only_mid_run_stops_and_a_rerun_gives_the_clean_result(
    clean_outcome, tmp_path, monkeypatch
):
    output = tmp_path / "out"
    # Everything up to deduplication is written, then the folder turns read-only.
    fault = WriteFault(errno.EROFS, matches=lambda destination: "final" in destination.parts)
    monkeypatch.setattr(storage, "_written", fault)
    run = run_cli(str(SAMPLE), "-o", str(output), *OPTIONS)
    assert fault.failed
    assert_failed_cleanly(run, output, "Read-only file system")
    assert not (output / "data").exists()

    fault.clear()  # made writable again
    again = run_cli(str(SAMPLE), "-o", str(output), *OPTIONS)
    assert again.status == 0, again.stderr
    assert outcome(output) == clean_outcome


def test_disk_full_when_publishing_leaves_the_previous_dataset_whole(
    clean_outcome, tmp_path, monkeypatch
):
    """The previous run's data/, rejected/ and stats.json stay together when the new ones cannot."""
    output = tmp_path / "out"
    first = run_cli(str(SAMPLE), "-o", str(output), *OPTIONS)
    assert first.status == 0, first.stderr
    published = {name: tree_digest(output / name) for name in ("data", "rejected")}
    stats_before = (output / "stats.json").read_bytes()

    fault = WriteFault(errno.ENOSPC, matches=lambda destination: destination.name == "stats.json")
    monkeypatch.setattr(storage, "_written", fault)
    run = run_cli(str(SAMPLE), "-o", str(output), *OPTIONS)
    assert fault.failed
    assert_failed_cleanly(run, output, "No space left on device")
    assert {name: tree_digest(output / name) for name in ("data", "rejected")} == published
    assert (output / "stats.json").read_bytes() == stats_before

    fault.clear()
    again = run_cli(str(SAMPLE), "-o", str(output), *OPTIONS)
    assert again.status == 0, again.stderr
    assert outcome(output) == clean_outcome
    shutil.rmtree(output)
