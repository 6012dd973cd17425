"""The contract every stage keeps: a batch in, the kept batch, the rejected batch and counts out."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from transforms.schema import RECORD_SCHEMA, REJECTION_REASONS, REJECTION_SCHEMA, conform


@dataclass
class StageCounts:
    """What one stage saw, kept and rejected (by reason), plus stage-specific tallies.

    ``input == kept + sum(rejected.values())`` always holds for a record stage;
    ``check`` enforces it so a stage that loses a record fails its own tests.
    """

    stage: str
    input: int = 0
    kept: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    extra: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def check(self) -> StageCounts:
        lost = self.input - self.kept - sum(self.rejected.values())
        if lost:
            raise AssertionError(f"stage {self.stage}: {lost} record(s) neither kept nor rejected")
        unknown = set(self.rejected) - set(REJECTION_REASONS)
        if unknown:
            raise AssertionError(f"stage {self.stage}: undocumented reason(s) {sorted(unknown)}")
        return self

    def merge(self, other: StageCounts) -> StageCounts:
        if other.stage != self.stage:
            raise ValueError(f"cannot merge counts of {other.stage} into {self.stage}")
        self.input += other.input
        self.kept += other.kept
        self.rejected.update(other.rejected)
        self.extra.update(other.extra)
        self.seconds += other.seconds
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "kept": self.kept,
            "rejected": dict(sorted(self.rejected.items())),
            **({"extra": dict(sorted(self.extra.items()))} if self.extra else {}),
            "seconds": round(self.seconds, 6),
        }

    @classmethod
    def from_dict(cls, stage: str, data: dict[str, Any]) -> StageCounts:
        return cls(
            stage=stage,
            input=data["input"],
            kept=data["kept"],
            rejected=Counter(data.get("rejected", {})),
            extra=Counter(data.get("extra", {})),
            seconds=data.get("seconds", 0.0),
        )


@dataclass
class StageResult:
    kept: pa.Table  # RECORD_SCHEMA
    rejected: pa.Table  # REJECTION_SCHEMA
    counts: StageCounts


def rejection_rows(
    records: pa.Table, reasons: list[str], details: list[str], stage: str
) -> pa.Table:
    """Turn rows of a RECORD_SCHEMA table into REJECTION_SCHEMA rows with their reasons."""
    texts = records.column("text").to_pylist()
    rejected = records.select(
        [
            "doc_id",
            "title",
            "text",
            *[f.name for f in REJECTION_SCHEMA if f.name.startswith("source_")],
        ]
    )
    rejected = rejected.append_column("reason", pa.array(reasons, pa.string()))
    rejected = rejected.append_column("detail", pa.array(details, pa.string()))
    rejected = rejected.append_column("stage", pa.array([stage] * records.num_rows, pa.string()))
    rejected = rejected.append_column("n_chars", pa.array([len(t) for t in texts], pa.int32()))
    return conform(rejected, REJECTION_SCHEMA)


def split_by_mask(
    records: pa.Table,
    keep: list[bool],
    reasons: list[str | None],
    details: list[str | None],
    stage: str,
) -> StageResult:
    """Partition ``records`` into kept and rejected rows; ``reasons[i]`` applies where not ``keep[i]``."""
    keep_mask = pa.array(keep, pa.bool_())
    kept = conform(records.filter(keep_mask), RECORD_SCHEMA)
    drop_idx = [i for i, k in enumerate(keep) if not k]
    dropped = records.take(pa.array(drop_idx, pa.int64()))
    rejected = rejection_rows(
        dropped, [reasons[i] for i in drop_idx], [details[i] or "" for i in drop_idx], stage
    )
    counts = StageCounts(stage=stage, input=records.num_rows, kept=kept.num_rows)
    counts.rejected.update(reasons[i] for i in drop_idx)
    return StageResult(kept=kept, rejected=rejected, counts=counts.check())
