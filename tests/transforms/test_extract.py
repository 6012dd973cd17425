"""Extract: the seed dumps, every input format, and bad content that must be rejected, not raised."""

from __future__ import annotations

import codecs
import gzip
import hashlib
import json
import random
import zlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from transforms.config import ExtractConfig
from transforms.extract import (
    SUPPORTED_SUFFIXES,
    LineKind,
    blank_run_threshold,
    classify_line,
    extract_file,
    source_format_of,
    split_title,
    split_txt_records,
)
from transforms.schema import RECORD_SCHEMA, REJECTION_REASONS, REJECTION_SCHEMA
from transforms.stage import StageResult

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "sample"
CFG = ExtractConfig()

P1 = "习近平总书记指出，社区是疫情防控的第一线，也是外防输入、内防扩散最有效的防线。"
P2 = "城镇街角，乡间小路，不分白天黑夜，不惧风寒雨雪，到处都有他们辛勤值守的身影。"
P3 = "3月24日，在武汉默东动物医院(光谷分院)，高进东给狗喂食。"
P4 = "新冠肺炎疫情发生后，武汉不少家庭养的小宠物无法和它们的主人团聚。"


# --------------------------------------------------------------------------- helpers


def raw_stream(path: Path) -> bytes:
    """The bytes offsets refer to: the file, or for .gz its (possibly partial) decompressed stream."""
    data = path.read_bytes()
    return gunzip_readable_prefix(data) if path.name.endswith(".gz") else data


def gunzip_readable_prefix(data: bytes) -> bytes:
    """Every gzip member of ``data`` decompressed, up to the first damage (plain zlib, no extract)."""
    out = bytearray()
    while data:
        inflater = zlib.decompressobj(wbits=31)
        try:
            out += inflater.decompress(data)
        except zlib.error:
            break
        if not inflater.eof:
            break
        data = inflater.unused_data
    return bytes(out)


def extract(path: Path, cfg: ExtractConfig = CFG, root: Path | None = None) -> StageResult:
    """extract_file plus the invariants every result must keep."""
    result = extract_file(path, root or path.parent, cfg)
    assert_consistent(result, path)
    return result


def assert_consistent(result: StageResult, path: Path) -> None:
    counts = result.counts.check()
    assert counts.stage == "extract"
    assert result.kept.num_rows + result.rejected.num_rows == counts.input
    assert counts.kept == result.kept.num_rows
    assert result.kept.schema == RECORD_SCHEMA
    assert result.rejected.schema == REJECTION_SCHEMA
    assert set(result.rejected.column("stage").to_pylist()) <= {"extract"}
    assert set(result.rejected.column("reason").to_pylist()) <= set(REJECTION_REASONS)
    rows = result.kept.to_pylist() + result.rejected.to_pylist()
    doc_ids = [row["doc_id"] for row in rows]
    assert len(set(doc_ids)) == len(doc_ids)
    stream = raw_stream(path) if rows else b""
    for row in rows:
        assert row["source_uri"] == path.resolve().as_uri()
        if row["source_offset"] is not None:
            raw = stream[row["source_offset"] : row["source_offset"] + row["source_length"]]
            assert len(raw) == row["source_length"]
            assert hashlib.sha256(raw).hexdigest() == row["source_sha256"]


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def titles(result: StageResult) -> list[str | None]:
    return result.kept.column("title").to_pylist()


def texts(result: StageResult) -> list[str]:
    return result.kept.column("text").to_pylist()


def only_rejection(result: StageResult) -> dict[str, object]:
    assert result.rejected.num_rows == 1
    return result.rejected.to_pylist()[0]


# --------------------------------------------------------------------------- the seeds


def seed(prefix: str) -> Path:
    (path,) = SAMPLES.glob(f"{prefix}_*.txt")
    return path


@pytest.mark.parametrize(
    ("prefix", "records"), [("000", 2), ("001", 6), ("002", 7), ("003", 3), ("004", 1)]
)
def test_seed_dump_gives_its_known_number_of_records(prefix: str, records: int) -> None:
    result = extract(seed(prefix))
    assert result.kept.num_rows == records
    assert result.rejected.num_rows == 0
    assert set(result.kept.column("source_encoding").to_pylist()) == {"utf-8"}


