"""What a zhclean output folder decided, in a form to compare across code versions.

``digest(output)`` lists every kept document (``doc_id``, a hash of its text
and columns, its cluster) and every rejected one (``doc_id``, reason,
``duplicate_of``, similarity), sorted.  Two runs that made the same dataset
have equal digests, whatever their run ids, times, shards or workers.

As a script, for benchmark corpora::

    python -m tests.output_digest OUTPUT > digest.json
    python -m tests.output_digest OUTPUT --compare digest.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

# Columns that differ between two runs of the same cleaning.
_RUN_COLUMNS = {"run_id", "processed_at", "pipeline_version", "config_hash", "source_uri"}


def _row_hash(row: dict[str, Any]) -> str:
    kept = {k: v for k, v in row.items() if k not in _RUN_COLUMNS}
    blob = json.dumps(kept, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def digest(output: Path, columns: list[str] | None = None) -> dict[str, Any]:
    """``{"kept": [[doc_id, row hash]...], "rejected": [[doc_id, reason, duplicate_of,
    similarity]...]}``; ``columns`` limits the row hash to those kept columns."""
    kept_table = pq.read_table(output / "data", columns=columns)
    kept = sorted([row["doc_id"], _row_hash(row)] for row in kept_table.to_pylist())
    rejected_table = pq.read_table(
        output / "rejected", columns=["doc_id", "reason", "duplicate_of", "similarity"]
    )
    rejected = sorted(
        [
            row["doc_id"],
            row["reason"],
            row["duplicate_of"],
            None if row["similarity"] is None else round(row["similarity"], 4),
        ]
        for row in rejected_table.to_pylist()
    )
    return {"kept": kept, "rejected": rejected}


def differences(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What changed between two digests, by doc_id."""
    out: dict[str, Any] = {}
    for part in ("kept", "rejected"):
        old = {row[0]: row[1:] for row in before[part]}
        new = {row[0]: row[1:] for row in after[part]}
        out[part] = {
            "only_before": sorted(set(old) - set(new)),
            "only_after": sorted(set(new) - set(old)),
            "changed": sorted(d for d in set(old) & set(new) if old[d] != new[d]),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--compare", type=Path, help="a digest to compare with")
    parser.add_argument("--columns", help="comma-separated kept columns to hash")
    args = parser.parse_args(argv)
    columns = args.columns.split(",") if args.columns else None
    found = digest(args.output, columns)
    if args.compare is None:
        json.dump(found, sys.stdout)
        return 0
    diff = differences(json.loads(args.compare.read_text()), found)
    counts = {p: {k: len(v) for k, v in d.items()} for p, d in diff.items()}
    print(json.dumps({"counts": counts, "differences": diff}, indent=1)[:20000])
    return 0 if not any(n for d in counts.values() for n in d.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
