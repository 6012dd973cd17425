"""Stage ``write``: a shard's kept documents and rejected records as Parquet part files.

The last stage, a sink: it takes the kept documents (every column of
``KEPT_SCHEMA`` but the run lineage) and every record the shard's stages
rejected, adds the run lineage (``run_id``, ...) and writes them under
``target.folder``: ``data/part-<stem>-NNNNN.parquet`` and
``rejected/part-<stem>-NNNNN.parquet``, at most ``cfg.max_rows_per_file`` rows
a file, each file renamed into place when complete (``transforms.storage``).
It rejects nothing; ``extra`` counts the files written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from transforms.config import WriteConfig
from transforms.schema import KEPT_SCHEMA, REJECTED_SCHEMA, with_lineage
from transforms.stage import StageOutput
from transforms.storage import write_parts


@dataclass(frozen=True)
class WriteTarget:
    """Where a shard's parts go and the lineage of the run that writes them."""

    folder: Path  # holds data/ and rejected/
    stem: str  # part files are named part-<stem>-NNNNN.parquet
    lineage: Mapping[str, Any]  # LINEAGE_FIELDS values


def write_shard(
    kept: pa.Table, rejected: pa.Table, cfg: WriteConfig, target: WriteTarget
) -> StageOutput:
    """Write ``kept`` (documents) and ``rejected`` (records with their stage and reason)."""
    documents = kept.append_column("html_stripped", kept.column("is_html"))
    data_parts = write_parts(
        with_lineage(documents, target.lineage, KEPT_SCHEMA),
        target.folder / "data",
        f"part-{target.stem}",
        cfg,
    )
    rejected_parts = write_parts(
        with_lineage(rejected, target.lineage, REJECTED_SCHEMA),
        target.folder / "rejected",
        f"part-{target.stem}",
        cfg,
    )
    extra = {"data_files": len(data_parts), "rejected_files": len(rejected_parts)}
    return StageOutput(kept=kept, extra=extra)
