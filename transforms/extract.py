"""Extract: one raw input file in, its records out (RECORD_SCHEMA), with exact provenance.

``extract_file(path, root, cfg)`` reads ``.txt`` dumps (many documents per
file, split by the seed conventions: see ``split_txt_records``),
``.html``/``.htm`` (one document per file), ``.jsonl`` / ``.jsonl.gz`` (one
JSON object per line) and ``.parquet``.  It never raises on bad content: every record it finds is either
kept or rejected with a reason from ``REJECTION_REASONS`` (``decode_error``,
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
"""

from __future__ import annotations

import codecs
import hashlib
import html
import json
import re
import zlib
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from time import perf_counter
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from transforms.config import ExtractConfig
from transforms.decode import (
    bom_encoding,
    bom_length,
    decode_strict,
    detect_encoding,
    looks_binary,
    undetectable_reason,
)
from transforms.schema import RECORD_SCHEMA, table_from_rows
from transforms.stage import StageCounts, StageResult, rejection_rows

STAGE = "extract"
UNKNOWN_ENCODING = "unknown"
SUPPORTED_SUFFIXES: tuple[str, ...] = (".txt", ".html", ".htm", ".jsonl", ".jsonl.gz", ".parquet")
_FORMAT_OF_SUFFIX = {
    ".txt": "txt",
    ".html": "html",
    ".htm": "html",
    ".jsonl.gz": "jsonl.gz",
    ".jsonl": "jsonl",
    ".parquet": "parquet",
}
READ_CHUNK = 1024 * 1024
UNREAD_FILE_HASH_BYTES = 64 * 1024  # what a file rejected without reading is fingerprinted by
PARQUET_BATCH_ROWS = 1024


def source_format_of(path: Path) -> str | None:
    """``txt``, ``html``, ``jsonl``, ``jsonl.gz`` or ``parquet`` from the file name, else ``None``."""
    name = path.name.lower()
    for suffix, fmt in _FORMAT_OF_SUFFIX.items():
        if name.endswith(suffix):
            return fmt
    return None


def extract_file(path: Path, root: Path, cfg: ExtractConfig) -> StageResult:
    """Read one input file into kept records, rejected records and counts (stage ``extract``).

    ``root`` is the input root ``path`` was found under; ``source_path`` is
    ``path`` relative to it.  Raises ``ValueError`` for an unsupported suffix
    and ``OSError`` if the file cannot be read; never raises on its content.
    """
    fmt = source_format_of(path)
    if fmt is None:
        raise ValueError(f"{path}: unsupported input format (supported: {SUPPORTED_SUFFIXES})")
    started = perf_counter()
    out = _Collector(path, root, fmt)
    _READERS[fmt](path, cfg, out)
    return out.result(perf_counter() - started)


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class RawSpan:
    """Where a raw record lies in its file and the SHA-256 of exactly those bytes."""

    offset: int | None
    length: int | None
    sha256: str

    @classmethod
    def of(cls, raw: bytes, offset: int | None) -> RawSpan:
        length = len(raw) if offset is not None else None
        return cls(offset, length, hashlib.sha256(raw).hexdigest())


@dataclass(frozen=True)
class Origin:
    """The provenance of one record: its index in the file, raw span, encoding and own id."""

    record: int
    span: RawSpan
    encoding: str
    source_id: str | None = None


def make_doc_id(source_path: str, source_record: int, source_sha256: str) -> str:
    """First 24 hex chars of SHA-256 over path, record index and raw-record hash."""
    key = f"{source_path}\0{source_record}\0{source_sha256}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


def _relative_posix(path: Path, root: Path) -> str:
    try:
        relative = path.relative_to(root)
    except ValueError:
        relative = path.resolve().relative_to(root.resolve())
    # A root that is the file itself would give "."; the name is what a person expects.
    return path.name if relative == Path(".") else relative.as_posix()


