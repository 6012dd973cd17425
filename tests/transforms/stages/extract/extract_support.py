"""Shared by the extract tests: tiny Chinese inputs, writers, and the invariants every result keeps."""

from __future__ import annotations

import hashlib
import zlib
from pathlib import Path

import pyarrow as pa

from tests.paths import SAMPLE
from tests.transforms.stage_support import run_stage
from transforms.config import ExtractConfig
from transforms.schema import INPUT_FILE_SCHEMA, RECORD_SCHEMA, REJECTION_REASONS
from transforms.stage import STAGE_FIELD, StagesRun

CFG = ExtractConfig()

P1 = "习近平总书记指出，社区是疫情防控的第一线，也是外防输入、内防扩散最有效的防线。"
P2 = "城镇街角，乡间小路，不分白天黑夜，不惧风寒雨雪，到处都有他们辛勤值守的身影。"
P3 = "3月24日，在武汉默东动物医院(光谷分院)，高进东给狗喂食。"
P4 = "新冠肺炎疫情发生后，武汉不少家庭养的小宠物无法和它们的主人团聚。"


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


def extract(path: Path, cfg: ExtractConfig = CFG, root: Path | None = None) -> StagesRun:
    """The extract stage over one file, plus the invariants every result must keep."""
    files = pa.Table.from_pylist(
        [{"path": str(path), "root": str(root or path.parent), "known_doc_ids": []}],
        schema=INPUT_FILE_SCHEMA,
    )
    result = run_stage("extract", files, cfg)
    assert_consistent(result, path)
    return result


def assert_consistent(result: StagesRun, path: Path) -> None:
    counts = result.counts["extract"]
    assert result.kept.num_rows + result.rejected.num_rows == counts.input
    assert counts.kept == result.kept.num_rows
    assert result.kept.schema == RECORD_SCHEMA
    assert result.rejected.schema.field("stage") == STAGE_FIELD
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


def titles(result: StagesRun) -> list[str | None]:
    return result.kept.column("title").to_pylist()


def texts(result: StagesRun) -> list[str]:
    return result.kept.column("text").to_pylist()


def only_rejection(result: StagesRun) -> dict[str, object]:
    assert result.rejected.num_rows == 1
    return result.rejected.to_pylist()[0]


def seed(prefix: str) -> Path:
    (path,) = SAMPLE.glob(f"{prefix}_*.txt")
    return path
