"""MinHash signatures for a whole batch at once, bit-identical to datasketch.

datasketch's per-document ``update_batch`` loop manages ~700 documents/s per
core on 1,000-character texts (../shared/FACTS.md).  Here a batch's texts are
concatenated as code points and one compiled loop
(``transforms.dedup.minhash_kernel``) hashes every character n-gram and applies all
permutations to it.  ``shingle_hashes`` computes the same n-gram hashes with
numpy, for measuring exact Jaccard and for feeding datasketch.

Compatibility contract: for the same 32-bit shingle hashes, ``signatures``
returns exactly the ``hashvalues`` of ``datasketch.MinHash(num_perm, seed,
scheme="affine32")`` fed those hashes (datasketch applies murmur3's fmix32 to
each hash, then ``a*h + b mod 2**32``).  The permutation parameters are taken
from datasketch itself.  ``shingle_hash`` is the hash function to pass to
datasketch (``MinHash(hashfunc=shingle_hash)``) to reproduce a stored
signature from text, and ``to_lean_minhash`` turns a stored signature into a
``datasketch.LeanMinHash`` for querying with datasketch's own LSH.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

MAX_HASH = np.uint32(0xFFFFFFFF)
_POLY = np.uint64(0x100000001B3)  # FNV-64 prime: odd, spreads code points over 64 bits


def _fmix64(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


def _fmix32(h: np.ndarray) -> np.ndarray:
    # murmur3's 32-bit finalizer, as datasketch's affine32 scheme applies it.
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def _window_hashes(codepoints: np.ndarray, n: int) -> np.ndarray:
    """32-bit hash of every window of ``n`` consecutive code points (len - n + 1 of them)."""
    count = codepoints.size - n + 1
    acc = np.zeros(count, dtype=np.uint64)
    cps = codepoints.astype(np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            acc = acc * _POLY + cps[k : k + count]
        return (_fmix64(acc + np.uint64(n)) >> np.uint64(32)).astype(np.uint32)


def shingle_hash(shingle: str | bytes) -> int:
    """The 32-bit hash zhclean gives one shingle (a canonical-form n-gram).

    A text shorter than n is one shingle of its own length.  Pass this as
    ``hashfunc`` to ``datasketch.MinHash`` and feed it ``shingles(text, n)``.
    """
    if isinstance(shingle, bytes):
        shingle = shingle.decode("utf-8")
    cps = np.frombuffer(shingle.encode("utf-32-le"), dtype=np.uint32)
    return int(_window_hashes(cps, cps.size)[0])


def shingles(canonical: str, n: int) -> list[str]:
    if len(canonical) <= n:
        return [canonical] if canonical else []
    return [canonical[i : i + n] for i in range(len(canonical) - n + 1)]


def shingle_hashes(texts: Sequence[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of the n-grams of every text, flat, with ``offsets`` (len(texts) + 1) into them.

    Text ``i`` owns ``hashes[offsets[i]:offsets[i+1]]``; an empty text owns none.
    Duplicated n-grams within a text are kept (MinHash is indifferent to them).
    """
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    counts = np.where(lengths >= n, lengths - n + 1, np.minimum(lengths, 1))
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    hashes = np.empty(int(offsets[-1]), dtype=np.uint32)

    long_docs = lengths >= n
    if long_docs.any():
        joined = "".join(t for t, long in zip(texts, long_docs, strict=True) if long)
        windows = _window_hashes(np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32), n)
        # Window starts that lie wholly inside one text: drop the n-1 windows
        # that straddle each boundary of the concatenation.
        starts = np.zeros(int(long_docs.sum()), dtype=np.int64)
        np.cumsum(lengths[long_docs][:-1], out=starts[1:])
        valid = np.repeat(starts, counts[long_docs]) + _ranges(counts[long_docs])
        hashes[_owned_slots(offsets, counts, long_docs)] = windows[valid]
    for i in np.flatnonzero((lengths > 0) & ~long_docs):
        hashes[offsets[i]] = shingle_hash(texts[i])
    return hashes, offsets


def _ranges(counts: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(c)`` for every c in counts."""
    total = int(counts.sum())
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total, dtype=np.int64) - starts


def _owned_slots(offsets: np.ndarray, counts: np.ndarray, which: np.ndarray) -> np.ndarray:
    return np.repeat(offsets[:-1][which], counts[which]) + _ranges(counts[which])


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 permutation parameters (a, b), uint32.

    The same draws as ``datasketch.MinHash(scheme="affine32")._init_permutations``
    (a test checks they are equal), made here so that worker processes do not
    pay for importing datasketch and scipy.
    """
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def signatures(texts: Sequence[str], n: int, num_perm: int, seed: int) -> np.ndarray:
    """(len(texts), num_perm) uint32 MinHash signatures; an empty text gets MAX_HASH."""
    from transforms.codepoints import code_points

    return code_point_signatures(*code_points(texts), n, num_perm, seed)


def code_point_signatures(
    cps: np.ndarray, bounds: np.ndarray, n: int, num_perm: int, seed: int
) -> np.ndarray:
    """``signatures`` of the texts ``cps[bounds[i]:bounds[i+1]]`` (code points, as uint32)."""
    from transforms.dedup.minhash_kernel import signatures_kernel

    out = np.full((bounds.size - 1, num_perm), MAX_HASH, dtype=np.uint32)
    a, b = permutations(num_perm, seed)
    signatures_kernel(np.ascontiguousarray(cps, dtype=np.uint32), bounds, n, a, b, out)
    return out


def estimated_jaccard(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Share of equal signature positions, row by row (datasketch's ``MinHash.jaccard``)."""
    return (left == right).mean(axis=-1)


def to_lean_minhash(signature: np.ndarray, seed: int = 1):
    """A ``datasketch.LeanMinHash`` holding a stored signature (scheme affine32)."""
    from datasketch import LeanMinHash

    return LeanMinHash(
        seed=seed, hashvalues=np.asarray(signature, dtype=np.uint32), scheme="affine32"
    )
