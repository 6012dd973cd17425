"""The output folder as a living dataset: what it holds, which inputs made it, its dedup index.

A later run over inputs that gained files processes only the new and changed
files and appends their documents; the dataset's own index lets it remove
new documents that duplicate documents already published, without reading
their text again.

    <output>/dataset.json                  the commit record (written last by a run)
    <output>/inputs.parquet                input manifest: every input file done
    <output>/runs/<tag>.json               each committed run's stats (the history)
    <output>/data/part-<tag>_<shard>-NNNNN.parquet      kept documents
    <output>/rejected/part-<tag>_<shard>-NNNNN.parquet  rejected records
    <output>/index/<tag>_<shard>/fingerprints.parquet    dedup index of kept documents
    <output>/index/<tag>_<shard>/bands/<p>.parquet       their LSH band keys, partition p

``dataset.json`` lists the committed runs' tags.  Files of a run whose tag is
not listed (a run that crashed while publishing) are not part of the dataset:
``remove_uncommitted`` deletes them before the next run.  A run's tag sorts
by its start time.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from transforms.engine.inputs import InputFile
from transforms.storage import read_json, read_table

DATASET_FILE = "dataset.json"
MANIFEST_FILE = "inputs.parquet"
RUNS_DIR = "runs"
INDEX_DIR = "index"
DATASET_FOLDERS = ("data", "rejected", INDEX_DIR)
FORMAT_VERSION = 1

MANIFEST_SCHEMA = pa.schema(
    [
        pa.field("path", pa.string(), nullable=False),  # absolute, resolved
        pa.field("size", pa.int64(), nullable=False),
        pa.field("mtime_ns", pa.int64(), nullable=False),
        pa.field("sha256", pa.string(), nullable=False),
        pa.field("run_tag", pa.string(), nullable=False),  # the run that last processed it
    ]
)


KNOWN_DOCUMENTS_SCHEMA = pa.schema(
    [pa.field("doc_id", pa.string()), pa.field("source_uri", pa.string())]
)


class DatasetMismatch(ValueError):
    """The output folder holds a dataset made with other settings than this run's."""


def run_tag(started_at: datetime, run_id: str) -> str:
    return f"{started_at:%Y%m%dT%H%M%S}-{run_id.replace('-', '')[:8]}"


def part_stem(tag: str, shard_id: str) -> str:
    """File-name stem of a run's shard in data/, rejected/ and index/."""
    return f"{tag}_{shard_id}"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class InputPlan:
    """The discovered input files, split by what the dataset has already done."""

    new: list[InputFile] = field(default_factory=list)
    changed: list[InputFile] = field(default_factory=list)
    unchanged: list[InputFile] = field(default_factory=list)
    sha256: dict[str, str] = field(default_factory=dict)  # by str(path), for the files to do

    @property
    def to_process(self) -> list[InputFile]:
        return sorted(self.new + self.changed)

    def counts(self) -> dict[str, int]:
        return {
            "seen": len(self.new) + len(self.changed) + len(self.unchanged),
            "new": len(self.new),
            "changed": len(self.changed),
            "unchanged": len(self.unchanged),
        }


