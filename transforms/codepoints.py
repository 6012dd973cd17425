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
    joined = "".join(texts)
    # A numpy unicode scalar is UCS-4 already: measured 5x faster than
    # ``str.encode("utf-32-le")``, and lone surrogates pass through unchanged.
    cps = np.array([joined]).view(np.uint32)[: len(joined)]
    bounds = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(
        np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts)), out=bounds[1:]
    )
    return cps, bounds


def count_per_text(mask: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """How many positions of ``mask`` are non-zero within each text."""
    starts = bounds[:-1]
    if mask.size == 0:
        return np.zeros(starts.size, dtype=np.int64)
    if np.count_nonzero(mask) * 8 < mask.size:
        # Sparse (traditional characters in simplified text, ligatures): find
        # the few positions and count them per text, measured 5x faster.
        return np.diff(np.searchsorted(np.flatnonzero(mask), bounds))
    # reduceat sums from each start to the next; an empty text would get the
    # element at its start instead of 0, so those are set afterwards.  The
    # padding gives trailing empty texts a valid start (clamping it instead
    # cut the last non-empty text short).
    padded = np.zeros(mask.size + 1, dtype=bool)
    padded[:-1] = mask
    counts = np.add.reduceat(padded, starts, dtype=np.int64)
    counts[bounds[1:] == starts] = 0
    return counts


def lookup(table: np.ndarray, cps: np.ndarray, outside: int = 0) -> np.ndarray:
    """``table[cp]`` for every code point; ``outside`` for code points beyond the table."""
    if len(table) > int(cps.max(initial=0)):
        return table[cps]
    out = np.full(cps.shape, outside, dtype=table.dtype)
    inside = cps < len(table)
    out[inside] = table[cps[inside]]
    return out


def texts_from_code_points(cps: np.ndarray, bounds: np.ndarray) -> list[str]:
    """The texts ``cps[bounds[i]:bounds[i+1]]`` as Python strings."""
    joined = cps.tobytes().decode("utf-32-le", "surrogatepass")
    return [joined[a:b] for a, b in itertools.pairwise(bounds.tolist())]


def map_code_points(
    cps: np.ndarray, bounds: np.ndarray, table: np.ndarray, outside: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each code point replaced by ``table[cp]`` (0 deletes it): (code points, bounds, several).

    ``several`` says, per text, whether it holds a character marked
    ``SEVERAL``; those characters are left out here, and the caller redoes
    such texts on its slow path.
    """
    mapped = lookup(table, cps, outside)
    several = mapped == SEVERAL
    keep = mapped != 0
    keep &= ~several
    kept_bounds = np.zeros(bounds.size, dtype=np.int64)
    np.cumsum(count_per_text(keep, bounds), out=kept_bounds[1:])
    return mapped[keep], kept_bounds, count_per_text(several, bounds) > 0


def map_characters(
    texts: Sequence[str], table: np.ndarray, outside: int = 0
) -> tuple[list[str], np.ndarray]:
    """``map_code_points`` over texts: the mapped texts, and per text whether it needs the slow path."""
    mapped, bounds, several = map_code_points(*code_points(texts), table, outside)
    return texts_from_code_points(mapped, bounds), several


def replace_texts(
    cps: np.ndarray, bounds: np.ndarray, indices: np.ndarray, texts: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """(code points, bounds) with text ``indices[k]`` (ascending) replaced by ``texts[k]``.

    For the few texts a slow path redoes: the others' code points are copied
    in runs, not converted back to strings and again to code points.
    """
    new_cps, new_bounds = code_points(texts)
    lengths = np.diff(bounds)
    lengths[indices] = np.diff(new_bounds)
    out_bounds = np.zeros(bounds.size, dtype=np.int64)
    np.cumsum(lengths, out=out_bounds[1:])
    pieces, start = [], 0
    for k, i in enumerate(indices.tolist()):
        pieces.append(cps[bounds[start] : bounds[i]])
        pieces.append(new_cps[new_bounds[k] : new_bounds[k + 1]])
        start = i + 1
    pieces.append(cps[bounds[start] :])
    return np.concatenate(pieces).astype(np.uint32, copy=False), out_bounds
