"""Score zhclean's deduplication against a generated corpus's ground truth.

Usage::

    python bench/score_dedup.py OUTPUT_DIR CORPUS_DIR/truth.parquet [--json scores.json]

What is measured
----------------
zhclean rows (``OUTPUT_DIR/data`` and ``OUTPUT_DIR/rejected``) are mapped back
to generated documents by ``source_id`` (the JSON Lines ``id``).  A zhclean
**cluster** is a kept document together with every rejected document whose
``duplicate_of`` is that kept document's ``doc_id``; documents rejected for
other reasons (too short, ...) belong to no cluster.  Every pair of documents
in one zhclean cluster is a **predicted pair**: a duplicate and its kept
document, and also two duplicates of the same kept document.

The **positive pairs** are the (copy, original) pairs of the ground truth whose
true character-5-gram Jaccard on zhclean's canonical form is at least
``--threshold`` (0.8).  A positive pair is found when the copy and its
original are in the same zhclean cluster.

- recall = found positive pairs / positive pairs (also per perturbation kind);
- precision = found positive pairs / (found positive pairs + false pairs),
  where a **false pair** is a predicted pair of two documents from different
  generated clusters.  Predicted pairs inside one generated cluster that are
  not positive pairs (two copies of the same original, or a copy whose true
  Jaccard is below the threshold with its original) are neither: they are
  counted and shown as ``neutral``.  ``precision_strict`` counts them as false
  too (every predicted pair that is not a positive pair);
- F1 = harmonic mean of precision and recall;
- **lost clusters**: generated clusters with at least one copy none of whose
  documents (original or copies) was kept: the story disappeared (should be 0);
- **merged clusters**: zhclean clusters holding documents of more than one
  generated cluster;
- rows per rejection reason, generated documents missing from the output,
  output rows that are not generated documents;
- for missed pairs: their true Jaccards, and how many have an original
  whose kept or rejected text is more than 10% shorter than the generated
  one (zhclean damaged it: see text integrity);
- **text integrity**: kept originals (always plain ``text``, never HTML)
  that went through zhclean's HTML stripper, and those whose kept ``n_chars``
  is under 90% (70%) of the generated text's length: cleaning should not lose
  text (normalization alone changes a few characters at most).

Only the id columns of the output are read, so scoring a million documents
takes seconds and little memory.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.dataset as ds

KIND_ORDER = (
    "html_wrapped",
    "halfwidth_punct",
    "header_footer",
    "typos",
    "paragraph_dropped",
    "paragraph_inserted",
    "truncated",
    "respaced",
    "traditional",
    "taiwan",
)


def _read(folder: Path, columns: list[str]) -> pd.DataFrame:
    if not folder.exists():
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    dataset = ds.dataset(str(folder), format="parquet")
    present = [c for c in columns if c in dataset.schema.names]
    table = dataset.to_table(columns=present).to_pandas()
    for c in columns:
        if c not in table:
            table[c] = None
    return table[columns]


def load_output(output: Path) -> pd.DataFrame:
    """One row per zhclean document: ``source_id``, ``doc_id``, ``status``, ``reason``, ``key``.

    ``key`` is the zhclean cluster: the kept document's ``doc_id`` (kept rows
    and duplicates), null for rows rejected for other reasons.
    """
    kept = _read(output / "data", ["doc_id", "source_id", "n_chars", "html_stripped"])
    kept["status"] = "kept"
    kept["reason"] = None
    kept["key"] = kept["doc_id"]
    rejected = _read(
        output / "rejected", ["doc_id", "source_id", "reason", "duplicate_of", "n_chars"]
    )
    rejected["status"] = "rejected"
    rejected["key"] = rejected["duplicate_of"]
    rejected = rejected.drop(columns=["duplicate_of"])
    return pd.concat([kept, rejected], ignore_index=True)


def _pairs(n: pd.Series | np.ndarray) -> int:
    n = np.asarray(n, dtype=np.int64)
    return int((n * (n - 1) // 2).sum())


def score(output: Path, truth_path: Path, threshold: float = 0.8) -> dict[str, Any]:
    """Every figure described in the module docstring, as a dict."""
    truth = pd.read_parquet(
        truth_path, columns=["id", "cluster_id", "role", "kind", "jaccard", "n_chars"]
    )
    rows = load_output(output)

    reasons = rows.loc[rows.status == "rejected", "reason"].value_counts().to_dict()
    unknown_rows = int((~rows.source_id.isin(truth.id)).sum())
    rows = rows[rows.source_id.isin(truth.id)]
    dup_ids = int(rows.source_id.duplicated().sum())
    rows = rows.drop_duplicates("source_id")
    merged = truth.merge(
        rows[["source_id", "status", "key", "reason", "n_chars", "html_stripped"]].rename(
            columns={"n_chars": "out_chars"}
        ),
        left_on="id",
        right_on="source_id",
        how="left",
    )
    missing = int(merged.status.isna().sum())

    # Predicted pairs, and how many of them fall inside one generated cluster.
    clustered = merged[merged.key.notna()]
    predicted = _pairs(clustered.groupby("key").size())
    within = _pairs(clustered.groupby(["key", "cluster_id"]).size())
    false_pairs = predicted - within
    by_key = clustered.groupby("key").cluster_id.nunique()
    merged_clusters = int((by_key > 1).sum())

    # Positive pairs: copy and original in the same zhclean cluster?
    originals = merged[merged.role == "original"].set_index("id")["key"]
    copies = merged[merged.role == "copy"].copy()
    copies["orig_key"] = copies.cluster_id.map(originals)
    copies["found"] = copies.key.notna() & (copies.key == copies.orig_key)
    positive = copies.jaccard >= threshold
    tp = int((copies.found & positive).sum())
    n_pos = int(positive.sum())
    neutral = within - tp
    precision = tp / (tp + false_pairs) if tp + false_pairs else 1.0
    precision_strict = tp / predicted if predicted else 1.0
    recall = tp / n_pos if n_pos else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0

    per_kind = {}
    for kind in [k for k in KIND_ORDER if k in set(copies.kind)] + sorted(
        set(copies.kind) - set(KIND_ORDER)
    ):
        sel = copies.kind == kind
        pos = sel & positive
        per_kind[kind] = {
            "copies": int(sel.sum()),
            "positives": int(pos.sum()),
            "found": int((pos & copies.found).sum()),
            "recall": float((pos & copies.found).sum() / pos.sum()) if pos.sum() else None,
            "found_below_threshold": int((sel & ~positive & copies.found).sum()),
            "below_threshold": int((sel & ~positive).sum()),
        }

    missed_j = copies.loc[positive & ~copies.found, "jaccard"].to_numpy(dtype=np.float64)
    # Did cleaning damage the original's text (lost more than 10% of its characters)?
    orig_rows = merged[merged.role == "original"].set_index("id")
    damaged = orig_rows.out_chars.astype("float64") < 0.9 * orig_rows.n_chars.astype("float64")
    missed_rows = copies[positive & ~copies.found]
    missed = {
        "count": int(missed_j.size),
        "original_text_damaged": int(
            missed_rows.cluster_id.map(damaged).fillna(False).astype(bool).sum()
        ),
        "by_kind": missed_rows.kind.value_counts().to_dict(),
        "min_jaccard": float(missed_j.min()) if missed_j.size else None,
        "median_jaccard": float(np.median(missed_j)) if missed_j.size else None,
        "max_jaccard": float(missed_j.max()) if missed_j.size else None,
    }

    # Text integrity: kept originals (plain text, never HTML) should keep their characters.
    kept_orig = merged[(merged.role == "original") & (merged.status == "kept")]
    ratio = kept_orig.out_chars.astype("float64") / kept_orig.n_chars.astype("float64")
    stripped = kept_orig.html_stripped.fillna(False).astype(bool)
    integrity = {
        "kept_originals": len(kept_orig),
        "sent_through_html_stripper": int(stripped.sum()),
        "lost_over_10pct_chars": int((ratio < 0.9).sum()),
        "lost_over_30pct_chars": int((ratio < 0.7).sum()),
        "lost_examples": kept_orig.loc[ratio < 0.7, "id"].head(5).tolist(),
    }

    clusters_with_copies = set(copies.cluster_id)
    kept_clusters = set(merged.loc[merged.status == "kept", "cluster_id"])
    lost = sorted(clusters_with_copies - kept_clusters)

    return {
        "output": str(output),
        "truth": str(truth_path),
        "threshold": threshold,
        "documents": {
            "generated": len(truth),
            "output_rows": len(rows) + unknown_rows + dup_ids,
            "kept": int((merged.status == "kept").sum()),
            "rejected": int((merged.status == "rejected").sum()),
            "missing_from_output": missing,
            "unknown_output_rows": unknown_rows,
            "duplicate_source_ids": dup_ids,
        },
        "rejected_by_reason": {str(k): int(v) for k, v in reasons.items()},
        "pairs": {
            "positive": n_pos,
            "predicted": predicted,
            "true_positive": tp,
            "false": false_pairs,
            "neutral": neutral,
            "missed": n_pos - tp,
        },
        "precision": precision,
        "precision_strict": precision_strict,
        "recall": recall,
        "f1": f1,
        "recall_by_kind": per_kind,
        "missed": missed,
        "text_integrity": integrity,
        "clusters": {
            "generated_with_copies": len(clusters_with_copies),
            "lost_every_copy": len(lost),
            "lost_examples": lost[:10],
            "zhclean_with_duplicates": int((clustered.groupby("key").size() > 1).sum()),
            "zhclean_merging_generated_clusters": merged_clusters,
        },
    }


def format_table(result: dict[str, Any]) -> str:
    """The scores as plain-text tables."""
    p = result["pairs"]
    d = result["documents"]
    c = result["clusters"]
    lines = [
        f"documents: {d['generated']:,} generated, {d['kept']:,} kept, {d['rejected']:,} rejected, "
        f"{d['missing_from_output']:,} missing, {d['unknown_output_rows']:,} unknown rows",
        "rejected by reason: "
        + (", ".join(f"{k} {v:,}" for k, v in result["rejected_by_reason"].items()) or "none"),
        "",
        f"pairs (positive: copy/original with true J >= {result['threshold']}):",
        f"  positive {p['positive']:,}  predicted {p['predicted']:,}  true positive "
        f"{p['true_positive']:,}  false {p['false']:,}  neutral {p['neutral']:,}  "
        f"missed {p['missed']:,}",
        f"  precision {result['precision']:.4f}  (strict {result['precision_strict']:.4f})  "
        f"recall {result['recall']:.4f}  F1 {result['f1']:.4f}",
    ]
    missed = result.get("missed", {})
    if missed.get("count"):
        lines.append(
            f"  missed pairs' true J: min {missed['min_jaccard']:.4f}, median "
            f"{missed['median_jaccard']:.4f}, max {missed['max_jaccard']:.4f}; "
            f"{missed['original_text_damaged']} of them with an original whose text zhclean "
            "cut by more than 10% of its characters"
        )
    lines += [
        "",
        f"{'kind':<20}{'copies':>8}{'J>=thr':>8}{'found':>8}{'recall':>9}{'found J<thr':>13}",
    ]
    for kind, k in result["recall_by_kind"].items():
        recall = f"{k['recall']:.4f}" if k["recall"] is not None else "-"
        lines.append(
            f"{kind:<20}{k['copies']:>8,}{k['positives']:>8,}{k['found']:>8,}{recall:>9}"
            f"{k['found_below_threshold']:>7,}/{k['below_threshold']:<5,}"
        )
    ti = result.get("text_integrity")
    if ti:
        lines += [
            "",
            f"text integrity: of {ti['kept_originals']:,} kept originals (plain text), "
            f"{ti['sent_through_html_stripper']:,} went through the HTML stripper; "
            f"{ti['lost_over_10pct_chars']:,} lost > 10% of their characters, "
            f"{ti['lost_over_30pct_chars']:,} > 30%"
            + (f" (e.g. {', '.join(ti['lost_examples'][:3])})" if ti["lost_examples"] else ""),
        ]
    lines += [
        "",
        f"clusters: {c['generated_with_copies']:,} generated with copies, "
        f"{c['lost_every_copy']:,} lost every copy"
        + (f" (e.g. {', '.join(c['lost_examples'][:3])})" if c["lost_every_copy"] else "")
        + f"; {c['zhclean_with_duplicates']:,} zhclean clusters with duplicates, "
        f"{c['zhclean_merging_generated_clusters']:,} merging generated clusters",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Precision, recall and F1 of zhclean's duplicate clusters against "
        "bench/make_corpus.py's truth.parquet (see the module docstring for definitions).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("output", type=Path, help="zhclean output folder (with data/, rejected/)")
    parser.add_argument("truth", type=Path, help="truth.parquet of the generated corpus")
    parser.add_argument("--threshold", type=float, default=0.8, help="true Jaccard of a positive")
    parser.add_argument("--json", type=Path, help="also write the scores here as JSON")
    args = parser.parse_args(argv)
    if not (args.output / "data").exists() and not (args.output / "rejected").exists():
        print(f"score_dedup: {args.output} has no data/ or rejected/ folder", file=sys.stderr)
        return 2
    if not args.truth.exists():
        print(f"score_dedup: {args.truth} does not exist", file=sys.stderr)
        return 2
    result = score(args.output, args.truth, args.threshold)
    print(format_table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