class _Collector:
    """Accumulates the kept and rejected rows of one file and builds the StageResult."""

    def __init__(self, path: Path, root: Path, fmt: str) -> None:
        self.path = path
        self.fmt = fmt
        self.source_path = _relative_posix(path, root)
        self.source_uri = path.resolve().as_uri()
        self.kept: list[dict[str, object]] = []
        self.rejected: list[dict[str, object]] = []
        self.reasons: list[str] = []
        self.details: list[str] = []

    def keep(self, origin: Origin, text: str, title: str | None, is_html: bool) -> None:
        self.kept.append(self._row(origin, text, title, is_html))

    def reject(
        self, origin: Origin, reason: str, detail: str, text: str = "", title: str | None = None
    ) -> None:
        self.rejected.append(self._row(origin, text, title, is_html=False))
        self.reasons.append(reason)
        self.details.append(detail)

    def reject_unread_file(self, size: int, limit_name: str, limit: int) -> None:
        """One ``too_large`` row for a file that is not read (only its head is hashed)."""
        with self.path.open("rb") as handle:
            head = handle.read(UNREAD_FILE_HASH_BYTES)
        detail = (
            f"file is {size:,} bytes, over {limit_name} = {limit:,}; not read "
            f"(source_length and source_sha256 cover its first {len(head):,} bytes only)"
        )
        self.reject(Origin(0, RawSpan.of(head, 0), UNKNOWN_ENCODING), "too_large", detail)

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
        }

    def result(self, seconds: float) -> StageResult:
        kept = table_from_rows(self.kept, RECORD_SCHEMA)
        rejected_records = table_from_rows(self.rejected, RECORD_SCHEMA)
        rejected = rejection_rows(rejected_records, self.reasons, self.details, STAGE)
        counts = StageCounts(
            stage=STAGE,
            input=kept.num_rows + rejected.num_rows,
            kept=kept.num_rows,
            rejected=Counter(self.reasons),
            seconds=seconds,
        )
        return StageResult(kept=kept, rejected=rejected, counts=counts.check())


# --------------------------------------------------------------------------- .txt


class LineKind(Enum):
    BLANK = "blank"
    TEXT = "text"
    STAR_SEPARATOR = "star"  # a line of only '*'
    NEXT_NEWS_SEPARATOR = "next_news"  # ===== NEXT NEWS =====
    TITLE_MARKER = "title"  # >>>title, starts a record


_SEPARATORS = (LineKind.STAR_SEPARATOR, LineKind.NEXT_NEWS_SEPARATOR)
_MARKERS = (*_SEPARATORS, LineKind.TITLE_MARKER)
_STAR_LINE = re.compile(r"\*+")
_NEXT_NEWS_LINE = re.compile(r"[=\s]*NEXT\s*NEWS[=\s]*", re.IGNORECASE)
_MARKUP = re.compile(r"<[A-Za-z!/]")
# One line: its content and its terminator (\r\n, \r, \n, or none at the end).
_LINE_BYTES = re.compile(rb"([^\r\n]*)(\r\n|\r|\n|\Z)")
_LINE_TEXT = re.compile(r"([^\r\n]*)(\r\n|\r|\n|\Z)")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_LEADING_BLANK_LINES = re.compile(r"\A(?:[^\S\r\n]*(?:\r\n|\r|\n))+")


def classify_line(line: str) -> LineKind:
    """What a .txt line is for the record splitter (``line`` without its line break)."""
    stripped = line.strip()
    if not stripped:
        return LineKind.BLANK
    if stripped.startswith(">>>"):
        return LineKind.TITLE_MARKER
    if _STAR_LINE.fullmatch(stripped):
        return LineKind.STAR_SEPARATOR
    if "=" in stripped and _NEXT_NEWS_LINE.fullmatch(stripped):
        return LineKind.NEXT_NEWS_SEPARATOR
    return LineKind.TEXT


@dataclass
class LineIndex:
    """The kind and byte range (start, end of content without line break) of every line."""

    kinds: list[LineKind] = field(default_factory=list)
    starts: array[int] = field(default_factory=lambda: array("q"))
    ends: array[int] = field(default_factory=lambda: array("q"))

    def add(self, kind: LineKind, start: int, end: int) -> None:
        self.kinds.append(kind)
        self.starts.append(start)
        self.ends.append(end)


