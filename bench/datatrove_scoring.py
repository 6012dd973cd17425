"""Score datatrove's MinHash deduplication with ``bench/score_dedup.py``'s own definitions.

Usage::

    python bench/datatrove_scoring.py RUN_DIR/assignments.tsv CORPUS/truth.parquet [--json out.json]

``bench/datatrove_runner.py`` writes ``assignments.tsv``: one line per
document datatrove read, ``id<TAB>kept|removed<TAB>cluster``, where
``cluster`` is datatrove's ``minhash_cluster_id`` (-1 for a document in no
cluster).  datatrove keeps exactly one document per cluster (the root of its
union-find set), so each cluster is a kept document and the removed
documents of the same cluster id.

This module turns that into the two folders ``score_dedup.load_output``
reads (``data/`` with ``doc_id`` and ``source_id``; ``rejected/`` with
``reason = near_duplicate`` and ``duplicate_of`` = the kept document of the
cluster) and calls ``score_dedup.score``, so that precision, recall, F1,
recall per perturbation kind and lost clusters mean exactly what they mean
for zhclean.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))

from score_dedup import format_table, score


def read_assignments(path: Path) -> pd.DataFrame:
    """``id``, ``status`` (kept/removed) and ``cluster`` of every document datatrove read."""
    return pd.read_csv(
        path,
        sep="\t",
        header=None,
        names=["id", "status", "cluster"],
        dtype={"id": str, "status": str, "cluster": "int64"},
        keep_default_na=False,
        quoting=3,
    )


def write_zhclean_like_output(assignments: pd.DataFrame, out: Path) -> dict[str, int]:
    """Write ``out/data`` and ``out/rejected`` in the columns ``score_dedup`` reads.

    Raises ``ValueError`` when a removed document has no kept document with
    its cluster id (datatrove would then have lost a cluster's every member,
    which its clustering never does).
    """
    kept = assignments[assignments.status == "kept"]
    removed = assignments[assignments.status == "removed"]
    kept_of_cluster = kept[kept.cluster >= 0].set_index("cluster")["id"]
    if kept_of_cluster.index.duplicated().any():
        raise ValueError("a datatrove cluster id has more than one kept document")
    duplicate_of = removed.cluster.map(kept_of_cluster)
    orphans = int(duplicate_of.isna().sum())
    if orphans:
        raise ValueError(f"{orphans} removed documents have no kept document in their cluster")
    (out / "data").mkdir(parents=True, exist_ok=True)
    (out / "rejected").mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.table({"doc_id": kept.id.tolist(), "source_id": kept.id.tolist()}),
        out / "data" / "part-00000.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "doc_id": removed.id.tolist(),
                "source_id": removed.id.tolist(),
                "reason": ["near_duplicate"] * len(removed),
                "duplicate_of": duplicate_of.tolist(),
            }
        ),
        out / "rejected" / "part-00000.parquet",
    )
    return {"kept": len(kept), "removed": len(removed), "clusters": len(kept_of_cluster)}


def score_datatrove(assignments_path: Path, truth: Path, threshold: float = 0.8) -> dict[str, Any]:
    """``score_dedup.score`` of datatrove's result (folders written beside the TSV)."""
    out = assignments_path.parent / "scored-output"
    write_zhclean_like_output(read_assignments(assignments_path), out)
    return score(out, truth, threshold)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Precision, recall and F1 of datatrove's MinHash clusters against "
        "bench/make_corpus.py's truth.parquet, with bench/score_dedup.py's definitions.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("assignments", type=Path, help="assignments.tsv of datatrove_runner.py")
    parser.add_argument("truth", type=Path, help="truth.parquet of the generated corpus")
    parser.add_argument("--threshold", type=float, default=0.8, help="true Jaccard of a positive")
    parser.add_argument("--json", type=Path, help="also write the scores here as JSON")
    args = parser.parse_args(argv)
    for path in (args.assignments, args.truth):
        if not path.exists():
            print(f"datatrove_scoring: {path} does not exist", file=sys.stderr)
            return 2
    result = score_datatrove(args.assignments, args.truth, args.threshold)
    print(format_table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
