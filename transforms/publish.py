"""Putting a finished run's files in place as the dataset.

Each of ``data/`` and ``rejected/`` is replaced by two renames (old folder
aside, new folder in), so a reader sees the old or the new folder, never a
mix of the two runs' files, and ``stats.json`` is written last, atomically.
The old folders are deleted only once the new ones are in place.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from transforms.parquet_io import write_json
from transforms.work_layout import final_dir

PUBLISHED_FOLDERS = ("data", "rejected")


def publish(work_dir: Path, output: Path, stats: dict[str, Any]) -> Path:
    """Swap the run's finished folders into ``output`` and write ``stats.json``; return its path."""
    final = final_dir(work_dir)
    output.mkdir(parents=True, exist_ok=True)
    for name in PUBLISHED_FOLDERS:
        staged = final / name
        staged.mkdir(parents=True, exist_ok=True)
        target = output / name
        retired = work_dir / f"retired-{name}"
        if target.exists():
            target.rename(retired)
        staged.rename(target)
        shutil.rmtree(retired, ignore_errors=True)
    return write_json(stats, output / "stats.json")
