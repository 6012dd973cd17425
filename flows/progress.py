"""What a person watching a long run sees: shards and documents done, rate, time left.

Drawn with rich on stderr, only when stderr is a terminal (a scheduled run's
log gets Prefect's records, not a progress bar) and not with ``--quiet``.
Progress is measured in input bytes, the one quantity known for every shard
before it is read; the document count and rate come from the shards' summaries.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

COLUMNS = (
    TextColumn("[bold]{task.description:<15}"),
    BarColumn(),
    TextColumn("shards {task.fields[shards]}"),
    TextColumn("{task.fields[documents]:>10,} docs"),
    TextColumn("{task.fields[rate]:>7,.0f} docs/s"),
    TimeElapsedColumn(),
    TextColumn("left"),
    TimeRemainingColumn(),
)


class StageProgress:
    """One stage's bar; does nothing when there is no terminal to draw on."""

    def __init__(self, progress: Progress | None, stage: str, shards: int, total_bytes: int):
        self._progress = progress
        self._shards = shards
        self._done = 0
        self._documents = 0
        self._started = time.monotonic()
        self._task: TaskID | None = None
        if progress is not None:
            self._task = progress.add_task(
                stage, total=max(total_bytes, 1), shards=f"0/{shards}", documents=0, rate=0.0
            )

    def shard_done(self, size: int, documents: int) -> None:
        self._done += 1
        self._documents += documents
        if self._progress is None or self._task is None:
            return
        elapsed = max(time.monotonic() - self._started, 1e-9)
        self._progress.update(
            self._task,
            advance=size,
            shards=f"{self._done}/{self._shards}",
            documents=self._documents,
            rate=self._documents / elapsed,
        )


class RunProgress:
    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress

    def stage(self, name: str, shards: int, total_bytes: int) -> StageProgress:
        return StageProgress(self._progress, name, shards, total_bytes)


@contextmanager
def run_progress(enabled: bool, console: Console | None = None) -> Iterator[RunProgress]:
    console = console or Console(file=sys.stderr)
    if not enabled or not console.is_terminal:
        yield RunProgress(None)
        return
    with Progress(*COLUMNS, console=console) as progress:
        yield RunProgress(progress)
