"""Compiled loops of the canonical form: the script census and the fold, one pass each.

The numpy formulation (``transforms.codepoints``: a lookup, then masks
counted per text with ``reduceat`` or ``searchsorted``) makes several passes
over a batch's code points and allocates an array per pass; it was most of
the canonical form's time and the canonical form most of the dedup stage's
(``bench/RESULTS.md``).  These loops do the same in one pass each, with the
same results (tests check them against the numpy path).  Kept apart, like
``transforms.dedup.minhash_kernel``, so that only the processes that hash import
numba.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True, boundscheck=False)
def script_counts_kernel(cps: np.ndarray, bounds: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Per text, how many of its code points have each of the 3 low bits of ``classes[cp]``.

    Code points beyond ``classes`` count for nothing.
    """
    texts = bounds.size - 1
    out = np.zeros((texts, 3), dtype=np.int64)
    limit = classes.size
    for d in range(texts):
        han = traditional = non_taiwan = 0
        for j in range(bounds[d], bounds[d + 1]):
            cp = cps[j]
            if cp < limit:
                flags = classes[cp]
                han += flags & 1
                traditional += (flags >> 1) & 1
                non_taiwan += (flags >> 2) & 1
        out[d, 0] = han
        out[d, 1] = traditional
        out[d, 2] = non_taiwan
    return out


@numba.njit(cache=True, nogil=True, boundscheck=False)
def fold_kernel(
    cps: np.ndarray, bounds: np.ndarray, table: np.ndarray, several_marker: np.uint32
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``transforms.codepoints.map_code_points`` in one pass (0 beyond the table)."""
    texts = bounds.size - 1
    out = np.empty(cps.size, dtype=np.uint32)
    out_bounds = np.zeros(bounds.size, dtype=np.int64)
    several = np.zeros(texts, dtype=np.bool_)
    limit = table.size
    k = 0
    for d in range(texts):
        for j in range(bounds[d], bounds[d + 1]):
            cp = cps[j]
            if cp >= limit:
                continue
            mapped = table[cp]
            if mapped == 0:
                continue
            if mapped == several_marker:
                several[d] = True
                continue
            out[k] = mapped
            k += 1
        out_bounds[d + 1] = k
    return out[:k].copy(), out_bounds, several


@numba.njit(cache=True, nogil=True, boundscheck=False)
def utf8_kernel(cps: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 of every text ``cps[bounds[d]:bounds[d+1]]``, joined, and each text's byte bounds.

    For Unicode scalar values (the canonical form holds no surrogates): the
    bytes ``str.encode("utf-8")`` gives, without making a Python string.
    """
    texts = bounds.size - 1
    out = np.empty(cps.size * 4, dtype=np.uint8)
    out_bounds = np.zeros(bounds.size, dtype=np.int64)
    k = 0
    for d in range(texts):
        for j in range(bounds[d], bounds[d + 1]):
            cp = cps[j]
            if cp < 0x80:
                out[k] = cp
                k += 1
            elif cp < 0x800:
                out[k] = 0xC0 | (cp >> 6)
                out[k + 1] = 0x80 | (cp & 0x3F)
                k += 2
            elif cp < 0x10000:
                out[k] = 0xE0 | (cp >> 12)
                out[k + 1] = 0x80 | ((cp >> 6) & 0x3F)
                out[k + 2] = 0x80 | (cp & 0x3F)
                k += 3
            else:
                out[k] = 0xF0 | (cp >> 18)
                out[k + 1] = 0x80 | ((cp >> 12) & 0x3F)
                out[k + 2] = 0x80 | ((cp >> 6) & 0x3F)
                out[k + 3] = 0x80 | (cp & 0x3F)
                k += 4
        out_bounds[d + 1] = k
    return out[:k], out_bounds  # a view: the caller hashes the bytes and drops them
