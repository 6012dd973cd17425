import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from flows.progress import run_progress
from tests.paths import REPO


def terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=120), out


def test_a_terminal_shows_shards_documents_and_rate():
    console, out = terminal()
    with run_progress(True, console) as progress:
        stage = progress.stage("prepare", shards=2, total_bytes=100)
        stage.shard_done(size=50, documents=1200)
        stage.shard_done(size=50, documents=800)
    shown = out.getvalue()
    assert "prepare" in shown and "shards 2/2" in shown and "2,000 docs" in shown
    assert "docs/s" in shown and "left" in shown


def test_quiet_or_no_terminal_draws_nothing():
    console, out = terminal()
    with run_progress(False, console) as progress:
        progress.stage("prepare", 1, 10).shard_done(10, 5)
    assert out.getvalue() == ""
    plain = io.StringIO()
    with run_progress(True, Console(file=plain, force_terminal=False)) as progress:
        progress.stage("prepare", 1, 10).shard_done(10, 5)
    assert plain.getvalue() == ""


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("script") is None, reason="needs util-linux script for a terminal")
def test_a_run_on_a_terminal_shows_progress(tmp_path):
    """A real run in a pseudo-terminal (util-linux ``script``), as a person would see it."""
    command = f"python -m flows.cli run data/sample -o {tmp_path / 'out'} --shard-max-mb 0.01"
    done = subprocess.run(
        ["script", "-qec", command, str(tmp_path / "typescript")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            "TERM": "xterm",
        },
    )
    assert done.returncode == 0, done.stdout
    screen = (tmp_path / "typescript").read_text(encoding="utf-8", errors="replace")
    assert "shards 5/5" in screen and "docs/s" in screen
    assert "16 kept, 3 rejected" in screen
