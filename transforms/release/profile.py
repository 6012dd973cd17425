"""What the dataset card and the changes need to know of a release's rows, gathered while
its files are copied: lengths, sources, news structure, clusters, reasons, lineage and the
documents' ids."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from transforms.stages.news.profile import NewsProfile


def _count_into(counter: Counter, batch: pa.RecordBatch, column: str) -> None:
    if column not in batch.schema.names:
        return
    for entry in pc.value_counts(batch.column(column)).to_pylist():
        counter[entry["values"]] += entry["counts"]


def source_of(source_path: str) -> str:
    """A document's source: the first folder of its path, or the file itself."""
    return source_path.split("/", 1)[0] if source_path else "(unknown)"


@dataclass
class KeptProfile:
    rows: int = 0
    n_chars: list[np.ndarray] = field(default_factory=list)
    paths: Counter = field(default_factory=Counter)
    formats: Counter = field(default_factory=Counter)
    cluster_sizes: Counter = field(default_factory=Counter)
    run_ids: Counter = field(default_factory=Counter)
    pipeline_versions: Counter = field(default_factory=Counter)
    config_hashes: Counter = field(default_factory=Counter)
    ids: list[pa.Array] = field(default_factory=list)
    id_paths: list[pa.Array] = field(default_factory=list)
    news: NewsProfile = field(default_factory=NewsProfile)

    def observe(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows
        self.news.observe(batch)
        names = batch.schema.names
        if "n_chars" in names:
            self.n_chars.append(batch.column("n_chars").to_numpy(zero_copy_only=False))
        _count_into(self.paths, batch, "source_path")
        _count_into(self.formats, batch, "source_format")
        _count_into(self.cluster_sizes, batch, "dup_cluster_size")
        _count_into(self.run_ids, batch, "run_id")
        _count_into(self.pipeline_versions, batch, "pipeline_version")
        _count_into(self.config_hashes, batch, "config_hash")
        self.ids.append(batch.column("doc_id"))
        self.id_paths.append(batch.column("source_path"))

    def lengths(self) -> np.ndarray:
        return np.concatenate(self.n_chars) if self.n_chars else np.zeros(0, np.int64)

    def sources(self) -> Counter:
        out: Counter = Counter()
        for path, n in self.paths.items():
            out[source_of(path)] += n
        return out

    def ids_table(self) -> pa.Table:
        return _ids_table(self.ids, self.id_paths)


def _ids_table(ids: list[pa.Array], paths: list[pa.Array], **extra: list[pa.Array]) -> pa.Table:
    columns = {
        "doc_id": pa.chunked_array(ids, pa.string()),
        "source_path": pa.chunked_array(paths, pa.string()),
    }
    for name, chunks in extra.items():
        columns[name] = pa.chunked_array(chunks, pa.string())
    return pa.table(columns)


# Columns of the rejected documents that profiling reads (never the text).
REJECTED_PROFILE_COLUMNS = ["doc_id", "reason", "stage", "detail", "similarity", "source_path"]


@dataclass
class RejectedProfile:
    rows: int = 0
    by_stage_reason: Counter = field(default_factory=Counter)
    example_detail: dict[tuple[str, str], str] = field(default_factory=dict)
    similarity: dict[str, list[np.ndarray]] = field(default_factory=dict)
    run_ids: Counter = field(default_factory=Counter)
    ids: list[pa.Array] = field(default_factory=list)
    id_paths: list[pa.Array] = field(default_factory=list)
    reasons: list[pa.Array] = field(default_factory=list)

    def observe(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows
        if not batch.num_rows:
            return
        stages = batch.column("stage").to_pylist()
        reasons = batch.column("reason").to_pylist()
        details = batch.column("detail").to_pylist() if "detail" in batch.schema.names else []
        for i, key in enumerate(zip(stages, reasons, strict=True)):
            self.by_stage_reason[key] += 1
            if key not in self.example_detail and i < len(details) and details[i]:
                self.example_detail[key] = details[i]
        if "similarity" in batch.schema.names:
            for reason in ("exact_duplicate", "near_duplicate"):
                mask = pc.equal(batch.column("reason"), reason)
                values = pc.drop_null(pc.filter(batch.column("similarity"), mask))
                if len(values):
                    self.similarity.setdefault(reason, []).append(values.to_numpy())
        _count_into(self.run_ids, batch, "run_id")
        self.ids.append(batch.column("doc_id"))
        self.id_paths.append(batch.column("source_path"))
        self.reasons.append(batch.column("reason"))

    def by_reason(self) -> Counter:
        out: Counter = Counter()
        for (_, reason), n in self.by_stage_reason.items():
            out[reason] += n
        return out

    def similarities(self, reason: str) -> np.ndarray:
        chunks = self.similarity.get(reason, [])
        return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)

    def ids_table(self) -> pa.Table:
        return _ids_table(self.ids, self.id_paths, reason=self.reasons)