def index_lines(data: bytes, encoding: str) -> LineIndex:
    """Classify every line of ``data`` and record its byte range.

    In ASCII-compatible encodings (UTF-8, GB18030, Big5) line breaks and the
    marker characters never occur inside a multi-byte character, so lines are
    found on the bytes and byte offsets are exact; each line is decoded
    leniently only to classify it.  UTF-16/32 text is decoded as a whole and
    offsets are summed from the encoded length of each line.
    """
    index = LineIndex()
    codec = record_codec(encoding, data)
    start = bom_length(encoding, data)
    if encoding in ("utf-16", "utf-32"):
        text = data[start:].decode(codec, errors="replace")
        for match in _LINE_TEXT.finditer(text):
            if match.end() == match.start():
                break
            content, newline = match.groups()
            end = min(start + len(content.encode(codec)), len(data))
            index.add(classify_line(content), start, end)
            start = end + len(newline.encode(codec))
        return index
    for match in _LINE_BYTES.finditer(data, start):
        if match.end() == match.start():
            break
        content = match.group(1)
        index.add(
            classify_line(content.decode(codec, errors="replace")), match.start(), match.end(1)
        )
    return index


def record_codec(encoding: str, data: bytes) -> str:
    """The codec that decodes a slice of ``data`` that does not start at the byte-order mark."""
    if encoding == "utf-8-sig":
        return "utf-8"
    if encoding in ("utf-16", "utf-32"):
        little_endian = data.startswith(codecs.BOM_UTF16_LE)  # also true for the UTF-32-LE mark
        return f"{encoding}-{'le' if little_endian else 'be'}"
    return encoding


def split_txt_records(data: bytes, encoding: str) -> list[tuple[int, int]]:
    """Byte ranges ``(start, end)`` of the records of a .txt dump.

    Explicit markers (``*`` lines, ``===NEXT NEWS===`` lines, ``>>>title``
    lines) win; a file without any is split on blank-line runs longer than
    its usual paragraph gap.  Each range runs from the record's first
    non-blank line (its ``>>>`` line, if any) to the end of its last non-blank
    line, without the final line break; whitespace-only segments are not
    records.
    """
    lines = index_lines(data, encoding)
    if any(kind in _MARKERS for kind in lines.kinds):
        groups = split_on_markers(lines.kinds)
    else:
        groups = split_on_blank_runs(lines.kinds)
    spans = []
    for group in groups:
        trimmed = _trim_blank_lines(group, lines.kinds)
        if trimmed is not None:
            spans.append((lines.starts[trimmed.start], lines.ends[trimmed.stop - 1]))
    return spans


def split_on_markers(kinds: list[LineKind]) -> list[range]:
    """Line ranges between separator lines; a ``>>>`` line also starts a new range.

    A ``>>>`` line right after a separator (only blank lines between) starts
    the range the separator opened rather than making an empty one.
    """
    groups: list[range] = []
    start, has_content = 0, False
    for i, kind in enumerate(kinds):
        if kind in _SEPARATORS:
            groups.append(range(start, i))
            start, has_content = i + 1, False
            continue
        if kind is LineKind.TITLE_MARKER and has_content:
            groups.append(range(start, i))
            start = i
        has_content = has_content or kind is not LineKind.BLANK
    groups.append(range(start, len(kinds)))
    return groups


def split_on_blank_runs(kinds: list[LineKind]) -> list[range]:
    """Line ranges separated by blank-line runs at least ``blank_run_threshold`` long."""
    runs = interior_blank_runs(kinds)
    threshold = blank_run_threshold([length for _, length in runs])
    groups: list[range] = []
    start = 0
    for run_start, length in runs:
        if length >= threshold:
            groups.append(range(start, run_start))
            start = run_start + length
    groups.append(range(start, len(kinds)))
    return groups


def interior_blank_runs(kinds: list[LineKind]) -> list[tuple[int, int]]:
    """``(first line, length)`` of each run of blank lines that has text on both sides."""
    runs: list[tuple[int, int]] = []
    run_start: int | None = None
    seen_text = False
    for i, kind in enumerate(kinds):
        if kind is LineKind.BLANK:
            if run_start is None and seen_text:
                run_start = i
            continue
        if run_start is not None:
            runs.append((run_start, i - run_start))
            run_start = None
        seen_text = True
    return runs  # a run still open at the end is trailing, not interior


