"""Writing Parquet and JSON so that a crash never leaves a file that looks finished.

Every file is written under a temporary name in its destination folder,
flushed to disk, and renamed into place; a rename within one filesystem is
atomic, so a reader sees either no file or the complete one.  A write that
fails (a full disk, a folder made read-only) removes its temporary file when
it can and raises the original ``OSError``; a temporary file that cannot be
removed keeps its ``.tmp-`` name, which no reader takes for a finished file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from transforms.config import WriteConfig

TMP_PREFIX = ".tmp-"


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


# mkstemp creates files readable by their owner only; published files should
# get the same permissions as any file the user creates.
_FILE_MODE = 0o666 & ~_umask()


@contextmanager
def atomic_path(destination: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``destination``; rename it into place on success."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=TMP_PREFIX + destination.name, dir=destination.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        _written(tmp, destination)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, destination)
    finally:
        # On a read-only folder this fails too; the write's own error is the one to report.
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _written(tmp: Path, destination: Path) -> None:
    """Called once ``tmp`` holds ``destination``'s bytes, before it is flushed and renamed.

    Does nothing.  It is the seam where the fault tests (``tests/flows/test_faults.py``)
    raise what a full disk (``ENOSPC``) or a folder made read-only (``EROFS``)
    raises while a file is written; nothing else replaces it.
    """


def write_json(data: Any, destination: Path) -> Path:
    with atomic_path(destination) as tmp:
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False) + "\n")
    return destination


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


# A run's intermediate files are read once or twice and deleted: writing them
# zstd-compressed took 4-8x longer than uncompressed (bench/RESULTS.md) and was
# a large share of each shard's job.  They take more disk instead (about 2x the
# cleaned text while a run is in progress).
WORK_FILES = WriteConfig(compression="none", compression_level=None)


def write_table(table: pa.Table, destination: Path, cfg: WriteConfig = WORK_FILES) -> Path:
    compression = None if cfg.compression == "none" else cfg.compression
    level = cfg.compression_level if compression in ("zstd", "gzip") else None
    with atomic_path(destination) as tmp:
        pq.write_table(
            table,
            tmp,
            compression=compression,
            compression_level=level,
            row_group_size=cfg.row_group_rows,
        )
    return destination


def write_parts(table: pa.Table, folder: Path, stem: str, cfg: WriteConfig) -> list[Path]:
    """``folder/stem-00000.parquet``, ... each of at most ``cfg.max_rows_per_file`` rows.

    An empty table writes no file: readers treat a folder of parts as one
    dataset, and empty files would only add noise.
    """
    paths = []
    for part, start in enumerate(range(0, table.num_rows, cfg.max_rows_per_file)):
        chunk = table.slice(start, cfg.max_rows_per_file)
        paths.append(write_table(chunk, folder / f"{stem}-{part:05d}.parquet", cfg))
    return paths


def read_table(path: Path, columns: list[str] | None = None) -> pa.Table:
    return pq.read_table(path, columns=columns)
