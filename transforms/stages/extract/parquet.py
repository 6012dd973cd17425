"""Extract from ``.parquet`` files: one record per row, read in batches.

Only the text, html, id and title columns are read.  A row has no byte range
in the file, so its ``source_sha256`` hashes the UTF-8 text value.  A file
pyarrow cannot read, or without a text or html column, is one ``parse_error``
row; so is the rest of a file that breaks mid-way (``source_record`` is its
first unreadable row).  Such a row spans and hashes the whole file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from transforms.config import ExtractConfig
from transforms.stages.extract.fields import BadRecord, optional_string, record_fields
from transforms.stages.extract.records import READ_CHUNK, Collector, Origin, RawSpan, over_limit

PARQUET_BATCH_ROWS = 1024

# pyarrow reports damaged files as ArrowException, ValueError or OSError; the
# file itself was opened before, so none of these means "unreadable file".
_PARQUET_ERRORS = (pa.ArrowException, ValueError, OSError)


def extract_parquet(path: Path, cfg: ExtractConfig, out: Collector) -> None:
    """Every row of a Parquet file: kept, rejected on its own, or (the rest of) the file rejected."""
    with path.open("rb") as handle:
        try:
            parquet = pq.ParquetFile(handle)
            columns = parquet.schema_arrow.names
        except _PARQUET_ERRORS as error:
            problem = f"whole file: pyarrow cannot read it as Parquet: {error}"
            _reject_parquet_file(path, 0, problem, out)
            return
        if cfg.text_field not in columns and cfg.html_field not in columns:
            detail = (
                f"whole file: no {cfg.text_field!r} or {cfg.html_field!r} column "
                f"(columns: {', '.join(map(repr, columns)) or 'none'})"
            )
            _reject_parquet_file(path, 0, detail, out)
            return
        wanted = [
            name
            for name in dict.fromkeys(
                (
                    cfg.text_field,
                    cfg.html_field,
                    cfg.id_field,
                    cfg.title_field,
                    cfg.date_field,
                    cfg.author_field,
                    cfg.source_field,
                )
            )
            if name in columns
        ]
        row = 0
        try:
            for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=wanted):
                for values in batch.to_pylist():
                    _emit_parquet_row(row, values, cfg, out)
                    row += 1
        except _PARQUET_ERRORS as error:
            problem = f"row {row} and every row after it are unreadable: {error}"
            _reject_parquet_file(path, row, problem, out)


def _reject_parquet_file(path: Path, record: int, detail: str, out: Collector) -> None:
    """One ``parse_error`` row standing for (the rest of) a Parquet file, hashed as a whole."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while block := handle.read(READ_CHUNK):
            digest.update(block)
            size += len(block)
    span = RawSpan(0, size, digest.hexdigest())
    out.reject(Origin(record, span, "utf-8"), "parse_error", detail)


def _emit_parquet_row(
    row: int, values: dict[str, object], cfg: ExtractConfig, out: Collector
) -> None:
    try:
        fields = record_fields(values, cfg)
    except BadRecord as error:
        # No usable text value to hash: the row's fields, as JSON, stand in for it.
        shown = optional_string(dict(sorted(values.items()))) or ""
        source_id = optional_string(values.get(cfg.id_field))
        origin = Origin(row, RawSpan.of(shown.encode("utf-8"), None), "utf-8", source_id)
        out.reject(origin, "parse_error", f"row {row}: {error}", text=shown)
        return
    raw = fields.text.encode("utf-8")
    origin = Origin(row, RawSpan.of(raw, None), "utf-8", fields.source_id)
    if len(raw) > cfg.max_record_bytes:
        detail = over_limit(f"row {row}", len(raw), "max_record_bytes", cfg.max_record_bytes)
        out.reject(origin, "too_large", detail)
        return
    out.keep(origin, fields.text, fields.title, fields.is_html, fields.given)