def blank_run_threshold(run_lengths: list[int]) -> float:
    """Shortest blank-line run that separates records: ``max(2, mode + 1)``.

    The mode is the file's usual paragraph gap (on a tie, the shorter gap, so
    the longer one separates records).  No interior runs: never split.
    """
    if not run_lengths:
        return float("inf")
    tally = Counter(run_lengths)
    mode = min(tally, key=lambda length: (-tally[length], length))
    return max(2, mode + 1)


def _trim_blank_lines(group: range, kinds: list[LineKind]) -> range | None:
    """``group`` without its leading and trailing blank lines; ``None`` if nothing is left."""
    start, stop = group.start, group.stop
    while start < stop and kinds[start] is LineKind.BLANK:
        start += 1
    while stop > start and kinds[stop - 1] is LineKind.BLANK:
        stop -= 1
    return range(start, stop) if start < stop else None


def split_title(record_text: str, title_max_chars: int) -> tuple[str | None, str]:
    """``(title, text)`` of a decoded .txt record.

    A ``>>>`` first line is the title.  Otherwise the first line is the
    title when it is at most ``title_max_chars`` long (stripped), has no HTML
    markup and is followed by more text.  A title line is removed from the
    text together with the blank lines after it.
    """
    line_break = _LINE_BREAK.search(record_text)
    first_line = record_text[: line_break.start()] if line_break else record_text
    rest = record_text[line_break.end() :] if line_break else ""
    stripped = first_line.strip()
    if stripped.startswith(">>>"):
        return stripped[3:].strip() or None, _LEADING_BLANK_LINES.sub("", rest)
    is_title = (
        len(stripped) <= title_max_chars and not _MARKUP.search(stripped) and bool(rest.strip())
    )
    if is_title:
        return stripped, _LEADING_BLANK_LINES.sub("", rest)
    return None, record_text


def _extract_txt(path: Path, cfg: ExtractConfig, out: _Collector) -> None:
    size = path.stat().st_size
    if size > cfg.max_file_bytes:
        out.reject_unread_file(size, "max_file_bytes", cfg.max_file_bytes)
        return
    data = path.read_bytes()
    if not data.strip():
        return  # empty or whitespace-only: no records, not an error
    encoding = detect_encoding(data)
    if encoding is None:
        detail = f"whole file ({len(data):,} bytes): {undetectable_reason(data)}"
        out.reject(Origin(0, RawSpan.of(data, 0), UNKNOWN_ENCODING), "decode_error", detail)
        return
    codec = record_codec(encoding, data)
    for index, (start, end) in enumerate(split_txt_records(data, encoding)):
        origin = Origin(index, RawSpan.of(data[start:end], start), encoding)
        _emit_txt_record(data[start:end], origin, codec, cfg, out)


def _emit_txt_record(
    raw: bytes, origin: Origin, codec: str, cfg: ExtractConfig, out: _Collector
) -> None:
    start = origin.span.offset or 0
    where = f"record {origin.record} (bytes {start:,}-{start + len(raw):,})"
    if len(raw) > cfg.max_record_bytes:
        detail = f"{where} is {len(raw):,} bytes, over max_record_bytes = {cfg.max_record_bytes:,}"
        out.reject(origin, "too_large", detail)
        return
    try:
        text = decode_strict(raw, codec)
    except UnicodeDecodeError as error:
        detail = f"{where}: {_describe_decode_error(error, raw, start, origin.encoding)}"
        out.reject(origin, "decode_error", detail, text=raw.decode(codec, errors="replace"))
        return
    title, body = split_title(text, cfg.title_max_chars)
    out.keep(origin, body, title, is_html=False)


def _describe_decode_error(
    error: UnicodeDecodeError,
    raw: bytes,
    file_offset: int,
    encoding: str,
    offset_kind: str = "byte offset",
) -> str:
    bad = raw[error.start : min(error.end, error.start + 4)]
    return (
        f"invalid {encoding} byte(s) 0x{bad.hex()} at {offset_kind} "
        f"{file_offset + error.start:,} ({error.reason})"
    )


# --------------------------------------------------------------------------- .html

