"""What changed since the previous release: documents added and removed, and why.

Documents are matched by ``doc_id`` (a hash of the record's source file path,
index and bytes, independent of the cleaning settings).  Each change gets a
reason:

* added: ``previously_rejected:<reason>`` when the previous release's rejected
  documents had it, ``new_input_file`` when no document of its file was in the
  previous release, ``new_record`` otherwise (a new or changed record of a
  known file);
* removed: the reason the current dataset rejects it (``near_duplicate``,
  ``too_short``, ...), ``input_file_gone`` when the current dataset has no
  document of its file any more, ``record_gone`` otherwise (its file changed).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from transforms.release.manifest import ReleaseError
from transforms.release.profile import source_of
from transforms.schema import REJECTION_REASONS
from transforms.storage import write_table

CHANGE_SCHEMA = pa.schema(
    [
        pa.field("change", pa.string(), nullable=False),  # added or removed
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("source_path", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
    ]
)

CHANGE_REASONS: dict[str, str] = {
    "new_input_file": "no document of its input file was in the previous release",
    "new_record": "a new or changed record of an input file that was in the previous release",
    "previously_rejected": "rejected in the previous release (reason after the colon), kept now",
    "input_file_gone": "the dataset has no document of its input file any more",
    "record_gone": "its input file is still there but no longer yields this record (it changed)",
}
LISTED_DOCUMENTS = 50
ID_COLUMNS = ["doc_id", "source_path"]


def reason_meaning(reason: str) -> str:
    if reason.startswith("previously_rejected:"):
        return CHANGE_REASONS["previously_rejected"]
    if reason in REJECTION_REASONS:
        return "rejected now: " + REJECTION_REASONS[reason]
    return CHANGE_REASONS.get(reason, "")


@dataclass
class Changes:
    previous_version: str
    previous_documents: int
    unchanged: int
    table: pa.Table  # CHANGE_SCHEMA, sorted by change, source_path, doc_id

    def count(self, change: str) -> int:
        return int(pc.sum(pc.equal(self.table["change"], change)).as_py() or 0)

    def breakdown(self, change: str, column: str) -> list[tuple[str, int]]:
        """``(value, documents)`` of ``column`` among one kind of change, largest first."""
        rows = self.table.filter(pc.equal(self.table["change"], change))
        counts = Counter(rows[column].to_pylist())
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _read(paths: list[Path], columns: list[str]) -> pa.Table | None:
    if not paths:
        return None
    return pa.concat_tables([pq.read_table(p, columns=columns) for p in paths]).combine_chunks()


def _lookup(keys: pa.ChunkedArray, table: pa.Table | None, column: str) -> list[str | None]:
    """``table[column]`` of the row whose ``doc_id`` equals each key (None if none)."""
    if table is None or table.num_rows == 0 or len(keys) == 0:
        return [None] * len(keys)
    index = pc.index_in(keys, value_set=table["doc_id"].combine_chunks())
    return pc.take(table[column].combine_chunks(), index).to_pylist()


def _previous_files(previous_dir: Path, manifest: dict[str, Any], kind: str) -> list[Path]:
    paths = [previous_dir / f["path"] for f in manifest["files"] if f["kind"] == kind]
    for path in paths:
        if not path.is_file():
            raise ReleaseError(
                f"previous release {manifest['version']} is missing {path} (zhclean verify it)"
            )
    return paths


def _added_reasons(
    added: pa.Table, previous: pa.Table, previous_rejected: pa.Table | None
) -> list[str]:
    known_paths = set(previous["source_path"].to_pylist())
    if previous_rejected is not None:
        known_paths |= set(previous_rejected["source_path"].to_pylist())
    reasons = []
    paths = added["source_path"].to_pylist()
    was_rejected = _lookup(added["doc_id"], previous_rejected, "reason")
    for path, was in zip(paths, was_rejected, strict=True):
        if was is not None:
            reasons.append(f"previously_rejected:{was}")
        else:
            reasons.append("new_record" if path in known_paths else "new_input_file")
    return reasons


def _removed_reasons(removed: pa.Table, current: pa.Table, current_rejected: pa.Table) -> list[str]:
    current_paths = set(current["source_path"].to_pylist())
    current_paths |= set(current_rejected["source_path"].to_pylist())
    reasons = []
    paths = removed["source_path"].to_pylist()
    rejected_now = _lookup(removed["doc_id"], current_rejected, "reason")
    for path, now in zip(paths, rejected_now, strict=True):
        if now is not None:
            reasons.append(now)
        else:
            reasons.append("record_gone" if path in current_paths else "input_file_gone")
    return reasons


def _change_rows(change: str, table: pa.Table, reasons: list[str]) -> pa.Table:
    paths = table["source_path"].to_pylist()
    return pa.table(
        {
            "change": [change] * table.num_rows,
            "doc_id": table["doc_id"].to_pylist(),
            "source": [source_of(p) for p in paths],
            "source_path": paths,
            "reason": reasons,
        },
        schema=CHANGE_SCHEMA,
    )


def compute_changes(
    current: pa.Table,
    current_rejected: pa.Table,
    previous_dir: Path,
    previous_manifest: dict[str, Any],
) -> Changes:
    """Compare the kept ``current`` (doc_id, source_path) with the release in ``previous_dir``.

    ``current_rejected`` (doc_id, source_path, reason) says why a removed
    document is gone.
    """
    previous = _read(_previous_files(previous_dir, previous_manifest, "data"), ID_COLUMNS)
    assert previous is not None  # every release has at least one data file
    previous_rejected = _read(
        _previous_files(previous_dir, previous_manifest, "rejected"), [*ID_COLUMNS, "reason"]
    )
    current_ids = current["doc_id"].combine_chunks()
    previous_ids = previous["doc_id"].combine_chunks()
    added = current.filter(pc.invert(pc.is_in(current["doc_id"], value_set=previous_ids)))
    removed = previous.filter(pc.invert(pc.is_in(previous["doc_id"], value_set=current_ids)))
    table = pa.concat_tables(
        [
            _change_rows("added", added, _added_reasons(added, previous, previous_rejected)),
            _change_rows("removed", removed, _removed_reasons(removed, current, current_rejected)),
        ]
    ).sort_by([("change", "ascending"), ("source_path", "ascending"), ("doc_id", "ascending")])
    return Changes(
        previous_version=str(previous_manifest["version"]),
        previous_documents=previous.num_rows,
        unchanged=previous.num_rows - removed.num_rows,
        table=table,
    )


def write_changes(changes: Changes, destination: Path) -> Path:
    return write_table(changes.table, destination)


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def changes_markdown(
    version: str,
    previous: dict[str, Any] | None,
    changes: Changes | None,
    documents: int,
    sources: int,
    config_hash: str | None = None,
    pipeline_version: str | None = None,
) -> str:
    """``CHANGES.md``: what release ``version`` (``documents`` from ``sources``) changed."""
    lines = [f"# Changes in release {version}", ""]
    if previous is None or changes is None:
        lines += [
            "This is the first release: there is no earlier release to compare it with.",
            f"It holds {documents:,} documents from {sources:,} sources.",
            "",
        ]
        return "\n".join(lines)
    lines += _counts_table(version, previous, changes, documents)
    lines += _settings_lines(previous, config_hash, pipeline_version)
    for change in ("added", "removed"):
        lines += _breakdown(changes, change)
    lines += _documents_list(changes)
    return "\n".join(lines)


def _counts_table(
    version: str, previous: dict[str, Any], changes: Changes, documents: int
) -> list[str]:
    return [
        f"Compared with the previous release, **{changes.previous_version}** "
        f"(made {previous.get('created_at', '?')}).",
        "",
        "| | documents |",
        "|---|---:|",
        f"| in {changes.previous_version} | {changes.previous_documents:,} |",
        f"| removed | {changes.count('removed'):,} |",
        f"| added | {changes.count('added'):,} |",
        f"| in {version} | {documents:,} |",
        f"| unchanged | {changes.unchanged:,} |",
        "",
    ]


def _settings_lines(
    previous: dict[str, Any], config_hash: str | None, pipeline_version: str | None
) -> list[str]:
    settings = []
    if config_hash and previous.get("config_hash") and config_hash != previous["config_hash"]:
        settings.append(
            f"The cleaning settings changed: config hash `{previous['config_hash']}` → "
            f"`{config_hash}` (the dataset card lists the current settings)."
        )
    was = previous.get("pipeline_version")
    if pipeline_version and was and pipeline_version != was:
        settings.append(f"zhclean changed: {was} → {pipeline_version}.")
    if settings:
        return [*settings, ""]
    if config_hash:
        return [f"Same cleaning settings (config hash `{config_hash}`).", ""]
    return []


def _breakdown(changes: Changes, change: str) -> list[str]:
    count = changes.count(change)
    lines = [f"## {change.capitalize()}: {count:,} documents", ""]
    if not count:
        return [*lines, "None.", ""]
    lines += ["| source | documents |", "|---|---:|"]
    lines += [f"| {_cell(s)} | {n:,} |" for s, n in changes.breakdown(change, "source")]
    lines += ["", "| reason | documents | meaning |", "|---|---:|---|"]
    lines += [
        f"| `{_cell(r)}` | {n:,} | {_cell(reason_meaning(r))} |"
        for r, n in changes.breakdown(change, "reason")
    ]
    return [*lines, ""]


def _documents_list(changes: Changes) -> list[str]:
    total = changes.table.num_rows
    if not total:
        return []
    shown = changes.table.slice(0, LISTED_DOCUMENTS).to_pylist()
    more = f"the first {LISTED_DOCUMENTS} of {total:,}; " if total > LISTED_DOCUMENTS else ""
    lines = [
        "## Documents",
        "",
        f"By `doc_id` ({more}every change with its source and reason is in `changes.parquet`):",
        "",
        "| change | doc_id | source_path | reason |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {r['change']} | `{r['doc_id']}` | {_cell(r['source_path'])} | `{_cell(r['reason'])}` |"
        for r in shown
    ]
    return [*lines, ""]