def test_the_five_seeds_give_19_records() -> None:
    assert sum(extract(path).counts.kept for path in SAMPLES.glob("*.txt")) == 19


def test_seed_001_titles_come_from_marker_lines_and_duplicates_are_kept() -> None:
    result = extract(seed("001"))
    assert titles(result)[:3] == [
        "全民战“疫” 这些身影汇聚必胜力量",
        "全民战“疫” 这些身影汇聚必胜力量",
        "致敬！这场战“疫”中无比鲜艳的旗帜",
    ]
    first, second = result.kept.to_pylist()[:2]
    assert first["text"] == second["text"]
    assert first["source_sha256"] == second["source_sha256"]
    assert first["doc_id"] != second["doc_id"]  # dedup is a later stage
    assert first["text"].startswith("这个春节，因一场突如其来的疫情而不同寻常。")


def test_seed_002_records_are_a_title_line_then_html_lines() -> None:
    result = extract(seed("002"))
    assert titles(result)[0] == "河南省党外知识分子联谊会社会民生组 凝心聚"
    assert titles(result)[1] == "坚实的底盘——湖北战“疫”中的社区作为"
    assert all(text.startswith("<p") for text in texts(result))
    assert not any(result.kept.column("is_html").to_pylist())  # markup is detected later
    assert result.kept.column("source_offset").to_pylist()[0] == 0  # no '*' before record 0


def test_seed_003_splits_on_long_blank_runs() -> None:
    result = extract(seed("003"))
    assert titles(result) == ["习近平致敬的战“疫”英雄", "动物临时“奶爸”", "他们，站在白衣战士背后"]
    assert texts(result)[1].startswith(
        "3月24日，在武汉默东动物医院(光谷分院)，高进东给狗喂食。\n\n"
    )
    assert texts(result)[1].endswith("新华社记者才扬摄")


def test_seed_record_text_keeps_line_breaks_and_drops_the_title_line() -> None:
    record = extract(seed("000")).kept.to_pylist()[0]
    assert record["title"].startswith("在习近平新时代中国特色社会主义思想指引下")
    assert record["text"].startswith("新华社记者于长洪、张洪河、刘懿德\n\n习近平总书记指出")
    assert record["source_offset"] == 4  # after the four leading blank lines


def test_seed_doc_ids_are_stable_across_calls_and_follow_the_formula() -> None:
    path = seed("001")
    rows = extract(path).kept.to_pylist()
    assert [row["doc_id"] for row in rows] == extract(path).kept.column("doc_id").to_pylist()
    for row in rows:
        key = f"{path.name}\0{row['source_record']}\0{row['source_sha256']}"
        assert row["doc_id"] == hashlib.sha256(key.encode()).hexdigest()[:24]


def test_source_path_is_relative_to_the_input_root(tmp_path: Path) -> None:
    nested = tmp_path / "2020" / "03"
    nested.mkdir(parents=True)
    path = write(nested, "news.txt", f"{P1}\n")
    row = extract(path, root=tmp_path).kept.to_pylist()[0]
    assert row["source_path"] == "2020/03/news.txt"
    assert row["source_format"] == "txt"


# --------------------------------------------------------------------------- .txt splitting


def test_classify_line_recognises_the_markers() -> None:
    assert classify_line("***") is LineKind.STAR_SEPARATOR
    assert classify_line(" * ") is LineKind.STAR_SEPARATOR
    assert classify_line("===========NEXT NEWS==========") is LineKind.NEXT_NEWS_SEPARATOR
    assert classify_line("== next  news ==\r") is LineKind.NEXT_NEWS_SEPARATOR
    assert classify_line(">>>动物临时“奶爸”") is LineKind.TITLE_MARKER
    assert classify_line("\u3000 \t") is LineKind.BLANK
    assert classify_line("*注：数据截至3月") is LineKind.TEXT
    assert classify_line("NEXT NEWS") is LineKind.TEXT


def test_star_line_separates_records(tmp_path: Path) -> None:
    result = extract(write(tmp_path, "a.txt", f"标题一\n{P1}\n*\n标题二\n{P2}\n**\n"))
    assert titles(result) == ["标题一", "标题二"]
    assert texts(result) == [P1, P2]


