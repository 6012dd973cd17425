"""A run killed with SIGKILL part-way and started again with --resume ends as a clean run does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.flows.corpus import write_jsonl_corpus
from tests.paths import REPO

pytestmark = pytest.mark.slow


def zhclean(*args: str) -> list[str]:
    return [sys.executable, "-m", "flows.cli", "run", *args]


def run_to_end(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(zhclean(*args), cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done


def dataset(output: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    kept = pd.read_parquet(output / "data").drop(columns=["run_id", "processed_at"])
    rejected = pd.read_parquet(output / "rejected").drop(columns=["run_id", "processed_at"])
    kept = kept.sort_values("doc_id").reset_index(drop=True)
    return kept, rejected.sort_values("doc_id").reset_index(drop=True)


def kill_when_some_shards_are_prepared(command: list[str], work_root: Path) -> int:
    """Start ``command``, SIGKILL its whole process group once a shard is done; return shards done."""
    process = subprocess.Popen(
        command,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            done = list(work_root.glob("*/shards/*/prepared.json"))
            if done:
                os.killpg(process.pid, signal.SIGKILL)
                break
            assert process.poll() is None, "the run ended before it could be killed"
            time.sleep(0.05)
        else:
            pytest.fail("no shard was prepared in time")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return len(list(work_root.glob("*/shards/*/prepared.json")))


def test_killed_run_resumes_to_the_same_dataset_as_a_clean_run(tmp_path):
    corpus = write_jsonl_corpus(tmp_path / "corpus", files=24, docs_per_file=150)
    options = ["--shard-max-mb", "0.05", "--workers", "2", "--quiet"]
    killed = tmp_path / "killed"
    prepared = kill_when_some_shards_are_prepared(
        zhclean(str(corpus), "-o", str(killed), *options), killed / ".work"
    )
    assert 0 < prepared < 24, "the kill should land while shards are still being prepared"
    assert not (killed / "data").exists()  # nothing was published by the killed run

    run_to_end(str(corpus), "-o", str(killed), "--resume", *options)
    stats = json.loads((killed / "stats.json").read_text(encoding="utf-8"))
    assert stats["documents"]["balanced"] and stats["documents"]["extracted"] == 24 * 150
    assert stats["resumed_shards"]["prepare"] >= prepared

    clean = tmp_path / "clean"
    run_to_end(str(corpus), "-o", str(clean), "--workers", "1", "--quiet")
    resumed_kept, resumed_rejected = dataset(killed)
    clean_kept, clean_rejected = dataset(clean)
    pd.testing.assert_frame_equal(resumed_kept, clean_kept)
    pd.testing.assert_frame_equal(resumed_rejected, clean_rejected)
    assert not list(killed.glob(".work/*")), "the work folder is removed after publishing"
