"""Tiny real working batches for stage tests, and one stage run the way the pipeline runs it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pyarrow as pa

from transforms.pipeline import STAGES
from transforms.schema import RECORD_SCHEMA, table_from_rows
from transforms.stage import StagesRun, run_stages


def records(texts: list[str], **columns: list[Any]) -> pa.Table:
    """RECORD_SCHEMA rows ``d0``, ``d1``, ... of ``a.txt`` with these texts (and columns)."""
    rows = [
        {
            "doc_id": f"d{i}",
            "text": text,
            "is_html": False,
            "source_uri": "file:///a.txt",
            "source_path": "a.txt",
            "source_record": i,
            "source_sha256": "0" * 64,
            "source_format": "txt",
            "source_encoding": "utf-8",
            **{name: values[i] for name, values in columns.items()},
        }
        for i, text in enumerate(texts)
    ]
    return table_from_rows(rows, RECORD_SCHEMA)


def run_stage(name: str, batch: pa.Table, cfg: Any) -> StagesRun:
    """The pipeline's stage ``name`` over ``batch`` with its config section ``cfg``, counted."""
    stage = next(s for s in STAGES if s.name == name)
    return run_stages([stage], batch, SimpleNamespace(**{name: cfg}))
