"""Extract from .parquet files: rows become records, bad rows and unreadable files are rejected."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.transforms.stages.extract.extract_support import (
    P1,
    P2,
    P3,
    extract,
    only_rejection,
    texts,
    write,
)


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


def test_parquet_date_author_and_source_columns_are_carried(tmp_path: Path) -> None:
    columns = {"text": [P1, P2], "date": ["2020-03-24", None], "author": ["谭元斌", None]}
    rows = extract(write_parquet(tmp_path, columns)).kept.to_pylist()
    assert [(r["given_date"], r["given_author"], r["given_source"]) for r in rows] == [
        ("2020-03-24", "谭元斌", None),
        (None, None, None),
    ]


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
