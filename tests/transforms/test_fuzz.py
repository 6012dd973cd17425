"""Bounded fuzzing of extract (every input format) and the HTML stripper.

``fuzz_driver.py`` mutates inputs built from the sample dumps for a fixed
time (``ZHCLEAN_FUZZ_SECONDS``, default 30) in its own process, so that a
crash in native code or a hang is caught too.  Every input that fails is
saved under ``tests/fixtures/regressions/``, where ``test_regressions.py``
replays it on every run; then this test fails, naming the inputs and the
seed (``ZHCLEAN_FUZZ_SEED`` repeats a run).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import REPO
from tests.transforms.fuzz_driver import save_crashes

REGRESSIONS = REPO / "tests" / "fixtures" / "regressions"

pytestmark = pytest.mark.slow


def test_bounded_fuzzing_of_extract_and_html_strip_finds_no_failure(tmp_path: Path) -> None:
    seconds = float(os.environ.get("ZHCLEAN_FUZZ_SECONDS", "30"))
    seed = int(os.environ.get("ZHCLEAN_FUZZ_SEED") or random.SystemRandom().randrange(2**32))
    command = [sys.executable, "-m", "tests.transforms.fuzz_driver", "--seconds", str(seconds)]
    command += ["--seed", str(seed), "--work", str(tmp_path)]
    try:
        done = subprocess.run(
            command, cwd=REPO, capture_output=True, text=True, timeout=seconds + 120
        )
        died = done.returncode not in (0, 1)
        output = done.stderr[-2000:]
    except subprocess.TimeoutExpired:
        died, output = True, "the fuzzer hung"
    saved = save_crashes(tmp_path, REGRESSIONS)
    summary_path = tmp_path / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    errors = "\n".join(c["error"] for c in summary.get("crashes", []))[-4000:]
    assert not saved, (
        f"fuzzing with seed {seed} found failing inputs, saved as regression fixtures: "
        f"{[p.name for p in saved]}\n{errors}{output if died else ''}"
    )
    assert not died, output
    assert summary["rounds"]["extract"] > 1000 and summary["rounds"]["html"] > 300, summary
