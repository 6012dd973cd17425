"""Shared by the whole-run reliability tests: one Prefect server per module, in-process runs, checks."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from transforms.storage import TMP_PREFIX


@contextlib.contextmanager
def prefect_server() -> Iterator[None]:
    """One Prefect server for every run inside the block (a run would otherwise start its own).

    Inside, ``PREFECT_API_URL`` points at it, so ``zhclean run`` uses it as a
    user's own server; each in-process run then costs about a second instead
    of a server start-up.
    """
    from flows.prefect_env import configure_prefect_environment

    configure_prefect_environment()
    from flows.server import prefect_api, startup_timeout

    with prefect_api() as server:
        if server is not None:
            server.wait_until_healthy(startup_timeout())
        yield


@dataclass
class CliRun:
    status: int
    stdout: str
    stderr: str


def run_cli(*args: str) -> CliRun:
    """``zhclean run ARGS`` in this process; its exit status and what it printed."""
    from flows.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["run", *args])
    return CliRun(status, out.getvalue(), err.getvalue())


def read_stats(output: Path) -> dict:
    return json.loads((output / "stats.json").read_text(encoding="utf-8"))


def read_parts(folder: Path, columns: list[str]) -> pd.DataFrame:
    """The rows of every Parquet file in ``folder`` (none if there is no file)."""
    parts = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    if not parts:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in columns})
    return pd.concat([pd.read_parquet(p, columns=columns) for p in parts], ignore_index=True)


def outcome(output: Path) -> tuple[list[str], list[tuple[str, str, str | None]]]:
    """What a run decided: the kept doc ids, and (doc_id, reason, duplicate_of) of the rejected."""
    kept = read_parts(output / "data", ["doc_id"])
    rejected = read_parts(output / "rejected", ["doc_id", "reason", "duplicate_of"])
    decisions = sorted(
        (row.doc_id, row.reason, row.duplicate_of) for row in rejected.itertuples(index=False)
    )
    return sorted(kept.doc_id), decisions


def tree_digest(folder: Path) -> dict[str, tuple[str, int]]:
    """SHA-256 (or link target) and mode of every entry under ``folder``, by relative path.

    Links are not followed, and special files (a named pipe) are not opened.
    """
    digests: dict[str, tuple[str, int]] = {}
    for here, dirs, names in os.walk(folder, followlinks=False):
        for name in [*dirs, *names]:
            path = Path(here) / name
            status = path.lstat()
            if path.is_symlink():
                content = "-> " + os.readlink(path)
            elif stat.S_ISREG(status.st_mode):
                digest = hashlib.sha256()
                with open(path, "rb") as handle:
                    while block := handle.read(1 << 20):
                        digest.update(block)
                content = digest.hexdigest()
            else:
                content = ""
            digests[path.relative_to(folder).as_posix()] = (content, status.st_mode)
    return digests


def unfinished_files_that_look_finished(output: Path) -> list[str]:
    """Files under ``output`` with a final name whose content is not a complete file.

    Every ``*.parquet`` must read whole and every ``*.json`` must parse; a
    leftover temporary file must keep its ``.tmp-`` name.
    """
    problems = []
    for path in sorted(output.rglob("*")):
        if not path.is_file() or path.name.startswith(TMP_PREFIX):
            continue
        try:
            if path.suffix == ".parquet":
                pq.read_table(path)
            elif path.suffix == ".json":
                json.loads(path.read_text(encoding="utf-8"))
        except Exception as err:
            problems.append(f"{path.relative_to(output)}: {type(err).__name__}: {err}")
    return problems


class WriteFault:
    """Fails every write whose destination ``matches``, once a write ``arming`` it went through.

    Until ``clear`` is called: the disk stays full, the folder read-only.
    """

    def __init__(
        self,
        code: int,
        matches: Callable[[Path], bool] = lambda destination: True,
        armed_by: Callable[[Path], bool] | None = None,
    ) -> None:
        self.code = code
        self.matches = matches
        self.armed_by = armed_by
        self.armed = armed_by is None
        self.failed: list[Path] = []

    def __call__(self, tmp: Path, destination: Path) -> None:
        if not self.armed:
            self.armed = self.armed_by is not None and self.armed_by(destination)
            return
        if not self.matches(destination):
            return
        with open(tmp, "r+b") as handle:  # the bytes that made it before the disk filled up
            handle.truncate(os.path.getsize(tmp) // 2)
        self.failed.append(destination)
        raise OSError(self.code, os.strerror(self.code), str(destination))

    def clear(self) -> None:
        self.armed, self.armed_by = False, None
