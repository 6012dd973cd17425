"""The compiled MinHash kernel: shingle hashing and every permutation fused in one loop.

Measured on this machine (``bench/minhash_kernels.py``, results in
``bench/RESULTS.md``): the numpy formulation (one vectorised pass per
permutation with ``np.minimum.reduceat``) is memory-bound at about 6,000
documents/s per core on 1,300-character texts, and was most of the dedup
stage's time; this loop keeps each shingle's hash in a register while the
128 permutations run over it (the inner loop vectorises), about 10x faster,
bit-identical.  Kept in its own module so that only the processes that hash
pay for importing numba; ``cache=True`` stores the machine code beside this
file (or in ``NUMBA_CACHE_DIR``) so that later processes skip compiling.
"""

from __future__ import annotations

import numba
import numpy as np

_MAX = np.uint32(0xFFFFFFFF)


@numba.njit(cache=True, nogil=True, boundscheck=False)
def signatures_kernel(
    cps: np.ndarray, bounds: np.ndarray, n: int, a: np.ndarray, b: np.ndarray, out: np.ndarray
) -> None:
    """Fill ``out[d]`` with the MinHash of text ``d`` = ``cps[bounds[d]:bounds[d+1]]``.

    The shingle hash is ``transforms.dedup.minhash._window_hashes``'s, window by
    window (a text shorter than ``n`` is one shingle); the permutation is
    datasketch's affine32: fmix32, then ``a*h + b mod 2**32``.  Rows of empty
    texts are left as they are (the caller fills ``out`` with MAX_HASH).
    """
    num_perm = a.size
    for d in range(bounds.size - 1):
        lo = bounds[d]
        length = bounds[d + 1] - lo
        if length == 0:
            continue
        window = n if length >= n else length
        mins = np.full(num_perm, _MAX, dtype=np.uint32)
        for s in range(length - window + 1):
            acc = np.uint64(0)
            for k in range(window):
                acc = acc * np.uint64(0x100000001B3) + np.uint64(cps[lo + s + k])
            # murmur3's fmix64, keep the high 32 bits (as _window_hashes) ...
            h = acc + np.uint64(window)
            h ^= h >> np.uint64(33)
            h *= np.uint64(0xFF51AFD7ED558CCD)
            h ^= h >> np.uint64(33)
            h *= np.uint64(0xC4CEB9FE1A85EC53)
            h ^= h >> np.uint64(33)
            h = h >> np.uint64(32)
            # ... then fmix32, which datasketch's affine32 applies to each hash.
            h ^= h >> np.uint64(16)
            h = (h * np.uint64(0x85EBCA6B)) & np.uint64(0xFFFFFFFF)
            h ^= h >> np.uint64(13)
            h = (h * np.uint64(0xC2B2AE35)) & np.uint64(0xFFFFFFFF)
            h ^= h >> np.uint64(16)
            h32 = np.uint32(h)
            # A branch-free minimum over a local row lets LLVM vectorise this loop.
            for j in range(num_perm):
                mins[j] = min(mins[j], np.uint32(a[j] * h32 + b[j]))
        out[d, :] = mins
