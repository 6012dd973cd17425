"""A run's counts, from its jobs' summaries: per stage and reason, and the kept/rejected balance.

The shard jobs record each stage's counts per shard (``transforms.stage``);
the dedup jobs record the corpus-wide tallies and the seconds of their steps.
``run_summary`` adds them up, stage by stage in pipeline order;
``run_stats`` makes the whole of ``stats.json``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from transforms.engine.dataset_state import run_tag
from transforms.engine.run_plan import RunPlan
from transforms.engine.work_layout import finished_marker, prepared_marker, resolved_marker
from transforms.pipeline import STAGE_NAMES
from transforms.stage import StageCounts
from transforms.stages.news.profile import NewsProfile
from transforms.storage import read_json

# The dedup stage's seconds, by step, in the order they run.
DEDUP_STEPS = ("fingerprint", "exact", "candidate_pairs", "resolve", "index")


def run_summary(work_dir: Path, shard_ids: list[str]) -> dict[str, Any]:
    """Counts per stage and reason over the whole run, and the kept/rejected invariant."""
    stages = {name: StageCounts(stage=name) for name in STAGE_NAMES}
    dedup_steps: Counter[str] = Counter({step: 0.0 for step in DEDUP_STEPS})
    kept = rejected = input_bytes = files = 0
    failed_inputs = []
    news = NewsProfile()
    for shard_id in shard_ids:
        prepared = read_json(prepared_marker(work_dir, shard_id))
        finished = read_json(finished_marker(work_dir, shard_id))
        input_bytes += prepared["input_bytes"]
        files += len(prepared["files"])
        failed_inputs += prepared["failed_inputs"]
        for job in (prepared, finished):
            for name, data in job["stages"].items():
                stages[name].merge(StageCounts.from_dict(name, data))
            dedup_steps.update(job["dedup_seconds"])
        kept += finished["kept_rows"]
        rejected += finished["rejected_rows"]
        news.merge(NewsProfile.from_dict(finished["news"]))
    if resolved_marker(work_dir).exists():
        resolved = read_json(resolved_marker(work_dir))
        stages["dedup"].extra.update(resolved["extra"])
        dedup_steps.update(resolved["seconds_by_step"])
    stages["dedup"].seconds += sum(dedup_steps.values())

    by_reason: Counter[str] = Counter()
    for counts in stages.values():
        by_reason.update(counts.rejected)
    extracted = stages["extract"].input
    return {
        "inputs": {"files": files, "bytes": input_bytes, "shards": len(shard_ids)},
        "documents": {
            "extracted": extracted,
            "kept": kept,
            "rejected": rejected,
            "balanced": extracted == kept + rejected,
            # Records of changed input files that the dataset already holds: not added again.
            "already_in_dataset": stages["extract"].extra["already_in_dataset"],
        },
        "failed_inputs": sorted(failed_inputs, key=lambda f: f["path"]),
        "rejected_by_reason": dict(sorted(by_reason.items())),
        "dedup_seconds_by_step": {step: round(dedup_steps[step], 6) for step in DEDUP_STEPS},
        "stages": {name: counts.to_dict() for name, counts in stages.items()},
        "news": news.summary(),
    }


@dataclass(frozen=True)
class RunIdentity:
    """Who the run is: its Prefect flow run id, when it started, which zhclean ran it."""

    run_id: str
    started_at: datetime
    pipeline_version: str

    @property
    def tag(self) -> str:
        return run_tag(self.started_at, self.run_id)

    def lineage(self, config_hash: str) -> dict[str, Any]:
        """The values of the run's lineage columns (``LINEAGE_FIELDS``)."""
        return {
            "run_id": self.run_id,
            "pipeline_version": self.pipeline_version,
            "config_hash": config_hash,
            "processed_at": self.started_at,
        }


def run_stats(
    plan: RunPlan,
    identity: RunIdentity,
    shard_ids: list[str],
    failed_shards: dict[str, Any],
    resumed: dict[str, int],
    seconds: float,
) -> dict[str, Any]:
    """The run's ``stats.json``: what it was, what it did per stage and reason, what failed."""
    summary = run_summary(plan.work_dir, shard_ids)
    summary["inputs"].update(plan.inputs.counts())
    return {
        "run_id": identity.run_id,
        "run_tag": identity.tag,
        "mode": plan.mode,
        "pipeline_version": identity.pipeline_version,
        "config_hash": plan.config.config_hash,
        "started_at": identity.started_at.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "seconds": round(seconds, 3),
        **summary,
        "skipped_inputs": [{"path": s.path, "reason": s.reason} for s in plan.discovery.skipped],
        "resumed_shards": resumed,
        "failed_shards": [failed_shards[sid] for sid in sorted(failed_shards)],
        "config": plan.config.model_dump(mode="json"),
    }
