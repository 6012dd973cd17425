import subprocess
import sys

import pytest

from transforms.engine.lock import OutputLocked, output_lock


def test_a_second_holder_is_refused_with_a_clear_message(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from transforms.engine.lock import output_lock\n"
            "with output_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(30)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with (
            pytest.raises(OutputLocked, match=rf"pid {holder.pid}\) is writing to"),
            output_lock(tmp_path),
        ):
            pass
    finally:
        holder.kill()
        holder.wait()
    # The operating system released the killed holder's lock: no stale lock.
    with output_lock(tmp_path):
        pass


def _another_process_takes(folder) -> str:
    """What another process says when it tries to take the lock of ``folder``."""
    script = (
        "import sys; from pathlib import Path; from transforms.engine.lock import *\n"
        "try:\n    with output_lock(Path(sys.argv[1])): print('taken')\n"
        "except OutputLocked: print('refused')"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(folder)], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_the_lock_names_its_holder_and_is_free_again_after_release(tmp_path):
    import os

    with output_lock(tmp_path):
        assert (tmp_path / ".zhclean.lock").read_text() == str(os.getpid())
        assert _another_process_takes(tmp_path) == "refused"
    assert _another_process_takes(tmp_path) == "taken"
    with output_lock(tmp_path):
        assert _another_process_takes(tmp_path) == "refused"
