"""LSH banding from the threshold: how many bands of how many rows a signature is cut into.

Two documents become a candidate pair when they agree on every row of at least
one band: with Jaccard ``j``, ``b`` bands of ``r`` rows, that happens with
probability ``1 - (1 - j**r)**b`` (an S-curve).  Every candidate is verified
afterwards, so a false candidate costs a comparison while a pair that never
becomes a candidate is a duplicate lost for good.  So the banding is chosen
for recall at the threshold, as text-dedup's ``optimal_param`` derives it from
the threshold, but weighted to the side of recall:

1. the longest bands (most rows: fewest false candidates) that, with as many
   bands as ``num_perm`` allows, still make a pair at the threshold a
   candidate with probability ``CANDIDATE_RECALL``;
2. then the fewest bands of that length that reach it.

For the defaults (threshold 0.8, 128 permutations) this gives 20 bands of 6
rows (0.998 at 0.8, 0.27 at 0.5, 0.015 at 0.3), where datasketch's
``MinHashLSH`` picks 9 x 13 (0.40 at 0.8).
"""

from __future__ import annotations

import math

# Probability that a pair exactly at the threshold becomes a candidate.  Pairs
# above it do so more often (0.9999 at 0.85 for 20 x 6).  Measured by
# bench/lsh_recall.py: see bench/RESULTS.md.
CANDIDATE_RECALL = 0.997


def candidate_probability(jaccard: float, bands: int, rows: int) -> float:
    """Probability that two signatures with this Jaccard share at least one band."""
    return 1.0 - (1.0 - jaccard**rows) ** bands


def lsh_bands_rows(
    threshold: float, num_perm: int, recall: float = CANDIDATE_RECALL
) -> tuple[int, int]:
    """(bands, rows) for ``threshold`` and ``num_perm`` (see the module docstring)."""
    for rows in range(num_perm, 0, -1):
        most_bands = num_perm // rows
        if candidate_probability(threshold, most_bands, rows) >= recall:
            return _fewest_bands(threshold, rows, most_bands, recall), rows
    return num_perm, 1  # a threshold so low that even single values are not enough


def _fewest_bands(threshold: float, rows: int, most: int, recall: float) -> int:
    miss = 1.0 - threshold**rows  # one band misses
    if miss <= 0.0:
        return 1
    needed = math.ceil(math.log(1.0 - recall) / math.log(miss) - 1e-9)
    return max(1, min(most, needed))
