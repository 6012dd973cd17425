"""Extract from JSON Lines (``.jsonl``, ``.jsonl.gz``): one JSON object per line, streamed.

The file is read in chunks (gzip decompressed in bounded pieces, several
members read to the end) and cut into lines that hold at most
``max_record_bytes`` in memory; a longer line is only hashed and measured.
Offsets are byte offsets in the file, or in the decompressed stream for
``.jsonl.gz``.  A damaged gzip stream keeps the lines before the damage.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from transforms.config import ExtractConfig
from transforms.stages.extract.decode import (
    detect_encoding,
    looks_binary,
    undetectable_reason,
)
from transforms.stages.extract.fields import BadRecord, optional_string, record_fields
from transforms.stages.extract.records import (
    READ_CHUNK,
    UNKNOWN_ENCODING,
    Collector,
    Origin,
    RawSpan,
    over_limit,
)


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


def extract_jsonl(path: Path, cfg: ExtractConfig, out: Collector) -> None:
    """Every line of a JSON Lines file: kept, rejected on its own, or the file rejected whole."""
    with path.open("rb") as handle:
        chunks = gzip_chunks(handle) if out.fmt == "jsonl.gz" else file_chunks(handle)
        head, chunks = _peek(chunks, READ_CHUNK)
        encoding = _jsonl_encoding(head, out)
        if encoding is None:
            return
        for line in iter_raw_lines(chunks, cfg.max_record_bytes):
            _emit_jsonl_line(line, encoding, cfg, out)


def _jsonl_encoding(head: bytes, out: Collector) -> str | None:
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


def _emit_jsonl_line(line: RawLine, encoding: str, cfg: ExtractConfig, out: Collector) -> None:
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
        detail = over_limit(where, line.length, "max_record_bytes", cfg.max_record_bytes)
        out.reject(origin, "too_large", detail)
        return
    if not line.data.strip():
        return  # blank lines are not records
    decoded = out.decode(
        origin, line.data, encoding, where, cfg.max_invalid_byte_share, offset_kind
    )
    if decoded is None:
        return
    text, origin = decoded
    obj: object = None
    try:
        obj = _parse_json(text)
        fields = record_fields(obj, cfg)
    except BadRecord as error:
        # A bad record that still names its id is easier to trace back.
        source_id = optional_string(obj.get(cfg.id_field)) if isinstance(obj, dict) else None
        out.reject(
            replace(origin, source_id=source_id), "parse_error", f"{where}: {error}", text=text
        )
        return
    origin = replace(origin, source_id=fields.source_id)
    out.keep(origin, fields.text, fields.title, fields.is_html, fields.given)


def _parse_json(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        # json's messages may end in "at" already ("Unterminated string starting at").
        where = "column" if error.msg.endswith(" at") else "at column"
        raise BadRecord(f"malformed JSON: {error.msg} {where} {error.colno}") from None
    except RecursionError:
        raise BadRecord("malformed JSON: nested too deeply") from None