_META_CHARSET = re.compile(rb"<meta[^>]{0,512}?charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", re.I)
_TITLE_OPEN = re.compile(r"<title\b[^<>]{0,512}>", re.I)
_TITLE_CLOSE = re.compile(r"</title\s*>", re.I)
_H1_OPEN = re.compile(r"<h1\b[^<>]{0,512}>", re.I)
_H1_CLOSE = re.compile(r"</h1\s*>", re.I)
_TAG = re.compile(r"<[^<>]*>")
_GB_FAMILY = {"gb2312", "gbk", "gb18030"}
# Labels that decode any byte string and are often wrong on Chinese pages.
_UNRELIABLE_CHARSETS = {"iso8859-1", "cp1252"}
HTML_HEAD_BYTES = 4096
TITLE_MAX_SCAN_CHARS = 8192


def declared_charset(head: bytes) -> str | None:
    """The codec named by ``<meta charset>`` or ``http-equiv`` in ``head``, normalised.

    GB2312 and GBK declarations become ``gb18030`` (their superset, so a page
    labelled GB2312 that uses GBK characters still decodes).  Unknown labels
    are ignored.
    """
    match = _META_CHARSET.search(head)
    if match is None:
        return None
    try:
        name = codecs.lookup(match.group(1).decode("ascii")).name
    except LookupError:
        return None
    if name in _GB_FAMILY:
        return "gb18030"
    if name.startswith(("utf-16", "utf-32")):
        return "utf-8"  # the declaration was readable as ASCII, so the page is not UTF-16
    return name


def html_encoding_candidates(data: bytes) -> list[str]:
    """Codecs to try on an HTML file, best first: BOM; else declared charset, then detection.

    A declared charset that does not decode the bytes is overruled by
    detection; Latin-1 family labels, which decode anything and are often
    wrong on Chinese pages, are tried only after detection.  Empty when
    there is no declaration and detection fails.
    """
    bom = bom_encoding(data)
    if bom is not None:
        return [bom]
    declared = declared_charset(data[:HTML_HEAD_BYTES])
    ordered = [declared] if declared not in _UNRELIABLE_CHARSETS else []
    ordered += [detect_encoding(data), declared]
    return [c for i, c in enumerate(ordered) if c is not None and c not in ordered[:i]]


def decode_first(data: bytes, encodings: list[str]) -> tuple[str, str]:
    """``(text, encoding)`` for the first of ``encodings`` that decodes ``data`` strictly.

    Raises the ``UnicodeDecodeError`` of the last one when none does.
    """
    for encoding in encodings[:-1]:
        try:
            return decode_strict(data, encoding), encoding
        except UnicodeDecodeError:
            continue
    return decode_strict(data, encodings[-1]), encodings[-1]


def html_title(text: str) -> str | None:
    """The text of the first ``<title>`` (else of the first ``<h1>``), entities decoded."""
    for opener, closer in ((_TITLE_OPEN, _TITLE_CLOSE), (_H1_OPEN, _H1_CLOSE)):
        opening = opener.search(text)
        if opening is None:
            continue
        window = text[opening.end() : opening.end() + TITLE_MAX_SCAN_CHARS]
        closing = closer.search(window)
        if closing is None:
            continue
        inner = html.unescape(_TAG.sub(" ", window[: closing.start()]))
        title = " ".join(inner.split())
        if title:
            return title
    return None


def _extract_html(path: Path, cfg: ExtractConfig, out: _Collector) -> None:
    size = path.stat().st_size
    # One document per file, so the file limit and the record limit both apply
    # before reading; the smaller one names the rejection.
    limit_name, limit = min(
        ("max_file_bytes", cfg.max_file_bytes),
        ("max_record_bytes", cfg.max_record_bytes),
        key=lambda named: named[1],
    )
    if size > limit:
        out.reject_unread_file(size, limit_name, limit)
        return
    data = path.read_bytes()
    if not data.strip():
        return
    span = RawSpan.of(data, 0)
    candidates = html_encoding_candidates(data)
    if not candidates:
        detail = f"whole file: {undetectable_reason(data)}"
        out.reject(Origin(0, span, UNKNOWN_ENCODING), "decode_error", detail)
        return
    try:
        text, encoding = decode_first(data, candidates)
    except UnicodeDecodeError as error:
        detail = f"whole file: {_describe_decode_error(error, data, 0, candidates[-1])}"
        out.reject(
            Origin(0, span, candidates[-1]),
            "decode_error",
            detail,
            text=data.decode(candidates[-1], errors="replace"),
        )
        return
    out.keep(Origin(0, span, encoding), text, html_title(text), is_html=True)


