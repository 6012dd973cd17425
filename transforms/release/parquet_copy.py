"""Copying a dataset's Parquet files into a release's files, re-cut by rows and bytes."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from transforms.config import WriteConfig
from transforms.release.manifest import ReleaseError
from transforms.storage import TMP_PREFIX


def parquet_files(folder: Path) -> list[Path]:
    """The finished Parquet files of a dataset folder, in name order."""
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.glob("*.parquet") if p.is_file() and not p.name.startswith(TMP_PREFIX)
    )


def fsync(path: Path) -> None:
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if path.is_dir() else os.O_RDONLY
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _PartWriter:
    """Writes row groups into ``.part-N`` files, starting a new file at the size limits."""

    def __init__(self, folder: Path, cfg: WriteConfig, max_bytes: int, max_rows: int) -> None:
        self.folder, self.cfg, self.max_bytes, self.max_rows = folder, cfg, max_bytes, max_rows
        self.paths: list[Path] = []
        self.writer: pq.ParquetWriter | None = None
        self.sink: pa.NativeFile | None = None
        self.rows = 0
        self.last_group_bytes = 0

    def _open(self, schema: pa.Schema) -> None:
        path = self.folder / f".part-{len(self.paths):05d}.parquet"
        self.paths.append(path)
        compression = None if self.cfg.compression == "none" else self.cfg.compression
        level = self.cfg.compression_level if compression in ("zstd", "gzip") else None
        self.sink = pa.OSFile(str(path), "wb")
        self.writer = pq.ParquetWriter(
            self.sink, schema, compression=compression, compression_level=level
        )
        self.rows = 0

    def _close_current(self) -> None:
        if self.writer is not None and self.sink is not None:
            self.writer.close()
            self.sink.close()
            fsync(self.paths[-1])
        self.writer = self.sink = None

    def write(self, table: pa.Table) -> None:
        if self.writer is not None and self.sink is not None:
            full_rows = self.rows + table.num_rows > self.max_rows
            full_bytes = self.sink.tell() + self.last_group_bytes > self.max_bytes
            if full_rows or full_bytes:
                self._close_current()
        if self.writer is None:
            self._open(table.schema)
        assert self.writer is not None and self.sink is not None
        before = self.sink.tell()
        self.writer.write_table(table, row_group_size=max(1, table.num_rows))
        self.last_group_bytes = self.sink.tell() - before
        self.rows += table.num_rows

    def close(self, schema: pa.Schema) -> list[Path]:
        if not self.paths:  # no rows at all: one empty file keeps the schema readable
            self._open(schema)
        self._close_current()
        return self.paths


def copy_parquet(
    sources: Iterable[Path],
    folder: Path,
    stem: str,
    cfg: WriteConfig,
    max_file_bytes: int,
    observe: Callable[[pa.RecordBatch], None],
    empty_schema: pa.Schema,
) -> list[Path]:
    """Stream ``sources`` into ``folder/stem-NNNNN-of-NNNNN.parquet``; return the files.

    Rows keep their order.  Every file but the last holds whole row groups of
    ``cfg.row_group_rows`` rows; a file ends before it would pass
    ``cfg.max_rows_per_file`` rows or ``max_file_bytes`` bytes (judged by the
    size of the previous row group).  Each batch is handed to ``observe``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    group = min(cfg.row_group_rows, cfg.max_rows_per_file)
    writer = _PartWriter(folder, cfg, max_file_bytes, cfg.max_rows_per_file)
    schema: pa.Schema | None = None
    first: Path | None = None
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    for source in sources:
        parquet = pq.ParquetFile(source)
        if schema is None:
            schema, first = parquet.schema_arrow, source
        elif parquet.schema_arrow.names != schema.names:
            raise ReleaseError(f"{source} does not have the same columns as {first}")
        for batch in parquet.iter_batches(batch_size=group):
            if not batch.schema.equals(schema):
                batch = pa.Table.from_batches([batch]).cast(schema).to_batches()[0]
            observe(batch)
            pending.append(batch)
            pending_rows += batch.num_rows
            if pending_rows >= group:
                table = pa.Table.from_batches(pending, schema).combine_chunks()
                offset = 0
                while table.num_rows - offset >= group:
                    writer.write(table.slice(offset, group))
                    offset += group
                pending = table.slice(offset).to_batches()
                pending_rows = table.num_rows - offset
    if pending_rows:
        writer.write(pa.Table.from_batches(pending, schema))
    parts = writer.close(schema if schema is not None else empty_schema)
    final = []
    for i, part in enumerate(parts):
        path = folder / f"{stem}-{i:05d}-of-{len(parts):05d}.parquet"
        part.rename(path)
        final.append(path)
    return final


def scan_parquet(
    sources: Iterable[Path], columns: list[str], observe: Callable[[pa.RecordBatch], None]
) -> None:
    """Hand ``observe`` every batch of ``sources`` (only ``columns`` that exist)."""
    for source in sources:
        parquet = pq.ParquetFile(source)
        present = [c for c in columns if c in parquet.schema_arrow.names]
        for batch in parquet.iter_batches(columns=present, batch_size=65_536):
            observe(batch)