def test_next_news_line_separates_records_leniently(tmp_path: Path) -> None:
    content = f"{P1}\n\n= = Next News = =\n\n{P2}\n=====NEXT NEWS=====\n{P3}\n"
    result = extract(write(tmp_path, "a.txt", content))
    assert texts(result) == [P1, P2, P3]


def test_title_marker_starts_a_new_record(tmp_path: Path) -> None:
    result = extract(write(tmp_path, "a.txt", f">>>标题一\n{P1}\n>>>标题二\n\n{P2}\n"))
    assert titles(result) == ["标题一", "标题二"]
    assert texts(result) == [P1, P2]


def test_title_marker_after_a_separator_makes_no_empty_record(tmp_path: Path) -> None:
    content = f">>>标题一\n{P1}\n\n=====NEXT NEWS=====\n\n\n>>>标题二\n{P2}\n*\n>>>标题三\n{P3}"
    result = extract(write(tmp_path, "a.txt", content))
    assert titles(result) == ["标题一", "标题二", "标题三"]


def test_whitespace_only_segments_are_not_records(tmp_path: Path) -> None:
    content = f"*\n\n{P1}\n*\n \u3000\n*\n{P2}\n*\n\n\n"
    assert texts(extract(write(tmp_path, "a.txt", content))) == [P1, P2]


def test_blank_runs_longer_than_the_paragraph_gap_separate_records(tmp_path: Path) -> None:
    content = f"\n\n标题一\n\n{P1}\n\n{P2}\n\n\n标题二\n\n{P3}\n\n{P4}\n\n\n\n"
    result = extract(write(tmp_path, "a.txt", content))
    assert titles(result) == ["标题一", "标题二"]
    assert texts(result) == [f"{P1}\n\n{P2}", f"{P3}\n\n{P4}"]


def test_two_blank_line_paragraph_gap_needs_three_to_separate(tmp_path: Path) -> None:
    content = f"{P1}\n\n\n{P2}\n\n\n{P3}\n\n\n\n{P4}\n\n\n{P1}\n"
    result = extract(write(tmp_path, "a.txt", content))
    assert titles(result) == [P1, P4]  # short first lines become titles
    assert texts(result) == [f"{P2}\n\n\n{P3}", P1]


def test_a_file_without_markers_or_long_gaps_is_one_record(tmp_path: Path) -> None:
    assert extract(write(tmp_path, "a.txt", f"{P1}\n{P2}\n\n{P3}\n")).kept.num_rows == 1


def test_blank_run_threshold_is_one_more_than_the_usual_gap() -> None:
    assert blank_run_threshold([1, 1, 1, 3]) == 2
    assert blank_run_threshold([2, 2, 4, 1]) == 3
    assert blank_run_threshold([1, 3, 1, 3]) == 2  # a tie takes the shorter gap
    assert blank_run_threshold([]) == float("inf")


def test_first_line_is_a_title_only_when_short_plain_and_followed_by_text() -> None:
    assert split_title(f"标题\n\n{P1}", 64) == ("标题", P1)
    assert split_title(f"{P1}\n{P2}", 20) == (None, f"{P1}\n{P2}")  # too long
    assert split_title(f"<p>标题</p>\n{P1}", 64) == (None, f"<p>标题</p>\n{P1}")  # markup
    assert split_title("只有一行", 64) == (None, "只有一行")  # nothing after it
    assert split_title(">>>  标题  \r\n\r\n正文\r\n第二段", 64) == ("标题", "正文\r\n第二段")


def test_title_max_chars_is_configurable(tmp_path: Path) -> None:
    path = write(tmp_path, "a.txt", f"一个十二个字的长标题啊啊\n{P1}\n")
    assert titles(extract(path, ExtractConfig(title_max_chars=12))) == ["一个十二个字的长标题啊啊"]
    assert titles(extract(path, ExtractConfig(title_max_chars=11))) == [None]


