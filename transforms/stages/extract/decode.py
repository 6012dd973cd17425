"""Encoding detection and strict decoding for Chinese text.

``detect_encoding`` answers one question for a file's bytes: which codec gives
back the text the author wrote?  The order is fixed:

1. a byte-order mark (``utf-8-sig``, ``utf-16``, ``utf-32``);
2. binary data (more than 2% control bytes, NUL included) is refused
   (``None``); runs of NUL bytes (the padding a crashed or preallocating
   writer leaves) do not count, so a text dump with such padding or with a
   few stray control characters is still text;
3. UTF-8, also when a tiny share of bytes is invalid, so that a few corrupt
   records in a large UTF-8 dump are rejected one by one instead of the
   whole file being decoded as something else;
4. the legacy Chinese encodings GB18030 (a superset of GB2312 and GBK) and
   Big5, chosen by which decoding gives plausible Chinese (see
   ``chinese_plausibility``);
5. a file that is mostly, but not only, UTF-8 (e.g. one GBK record pasted
   into a UTF-8 dump) is still UTF-8;
6. anything else is ``None``: the caller rejects it as ``decode_error``.

Detection looks at a bounded sample (the first MiB and one chunk from the
middle), so it stays cheap on multi-GB dumps.
"""

from __future__ import annotations

import codecs
import functools
import re
import threading
import unicodedata
from dataclasses import dataclass

MiB = 1024 * 1024
HEAD_SAMPLE_BYTES = 1 * MiB
MIDDLE_SAMPLE_BYTES = 256 * 1024

# Longest first: the UTF-32-LE mark starts with the UTF-16-LE mark.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# A share of invalid bytes (among non-ASCII bytes) that still counts as "this
# encoding with a few corrupt spots".  Legacy text read as UTF-8 has most of
# its non-ASCII bytes invalid, so 2% separates the two cleanly.
TOLERATED_INVALID_SHARE = 0.02
# UTF-8 is so unlikely by chance that a majority of valid multi-byte
# sequences means UTF-8 with some foreign records, when no legacy encoding fits.
MOSTLY_UTF8_SHARE = 0.5
# Measured on the 1,166 seed paragraphs, simplified and traditional, in GBK and
# Big5: each is detected right; the right decoding scores >= 0.91, a wrong one
# that decodes without errors mostly < 0.6 (a few short lines reach 0.83, where
# the higher score still wins).  The floor only matters when the right
# candidate was excluded for invalid bytes.
MIN_PLAUSIBILITY = 0.7
# Control bytes other than \t \n \v \f \r, NUL included; text has almost none.
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1f\x7f]")
MAX_CONTROL_SHARE = 0.02
# A run of at least this many NUL bytes is padding, not content: it is left
# out when judging whether data is text.  UTF-16/32 text without a byte-order
# mark never has such runs (at most three NUL bytes in a row).
NUL_PADDING_RUN = 16
_NUL_PADDING = re.compile(rb"\x00{%d,}" % NUL_PADDING_RUN)

_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")  # what surrogateescape makes of a bad byte
LEGACY_CANDIDATES: tuple[str, ...] = ("gb18030", "big5")


def bom_encoding(data: bytes) -> str | None:
    """The encoding named by a byte-order mark at the start of ``data``, if any."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    return None


def bom_length(encoding: str, data: bytes) -> int:
    """Bytes of byte-order mark that ``encoding`` consumes at the start of ``data``."""
    if encoding in ("utf-8-sig", "utf-16", "utf-32"):
        for bom, name in _BOMS:
            if name == encoding and data.startswith(bom):
                return len(bom)
    return 0


@dataclass(frozen=True)
class Decoded:
    """A record's text, and how many of its bytes were not valid in the encoding."""

    text: str
    invalid_bytes: int = 0  # each became one U+FFFD in ``text``
    first_error: UnicodeDecodeError | None = None  # where the first of them was

    def invalid_share(self, size: int) -> float:
        return self.invalid_bytes / size if size else 0.0


