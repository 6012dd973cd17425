"""A small zhclean dataset written directly (no pipeline run), for release tests.

``Dataset`` holds the rows of ``data/`` and ``rejected/`` as plain dicts so a
test can change them (drop, add, reject documents) and write the folder again,
as a later run would.  Stats, the run history (``runs/*.json``) and the input
manifest (``inputs.parquet``) are written from the same rows.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from transforms.config import PipelineConfig, WriteConfig
from transforms.pipeline import STAGE_NAMES
from transforms.schema import KEPT_SCHEMA, REJECTED_SCHEMA, table_from_rows
from transforms.storage import write_parts

T0 = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
HAN = "中文数据清洗流水线去重发布版本新闻报道今天天气很好我们在北京上海广州深圳"

# (source_path, format, documents): one folder source, a top-level file, and a
# folder with a Chinese name (which the plots' font may not be able to draw).
SOURCES = [
    ("news/a.jsonl", "jsonl", 14),
    ("news/b.jsonl", "jsonl", 8),
    ("blog.txt", "txt", 12),
    ("新闻/c.txt", "txt", 6),
]


def doc_id(path: str, record: int) -> str:
    return hashlib.sha256(f"{path}#{record}".encode()).hexdigest()[:24]


def text_of(path: str, record: int, n_chars: int) -> str:
    state = int(hashlib.sha256(f"{path}#{record}".encode()).hexdigest()[:8], 16)
    chars = []
    for _ in range(n_chars):
        state = (state * 1103515245 + 12345) % 2**31
        chars.append(HAN[state % len(HAN)])
    return "".join(chars)


def kept_row(path: str, fmt: str, record: int, run_id: str, **extra: Any) -> dict[str, Any]:
    n_chars = 120 + (record * 97 + len(path) * 31) % 3000
    text = text_of(path, record, n_chars)
    row = {
        "doc_id": doc_id(path, record),
        "title": f"title {record}" if record % 3 else None,
        "text": text,
        "sentences": [text[: n_chars // 2], text[n_chars // 2 :]],
        "words": None,
        "n_chars": n_chars,
        "n_paragraphs": 1,
        "n_sentences": 2,
        "html_stripped": record % 5 == 0,
        "source_uri": f"file:///corpus/{path}",
        "source_path": path,
        "source_record": record,
        "source_offset": record * 1000,
        "source_length": n_chars * 3,
        "source_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "source_id": None,
        "source_format": fmt,
        "source_encoding": "utf-8",
        "run_id": run_id,
        "pipeline_version": "0.1.0",
        "config_hash": "cafef00dcafef00d",
        "processed_at": T0,
        "dup_cluster_id": doc_id(path, record),
        "dup_cluster_size": 1,
        **news_columns(path, record),
    }
    row.update(extra)
    return row


def news_columns(path: str, record: int) -> dict[str, Any]:
    """News from news/ only: every other one with a dateline, agencies and places in turn."""
    dated = path.startswith("news/") and record % 2 == 0
    agency = ("新华社", "本报", "中新社")[record % 3] if path.startswith("news/") else None
    place = ("北京", "武汉")[record % 4 // 2] if dated else None
    return {
        "dateline": f"{agency}{place}1月{record % 28 + 1}日电" if dated else None,
        "news_agency": agency,
        "news_place": place,
        "news_date": f"--01-{record % 28 + 1:02d}" if dated else None,
        "reporters": [],
        "editors": [],
        "captions": [],
        "boilerplate": [],
    }


def rejected_row(
    kept: dict[str, Any], reason: str, stage: str, duplicate_of: str | None = None
) -> dict[str, Any]:
    row = {k: v for k, v in kept.items() if k in REJECTED_SCHEMA.names}
    row.update(
        reason=reason,
        stage=stage,
        detail=f"{reason} example for {kept['doc_id'][:8]}",
        duplicate_of=duplicate_of,
        similarity=(1.0 if reason == "exact_duplicate" else 0.9) if duplicate_of else None,
    )
    return row


@dataclass
class Dataset:
    root: Path
    kept: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    config: PipelineConfig = field(default_factory=PipelineConfig)

    @property
    def kept_ids(self) -> set[str]:
        return {r["doc_id"] for r in self.kept}

    def stats_for(self, run_id: str, started: datetime) -> dict[str, Any]:
        kept = [r for r in self.kept if r["run_id"] == run_id]
        rejected = [r for r in self.rejected if r["run_id"] == run_id]
        by_reason: dict[str, int] = {}
        stages: dict[str, dict[str, Any]] = {}
        for name in STAGE_NAMES:
            stages[name] = {"input": 0, "kept": 0, "rejected": {}, "seconds": 0.01}
        for r in rejected:
            by_reason[r["reason"]] = by_reason.get(r["reason"], 0) + 1
            counts = stages[r["stage"]]["rejected"]
            counts[r["reason"]] = counts.get(r["reason"], 0) + 1
        remaining = len(kept) + len(rejected)
        for counts in stages.values():
            counts["input"] = remaining
            remaining -= sum(counts["rejected"].values())
            counts["kept"] = remaining
        return {
            "run_id": run_id,
            "pipeline_version": "0.1.0",
            "config_hash": "cafef00dcafef00d",
            "started_at": started.isoformat(),
            "finished_at": (started + timedelta(seconds=5)).isoformat(),
            "seconds": 5.0,
            "inputs": {
                "files": len({r["source_path"] for r in kept + rejected}),
                "bytes": 1000,
                "shards": 1,
            },
            "documents": {
                "extracted": len(kept) + len(rejected),
                "kept": len(kept),
                "rejected": len(rejected),
                "balanced": True,
            },
            "rejected_by_reason": dict(sorted(by_reason.items())),
            "stages": stages,
            "skipped_inputs": [],
            "failed_shards": [],
            "resumed_shards": 0,
            "config": self.config.model_dump(mode="json"),
        }

    def write(self, history: bool = False, inputs: bool = False, files_cfg=None) -> Path:
        """Write data/, rejected/, stats.json (the last run), and optionally runs/ and inputs."""
        cfg = files_cfg or WriteConfig(max_rows_per_file=15, row_group_rows=5)
        for name, rows, schema in (
            ("data", self.kept, KEPT_SCHEMA),
            ("rejected", self.rejected, REJECTED_SCHEMA),
        ):
            shutil.rmtree(self.root / name, ignore_errors=True)
            (self.root / name).mkdir(parents=True)
            write_parts(table_from_rows(rows, schema), self.root / name, "part-x", cfg)
        run_ids = list(dict.fromkeys(r["run_id"] for r in self.kept + self.rejected)) or ["run-1"]
        self.runs = [
            self.stats_for(run_id, T0 + timedelta(days=i)) for i, run_id in enumerate(run_ids)
        ]
        (self.root / "stats.json").write_text(json.dumps(self.runs[-1], ensure_ascii=False))
        if history:
            (self.root / "runs").mkdir(exist_ok=True)
            for run in self.runs:
                path = self.root / "runs" / f"{run['started_at'][:10]}-{run['run_id']}.json"
                path.write_text(json.dumps(run, ensure_ascii=False))
        if inputs:
            paths = sorted({r["source_path"] for r in self.kept + self.rejected})
            table = pa.table(
                {
                    "path": paths,
                    "size": [1000 + i for i in range(len(paths))],
                    "mtime": [T0] * len(paths),
                    "sha256": [hashlib.sha256(p.encode()).hexdigest() for p in paths],
                }
            )
            pq.write_table(table, self.root / "inputs.parquet")
        return self.root


def build_dataset(root: Path, run_id: str = "run-1") -> Dataset:
    """40 kept documents from 4 files and 9 rejected ones (extract, filter and dedup)."""
    dataset = Dataset(root)
    rows_by_path: dict[str, list[dict[str, Any]]] = {}
    for path, fmt, count in SOURCES:
        rows_by_path[path] = [kept_row(path, fmt, i, run_id) for i in range(count)]
        dataset.kept += rows_by_path[path]
    a, blog = rows_by_path["news/a.jsonl"], rows_by_path["blog.txt"]
    # Rejected records take record numbers after the kept ones of their file.
    extra = [kept_row("news/a.jsonl", "jsonl", 100 + i, run_id) for i in range(9)]
    dataset.rejected += [
        rejected_row(extra[0], "decode_error", "extract"),
        rejected_row(extra[1], "too_short", "quality"),
        rejected_row(extra[2], "too_short", "quality"),
        rejected_row(extra[3], "low_chinese_ratio", "quality"),
        rejected_row(extra[4], "exact_duplicate", "dedup", a[0]["doc_id"]),
        rejected_row(extra[5], "near_duplicate", "dedup", a[0]["doc_id"]),
        rejected_row(extra[6], "near_duplicate", "dedup", a[0]["doc_id"]),
        rejected_row(extra[7], "exact_duplicate", "dedup", blog[1]["doc_id"]),
        rejected_row(extra[8], "near_duplicate", "dedup", a[3]["doc_id"]),
    ]
    for keeper, size in ((a[0], 4), (blog[1], 2), (a[3], 2)):
        keeper["dup_cluster_size"] = size
    return dataset