# --------------------------------------------------------------------------- fields


class BadRecord(ValueError):
    """A JSON Lines or Parquet record whose fields do not fit the contract."""


@dataclass(frozen=True)
class RecordFields:
    text: str
    is_html: bool
    title: str | None
    source_id: str | None


def record_fields(obj: object, cfg: ExtractConfig) -> RecordFields:
    """The text (or html), title and id of one JSON object or Parquet row.

    The text field wins when both are set; the html field gives
    ``is_html=True``.  Raises ``BadRecord`` for a non-object, a record with
    neither field, or a value that is not a string.
    """
    if not isinstance(obj, dict):
        raise BadRecord(f"expected a JSON object, got {_type_name(obj)}")
    if cfg.text_field not in obj and cfg.html_field not in obj:
        fields = ", ".join(repr(str(name)) for name in list(obj)[:12]) or "none"
        raise BadRecord(f"no {cfg.text_field!r} or {cfg.html_field!r} field (fields: {fields})")
    use_text = obj.get(cfg.text_field) is not None or cfg.html_field not in obj
    name = cfg.text_field if use_text else cfg.html_field
    value = obj.get(name)
    if value is None:
        raise BadRecord(f"field {name!r} is null")
    if not isinstance(value, str):
        raise BadRecord(f"field {name!r} is {_type_name(value)}, expected a string")
    if not _is_valid_unicode(value):
        raise BadRecord(f"field {name!r} contains an unpaired surrogate (a bad \\u escape)")
    return RecordFields(
        text=value,
        is_html=not use_text,
        title=_optional_string(obj.get(cfg.title_field)),
        source_id=_optional_string(obj.get(cfg.id_field)),
    )


