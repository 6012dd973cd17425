"""Whether every removed duplicate points at a kept document it is similar enough to.

Usage::

    python bench/duplicate_links.py OUTPUT [OUTPUT ...]

For each zhclean output folder: the duplicates removed (``exact_duplicate``,
``near_duplicate``), how many name in ``duplicate_of`` a document that is not
kept, and how many near duplicates have a ``similarity`` below the run's
``dedup.threshold`` (from its ``stats.json``): both must be 0 (a chain A ~ B ~ C
must not remove C as a duplicate of A).  Works on any output, with or without a
ground truth.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq


def check(output: Path) -> dict[str, object]:
    threshold = json.loads((output / "stats.json").read_text())["config"]["dedup"]["threshold"]
    kept = pq.read_table(output / "data", columns=["doc_id"]).column("doc_id")
    rejected = pq.read_table(output / "rejected", columns=["reason", "duplicate_of", "similarity"])
    duplicates = rejected.filter(pc.is_valid(rejected.column("duplicate_of")))
    near = duplicates.filter(pc.equal(duplicates.column("reason"), "near_duplicate"))
    below = pc.sum(pc.less(near.column("similarity"), threshold)).as_py() or 0
    not_kept = pc.sum(pc.invert(pc.is_in(duplicates.column("duplicate_of"), kept))).as_py() or 0
    return {
        "output": str(output),
        "threshold": threshold,
        "duplicates": duplicates.num_rows,
        "near_duplicates": near.num_rows,
        "near_below_threshold": below,
        "pointing_at_a_removed_document": not_kept,
        "lowest_near_similarity": round(pc.min(near.column("similarity")).as_py() or 0.0, 4),
    }


def main(argv: list[str] | None = None) -> int:
    outputs = [Path(a) for a in (argv if argv is not None else sys.argv[1:])]
    results = [check(output) for output in outputs]
    for result in results:
        print(json.dumps(result))
    bad = any(r["near_below_threshold"] or r["pointing_at_a_removed_document"] for r in results)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
