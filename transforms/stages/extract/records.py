"""What every extract reader shares: a record's provenance, its row, and the file's rows.

A reader (``extract_txt``, ``extract_html``, ``extract_jsonl``,
``extract_parquet``) finds records in one file and hands each to a
``Collector`` as kept or rejected, with its ``Origin``; the collector turns
them into RECORD_SCHEMA rows with a stable ``doc_id``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

from transforms.schema import RECORD_SCHEMA, REJECTION_SCHEMA, table_from_rows
from transforms.stage import StageOutput, rejection_rows
from transforms.stages.extract.decode import Decoded, decode_replacing

UNKNOWN_ENCODING = "unknown"
READ_CHUNK = 1024 * 1024
UNREAD_FILE_HASH_BYTES = 64 * 1024  # what a file rejected without reading is fingerprinted by
_NO_RECORDS = RECORD_SCHEMA.empty_table()  # tables are immutable: one empty table serves all
_NO_REJECTIONS = REJECTION_SCHEMA.empty_table()


@dataclass(frozen=True)
class RawSpan:
    """Where a raw record lies in its file and the SHA-256 of exactly those bytes."""

    offset: int | None
    length: int | None
    sha256: str

    @classmethod
    def of(cls, raw: bytes | memoryview, offset: int | None) -> RawSpan:
        length = len(raw) if offset is not None else None
        return cls(offset, length, hashlib.sha256(raw).hexdigest())


@dataclass(frozen=True)
class Origin:
    """The provenance of one record: its index in the file, raw span, encoding and own id."""

    record: int
    span: RawSpan
    encoding: str
    source_id: str | None = None
    invalid_bytes: int = 0  # bytes not valid in ``encoding``, each now U+FFFD in the text


def make_doc_id(source_path: str, source_record: int, source_sha256: str) -> str:
    """First 24 hex chars of SHA-256 over path, record index and raw-record hash."""
    key = f"{source_path}\0{source_record}\0{source_sha256}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


def over_limit(what: str, size: int, limit_name: str, limit: int) -> str:
    """The ``too_large`` detail: ``"<what> is <size> bytes, over <limit_name> = <limit>"``."""
    return f"{what} is {size:,} bytes, over {limit_name} = {limit:,}"


def _relative_posix(path: Path, root: Path) -> str:
    try:
        relative = path.relative_to(root)
    except ValueError:
        relative = path.resolve().relative_to(root.resolve())
    # A root that is the file itself would give "."; the name is what a person expects.
    return path.name if relative == Path(".") else relative.as_posix()


class Collector:
    """Accumulates the kept and rejected rows of one file."""

    def __init__(self, path: Path, root: Path, fmt: str) -> None:
        self.path = path
        self.fmt = fmt
        self.source_path = _relative_posix(path, root)
        self.source_uri = path.resolve().as_uri()
        self.kept: list[dict[str, object]] = []
        self.rejected: list[dict[str, object]] = []
        self.reasons: list[str] = []
        self.details: list[str] = []

    def keep(
        self,
        origin: Origin,
        text: str,
        title: str | None,
        is_html: bool,
        given: dict[str, str | None] | None = None,
    ) -> None:
        """A record kept; ``given`` holds its ``given_*`` columns (date, author, source)."""
        self.kept.append({**self._row(origin, text, title, is_html), **(given or {})})

    def reject(self, origin: Origin, reason: str, detail: str, text: str = "") -> None:
        self.rejected.append(self._row(origin, text, title=None, is_html=False))
        self.reasons.append(reason)
        self.details.append(detail)

    def reject_unread_file(self, size: int, limit_name: str, limit: int) -> None:
        """One ``too_large`` row for a file that is not read (only its head is hashed)."""
        with self.path.open("rb") as handle:
            head = handle.read(UNREAD_FILE_HASH_BYTES)
        detail = (
            f"{over_limit('file', size, limit_name, limit)}; not read "
            f"(source_length and source_sha256 cover its first {len(head):,} bytes only)"
        )
        self.reject(Origin(0, RawSpan.of(head, 0), UNKNOWN_ENCODING), "too_large", detail)

    def reject_empty_file(self, head: bytes, detail: str) -> None:
        """One ``empty`` row for a file in which the reader found no record at all.

        ``head`` is the start of the (decompressed) stream, at most
        ``UNREAD_FILE_HASH_BYTES``: the row's byte range and hash cover it.
        """
        self.reject(Origin(0, RawSpan.of(head, 0), UNKNOWN_ENCODING), "empty", detail)

    def decode(
        self,
        origin: Origin,
        raw: bytes,
        codec: str,
        where: str,
        max_invalid_share: float,
        offset_kind: str = "byte offset",
    ) -> tuple[str, Origin] | None:
        """``raw`` decoded (its invalid bytes each U+FFFD) and its origin with their count; or
        ``None`` after rejecting it as ``decode_error`` when the share of invalid bytes is
        over ``max_invalid_share``: then the encoding is wrong, not a few bytes damaged."""
        decoded = decode_replacing(raw, codec)
        return self.accept(origin, decoded, raw, where, max_invalid_share, offset_kind)

    def accept(
        self,
        origin: Origin,
        decoded: Decoded,
        raw: bytes,
        where: str,
        max_invalid_share: float,
        offset_kind: str = "byte offset",
    ) -> tuple[str, Origin] | None:
        """``decode`` for text decoded already."""
        origin = replace(origin, invalid_bytes=decoded.invalid_bytes)
        if decoded.invalid_share(len(raw)) <= max_invalid_share:
            return decoded.text, origin
        self._reject_misdecoded(origin, where, decoded, raw, max_invalid_share, offset_kind)
        return None

    def _reject_misdecoded(
        self,
        origin: Origin,
        where: str,
        decoded: Decoded,
        raw: bytes,
        max_invalid_share: float,
        offset_kind: str,
    ) -> None:
        """One ``decode_error`` row for ``raw`` (which starts at ``origin.span.offset``).

        The detail says how many bytes are invalid and names the first and its
        offset in the file (or decompressed stream); the row's text is ``raw``
        decoded with U+FFFD, for a person to inspect.
        """
        error = decoded.first_error
        assert error is not None
        bad = raw[error.start : min(error.end, error.start + 4)]
        offset = (origin.span.offset or 0) + error.start
        detail = (
            f"{where}: {decoded.invalid_bytes:,} of {len(raw):,} bytes "
            f"({decoded.invalid_share(len(raw)):.1%}) are not valid {origin.encoding}, over "
            f"extract.max_invalid_byte_share = {max_invalid_share:.1%}; the first, "
            f"0x{bad.hex()}, at {offset_kind} {offset:,} ({error.reason})"
        )
        self.reject(origin, "decode_error", detail, text=decoded.text)

    def _row(
        self, origin: Origin, text: str, title: str | None, is_html: bool
    ) -> dict[str, object]:
        return {
            "doc_id": make_doc_id(self.source_path, origin.record, origin.span.sha256),
            "title": title,
            "text": text,
            "is_html": is_html,
            "source_uri": self.source_uri,
            "source_path": self.source_path,
            "source_record": origin.record,
            "source_offset": origin.span.offset,
            "source_length": origin.span.length,
            "source_sha256": origin.span.sha256,
            "source_id": origin.source_id,
            "source_format": self.fmt,
            "source_encoding": origin.encoding,
            "source_invalid_bytes": origin.invalid_bytes,
        }

    def output(self) -> StageOutput:
        # Most files have no rejections (and some no kept rows): an empty table
        # is shared rather than built, which halves the cost of a tiny file.
        kept = table_from_rows(self.kept, RECORD_SCHEMA) if self.kept else _NO_RECORDS
        if self.rejected:
            rejected_records = table_from_rows(self.rejected, RECORD_SCHEMA)
            rejected = rejection_rows(rejected_records, self.reasons, self.details)
        else:
            rejected = _NO_REJECTIONS
        return StageOutput(kept=kept, rejected=rejected)


def read_small_file(path: Path, limit_name: str, limit: int, out: Collector) -> bytes | None:
    """The whole of ``path``, for formats read at once; ``None`` for a file over ``limit``.

    A file over ``limit`` is not read: it gets one ``too_large`` row.
    """
    size = path.stat().st_size
    if size > limit:
        out.reject_unread_file(size, limit_name, limit)
        return None
    return path.read_bytes()
