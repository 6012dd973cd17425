"""Candidate recall of LSH banding, measured: which pairs become candidates at each threshold.

Usage::

    python bench/lsh_recall.py [--pairs 4000] [--seed 1] [--json OUT.json]

Builds pairs of real Chinese texts (the sample's sentences) and variants of
them with characters replaced at random positions, so that the pairs' true
character-5-gram Jaccard (on zhclean's canonical form) spreads over 0.4-1.0;
signs every text with zhclean's MinHash (128 permutations); and, for each
threshold, counts the pairs whose true Jaccard lies at or just above it
(``[t, t + 0.05)``) and above that, that become candidates under:

- the banding zhclean derives (``transforms.dedup.lsh.lsh_bands_rows``);
- the same rows with one band fewer and one more, and one row more;
- datasketch's ``MinHashLSH`` choice for the threshold (its ``_optimal_param``).

A pair is a candidate when one band of its two signatures agrees in every row:
the same test the pipeline's band keys make.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.flows.corpus import sample_sentences  # noqa: E402
from transforms.config import DedupConfig  # noqa: E402
from transforms.dedup.canonical import canonical_form  # noqa: E402
from transforms.dedup.lsh import candidate_probability, lsh_bands_rows  # noqa: E402
from transforms.dedup.minhash import signatures  # noqa: E402

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)
NUM_PERM = 128


def jaccard(a: str, b: str, n: int = 5) -> float:
    left = {a[i : i + n] for i in range(len(a) - n + 1)}
    right = {b[i : i + n] for i in range(len(b) - n + 1)}
    return len(left & right) / len(left | right)


def make_pairs(count: int, rng: np.random.Generator) -> tuple[list[str], list[str], np.ndarray]:
    """Originals of 40-60 sentences and variants with a random share of characters replaced."""
    sentences = sample_sentences()
    originals, variants, truth = [], [], []
    for _ in range(count):
        text = "".join(rng.choice(sentences, size=int(rng.integers(40, 60))))
        chars = list(canonical_form(text))
        # 5-grams lost per replaced character are about 5: aim the Jaccard over 0.4-1.0.
        share = rng.uniform(0.0, 0.13)
        for position in rng.choice(len(chars), size=int(share * len(chars)), replace=False):
            chars[position] = chr(int(rng.integers(0x4E00, 0x9FA5)))
        original, variant = canonical_form(text), "".join(chars)
        originals.append(original)
        variants.append(variant)
        truth.append(jaccard(original, variant))
    return originals, variants, np.array(truth)


def collide(left: np.ndarray, right: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Whether each pair of signatures agrees on every row of at least one band."""
    same = left[:, : bands * rows] == right[:, : bands * rows]
    return same.reshape(len(left), bands, rows).all(axis=2).any(axis=1)


def datasketch_choice(threshold: float) -> tuple[int, int]:
    from datasketch.lsh import _optimal_param

    return _optimal_param(threshold, NUM_PERM, 0.5, 0.5)


def bandings(threshold: float) -> dict[str, tuple[int, int]]:
    bands, rows = lsh_bands_rows(threshold, NUM_PERM)
    found = {
        "zhclean (derived)": (bands, rows),
        "one band fewer": (bands - 1, rows),
        "one row more": (min(bands, NUM_PERM // (rows + 1)), rows + 1),
        "datasketch MinHashLSH": datasketch_choice(threshold),
    }
    if (bands + 1) * rows <= NUM_PERM:
        found["one band more"] = (bands + 1, rows)
    return found


def measure(truth: np.ndarray, left: np.ndarray, right: np.ndarray) -> list[dict]:
    rows_out = []
    for threshold in THRESHOLDS:
        at = (truth >= threshold) & (truth < threshold + 0.05)
        above = truth >= threshold + 0.05
        below = truth < threshold - 0.2
        for name, (b, r) in bandings(threshold).items():
            hit = collide(left, right, b, r)
            rows_out.append(
                {
                    "threshold": threshold,
                    "banding": name,
                    "bands": b,
                    "rows": r,
                    "theory_at_threshold": round(candidate_probability(threshold, b, r), 4),
                    "pairs_at": int(at.sum()),
                    "recall_at": round(float(hit[at].mean()), 4) if at.any() else None,
                    "pairs_above": int(above.sum()),
                    "recall_above": round(float(hit[above].mean()), 4) if above.any() else None,
                    "false_candidates_0.2_below": round(float(hit[below].mean()), 4)
                    if below.any()
                    else None,
                }
            )
    return rows_out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    originals, variants, truth = make_pairs(args.pairs, rng)
    cfg = DedupConfig()
    left = signatures(originals, cfg.ngram_size, NUM_PERM, cfg.seed)
    right = signatures(variants, cfg.ngram_size, NUM_PERM, cfg.seed)
    results = measure(truth, left, right)
    print(f"{args.pairs:,} pairs, seed {args.seed}, {time.perf_counter() - started:.1f} s")
    print(
        "| threshold | banding | b x r | P(candidate) at t, theory | pairs in [t, t+0.05) "
        "| recall there | pairs above | recall above | candidates at J < t - 0.2 |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for row in results:
        print(
            f"| {row['threshold']} | {row['banding']} | {row['bands']} x {row['rows']} | "
            f"{row['theory_at_threshold']} | {row['pairs_at']} | {row['recall_at']} | "
            f"{row['pairs_above']} | {row['recall_above']} | {row['false_candidates_0.2_below']} |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
