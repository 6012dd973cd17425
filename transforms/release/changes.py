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

from transforms.engine.parquet_io import write_table
from transforms.schema import REJECTION_REASONS

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
    from transforms.release.build import ReleaseError, source_of

    def files(kind: str) -> list[Path]:
        paths = [previous_dir / f["path"] for f in previous_manifest["files"] if f["kind"] == kind]
        for path in paths:
            if not path.is_file():
                raise ReleaseError(
                    f"previous release {previous_manifest['version']} is missing {path} "
                    "(zhclean verify it)"
                )
        return paths

    previous = _read(files("data"), ["doc_id", "source_path"])
    assert previous is not None  # every release has at least one data file
    previous_rejected = _read(files("rejected"), ["doc_id", "source_path", "reason"])

    current_ids = current["doc_id"].combine_chunks()
    previous_ids = previous["doc_id"].combine_chunks()
    added = current.filter(pc.invert(pc.is_in(current["doc_id"], value_set=previous_ids)))
    removed = previous.filter(pc.invert(pc.is_in(previous["doc_id"], value_set=current_ids)))

    known_paths = set(previous["source_path"].to_pylist())
    if previous_rejected is not None:
        known_paths |= set(previous_rejected["source_path"].to_pylist())
    added_reasons = []
    for path, was in zip(
        added["source_path"].to_pylist(),
        _lookup(added["doc_id"], previous_rejected, "reason"),
        strict=True,
    ):
        if was is not None:
            added_reasons.append(f"previously_rejected:{was}")
        else:
            added_reasons.append("new_record" if path in known_paths else "new_input_file")

    current_paths = set(current["source_path"].to_pylist()) | set(
        current_rejected["source_path"].to_pylist()
    )
    removed_reasons = []
    for path, now in zip(
        removed["source_path"].to_pylist(),
        _lookup(removed["doc_id"], current_rejected, "reason"),
        strict=True,
    ):
        if now is not None:
            removed_reasons.append(now)
        else:
            removed_reasons.append("record_gone" if path in current_paths else "input_file_gone")

    def rows(change: str, table: pa.Table, reasons: list[str]) -> pa.Table:
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

    table = pa.concat_tables(
        [rows("added", added, added_reasons), rows("removed", removed, removed_reasons)]
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
    lines = [f"# Changes in release {version}", ""]
    if previous is None or changes is None:
        lines += [
            "This is the first release: there is no earlier release to compare it with.",
            f"It holds {documents:,} documents from {sources:,} sources.",
            "",
        ]
        return "\n".join(lines)

    added, removed = changes.count("added"), changes.count("removed")
    lines += [
        f"Compared with the previous release, **{changes.previous_version}** "
        f"(made {previous.get('created_at', '?')}).",
        "",
        "| | documents |",
        "|---|---:|",
        f"| in {changes.previous_version} | {changes.previous_documents:,} |",
        f"| removed | {removed:,} |",
        f"| added | {added:,} |",
        f"| in {version} | {documents:,} |",
        f"| unchanged | {changes.unchanged:,} |",
        "",
    ]
    settings = []
    if config_hash and previous.get("config_hash") and config_hash != previous["config_hash"]:
        settings.append(
            f"The cleaning settings changed: config hash `{previous['config_hash']}` → "
            f"`{config_hash}` (the dataset card lists the current settings)."
        )
    if (
        pipeline_version
        and previous.get("pipeline_version")
        and pipeline_version != previous["pipeline_version"]
    ):
        settings.append(f"zhclean changed: {previous['pipeline_version']} → {pipeline_version}.")
    if settings:
        lines += [*settings, ""]
    elif config_hash:
        lines += [f"Same cleaning settings (config hash `{config_hash}`).", ""]

    for change, count in (("added", added), ("removed", removed)):
        lines += [f"## {change.capitalize()}: {count:,} documents", ""]
        if not count:
            lines += ["None.", ""]
            continue
        lines += ["| source | documents |", "|---|---:|"]
        lines += [f"| {_cell(s)} | {n:,} |" for s, n in changes.breakdown(change, "source")]
        lines += ["", "| reason | documents | meaning |", "|---|---:|---|"]
        lines += [
            f"| `{_cell(r)}` | {n:,} | {_cell(reason_meaning(r))} |"
            for r, n in changes.breakdown(change, "reason")
        ]
        lines.append("")

    if added or removed:
        total = added + removed
        shown = changes.table.slice(0, LISTED_DOCUMENTS).to_pylist()
        more = f"the first {LISTED_DOCUMENTS} of {total:,}; " if total > LISTED_DOCUMENTS else ""
        lines += [
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
        lines.append("")
    return "\n".join(lines)