def test_crlf_files_split_and_keep_their_line_breaks(tmp_path: Path) -> None:
    content = f"标题一\r\n{P1}\r\n{P2}\r\n*\r\n标题二\r\n{P3}\r\n"
    result = extract(write(tmp_path, "a.txt", content))
    assert titles(result) == ["标题一", "标题二"]
    assert texts(result) == [f"{P1}\r\n{P2}", P3]


def test_split_txt_records_returns_exact_byte_ranges() -> None:
    data = f"\n{P1}\n*\n\n{P2}\n\n".encode()
    start = len(b"\n")
    second = data.index(P2.encode())
    assert split_txt_records(data, "utf-8") == [
        (start, start + len(P1.encode())),
        (second, second + len(P2.encode())),
    ]


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", "\u3000\n\r\n".encode(), b"\t"])
def test_empty_or_whitespace_only_file_yields_no_records(tmp_path: Path, content: bytes) -> None:
    result = extract(write(tmp_path, "a.txt", content))
    assert result.counts.input == 0


# --------------------------------------------------------------------------- .txt encodings


def test_gbk_file_is_decoded_and_encoding_recorded(tmp_path: Path) -> None:
    path = write(tmp_path, "gbk.txt", f"动物临时“奶爸”\n\n{P3}\n\n{P4}\n".encode("gbk"))
    row = extract(path).kept.to_pylist()[0]
    assert row["source_encoding"] == "gb18030"
    assert row["title"] == "动物临时“奶爸”"
    assert row["text"] == f"{P3}\n\n{P4}"


def test_big5_file_is_decoded_as_big5(tmp_path: Path) -> None:
    content = "他們，堅守一線戰風雨\n信陽位於豫鄂兩省交界處，疫情防控壓力不小。\n*\n守好社區，就是守住城市。\n"
    result = extract(write(tmp_path, "big5.txt", content.encode("big5")))
    assert titles(result) == ["他們，堅守一線戰風雨", None]
    assert texts(result) == [
        "信陽位於豫鄂兩省交界處，疫情防控壓力不小。",
        "守好社區，就是守住城市。",
    ]
    assert set(result.kept.column("source_encoding").to_pylist()) == {"big5"}