def _type_name(value: object) -> str:
    names = {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "object"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _is_valid_unicode(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _optional_string(value: object) -> str | None:
    """Ids and titles as strings: numbers and other values are JSON-encoded, null stays null."""
    if value is None:
        return None
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False, default=str)
    # Metadata with a bad escape is repaired rather than losing the record.
    return value.encode("utf-8", errors="replace").decode("utf-8")


# --------------------------------------------------------------------------- .jsonl, .jsonl.gz


@dataclass(frozen=True)
class StreamDamage:
    """Emitted as the last chunk of a byte stream that could not be read to its end."""

    reason: str


Chunk = bytes | StreamDamage


@dataclass(frozen=True)
class RawLine:
    """One line of a stream, without its ``\\n``; ``data`` is None when it exceeded the limit."""

    number: int
    offset: int
    length: int
    sha256: str
    data: bytes | None
    damage: str | None = None  # set on the incomplete last line of a damaged stream


class LineAssembler:
    """Cuts a chunk stream into lines, holding at most ``max_bytes`` of one line in memory.

    A longer line is only hashed and measured as it streams past, so a
    multi-GB line costs no memory and still gets exact provenance.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.buffer = bytearray()
        self.offset = 0  # stream offset of the current line's first byte
        self.number = 0
        self.overflow: hashlib._Hash | None = None
        self.overflow_length = 0

    def feed(self, chunk: bytes) -> Iterator[RawLine]:
        view = memoryview(chunk)  # slices of a memoryview do not copy
        start = 0
        while (newline := chunk.find(b"\n", start)) >= 0:
            self._append(view[start:newline])
            yield self._finish()
            start = newline + 1
        self._append(view[start:])

    def close(self, damage: str | None = None) -> RawLine | None:
        """The last line: one without a final ``\\n``, or the incomplete tail of a damaged stream."""
        if damage is None and not self.buffer and self.overflow is None:
            return None
        return self._finish(damage)

    def _append(self, piece: memoryview) -> None:
        if self.overflow is None and len(self.buffer) + len(piece) <= self.max_bytes:
            self.buffer += piece
            return
        if self.overflow is None:
            self.overflow = hashlib.sha256(self.buffer)
            self.overflow_length = len(self.buffer)
            self.buffer.clear()
        self.overflow.update(piece)
        self.overflow_length += len(piece)

    def _finish(self, damage: str | None = None) -> RawLine:
        if self.overflow is None:
            data = bytes(self.buffer)
            line = RawLine(
                self.number, self.offset, len(data), hashlib.sha256(data).hexdigest(), data, damage
            )
        else:
            line = RawLine(
                self.number,
                self.offset,
                self.overflow_length,
                self.overflow.hexdigest(),
                None,
                damage,
            )
        self.offset += line.length + 1
        self.number += 1
        self.buffer.clear()
        self.overflow = None
        return line


def iter_raw_lines(chunks: Iterable[Chunk], max_bytes: int) -> Iterator[RawLine]:
    """Every line of a chunk stream; after a ``StreamDamage`` chunk, one damaged tail line."""
    assembler = LineAssembler(max_bytes)
    for chunk in chunks:
        if isinstance(chunk, StreamDamage):
            tail = assembler.close(chunk.reason)
            if tail is not None:
                yield tail
            return
        yield from assembler.feed(chunk)
    last = assembler.close()
    if last is not None:
        yield last


def file_chunks(handle: BinaryIO) -> Iterator[Chunk]:
    while block := handle.read(READ_CHUNK):
        yield block


def gzip_chunks(handle: BinaryIO) -> Iterator[Chunk]:
    """Decompressed chunks of a (possibly multi-member) gzip file.

    Ends with a ``StreamDamage`` instead of raising when the data is corrupt
    or the file ends inside a member, so the lines before it can be kept.
    Output is produced in bounded pieces, so a gzip bomb costs no memory.
    """
    inflater = None
    while block := handle.read(READ_CHUNK):
        pending = block
        while pending:
            if inflater is None:
                inflater = zlib.decompressobj(wbits=31)  # 31: gzip header and trailer
            try:
                output = inflater.decompress(pending, READ_CHUNK)
            except zlib.error as error:
                yield StreamDamage(f"the gzip data is corrupt ({error})")
                return
            if output:
                yield output
            if inflater.eof:
                pending, inflater = inflater.unused_data, None
            else:
                pending = inflater.unconsumed_tail
    if inflater is not None:
        yield StreamDamage("the gzip stream ended early (the file is truncated)")


def _peek(chunks: Iterator[Chunk], size: int) -> tuple[bytes, Iterator[Chunk]]:
    """The first ``size``-odd bytes of a chunk stream, and the whole stream still to iterate."""
    head: list[Chunk] = []
    seen = 0
    for chunk in chunks:
        head.append(chunk)
        if isinstance(chunk, StreamDamage):
            break
        seen += len(chunk)
        if seen >= size:
            break
    data = b"".join(c for c in head if isinstance(c, bytes))

    def replay() -> Iterator[Chunk]:
        yield from head
        yield from chunks

    return data, replay()


def _extract_jsonl(path: Path, cfg: ExtractConfig, out: _Collector) -> None:
    with path.open("rb") as handle:
        chunks = gzip_chunks(handle) if out.fmt == "jsonl.gz" else file_chunks(handle)
        head, chunks = _peek(chunks, READ_CHUNK)
        encoding = _jsonl_encoding(head, out)
        if encoding is None:
            return
        for line in iter_raw_lines(chunks, cfg.max_record_bytes):
            _emit_jsonl_line(line, encoding, cfg, out)


def _jsonl_encoding(head: bytes, out: _Collector) -> str | None:
    """The encoding of a JSON Lines stream judged by its head, or ``None`` after rejecting it.

    JSON Lines is UTF-8, but GB18030 and Big5 dumps exist and are read as
    such.  Text that fits no encoding stays UTF-8 so each bad line is
    rejected on its own; binary data and UTF-16/32 (whose line breaks are
    not single ``\\n`` bytes) are rejected whole.
    """
    encoding = detect_encoding(head)
    if encoding not in ("utf-16", "utf-32") and not (encoding is None and looks_binary(head)):
        return encoding or "utf-8"
    problem = f"{encoding} text" if encoding else undetectable_reason(head)
    detail = (
        "whole file: JSON Lines must be UTF-8 or another ASCII-compatible encoding; found "
        f"{problem} (source_length and source_sha256 cover the {len(head):,} bytes examined)"
    )
    origin = Origin(0, RawSpan.of(head, 0), encoding or UNKNOWN_ENCODING)
    out.reject(origin, "decode_error", detail)
    return None


def _emit_jsonl_line(line: RawLine, encoding: str, cfg: ExtractConfig, out: _Collector) -> None:
    origin = Origin(line.number, RawSpan(line.offset, line.length, line.sha256), encoding)
    # In a .jsonl.gz every offset is a position in the decompressed stream.
    offset_kind = "decompressed offset" if out.fmt == "jsonl.gz" else "byte offset"
    where = f"line {line.number + 1} (0-based {line.number}, {offset_kind} {line.offset:,})"
    if line.damage is not None:
        detail = (
            f"{where}: {line.damage} at decompressed offset {line.offset + line.length:,}; "
            f"the {line.length:,} bytes read of this line are an incomplete record"
        )
        out.reject(origin, "parse_error", detail)
        return
    if line.data is None:
        detail = (
            f"{where} is {line.length:,} bytes, over max_record_bytes = {cfg.max_record_bytes:,}"
        )
        out.reject(origin, "too_large", detail)
        return
    if not line.data.strip():
        return  # blank lines are not records
    try:
        text = decode_strict(line.data, encoding)
    except UnicodeDecodeError as error:
        problem = _describe_decode_error(error, line.data, line.offset, encoding, offset_kind)
        out.reject(
            origin,
            "decode_error",
            f"{where}: {problem}",
            text=line.data.decode(encoding, "replace"),
        )
        return
    obj: object = None
    try:
        obj = _parse_json(text)
        fields = record_fields(obj, cfg)
    except BadRecord as error:
        # A bad record that still names its id is easier to trace back.
        source_id = _optional_string(obj.get(cfg.id_field)) if isinstance(obj, dict) else None
        out.reject(
            replace(origin, source_id=source_id), "parse_error", f"{where}: {error}", text=text
        )
        return
    out.keep(replace(origin, source_id=fields.source_id), fields.text, fields.title, fields.is_html)


def _parse_json(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise BadRecord(f"malformed JSON: {error.msg} at column {error.colno}") from None
    except RecursionError:
        raise BadRecord("malformed JSON: nested too deeply") from None


# --------------------------------------------------------------------------- .parquet

# pyarrow reports damaged files as ArrowException, ValueError or OSError; the
# file itself was opened before, so none of these means "unreadable file".
_PARQUET_ERRORS = (pa.ArrowException, ValueError, OSError)


def _extract_parquet(path: Path, cfg: ExtractConfig, out: _Collector) -> None:
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
                (cfg.text_field, cfg.html_field, cfg.id_field, cfg.title_field)
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


def _reject_parquet_file(path: Path, record: int, detail: str, out: _Collector) -> None:
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
    row: int, values: dict[str, object], cfg: ExtractConfig, out: _Collector
) -> None:
    try:
        fields = record_fields(values, cfg)
    except BadRecord as error:
        # No usable text value to hash: the row's fields, as JSON, stand in for it.
        shown = _optional_string(dict(sorted(values.items()))) or ""
        source_id = _optional_string(values.get(cfg.id_field))
        origin = Origin(row, RawSpan.of(shown.encode("utf-8"), None), "utf-8", source_id)
        out.reject(origin, "parse_error", f"row {row}: {error}", text=shown)
        return
    raw = fields.text.encode("utf-8")
    origin = Origin(row, RawSpan.of(raw, None), "utf-8", fields.source_id)
    if len(raw) > cfg.max_record_bytes:
        detail = (
            f"row {row} is {len(raw):,} bytes, over max_record_bytes = {cfg.max_record_bytes:,}"
        )
        out.reject(origin, "too_large", detail)
        return
    out.keep(origin, fields.text, fields.title, fields.is_html)


_READERS: dict[str, Callable[[Path, ExtractConfig, _Collector], None]] = {
    "txt": _extract_txt,
    "html": _extract_html,
    "jsonl": _extract_jsonl,
    "jsonl.gz": _extract_jsonl,
    "parquet": _extract_parquet,
}
