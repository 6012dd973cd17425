"""Ctrl-C: the run stops at once with one line, leaves no process and no finished-looking
half file behind, and ``--resume`` then ends as a clean run does."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.flows.corpus import write_jsonl_corpus
from tests.flows.reliability_support import unfinished_files_that_look_finished
from tests.flows.test_resume import REPO, dataset, run_to_end, zhclean

pytestmark = pytest.mark.slow


def _session_processes(session: int) -> list[int]:
    """Live processes of the session ``session`` (zombies waiting for a reaper excluded)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session and fields[0] != "Z":  # state, ppid, pgrp, session
            found.append(int(stat.parent.name))
    return found


def test_ctrl_c_stops_the_run_cleanly_and_resume_finishes_it(tmp_path):
    corpus = write_jsonl_corpus(tmp_path / "corpus", files=24, docs_per_file=150)
    options = ["--shard-max-mb", "0.05", "--workers", "2", "--quiet"]
    output = tmp_path / "out"
    # Its own session, like a terminal's foreground job: Ctrl-C signals the whole group.
    run = subprocess.Popen(
        zhclean(str(corpus), "-o", str(output), *options),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not list(output.glob(".work/*/shards/*/prepared.json")):
            assert run.poll() is None, "the run ended before it could be interrupted"
            assert time.monotonic() < deadline, "no shard was prepared in time"
            time.sleep(0.05)
        os.killpg(run.pid, signal.SIGINT)
        interrupted = time.monotonic()
        stdout, stderr = run.communicate(timeout=60)
        stopped_after = time.monotonic() - interrupted
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    assert run.returncode == 130
    assert stopped_after < 15, f"took {stopped_after:.1f} s to stop"
    assert stdout == ""
    [line] = stderr.splitlines()
    assert line.startswith("zhclean: error: interrupted: nothing was published")
    deadline = time.monotonic() + 10  # the server ends with the run (see prefect_server)
    while _session_processes(run.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _session_processes(run.pid) == []
    assert not (output / "data").exists() and not (output / "stats.json").exists()
    assert unfinished_files_that_look_finished(output) == []
    prepared = len(list(output.glob(".work/*/shards/*/prepared.json")))
    assert 0 < prepared < 24

    run_to_end(str(corpus), "-o", str(output), "--resume", *options)
    clean = tmp_path / "clean"
    run_to_end(str(corpus), "-o", str(clean), *options)
    for got, expected in zip(dataset(output), dataset(clean), strict=True):
        pd.testing.assert_frame_equal(got, expected)
