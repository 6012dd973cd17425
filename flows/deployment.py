"""The flow a Prefect deployment runs: ``zhclean serve`` and ``prefect.yaml`` deploy it.

A deployment's parameters are JSON, so the settings travel as a dict with the
keys of the TOML config file (``config``), as the path of such a file on the
machine that runs the flow (``config_file``), or both (the dict wins, as
command-line flags win over the file).  Relative paths are relative to the
working directory of the process that runs the flow: ``zhclean serve`` makes
them absolute; ``prefect.yaml`` sets the working directory.

A run triggered by a deployment does what ``zhclean run`` does: it holds the
output folder's lock (``transforms.engine.lock``), adds new and changed inputs to an
existing dataset (``full`` replaces it), and runs the tasks in local worker
processes or on ``run.dask_address``.  ``clean_corpus`` (flow
``clean-corpus``) runs as a subflow, so its run (tasks, logs, summary
artifact) appears nested in the deployment's run (flow ``zhclean``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow

from flows.flow import run_pipeline
from flows.runner import local_workers, warm_up_shard_workers, worker_pool
from transforms.config import PipelineConfig, load_config
from transforms.engine.lock import output_lock

FLOW_NAME = "zhclean"


def deployment_config(
    config: dict[str, Any] | None = None, config_file: str | None = None
) -> PipelineConfig:
    """The settings of a deployment's run: ``config_file`` (TOML), then ``config`` over it.

    Raises ``transforms.config.ConfigError`` with a one-line message.
    """
    return load_config(Path(config_file) if config_file else None, config or {})


@flow(name=FLOW_NAME, log_prints=False)
def scheduled_clean(
    config: dict[str, Any] | None = None,
    config_file: str | None = None,
    full: bool = False,
    resume: bool = False,
) -> dict[str, Any]:
    """Clean the configured inputs into the configured output, as ``zhclean run`` would.

    ``config``: settings with the keys of the TOML config file (``inputs``,
    ``output``, ``[filter]``, ...); ``config_file``: a TOML file on the
    machine that runs the flow; ``full``: process every input and replace the
    dataset instead of adding new and changed input files; ``resume``: reuse
    what a killed or cancelled run with the same inputs and settings finished.
    """
    settings = deployment_config(config, config_file)
    with output_lock(settings.output), worker_pool(local_workers(settings), warm_up_shard_workers):
        return run_pipeline(settings, resume=resume, full=full)
