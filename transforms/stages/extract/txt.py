"""Extract from ``.txt`` dumps: many documents per file, split by the seed conventions.

Explicit marker lines (``*`` lines, ``===NEXT NEWS===`` lines, ``>>>title``
lines) separate records; a file without any is split on blank-line runs
longer than its usual paragraph gap.  A record's first line may be its title
(see ``split_title``).  Offsets are exact byte offsets in the file, in every
supported encoding (see ``index_lines``).
"""

from __future__ import annotations

import codecs
import re
from array import array
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from transforms.config import ExtractConfig
from transforms.stages.extract.decode import (
    bom_length,
    detect_encoding,
    undetectable_reason,
)
from transforms.stages.extract.records import (
    UNKNOWN_ENCODING,
    Collector,
    Origin,
    RawSpan,
    over_limit,
    read_small_file,
)


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
# A line longer than this is classified from its first bytes when they show it
# is text (see ``_classify_long_line``): a multi-MB record on one line is then
# never decoded just to find out that it is not a marker line.
LONG_LINE_BYTES = 4096
# A character that no marker line (blank, ``*``, ``NEXT NEWS``) can contain.
_NOT_IN_MARKER_LINE = re.compile(r"[^\s*=NEXTWSnextws]")


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
        line_start, line_end = match.span(1)
        if line_end - line_start > LONG_LINE_BYTES:
            kind = _classify_long_line(data, line_start, line_end, codec)
        else:
            kind = classify_line(data[line_start:line_end].decode(codec, errors="replace"))
        index.add(kind, line_start, line_end)
    return index


def _classify_long_line(data: bytes, start: int, end: int, codec: str) -> LineKind:
    """``classify_line`` of ``data[start:end]``, decoding only its first bytes when that settles it.

    The first ``LONG_LINE_BYTES`` are decoded (an incomplete character at the
    cut is held back, not replaced).  A line whose first non-blank characters
    are ``>>>`` is a title marker; one with a character that no marker line
    can hold is text.  Anything else (a line of ``*``, ``=`` or spaces longer
    than the window) is decoded whole, as a short line is.
    """
    decoder = codecs.getincrementaldecoder(codec)(errors="replace")
    head = decoder.decode(data[start : start + LONG_LINE_BYTES], final=False).lstrip()
    if head.startswith(">>>"):
        return LineKind.TITLE_MARKER
    if len(head) >= 3 and _NOT_IN_MARKER_LINE.search(head):
        return LineKind.TEXT
    return classify_line(data[start:end].decode(codec, errors="replace"))


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


def extract_txt(path: Path, cfg: ExtractConfig, out: Collector) -> None:
    """Every record of a .txt dump: kept, or rejected as ``too_large`` or ``decode_error``."""
    data = read_small_file(path, "max_file_bytes", cfg.max_file_bytes, out)
    if data is None:
        return
    encoding = detect_encoding(data)
    if encoding is None:
        detail = f"whole file ({len(data):,} bytes): {undetectable_reason(data)}"
        out.reject(Origin(0, RawSpan.of(data, 0), UNKNOWN_ENCODING), "decode_error", detail)
        return
    codec = record_codec(encoding, data)
    view = memoryview(data)  # slices of a view do not copy: a huge record is hashed in place
    for index, (start, end) in enumerate(split_txt_records(data, encoding)):
        origin = Origin(index, RawSpan.of(view[start:end], start), encoding)
        _emit_txt_record(view[start:end], origin, codec, cfg, out)


def _emit_txt_record(
    record: memoryview, origin: Origin, codec: str, cfg: ExtractConfig, out: Collector
) -> None:
    start = origin.span.offset or 0
    where = f"record {origin.record} (bytes {start:,}-{start + len(record):,})"
    if len(record) > cfg.max_record_bytes:
        detail = over_limit(where, len(record), "max_record_bytes", cfg.max_record_bytes)
        out.reject(origin, "too_large", detail)
        return
    decoded = out.decode(origin, bytes(record), codec, where, cfg.max_invalid_byte_share)
    if decoded is None:
        return
    text, origin = decoded
    title, body = split_title(text, cfg.title_max_chars)
    out.keep(origin, body, title, is_html=False)
