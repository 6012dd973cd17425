"""Extract from .txt dumps: the seed dumps, record splitting, titles, encodings and bad records."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.transforms.stages.extract.extract_support import (
    P1,
    P2,
    P3,
    P4,
    SAMPLE,
    extract,
    only_rejection,
    seed,
    texts,
    titles,
    write,
)
from transforms.config import ExtractConfig
from transforms.stages.extract import extract_file
from transforms.stages.extract.txt import (
    LineKind,
    blank_run_threshold,
    classify_line,
    index_lines,
    split_title,
    split_txt_records,
)

# --------------------------------------------------------------------------- the seeds


@pytest.mark.parametrize(
    ("prefix", "records"), [("000", 2), ("001", 6), ("002", 7), ("003", 3), ("004", 1)]
)
def test_seed_dump_gives_its_known_number_of_records(prefix: str, records: int) -> None:
    result = extract(seed(prefix))
    assert result.kept.num_rows == records
    assert result.rejected.num_rows == 0
    assert set(result.kept.column("source_encoding").to_pylist()) == {"utf-8"}


def test_the_five_seeds_give_19_records() -> None:
    assert sum(extract(path).counts["extract"].kept for path in SAMPLE.glob("*.txt")) == 19


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


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (b"", "whole file: empty (0 bytes)"),
        (b"\n\n  \n", "whole file: only whitespace (5 bytes), no text"),
        ("\u3000\n\r\n".encode(), "whole file: only whitespace (6 bytes), no text"),
        (b"\t", "whole file: only whitespace (1 bytes), no text"),
        (b"*****\n\n=====NEXT NEWS=====\n", "whole file: no records, only separator lines"),
    ],
)
def test_file_without_records_is_one_empty_rejection(
    tmp_path: Path, content: bytes, detail: str
) -> None:
    result = extract(write(tmp_path, "a.txt", content))
    assert result.kept.num_rows == 0
    rejection = only_rejection(result)
    assert (rejection["reason"], rejection["source_record"]) == ("empty", 0)
    assert rejection["detail"].startswith(detail)
    assert (rejection["source_offset"], rejection["source_length"]) == (0, len(content))


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


def test_a_long_article_with_three_bad_bytes_is_kept_with_replacement_characters(
    tmp_path: Path,
) -> None:
    """A multibyte character cut in two, and a stray byte: the article stays, marked."""
    article = "".join(P1 + P2 + P4 for _ in range(40))[:4900]
    raw = article.encode()
    middle = len(raw) // 2 - len(raw) // 2 % 3  # a character boundary
    damaged = raw[:middle] + "疫".encode()[:2] + b"\xff" + raw[middle:]
    data = f"标题一\n{P1}\n*\n标题二\n".encode() + damaged + f"\n*\n标题三\n{P3}\n".encode()
    result = extract(write(tmp_path, "a.txt", data))
    assert titles(result) == ["标题一", "标题二", "标题三"]
    assert result.rejected.num_rows == 0
    kept = result.kept.to_pylist()[1]
    assert kept["text"] == article[: middle // 3] + "\ufffd" * 3 + article[middle // 3 :]
    assert kept["source_invalid_bytes"] == 3
    assert [r["source_invalid_bytes"] for r in result.kept.to_pylist()] == [0, 3, 0]
    extra = result.counts["extract"].extra
    assert (extra["records_with_invalid_bytes"], extra["invalid_bytes"]) == (1, 3)
    assert kept["source_length"] == len("标题二\n".encode()) + len(damaged)  # raw, as it is


def test_a_record_in_another_encoding_is_rejected_alone(tmp_path: Path) -> None:
    """A GBK record in a UTF-8 dump: most of its bytes are invalid UTF-8."""
    bad = P2.encode("gbk")
    data = f"标题一\n{P1}\n*\n标题二\n".encode() + bad + f"\n*\n标题三\n{P3}\n".encode()
    path = write(tmp_path, "a.txt", data)
    result = extract(path)
    assert titles(result) == ["标题一", "标题三"]
    rejection = only_rejection(result)
    assert rejection["reason"] == "decode_error"
    assert rejection["source_record"] == 1
    first_bad = data.index(bad)
    assert (
        f"0x{bad[:2].hex()}" in rejection["detail"] or f"0x{bad[:1].hex()}" in rejection["detail"]
    )
    assert f"at byte offset {first_bad:,}" in rejection["detail"]
    assert "are not valid utf-8, over extract.max_invalid_byte_share = 0.5%" in rejection["detail"]
    assert rejection["source_invalid_bytes"] > len(bad) // 3
    assert "\ufffd" in rejection["text"]  # the raw text, readable, for a person to inspect


def test_the_share_of_invalid_bytes_that_rejects_a_record_is_a_setting(tmp_path: Path) -> None:
    damaged = (P2 * 3).encode()[:9] + b"\xff" + (P2 * 3).encode()[9:]  # 1 of 355 bytes
    path = write(tmp_path, "a.txt", damaged)
    assert extract(path).kept.num_rows == 1
    strict = extract(path, ExtractConfig(max_invalid_byte_share=0.0))
    assert only_rejection(strict)["reason"] == "decode_error"


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


# --------------------------------------------------------------------------- dirty bytes, long lines, memory


def test_nul_padding_and_stray_control_characters_keep_the_records(tmp_path: Path) -> None:
    """A dump with control characters in a record and a crashed writer's NUL padding is still read."""
    dirty = P2[:10] + "\x00\x07\x1b[31m" + P2[10:] + "\x7f"
    data = f"标题一\n{P1}\n*\n标题二\n{dirty}\n*\n".encode() + b"\x00" * 8192
    result = extract(write(tmp_path, "a.txt", data))
    assert titles(result)[:2] == ["标题一", "标题二"]
    assert texts(result)[1] == dirty  # cleaned by normalize, later
    assert texts(result)[2] == "\x00" * 8192  # the padding: "no text left" for the filter stage
    assert result.rejected.num_rows == 0
    assert set(result.kept.column("source_encoding").to_pylist()) == {"utf-8"}


