"""Stage ``extract``: raw input files in, their records out (RECORD_SCHEMA), with exact provenance.

``extract_files(files, cfg)`` is the stage (the source of the pipeline: its
batch is a table of input files, ``INPUT_FILE_SCHEMA``); it reads each file
with ``extract_file(path, root, cfg)``, which reads ``.txt`` dumps (many documents per
file, split by the seed conventions: see ``transforms.stages.extract.txt``),
``.html``/``.htm`` (one document per file, ``transforms.stages.extract.html``),
``.jsonl`` / ``.jsonl.gz`` (one JSON object per line,
``transforms.stages.extract.jsonl``) and ``.parquet`` (``transforms.stages.extract.parquet``);
what the readers share is in ``transforms.stages.extract.records``.  It never raises
on bad content: every record it finds is either kept or rejected with a reason from ``REJECTION_REASONS`` (``decode_error``,
``parse_error``, ``too_large``) and a ``detail`` naming the line, row or byte
offset.  Only an unreadable file (``OSError``) propagates.

Provenance of every row, kept or rejected: ``source_record`` is the record's
0-based index in the file (the 0-based line number for JSON Lines, the row
index for Parquet); ``source_offset``/``source_length`` is the byte range of
the raw record (in the decompressed stream for ``.jsonl.gz``; null for Parquet
rows) and ``source_sha256`` hashes exactly those bytes (for Parquet rows, the
UTF-8 text value).  ``doc_id`` is derived from path, record index and hash, so
it is stable across runs and machines.

A rejection that covers a whole file uses ``source_record`` 0 (a Parquet file
that breaks mid-way: the first unreadable row) and spans the file from offset
0.  A file rejected without being read in full (too large; a binary JSON Lines
stream) is hashed over the bytes examined, which ``source_length`` gives and
the detail states.  ``source_encoding`` is ``"unknown"`` when no encoding
could be determined.

A file in which the reader finds no record at all (0 bytes, only whitespace,
only ``.txt`` separator lines, only blank JSON Lines, a Parquet file with no
rows) is one ``empty`` row, so that every input file shows up in the output:
its byte range and hash cover the first bytes of the (decompressed) stream.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from transforms.config import ExtractConfig
from transforms.schema import RECORD_SCHEMA, REJECTION_SCHEMA
from transforms.stage import StageOutput
from transforms.stages.extract.decode import detect_encoding
from transforms.stages.extract.html import extract_html
from transforms.stages.extract.jsonl import extract_jsonl
from transforms.stages.extract.parquet import extract_parquet
from transforms.stages.extract.records import READ_CHUNK, UNREAD_FILE_HASH_BYTES, Collector
from transforms.stages.extract.txt import extract_txt

# No suffix here ends with another, so the order of this table only sets the
# order of SUPPORTED_SUFFIXES (and of the error message that lists them).
_FORMAT_OF_SUFFIX = {
    ".txt": "txt",
    ".html": "html",
    ".htm": "html",
    ".jsonl": "jsonl",
    ".jsonl.gz": "jsonl.gz",
    ".parquet": "parquet",
}
SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(_FORMAT_OF_SUFFIX)

_READERS: dict[str, Callable[[Path, ExtractConfig, Collector], None]] = {
    "txt": extract_txt,
    "html": extract_html,
    "jsonl": extract_jsonl,
    "jsonl.gz": extract_jsonl,
    "parquet": extract_parquet,
}


def source_format_of(path: Path) -> str | None:
    """``txt``, ``html``, ``jsonl``, ``jsonl.gz`` or ``parquet`` from the file name, else ``None``."""
    name = path.name.lower()
    for suffix, fmt in _FORMAT_OF_SUFFIX.items():
        if name.endswith(suffix):
            return fmt
    return None


def extract_file(path: Path, root: Path, cfg: ExtractConfig) -> StageOutput:
    """Read one input file into kept and rejected records.

    ``root`` is the input root ``path`` was found under; ``source_path`` is
    ``path`` relative to it.  Raises ``ValueError`` for an unsupported suffix
    and ``OSError`` if the file cannot be read; never raises on its content.
    """
    fmt = source_format_of(path)
    if fmt is None:
        raise ValueError(f"{path}: unsupported input format (supported: {SUPPORTED_SUFFIXES})")
    out = Collector(path, root, fmt)
    _READERS[fmt](path, cfg, out)
    if not out.kept and not out.rejected:
        _reject_empty_file(path, fmt, out)
    return out.output()


# A read error may be transient (a network filesystem, a file being replaced):
# the file is read again after these pauses before it counts as unreadable.
READ_RETRY_DELAYS = (0.5, 2.0)


def extract_files(files: pa.Table, cfg: ExtractConfig) -> StageOutput:
    """The records of every file of ``files`` (INPUT_FILE_SCHEMA), less those the dataset holds.

    A file's records whose ``doc_id`` is among its ``known_doc_ids`` (an
    incremental run over a changed file) are left out and tallied as
    ``already_in_dataset``.  A file that cannot be read (``OSError``, also
    after ``READ_RETRY_DELAYS``) gives no records, not even those read before
    the error, and is listed in ``unreadable`` with its error: the run reports
    it and the next run tries it again.
    """
    kept, rejected, unreadable = [RECORD_SCHEMA.empty_table()], [REJECTION_SCHEMA.empty_table()], []
    already = 0
    for row in files.to_pylist():
        try:
            found = _extract_with_retries(Path(row["path"]), Path(row["root"]), cfg)
        except OSError as err:
            unreadable.append({"path": row["path"], "error": f"{type(err).__name__}: {err}"})
            continue
        known = pa.array(row["known_doc_ids"], pa.string())
        new_kept = _without(found.kept, known)
        new_rejected = _without(found.rejected, known)
        already += found.kept.num_rows + found.rejected.num_rows
        already -= new_kept.num_rows + new_rejected.num_rows
        kept.append(new_kept)
        rejected.append(new_rejected)
    records = pa.concat_tables(kept)
    invalid = records.column("source_invalid_bytes")
    extra = {
        "files": files.num_rows,
        "already_in_dataset": already,
        "records_with_invalid_bytes": pc.sum(pc.greater(invalid, 0)).as_py() or 0,
        "invalid_bytes": pc.sum(invalid).as_py() or 0,
    }
    return StageOutput(
        kept=records,
        rejected=pa.concat_tables(rejected),
        extra=extra,
        unreadable=tuple(unreadable),
    )


def _without(table: pa.Table, doc_ids: pa.Array) -> pa.Table:
    if not len(doc_ids):
        return table
    return table.filter(pc.invert(pc.is_in(table.column("doc_id"), doc_ids)))


def _extract_with_retries(path: Path, root: Path, cfg: ExtractConfig) -> StageOutput:
    for delay in (*READ_RETRY_DELAYS, None):
        try:
            return extract_file(path, root, cfg)
        except OSError:
            if delay is None:
                raise
            time.sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _reject_empty_file(path: Path, fmt: str, out: Collector) -> None:
    """The one ``empty`` row of a file without records, with a detail saying what it holds."""
    size = path.stat().st_size
    head = _stream_head(path, fmt)
    if size == 0:
        detail = "whole file: empty (0 bytes)"
    elif fmt == "parquet":
        detail = f"whole file: a Parquet file with no rows ({size:,} bytes)"
    elif not head:
        detail = f"whole file: the gzip stream holds no data ({size:,} bytes compressed)"
    elif not head.decode(detect_encoding(head) or "utf-8", errors="replace").strip():
        detail = f"whole file: only whitespace ({size:,} bytes), no text"
    else:
        detail = f"whole file: no records, only separator lines and whitespace ({size:,} bytes)"
    out.reject_empty_file(head, detail)


def _stream_head(path: Path, fmt: str) -> bytes:
    """The first ``UNREAD_FILE_HASH_BYTES`` of the file, decompressed for ``.jsonl.gz``."""
    with path.open("rb") as handle:
        raw = handle.read(READ_CHUNK if fmt == "jsonl.gz" else UNREAD_FILE_HASH_BYTES)
    if fmt != "jsonl.gz":
        return raw
    try:
        return zlib.decompressobj(wbits=31).decompress(raw, UNREAD_FILE_HASH_BYTES)
    except zlib.error:
        return b""