# Counts the bytes the error handler below replaced, per thread (a decode
# call runs in the thread that made it).
_replaced = threading.local()
_REPLACE_EACH_BYTE = "zhclean-replace-each-byte"


def _replace_each_byte(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    bad = error.end - error.start
    _replaced.bytes += bad
    return "\ufffd" * bad, error.end


codecs.register_error(_REPLACE_EACH_BYTE, _replace_each_byte)


def decode_replacing(data: bytes, encoding: str) -> Decoded:
    """``data`` decoded with ``encoding``; each byte that is not valid in it becomes U+FFFD.

    Python's own ``errors="replace"`` puts one U+FFFD for a run of bad bytes;
    one per byte makes ``invalid_bytes`` the count of replacement characters
    added.  A clean decode costs one strict decode.
    """
    try:
        return Decoded(data.decode(encoding))
    except UnicodeDecodeError as error:
        first = error
    _replaced.bytes = 0
    text = data.decode(encoding, errors=_REPLACE_EACH_BYTE)
    return Decoded(text, _replaced.bytes, first)


def detect_encoding(data: bytes) -> str | None:
    """The codec name to decode ``data`` with, or ``None`` for binary or undecodable data.

    Returns one of ``utf-8-sig``, ``utf-16``, ``utf-32``, ``utf-8``,
    ``gb18030``, ``big5``.  Empty or pure-ASCII data is ``utf-8``.
    """
    bom = bom_encoding(data)
    if bom is not None:
        return bom
    sample = bounded_sample(data)
    if looks_binary(sample):
        return None
    utf8_invalid = invalid_share(sample, "utf-8")
    if utf8_invalid <= TOLERATED_INVALID_SHARE:
        return "utf-8"
    legacy = best_legacy_encoding(sample)
    if legacy is not None:
        return legacy
    if utf8_invalid <= 1.0 - MOSTLY_UTF8_SHARE:
        return "utf-8"
    return None


def undetectable_reason(data: bytes) -> str:
    """A sentence saying why ``detect_encoding(data)`` returned ``None``."""
    sample = bounded_sample(data)
    if looks_binary(sample):
        nul = _first_stray_nul(sample)
        if nul >= 0:
            return (
                f"binary data: NUL byte at offset {nul} "
                "(not text, or UTF-16/UTF-32 without a byte-order mark)"
            )
        if not _without_padding(sample):
            return "binary data: nothing but NUL bytes"
        return "binary data: too many control bytes for text"
    shares = ", ".join(
        f"{enc} {invalid_share(sample, enc):.0%} invalid" for enc in ("utf-8", *LEGACY_CANDIDATES)
    )
    return f"not decodable as UTF-8, GB18030 or Big5 Chinese text ({shares} of non-ASCII bytes)"


def bounded_sample(data: bytes) -> bytes:
    """The first MiB of ``data`` plus a chunk from its middle, cut at line breaks.

    Cutting at ``\\n`` keeps multi-byte characters whole in every
    ASCII-compatible encoding, so the cuts add no invalid bytes.
    """
    limit = HEAD_SAMPLE_BYTES + MIDDLE_SAMPLE_BYTES
    if len(data) <= limit:
        return data
    head = _cut_at_line_end(data[:HEAD_SAMPLE_BYTES])
    middle_start = len(data) // 2
    middle = data[middle_start : middle_start + MIDDLE_SAMPLE_BYTES]
    first_break = middle.find(b"\n")
    if first_break >= 0:
        middle = middle[first_break + 1 :]
    return head + b"\n" + _cut_at_line_end(middle)


def _cut_at_line_end(chunk: bytes) -> bytes:
    last_break = chunk.rfind(b"\n")
    return chunk[: last_break + 1] if last_break >= 0 else chunk


def looks_binary(sample: bytes) -> bool:
    """True for data that is not text: more than 2% control bytes (NUL included).

    Runs of ``NUL_PADDING_RUN`` or more NUL bytes are left out of the count:
    a dump whose writer crashed leaves such padding at its end, and its text
    is still worth reading.  Data that is nothing but NUL bytes is binary.
    """
    if not sample:
        return False
    content = _without_padding(sample)
    if not content:
        return True
    return len(_CONTROL_BYTES.findall(content)) / len(content) > MAX_CONTROL_SHARE


def _without_padding(sample: bytes) -> bytes:
    return _NUL_PADDING.sub(b"", sample) if b"\x00" * NUL_PADDING_RUN in sample else sample


def _first_stray_nul(sample: bytes) -> int:
    """Offset of the first NUL byte that is not part of padding, or -1."""
    position = sample.find(b"\x00")
    while position >= 0:
        padding = _NUL_PADDING.match(sample, position)
        if padding is None:
            return position
        position = sample.find(b"\x00", padding.end())
    return -1


def invalid_share(sample: bytes, encoding: str) -> float:
    """Share of ``sample``'s non-ASCII bytes that ``encoding`` cannot decode (0.0 if all ASCII)."""
    non_ascii = len(sample) - len(sample.translate(None, bytes(range(0x80, 0x100))))
    if non_ascii == 0:
        return 0.0
    decoded = sample.decode(encoding, errors="surrogateescape")
    return len(_ESCAPED_BYTE.findall(decoded)) / non_ascii


def best_legacy_encoding(sample: bytes) -> str | None:
    """GB18030 or Big5, whichever decodes ``sample`` (nearly) cleanly into plausible Chinese."""
    best: tuple[float, str] | None = None
    for encoding in LEGACY_CANDIDATES:
        if invalid_share(sample, encoding) > TOLERATED_INVALID_SHARE:
            continue
        score = chinese_plausibility(sample.decode(encoding, errors="surrogateescape"))
        # Strictly greater: on a tie the first candidate (GB18030, the
        # mainland standard) wins.
        if score >= MIN_PLAUSIBILITY and (best is None or score > best[0]):
            best = (score, encoding)
    return best[1] if best else None


def chinese_plausibility(text: str) -> float:
    """Share of the non-ASCII characters of ``text`` that are common Chinese characters or punctuation.

    "Common" means GB2312 level 1 (the 3,755 most used simplified
    characters) or Big5 level 1 (the 5,401 most used traditional ones).  A
    wrong legacy decoding turns text into rare characters, kana, Cyrillic or
    private-use code points, so its share drops well below the right one's.
    """
    common = _common_hanzi()
    total = good = 0
    for char in text:
        if char < "\x80" or "\udc80" <= char <= "\udcff":
            continue
        total += 1
        if char in common or char == "\u3000" or unicodedata.category(char).startswith("P"):
            good += 1
    return good / total if total else 0.0


@functools.cache
def _common_hanzi() -> frozenset[str]:
    # Built from the code tables themselves rather than a shipped list: both
    # standards put their frequent characters in a contiguous "level 1" block.
    gb2312_level1 = _decode_block("gb2312", range(0xB0, 0xD8), range(0xA1, 0xFF), 0xD7F9)
    big5_trails = [*range(0x40, 0x7F), *range(0xA1, 0xFF)]
    big5_level1 = _decode_block("big5", range(0xA4, 0xC7), big5_trails, 0xC67E)
    return frozenset(gb2312_level1 | big5_level1)


def _decode_block(
    encoding: str, leads: range, trails: range | list[int], last_code: int
) -> set[str]:
    chars: set[str] = set()
    for lead in leads:
        for trail in trails:
            if (lead << 8 | trail) > last_code:
                break
            try:
                chars.add(bytes((lead, trail)).decode(encoding))
            except UnicodeDecodeError:
                continue
    return chars
