"""Per-character work on a whole batch of texts in one numpy pass over their code points.

Python's per-character paths (``str.translate`` with a large table, regular
expressions over character classes) cost a dictionary miss or a class test
per character; millions of documents make that the bottleneck.  Here a batch
is joined, viewed as UTF-32 code points, mapped through a lookup array, and
cut back into texts at their boundaries.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

# In a character table: the character becomes several characters, which a
# 1:1 array cannot say; texts holding one are reported for a slow path.
SEVERAL = np.uint32(0xFFFFFFFF)


def code_points(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(code points of all texts joined, bounds): text i is ``cps[bounds[i]:bounds[i+1]]``."""
    cps = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    bounds = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(
        np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts)), out=bounds[1:]
    )
    return cps, bounds


def count_per_text(mask: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """How many positions of ``mask`` are true within each text."""
    before = np.zeros(len(mask) + 1, dtype=np.int64)
    np.cumsum(mask, out=before[1:])
    return np.diff(before[bounds])


def lookup(table: np.ndarray, cps: np.ndarray, outside: int = 0) -> np.ndarray:
    """``table[cp]`` for every code point; ``outside`` for code points beyond the table."""
    if len(table) > int(cps.max(initial=0)):
        return table[cps]
    out = np.full(cps.shape, outside, dtype=table.dtype)
    inside = cps < len(table)
    out[inside] = table[cps[inside]]
    return out


def map_characters(
    texts: Sequence[str], table: np.ndarray, outside: int = 0
) -> tuple[list[str], np.ndarray]:
    """Every text with each character replaced by ``table[cp]`` (0 deletes it).

    Returns the texts and, per text, whether it holds a character marked
    ``SEVERAL``; those characters are left out here, and the caller redoes
    such texts on its slow path.
    """
    cps, bounds = code_points(texts)
    mapped = lookup(table, cps, outside)
    several = mapped == SEVERAL
    keep = (mapped != 0) & ~several
    kept_before = np.zeros(len(cps) + 1, dtype=np.int64)
    np.cumsum(keep, out=kept_before[1:])
    joined = mapped[keep].tobytes().decode("utf-32-le", "surrogatepass")
    out = [joined[a:b] for a, b in itertools.pairwise(kept_before[bounds])]
    return out, count_per_text(several, bounds) > 0
