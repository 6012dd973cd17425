"""What a run will do, decided before any shard is read: its inputs, shards and work folder.

Over an existing dataset with the same cleaning settings a run is
incremental: only new and changed input files are done, and their documents
are added; otherwise, or with ``full``, every input is done and the dataset
replaced.  The work folder's name depends only on the inputs and settings
(``run_key``), so that ``--resume`` finds what a killed run finished.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from transforms.config import PipelineConfig
from transforms.engine.dataset_state import DatasetState, InputPlan
from transforms.engine.inputs import Discovery, Shard, discover_inputs, plan_shards
from transforms.engine.work_layout import known_doc_ids_path
from transforms.storage import write_table

WORK_DIR_NAME = ".work"


@dataclass
class RunPlan:
    """A run's inputs split by what the dataset already has, its shards, its work
    folder, and whether it adds to the dataset or replaces it."""

    discovery: Discovery
    inputs: InputPlan
    shards: list[Shard]
    work_dir: Path
    state: DatasetState
    incremental: bool
    config: PipelineConfig  # the run's settings (an incremental run keeps the dataset's partitions)

    @property
    def mode(self) -> str:
        return "incremental" if self.incremental else "full"

    def index_dirs(self) -> list[Path]:
        """The dataset's dedup index folders this run deduplicates against."""
        return self.state.index_dirs() if self.incremental else []


def run_key(shards: list[Shard], cfg: PipelineConfig, base: str = "") -> str:
    """Names the work folder of a run: the same inputs and settings give the same folder.

    So a run started again with ``--resume`` finds the jobs its killed
    predecessor finished (their summary files) and redoes only the rest.
    """
    parts = [cfg.config_hash, str(cfg.run.dedup_partitions), base, *(s.shard_id for s in shards)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def plan_run(config: PipelineConfig, full: bool = False) -> RunPlan:
    """Plan a run over ``config.inputs`` into ``config.output``.

    Raises ``DatasetMismatch`` for a dataset made with other settings (unless ``full``).
    """
    output = config.output.resolve()
    discovery = discover_inputs(config.inputs, exclude=output)
    state = DatasetState.load(output)
    incremental = state.exists and not full
    if incremental:
        state.check_compatible(config.config_hash)
        run = config.run.model_copy(update={"dedup_partitions": state.dedup_partitions})
        config = config.model_copy(update={"run": run})
        inputs = state.plan_inputs(discovery.files)
    else:
        inputs = InputPlan(new=list(discovery.files))
    shards = plan_shards(inputs.to_process, config.run.shard_max_bytes)
    # A run over a dataset that has changed since (another run committed) is another run.
    base = state.runs[-1] if incremental else "full"
    work_dir = output / WORK_DIR_NAME / run_key(shards, config, base)
    return RunPlan(discovery, inputs, shards, work_dir, state, incremental, config)


def write_known_doc_ids(plan: RunPlan) -> None:
    """The documents the dataset already holds from the files this run does (changed files,
    or files of a run that crashed while publishing): extract does not add them again."""
    path = known_doc_ids_path(plan.work_dir)
    if plan.incremental and plan.shards and not path.exists():
        paths = [str(f.path) for f in plan.inputs.to_process]
        write_table(plan.state.known_doc_ids(paths), path)