@pytest.mark.parametrize(
    ("bom", "codec", "expected"),
    [
        (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16"),
        (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32"),
        (codecs.BOM_UTF8, "utf-8", "utf-8-sig"),
    ],
)
def test_bom_files_split_with_exact_byte_offsets(
    tmp_path: Path, bom: bytes, codec: str, expected: str
) -> None:
    content = f">>>标题一\n{P1}😀\n=====NEXT NEWS=====\n>>>标题二\r\n{P2}\n"
    path = write(tmp_path, "a.txt", bom + content.encode(codec))
    result = extract(path)  # also checks every range hashes to its sha256
    assert titles(result) == ["标题一", "标题二"]
    assert texts(result) == [f"{P1}😀", P2]
    assert result.kept.column("source_offset").to_pylist()[0] == len(bom)
    assert set(result.kept.column("source_encoding").to_pylist()) == {expected}


def test_invalid_utf8_rejects_only_that_record(tmp_path: Path) -> None:
    bad = P2.encode()[:9] + b"\xff" + P2.encode()[9:]
    data = f"标题一\n{P1}\n*\n标题二\n".encode() + bad + f"\n*\n标题三\n{P3}\n".encode()
    path = write(tmp_path, "a.txt", data)
    result = extract(path)
    assert titles(result) == ["标题一", "标题三"]
    rejection = only_rejection(result)
    assert rejection["reason"] == "decode_error"
    assert rejection["source_record"] == 1
    bad_offset = data.index(b"\xff")
    assert f"at byte offset {bad_offset:,}" in rejection["detail"]
    assert "0xff" in rejection["detail"]
    assert "\ufffd" in rejection["text"]  # the raw text, readable, for a person to inspect


def test_binary_file_is_one_decode_error(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    rejection = only_rejection(extract(write(tmp_path, "image.txt", png)))
    assert rejection["reason"] == "decode_error"
    assert rejection["source_record"] == 0
    assert "binary data" in rejection["detail"]
    assert rejection["source_encoding"] == "unknown"


def test_file_over_max_file_bytes_is_rejected_whole(tmp_path: Path) -> None:
    path = write(tmp_path, "big.txt", f"{P1}\n*\n".encode() * 40)
    result = extract(path, ExtractConfig(max_file_bytes=1024))
    rejection = only_rejection(result)
    assert rejection["reason"] == "too_large"
    assert rejection["source_record"] == 0
    assert f"{path.stat().st_size:,} bytes, over max_file_bytes = 1,024" in rejection["detail"]


def test_record_over_max_record_bytes_is_too_large(tmp_path: Path) -> None:
    long_record = "长文\n" + P1 * 20
    path = write(tmp_path, "a.txt", f"{long_record}\n*\n标题\n{P2}\n")
    result = extract(path, ExtractConfig(max_record_bytes=1024))
    assert titles(result) == ["标题"]
    rejection = only_rejection(result)
    assert rejection["reason"] == "too_large"
    assert rejection["source_record"] == 0
    assert "over max_record_bytes = 1,024" in rejection["detail"]


# --------------------------------------------------------------------------- .html


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
    page = page.replace(b"<body>", b"<body>\xff\xff\xff")  # invalid in UTF-8, GB18030 and Big5
    rejection = only_rejection(extract(write(tmp_path, "page.html", page)))
    assert rejection["reason"] == "decode_error"
    assert (
        f"whole file: invalid utf-8 byte(s) 0xff at byte offset {page.index(b'<body>') + 6}"
        in (rejection["detail"])
    )


def test_html_over_max_record_bytes_is_too_large(tmp_path: Path) -> None:
    page = HTML_PAGE.format(charset="utf-8", body=P1 * 30)
    rejection = only_rejection(
        extract(write(tmp_path, "page.html", page), ExtractConfig(max_record_bytes=1024))
    )
    assert rejection["reason"] == "too_large"
    assert "max_record_bytes" in rejection["detail"]


# --------------------------------------------------------------------------- .jsonl


def jsonl(*lines: object) -> str:
    return "".join(
        (line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n"
        for line in lines
    )


def test_jsonl_records_keep_line_numbers_ids_and_titles(tmp_path: Path) -> None:
    content = jsonl({"id": 17, "title": "标题一", "text": P1}, "", {"id": "b-2", "text": P2})
    result = extract(write(tmp_path, "a.jsonl", content))
    rows = result.kept.to_pylist()
    assert [row["source_record"] for row in rows] == [0, 2]  # the blank line is not a record
    assert [row["source_id"] for row in rows] == ["17", "b-2"]
    assert [row["title"] for row in rows] == ["标题一", None]
    assert [row["text"] for row in rows] == [P1, P2]
    assert rows[1]["source_offset"] == content.encode().index(b'{"id": "b-2"')
    assert result.counts.input == 2


def test_jsonl_html_field_gives_is_html(tmp_path: Path) -> None:
    content = jsonl({"html": f"<p>{P1}</p>"}, {"text": P2, "html": "<p>ignored</p>"})
    result = extract(write(tmp_path, "a.jsonl", content))
    assert result.kept.column("is_html").to_pylist() == [True, False]
    assert texts(result) == [f"<p>{P1}</p>", P2]


def test_jsonl_custom_field_names(tmp_path: Path) -> None:
    cfg = ExtractConfig(text_field="content", id_field="uuid", title_field="headline")
    content = jsonl({"uuid": "x1", "headline": "标题", "content": P1})
    row = extract(write(tmp_path, "a.jsonl", content), cfg).kept.to_pylist()[0]
    assert (row["source_id"], row["title"], row["text"]) == ("x1", "标题", P1)


def test_bad_jsonl_lines_are_rejected_one_by_one(tmp_path: Path) -> None:
    content = jsonl(
        {"text": P1},
        '{"text": "unterminated',
        [1, 2],
        {"body": P2},
        {"text": 42},
        {"text": None},
        {"text": P3},
    )
    result = extract(write(tmp_path, "a.jsonl", content))
    assert texts(result) == [P1, P3]
    details = result.rejected.column("detail").to_pylist()
    assert set(result.rejected.column("reason").to_pylist()) == {"parse_error"}
    assert result.rejected.column("source_record").to_pylist() == [1, 2, 3, 4, 5]
    assert "malformed JSON" in details[0] and details[0].startswith("line 2 ")
    assert "expected a JSON object, got list" in details[1]
    assert "no 'text' or 'html' field (fields: 'body')" in details[2]
    assert "field 'text' is int, expected a string" in details[3]
    assert "field 'text' is null" in details[4]


def test_jsonl_unpaired_surrogate_is_a_parse_error(tmp_path: Path) -> None:
    content = '{"text": "疫情\\ud800防控"}\n' + jsonl({"text": P1})
    result = extract(write(tmp_path, "a.jsonl", content))
    assert texts(result) == [P1]
    assert "unpaired surrogate" in only_rejection(result)["detail"]


def test_jsonl_invalid_utf8_line_is_a_decode_error(tmp_path: Path) -> None:
    data = jsonl({"text": P1}).encode() + b'{"text": "\xff\xfe"}\n' + jsonl({"text": P2}).encode()
    result = extract(write(tmp_path, "a.jsonl", data))
    assert texts(result) == [P1, P2]
    rejection = only_rejection(result)
    assert rejection["reason"] == "decode_error"
    bad_offset = data.index(b"\xff")
    assert f"at byte offset {bad_offset:,}" in rejection["detail"]


def test_jsonl_line_over_max_record_bytes_is_too_large(tmp_path: Path) -> None:
    content = jsonl({"text": P1 * 40}, {"text": P2})
    result = extract(write(tmp_path, "a.jsonl", content), ExtractConfig(max_record_bytes=1024))
    assert texts(result) == [P2]
    rejection = only_rejection(result)
    assert rejection["reason"] == "too_large"
    assert rejection["source_length"] == len(content.encode().split(b"\n")[0])


def test_jsonl_gz_offsets_are_in_the_decompressed_stream(tmp_path: Path) -> None:
    content = jsonl({"id": 1, "text": P1}, {"id": 2, "text": P2})
    result = extract(write(tmp_path, "a.jsonl.gz", gzip.compress(content.encode())))
    assert texts(result) == [P1, P2]
    assert result.kept.column("source_offset").to_pylist() == [
        0,
        content.encode().index(b'{"id": 2'),
    ]
    assert set(result.kept.column("source_format").to_pylist()) == {"jsonl.gz"}


def test_multi_member_jsonl_gz_is_read_to_the_end(tmp_path: Path) -> None:
    data = gzip.compress(jsonl({"text": P1}).encode()) + gzip.compress(jsonl({"text": P2}).encode())
    assert texts(extract(write(tmp_path, "a.jsonl.gz", data))) == [P1, P2]


def test_truncated_jsonl_gz_keeps_complete_lines(tmp_path: Path) -> None:
    rng = random.Random(3)
    lines = [
        {"id": i, "text": P1 + "".join(rng.choice(P2) for _ in range(200))} for i in range(300)
    ]
    content = jsonl(*lines).encode()
    compressed = gzip.compress(content)
    path = write(tmp_path, "a.jsonl.gz", compressed[: len(compressed) * 2 // 3])
    result = extract(path)
    kept = result.kept.num_rows
    assert 50 < kept < 300
    assert result.kept.column("source_id").to_pylist() == [str(i) for i in range(kept)]
    rejection = only_rejection(result)
    assert rejection["reason"] == "parse_error"
    assert rejection["source_record"] == kept
    assert "gzip stream ended early" in rejection["detail"]
    assert rejection["source_offset"] == sum(len(line) + 1 for line in content.split(b"\n")[:kept])


def test_data_that_is_not_gzip_is_a_parse_error(tmp_path: Path) -> None:
    result = extract(write(tmp_path, "a.jsonl.gz", jsonl({"text": P1})))
    assert result.kept.num_rows == 0
    rejection = only_rejection(result)
    assert rejection["reason"] == "parse_error"
    assert "gzip data is corrupt" in rejection["detail"]


# --------------------------------------------------------------------------- .parquet


def write_parquet(tmp_path: Path, columns: dict[str, pa.Array | list[object]]) -> Path:
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table(columns), path)
    return path


def test_parquet_rows_become_records(tmp_path: Path) -> None:
    path = write_parquet(tmp_path, {"id": [7, 8], "title": ["标题一", None], "text": [P1, P2]})
    rows = extract(path).kept.to_pylist()
    assert [row["text"] for row in rows] == [P1, P2]
    assert [row["source_id"] for row in rows] == ["7", "8"]
    assert [row["title"] for row in rows] == ["标题一", None]
    assert [row["source_record"] for row in rows] == [0, 1]
    assert rows[0]["source_offset"] is None and rows[0]["source_length"] is None
    assert rows[0]["source_sha256"] == hashlib.sha256(P1.encode()).hexdigest()
    assert rows[0]["source_encoding"] == "utf-8"


def test_parquet_html_column_gives_is_html(tmp_path: Path) -> None:
    path = write_parquet(tmp_path, {"html": [f"<p>{P1}</p>"]})
    assert extract(path).kept.column("is_html").to_pylist() == [True]


def test_parquet_null_text_row_is_a_parse_error(tmp_path: Path) -> None:
    path = write_parquet(tmp_path, {"text": [P1, None, P3]})
    result = extract(path)
    assert texts(result) == [P1, P3]
    rejection = only_rejection(result)
    assert (rejection["reason"], rejection["source_record"]) == ("parse_error", 1)
    assert rejection["detail"] == "row 1: field 'text' is null"


def test_parquet_without_text_or_html_column_is_rejected_whole(tmp_path: Path) -> None:
    path = write_parquet(tmp_path, {"id": [1], "body": [P1]})
    rejection = only_rejection(extract(path))
    assert rejection["reason"] == "parse_error"
    assert "columns: 'id', 'body'" in rejection["detail"]


def test_file_that_is_not_parquet_is_rejected_whole(tmp_path: Path) -> None:
    rejection = only_rejection(extract(write(tmp_path, "a.parquet", P1)))
    assert rejection["reason"] == "parse_error"
    assert "cannot read it as Parquet" in rejection["detail"]


def test_truncated_parquet_is_rejected_not_raised(tmp_path: Path) -> None:
    path = write_parquet(tmp_path, {"text": [P1] * 100})
    path.write_bytes(path.read_bytes()[:-100])
    assert only_rejection(extract(path))["reason"] == "parse_error"


# --------------------------------------------------------------------------- formats, robustness


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.txt", "txt"),
        ("a.TXT", "txt"),
        ("a.html", "html"),
        ("a.htm", "html"),
        ("a.jsonl", "jsonl"),
        ("a.jsonl.gz", "jsonl.gz"),
        ("a.parquet", "parquet"),
        ("a.json", None),
        ("a.txt.gz", None),
    ],
)
def test_source_format_comes_from_the_suffix(name: str, fmt: str | None) -> None:
    assert source_format_of(Path(name)) == fmt


def test_supported_suffixes_all_have_a_format() -> None:
    assert all(source_format_of(Path(f"x{suffix}")) for suffix in SUPPORTED_SUFFIXES)


def test_unsupported_suffix_is_a_caller_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unsupported input format"):
        extract_file(write(tmp_path, "a.csv", "x"), tmp_path, CFG)


def test_missing_file_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        extract_file(tmp_path / "missing.txt", tmp_path, CFG)


def nasty_blobs() -> list[bytes]:
    rng = random.Random(11)
    blobs = [
        b"\xff" * 10,
        b"***\n>>>\n>>>\n=\n",
        b"\r\r\r\n\n>>>",
        "疫情".encode()[:4],
        b'{"text": [' * 5000,
        b"\x1f\x8b\x08\x00" + bytes(40),
        b"PAR1\x00\x00PAR1",
    ]
    blobs += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000))) for _ in range(12)]
    blobs += [
        bytes(rng.choice(b'\n\r *=>{}"tx:\xe7\x96\xab') for _ in range(500)) for _ in range(8)
    ]
    return blobs


@pytest.mark.parametrize("suffix", SUPPORTED_SUFFIXES)
def test_arbitrary_bytes_are_rejected_never_raised(tmp_path: Path, suffix: str) -> None:
    for i, blob in enumerate(nasty_blobs()):
        extract(write(tmp_path, f"blob{i}{suffix}", blob))
