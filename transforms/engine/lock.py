"""One run at a time per output folder.

Two runs writing the same dataset would interleave their files.  The lock is
an ``flock`` on ``<output>/.zhclean.lock``: the operating system releases it
when its process ends, however it ends (even SIGKILL), so a crashed run never
leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = ".zhclean.lock"


class OutputLocked(RuntimeError):
    """Another process is writing to the same output folder."""


@contextmanager
def output_lock(output: Path) -> Iterator[None]:
    output.mkdir(parents=True, exist_ok=True)
    path = output / LOCK_NAME
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise OutputLocked(
                f"another zhclean run (pid {holder}) is writing to {output}; "
                "wait for it to finish or use another --output"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