LINE_PIECES = st.sampled_from(["*", "=", " ", "\u3000", ">", "NEXT", "NEWS", "新闻", "a", "\t"])


@settings(max_examples=60, deadline=None)
@given(
    pieces=st.lists(LINE_PIECES, min_size=1, max_size=8),
    repeat=st.sampled_from([1, 1500, 2100]),  # short, and past LONG_LINE_BYTES in UTF-8
    lead=st.sampled_from(["", " " * 5000, "\u3000" * 1400, "*" * 4095]),
)
def test_long_lines_are_classified_as_short_ones_are(pieces, repeat, lead) -> None:
    """Only the first bytes of a long line are decoded when they settle its kind; the kind is the same."""
    line = lead + "".join(pieces) * repeat
    data = f"{P1}\n{line}\n{P2}\n".encode()
    assert index_lines(data, "utf-8").kinds == [
        LineKind.TEXT,
        classify_line(line),
        LineKind.TEXT,
    ]


def test_long_marker_lines_still_split_records(tmp_path: Path) -> None:
    stars, banner = "*" * 10_000, "=" * 5000 + "NEXT NEWS" + "=" * 5000
    data = f">>>{'长' * 3000}\n{P1}\n{stars}\n{P2}\n{banner}\n{P3}\n".encode()
    result = extract(write(tmp_path, "a.txt", data))
    assert texts(result) == [P1, P2, P3]
    assert titles(result)[0] == "长" * 3000


def test_a_huge_record_is_hashed_in_place_and_refused_without_a_copy(tmp_path: Path) -> None:
    """Peak memory of extracting a 24 MiB one-record dump stays near the file's own size."""
    import tracemalloc

    block = (P1 + P2).encode()
    path = write(
        tmp_path, "huge.txt", f"标题\n{P3}\n*\n".encode() + block * (24 * 2**20 // len(block))
    )
    size = path.stat().st_size
    tracemalloc.start()
    try:
        result = extract_file(path, tmp_path, ExtractConfig(max_record_bytes=2**20))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert texts(result) == [P3]
    assert only_rejection(result)["reason"] == "too_large"
    assert peak < size * 1.2, f"peak {peak / 2**20:.0f} MiB for a {size / 2**20:.0f} MiB file"
