"""Verification: which candidate pairs really reach the threshold, and how similar they are.

A candidate is a duplicate when its signatures agree in at least
``threshold`` of their positions.  MinHash's estimate from 128 permutations
has a standard error of about 0.035 at J = 0.8, so about half of the true
pairs between 0.80 and 0.82 would fall below the threshold: a pair whose
estimate is within ``UNCERTAIN_MARGIN`` of it (3 standard errors) is decided
by the exact Jaccard of its n-gram sets instead, when the caller can compute it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np

from transforms.dedup.minhash import estimated_jaccard, shingle_hashes

UNCERTAIN_MARGIN = 0.1

# Maps sorted unique doc_keys to their rows: (len(keys), num_perm) signatures,
# or canonical texts.
SignatureLookup = Callable[[np.ndarray], np.ndarray]
TextLookup = Callable[[np.ndarray], Sequence[str]]
# Exact Jaccard of pairs of doc_keys, (m, 2) -> (m,).
ExactJaccard = Callable[[np.ndarray], np.ndarray]

# Texts hashed at once when measuring exact Jaccard: hashing needs several
# 8-byte words per character, so a whole corpus at once would need gigabytes.
_EXACT_JACCARD_BATCH = 2048


def similarities(
    pairs: np.ndarray,
    signatures_of: SignatureLookup,
    threshold: float,
    exact_jaccard: ExactJaccard | None = None,
    margin: float = UNCERTAIN_MARGIN,
) -> np.ndarray:
    """The similarity of each doc_key pair: the signature agreement, or the exact Jaccard
    for pairs within ``margin`` of the threshold when ``exact_jaccard`` is given."""
    if len(pairs) == 0:
        return np.empty(0)
    keys = np.unique(pairs)
    signatures = signatures_of(keys)
    left, right = np.searchsorted(keys, pairs[:, 0]), np.searchsorted(keys, pairs[:, 1])
    similarity = estimated_jaccard(signatures[left], signatures[right])
    if exact_jaccard is not None:
        unsure = np.abs(similarity - threshold) < margin
        if unsure.any():
            similarity[unsure] = exact_jaccard(pairs[unsure])
    return similarity


def verify_pairs(
    pairs: np.ndarray,
    signatures_of: SignatureLookup,
    threshold: float,
    exact_jaccard: ExactJaccard | None = None,
    margin: float = UNCERTAIN_MARGIN,
) -> tuple[np.ndarray, np.ndarray]:
    """The doc_key pairs that reach ``threshold``, and their similarity (see ``similarities``)."""
    similarity = similarities(pairs, signatures_of, threshold, exact_jaccard, margin)
    ok = similarity >= threshold
    return pairs.reshape(-1, 2)[ok], similarity[ok]


def exact_jaccard_from_texts(canonical_of: TextLookup, ngram_size: int) -> ExactJaccard:
    """An ``ExactJaccard`` that fetches canonical texts by doc_key and compares n-gram sets."""

    def measure(pairs: np.ndarray) -> np.ndarray:
        keys = np.unique(pairs)
        texts = canonical_of(keys)
        sets: list[np.ndarray] = []
        for start in range(0, len(texts), _EXACT_JACCARD_BATCH):
            hashes, offsets = shingle_hashes(
                texts[start : start + _EXACT_JACCARD_BATCH], ngram_size
            )
            sets.extend(np.unique(hashes[a:b]) for a, b in itertools.pairwise(offsets))
        left, right = np.searchsorted(keys, pairs[:, 0]), np.searchsorted(keys, pairs[:, 1])
        return np.array([_jaccard(sets[a], sets[b]) for a, b in zip(left, right, strict=True)])

    return measure


def _jaccard(left: np.ndarray, right: np.ndarray) -> float:
    union = len(left) + len(right)
    if union == 0:
        return 1.0
    shared = len(np.intersect1d(left, right, assume_unique=True))
    return shared / (union - shared)
