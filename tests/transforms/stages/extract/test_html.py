"""Extract from .html files: one record per page, charset declarations, titles, bad pages."""

from __future__ import annotations

from pathlib import Path

from tests.transforms.stages.extract.extract_support import (
    P1,
    P3,
    P4,
    extract,
    only_rejection,
    titles,
    write,
)
from transforms.config import ExtractConfig

HTML_PAGE = """<!DOCTYPE html>
<html><head><meta charset="{charset}">
<title>动物临时&ldquo;奶爸&rdquo; - 新华网</title></head>
<body><h1>动物临时“奶爸”</h1><p>{body}</p></body></html>
"""


def test_html_file_is_one_record_with_title_and_raw_markup(tmp_path: Path) -> None:
    page = HTML_PAGE.format(charset="utf-8", body=P3)
    row = extract(write(tmp_path, "page.html", page)).kept.to_pylist()[0]
    assert row["title"] == "动物临时“奶爸” - 新华网"
    assert row["text"] == page
    assert row["is_html"] is True
    assert row["source_format"] == "html"
    assert (row["source_offset"], row["source_length"]) == (0, len(page.encode()))


def test_html_title_falls_back_to_the_first_h1(tmp_path: Path) -> None:
    page = (
        f"<html><body><h1 class='t'>动物临时<em>奶爸</em> &amp; 宠物</h1><p>{P3}</p></body></html>"
    )
    assert titles(extract(write(tmp_path, "page.htm", page))) == ["动物临时 奶爸 & 宠物"]


def test_html_without_title_or_h1_has_no_title(tmp_path: Path) -> None:
    assert titles(extract(write(tmp_path, "page.html", f"<p>{P3}</p>"))) == [None]


def test_html_declared_gb2312_is_decoded_as_gb18030(tmp_path: Path) -> None:
    body = f"{P3}朱镕基"  # 镕 is in GBK but not in GB2312: pages mislabel GBK as GB2312
    page = HTML_PAGE.format(charset="gb2312", body=body).encode("gbk")
    row = extract(write(tmp_path, "page.html", page)).kept.to_pylist()[0]
    assert row["source_encoding"] == "gb18030"
    assert body in row["text"]


def test_html_declaration_that_does_not_decode_is_overruled(tmp_path: Path) -> None:
    page = HTML_PAGE.format(charset="utf-8", body=P3 + P4).encode("gbk")
    row = extract(write(tmp_path, "page.html", page)).kept.to_pylist()[0]
    assert row["source_encoding"] == "gb18030"
    assert row["title"] == "动物临时“奶爸” - 新华网"


def test_html_http_equiv_big5_declaration(tmp_path: Path) -> None:
    page = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=big5">'
        "<title>他們，堅守一線戰風雨</title></head><body>信陽位於豫鄂兩省交界處</body></html>"
    )
    row = extract(write(tmp_path, "page.html", page.encode("big5"))).kept.to_pylist()[0]
    assert (row["source_encoding"], row["title"]) == ("big5", "他們，堅守一線戰風雨")


def test_undecodable_html_is_one_decode_error(tmp_path: Path) -> None:
    page = HTML_PAGE.format(charset="utf-8", body=P3).encode()
    page = page.replace(b"<body>", b"<body>" + b"\xff" * 30)  # invalid in UTF-8, GB18030, Big5
    rejection = only_rejection(extract(write(tmp_path, "page.html", page)))
    assert rejection["reason"] == "decode_error"
    assert rejection["detail"].startswith(f"whole file: 30 of {len(page):,} bytes")
    assert f"0xff, at byte offset {page.index(b'<body>') + 6}" in rejection["detail"]


def test_html_with_a_few_bad_bytes_is_kept_with_replacement_characters(tmp_path: Path) -> None:
    page = HTML_PAGE.format(charset="utf-8", body=P3 * 4).encode()
    page = page.replace(b"<body>", b"<body>\xff")
    result = extract(write(tmp_path, "page.html", page))
    [row] = result.kept.to_pylist()
    assert row["source_invalid_bytes"] == 1 and "\ufffd" in row["text"]
    assert row["source_encoding"] == "utf-8"


def test_html_over_max_record_bytes_is_too_large(tmp_path: Path) -> None:
    page = HTML_PAGE.format(charset="utf-8", body=P1 * 30)
    rejection = only_rejection(
        extract(write(tmp_path, "page.html", page), ExtractConfig(max_record_bytes=1024))
    )
    assert rejection["reason"] == "too_large"
    assert "max_record_bytes" in rejection["detail"]
