"""Extract from ``.html``/``.htm`` files: one document per file, raw markup kept.

The encoding comes from a byte-order mark, else the ``<meta>`` charset
declaration checked against detection (see ``html_encoding_candidates``);
the title from ``<title>``, else the first ``<h1>``.
"""

from __future__ import annotations

import codecs
import html
import re
from pathlib import Path

from transforms.config import ExtractConfig
from transforms.stages.extract.decode import (
    Decoded,
    bom_encoding,
    decode_replacing,
    detect_encoding,
    undetectable_reason,
)
from transforms.stages.extract.records import (
    UNKNOWN_ENCODING,
    Collector,
    Origin,
    RawSpan,
    read_small_file,
)

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


def decode_best(data: bytes, encodings: list[str]) -> tuple[Decoded, str]:
    """The first of ``encodings`` that decodes ``data`` without an invalid byte; when none
    does, the one with the fewest invalid bytes (the first of those)."""
    best: tuple[Decoded, str] | None = None
    for encoding in encodings:
        decoded = decode_replacing(data, encoding)
        if not decoded.invalid_bytes:
            return decoded, encoding
        if best is None or decoded.invalid_bytes < best[0].invalid_bytes:
            best = (decoded, encoding)
    assert best is not None, "no candidate encodings"
    return best


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


def extract_html(path: Path, cfg: ExtractConfig, out: Collector) -> None:
    """The file as one ``is_html`` record, or one ``too_large`` or ``decode_error`` rejection."""
    # One document per file, so the file limit and the record limit both apply
    # before reading; the smaller one names the rejection.
    limit_name, limit = min(
        ("max_file_bytes", cfg.max_file_bytes),
        ("max_record_bytes", cfg.max_record_bytes),
        key=lambda named: named[1],
    )
    data = read_small_file(path, limit_name, limit, out)
    if data is None:
        return
    span = RawSpan.of(data, 0)
    candidates = html_encoding_candidates(data)
    if not candidates:
        detail = f"whole file: {undetectable_reason(data)}"
        out.reject(Origin(0, span, UNKNOWN_ENCODING), "decode_error", detail)
        return
    decoded, encoding = decode_best(data, candidates)
    limit = cfg.max_invalid_byte_share
    accepted = out.accept(Origin(0, span, encoding), decoded, data, "whole file", limit)
    if accepted is None:
        return
    text, origin = accepted
    if not text.strip():
        return  # no record: extract_file reports the file as empty
    out.keep(origin, text, html_title(text), is_html=True)
