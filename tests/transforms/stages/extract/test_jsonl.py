"""Extract from JSON Lines: fields, bad lines rejected one by one, .jsonl.gz streams and damage."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

from tests.transforms.stages.extract.extract_support import (
    P1,
    P2,
    P3,
    extract,
    only_rejection,
    texts,
    write,
)
from transforms.config import ExtractConfig


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
    assert result.counts["extract"].input == 2


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


def test_jsonl_date_author_and_source_fields_are_carried_for_the_news_stage(tmp_path: Path) -> None:
    content = jsonl(
        {"text": P1, "date": "2020-03-24T08:00:00+08:00", "author": "谭元斌", "source": "新华网"},
        {"text": P2, "date": 20200324},
        {"text": P3, "published": "2020/3/25", "by": "周洪", "site": "央广网"},
    )
    rows = extract(write(tmp_path, "a.jsonl", content)).kept.to_pylist()
    given = [(r["given_date"], r["given_author"], r["given_source"]) for r in rows]
    assert given[:2] == [
        ("2020-03-24T08:00:00+08:00", "谭元斌", "新华网"),
        ("20200324", None, None),
    ]
    assert given[2] == (None, None, None)  # other names: not read unless configured
    cfg = ExtractConfig(date_field="published", author_field="by", source_field="site")
    row = extract(write(tmp_path, "b.jsonl", content), cfg).kept.to_pylist()[2]
    assert (row["given_date"], row["given_author"], row["given_source"]) == (
        "2020/3/25",
        "周洪",
        "央广网",
    )


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
    assert details[0].startswith("line 2 ")
    assert details[0].endswith("malformed JSON: Unterminated string starting at column 10")
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


def test_jsonl_line_with_one_bad_byte_in_a_long_text_is_kept(tmp_path: Path) -> None:
    line = jsonl({"text": P1 * 4}).encode().replace("社区".encode(), b"\xff", 1)
    result = extract(write(tmp_path, "a.jsonl", line))
    [row] = result.kept.to_pylist()
    assert row["text"].count("\ufffd") == 1 and row["source_invalid_bytes"] == 1


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


def test_a_huge_jsonl_line_is_streamed_past_in_bounded_memory(tmp_path: Path) -> None:
    """A 24 MiB line costs about max_record_bytes plus a read chunk, not its size."""
    import tracemalloc

    block = P1.encode() * 64
    path = tmp_path / "huge.jsonl"
    with path.open("wb") as out:
        out.write(jsonl({"text": P2}).encode())
        out.write(b'{"text": "' + block * (24 * 2**20 // len(block)) + b'"}\n')
        out.write(jsonl({"text": P3}).encode())
    from transforms.stages.extract import extract_file

    tracemalloc.start()
    try:
        result = extract_file(path, tmp_path, ExtractConfig(max_record_bytes=2**20))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert texts(result) == [P2, P3]
    assert only_rejection(result)["reason"] == "too_large"
    assert peak < 6 * 2**20, f"peak {peak / 2**20:.1f} MiB"