@dataclass
class DatasetState:
    """What ``dataset.json`` and ``inputs.parquet`` of an output folder say."""

    output: Path
    config_hash: str | None = None
    dedup_partitions: int | None = None
    runs: list[str] = field(default_factory=list)
    manifest: pa.Table = field(default_factory=MANIFEST_SCHEMA.empty_table)

    @classmethod
    def load(cls, output: Path) -> DatasetState:
        record = output / DATASET_FILE
        if not record.exists():
            return cls(output)
        data = read_json(record)
        runs = list(data["runs"])
        manifest = MANIFEST_SCHEMA.empty_table()
        if (output / MANIFEST_FILE).exists():
            manifest = read_table(output / MANIFEST_FILE)
            # Files of a run that stopped before its commit are done again.
            manifest = manifest.filter(pc.is_in(manifest.column("run_tag"), pa.array(runs)))
        return cls(
            output,
            config_hash=data["config_hash"],
            dedup_partitions=data["dedup_partitions"],
            runs=runs,
            manifest=manifest,
        )

    @property
    def exists(self) -> bool:
        return bool(self.runs)

    def check_compatible(self, config_hash: str) -> None:
        if self.exists and self.config_hash != config_hash:
            raise DatasetMismatch(
                f"{self.output} holds a dataset cleaned with other settings (config hash "
                f"{self.config_hash}, this run's is {config_hash}); to rebuild it from all "
                "inputs with the new settings use --full, or write to another --output"
            )

    def index_dirs(self) -> list[Path]:
        """The committed runs' index folders, oldest first."""
        folder = self.output / INDEX_DIR
        committed = set(self.runs)
        if not folder.is_dir():
            return []
        return sorted(d for d in folder.iterdir() if d.name.split("_")[0] in committed)

    def plan_inputs(self, files: list[InputFile]) -> InputPlan:
        """Split ``files`` into new, changed and unchanged against the manifest.

        A file whose size and modification time match its manifest row is
        unchanged without being read (as rsync decides); otherwise its
        SHA-256 decides, so a file that was only touched is not done again.
        """
        known = {
            row["path"]: row
            for row in self.manifest.select(["path", "size", "mtime_ns", "sha256"]).to_pylist()
        }
        plan = InputPlan()
        for entry in files:
            row = known.get(str(entry.path))
            if row is not None and (row["size"], row["mtime_ns"]) == (entry.size, entry.mtime_ns):
                plan.unchanged.append(entry)
                continue
            digest = file_sha256(entry.path)
            if row is None:
                plan.new.append(entry)
            elif row["sha256"] == digest:
                plan.unchanged.append(entry)
            else:
                plan.changed.append(entry)
            plan.sha256[str(entry.path)] = digest
        return plan

    def updated_manifest(self, plan: InputPlan, done: list[InputFile], tag: str) -> pa.Table:
        """The manifest with ``done`` files (re)recorded, and touched files' new times."""
        rows = {row["path"]: row for row in self.manifest.to_pylist()}
        for entry in plan.unchanged:
            row = rows.get(str(entry.path))
            if row is not None and (row["size"], row["mtime_ns"]) != (entry.size, entry.mtime_ns):
                row.update(size=entry.size, mtime_ns=entry.mtime_ns)  # touched, same bytes
        for entry in done:
            rows[str(entry.path)] = {
                "path": str(entry.path),
                "size": entry.size,
                "mtime_ns": entry.mtime_ns,
                "sha256": plan.sha256[str(entry.path)],
                "run_tag": tag,
            }
        return pa.Table.from_pylist([rows[p] for p in sorted(rows)], schema=MANIFEST_SCHEMA)

    def known_doc_ids(self, paths: list[str]) -> pa.Table:
        """``doc_id`` and ``source_uri`` of the documents already in the dataset (kept or
        rejected) that came from the files ``paths``."""
        wanted = pa.array([Path(p).as_uri() for p in paths], pa.string())
        found = [KNOWN_DOCUMENTS_SCHEMA.empty_table()]
        for folder in ("data", "rejected"):
            for part in sorted((self.output / folder).glob("*.parquet")):
                table = read_table(part, columns=["doc_id", "source_uri"])
                table = table.filter(pc.is_in(table.column("source_uri"), wanted))
                found.append(table.cast(KNOWN_DOCUMENTS_SCHEMA))
        return pa.concat_tables(found)

    def record(self, config_hash: str, dedup_partitions: int, tag: str) -> dict[str, Any]:
        """The new ``dataset.json`` once the run ``tag`` is committed."""
        return {
            "format_version": FORMAT_VERSION,
            "config_hash": config_hash,
            "dedup_partitions": dedup_partitions,
            "runs": [*self.runs, tag],
        }


def remove_uncommitted(output: Path) -> list[Path]:
    """Delete the files of runs that did not commit (crashed while publishing); return them.

    With no ``dataset.json`` at all, nothing is touched: the folder is not
    (yet) a dataset of this format.
    """
    state = DatasetState.load(output)
    if not state.exists:
        return []
    committed = set(state.runs)
    removed = []
    for folder in DATASET_FOLDERS:
        for item in sorted((output / folder).glob("*")) if (output / folder).is_dir() else []:
            tag = item.name.removeprefix("part-").split("_")[0]
            if tag not in committed:
                if item.is_dir():
                    shutil.rmtree(item)
                else:
                    item.unlink()
                removed.append(item)
    return removed
