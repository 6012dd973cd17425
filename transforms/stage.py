"""The one contract every stage keeps, and the one place that runs stages, counts and times them.

A stage is a named function over a batch (a pyarrow Table) that returns a
``StageOutput``: the rows it keeps, the rows it rejects (``REJECTION_SCHEMA``:
each with a ``reason`` from ``REJECTION_REASONS`` and a ``detail`` for a
person) and tallies of its own.  A stage neither counts, times nor checks
anything: ``run_stages`` does it once for every stage, so that for every stage
of every batch ``input == kept + rejected``, every reason is a documented one,
and each rejected row names the stage that rejected it.

Three roles narrow the call, as datatrove's readers, filters and writers do:

* ``source`` (extract): ``run(files, cfg)``: its batch is a table of input files
  (``INPUT_FILE_SCHEMA``); the records it finds are its input count.
* ``batch``: ``run(batch, cfg)``: documents in, the kept ones out.
* ``sink`` (write): ``run(batch, rejected, cfg, target)``: the kept documents and
  every rejected row of the shard in, written to ``target``; it rejects nothing.

``cfg`` is always the stage's own section of ``PipelineConfig``: the section
named like the stage.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from transforms.schema import REJECTION_REASONS, REJECTION_SCHEMA, conform

Role = Literal["source", "batch", "sink"]


@dataclass(frozen=True)
class StageOutput:
    """What a stage returns: the kept rows, the rejected rows and its own tallies.

    ``unreadable`` lists inputs a source could not read at all (path and
    error): they are neither kept nor rejected, and the run reports them.
    """

    kept: pa.Table
    rejected: pa.Table = field(default_factory=REJECTION_SCHEMA.empty_table)
    extra: Mapping[str, int] = field(default_factory=dict)
    unreadable: tuple[Mapping[str, str], ...] = ()


@dataclass(frozen=True)
class Stage:
    """One entry of the pipeline: its name (module, config section, ``stats.json`` key and
    Prefect task all use it), its function and its role."""

    name: str
    run: Callable[..., StageOutput]
    role: Role = "batch"


@dataclass
class StageCounts:
    """What one stage saw, kept and rejected (by reason), plus stage-specific tallies."""

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
    def from_dict(cls, stage: str, data: Mapping[str, Any]) -> StageCounts:
        return cls(
            stage=stage,
            input=data["input"],
            kept=data["kept"],
            rejected=Counter(data.get("rejected", {})),
            extra=Counter(data.get("extra", {})),
            seconds=data.get("seconds", 0.0),
        )


@dataclass
class StagesRun:
    """The result of ``run_stages``: the last stage's kept rows, every rejected row (with
    its ``stage``), the counts of each stage in order, and the inputs nobody could read."""

    kept: pa.Table
    rejected: pa.Table
    counts: dict[str, StageCounts]
    unreadable: list[Mapping[str, str]]

    def counts_dict(self) -> dict[str, dict[str, Any]]:
        return {name: counts.to_dict() for name, counts in self.counts.items()}


def run_stages(
    stages: Sequence[Stage],
    batch: pa.Table,
    config: Any,
    *,
    rejected: Sequence[pa.Table] = (),
    target: Any = None,
) -> StagesRun:
    """Run ``stages`` in order over ``batch``, each with its section of ``config``.

    ``rejected`` holds rows rejected earlier (by stages of the same shard run
    before, in another job); a sink receives them with every row rejected
    here, and ``target``.  Raises ``AssertionError`` when a stage loses a row
    or gives an undocumented reason.
    """
    all_rejected = list(rejected)
    counts: dict[str, StageCounts] = {}
    unreadable: list[Mapping[str, str]] = []
    for stage in stages:
        cfg = getattr(config, stage.name)
        started = time.perf_counter()
        if stage.role == "sink":
            out = stage.run(batch, _concat_rejected(all_rejected), cfg, target)
        else:
            out = stage.run(batch, cfg)
        seconds = time.perf_counter() - started
        counts[stage.name] = _count(stage, batch, out, seconds)
        if out.rejected.num_rows:
            all_rejected.append(with_stage(out.rejected, stage.name))
        unreadable += out.unreadable
        batch = out.kept
    return StagesRun(batch, _concat_rejected(all_rejected), counts, unreadable)


def _count(stage: Stage, batch: pa.Table, out: StageOutput, seconds: float) -> StageCounts:
    found = out.kept.num_rows + out.rejected.num_rows
    counts = StageCounts(
        stage=stage.name,
        input=found if stage.role == "source" else batch.num_rows,
        kept=out.kept.num_rows,
        rejected=reason_counts(out.rejected),
        extra=Counter(out.extra),
        seconds=seconds,
    )
    return counts.check()


def reason_counts(rejected: pa.Table) -> Counter[str]:
    if rejected.num_rows == 0:
        return Counter()
    tally = pc.value_counts(rejected.column("reason")).to_pylist()
    return Counter({entry["values"]: entry["counts"] for entry in tally})


# What the run's rejected rows hold before the writer adds the run lineage.
STAGE_FIELD = pa.field("stage", pa.string(), nullable=False)


def with_stage(rejected: pa.Table, stage: str) -> pa.Table:
    """``rejected`` (REJECTION_SCHEMA) with the ``stage`` column that rejected it."""
    return rejected.append_column(STAGE_FIELD, pa.array([stage] * rejected.num_rows, pa.string()))


def _concat_rejected(tables: Sequence[pa.Table]) -> pa.Table:
    empty = with_stage(REJECTION_SCHEMA.empty_table(), "")
    return pa.concat_tables([empty, *tables], promote_options="permissive")


def rejection_rows(records: pa.Table, reasons: Sequence[str], details: Sequence[str]) -> pa.Table:
    """``records`` (documents of the working batch) as REJECTION_SCHEMA rows with their reasons.

    Columns of REJECTION_SCHEMA that ``records`` holds (``duplicate_of`` ...)
    are carried over; ``n_chars`` counts the text's characters.
    """
    table = records.append_column("reason", pa.array(reasons, pa.string()))
    table = table.append_column("detail", pa.array(details, pa.string()))
    table = table.append_column("n_chars", pc.utf8_length(records.column("text")).cast(pa.int32()))
    return conform(table, REJECTION_SCHEMA)


def split_by_mask(
    records: pa.Table,
    keep: Sequence[bool],
    reasons: Sequence[str | None],
    details: Sequence[str | None],
) -> StageOutput:
    """Partition ``records`` into kept and rejected rows; ``reasons[i]`` applies where not ``keep[i]``."""
    keep_mask = pa.array(keep, pa.bool_())
    drop = [i for i, k in enumerate(keep) if not k]
    dropped = records.take(pa.array(drop, pa.int64()))
    rejected = rejection_rows(
        dropped, [reasons[i] or "" for i in drop], [details[i] or "" for i in drop]
    )
    return StageOutput(kept=records.filter(keep_mask), rejected=rejected)
