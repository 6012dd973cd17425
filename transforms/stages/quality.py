"""Stage ``quality``: reject documents that are empty, too short, or not Chinese enough.

Runs after normalization, on the cleaned text, so that the thresholds count
what will be written.  The first failing rule gives the reason:

* ``empty``: no text at all is left (for example HTML that was only a script).
* ``too_short``: fewer than ``min_chars`` characters.  The default of 100
  keeps short but real news items such as a photo story of about 200
  characters, and drops bylines, captions and navigation fragments.
* ``low_chinese_ratio``: Han characters are less than ``min_chinese_ratio`` of
  the non-space characters (tables of numbers, English pages, mojibake).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from transforms.codepoints import code_points, count_per_text, lookup
from transforms.config import QualityConfig
from transforms.stage import StageOutput, split_by_mask

_HAN_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F))
# Every whitespace character is below U+3001 (U+3000 is the last one).
_IS_SPACE = np.array([chr(cp).isspace() for cp in range(0x3001)], dtype=bool)


def chinese_ratios(texts: Sequence[str]) -> np.ndarray:
    """Per text, Han characters as a share of the non-space characters (0.0 if there are none).

    One numpy pass over the code points of the whole batch.
    """
    cps, bounds = code_points(texts)
    han = np.zeros(cps.shape, dtype=bool)
    for lo, hi in _HAN_RANGES:
        han |= (cps >= lo) & (cps <= hi)
    shown = count_per_text(~lookup(_IS_SPACE, cps, False), bounds)
    return np.where(shown > 0, count_per_text(han, bounds) / np.maximum(shown, 1), 0.0)


def chinese_ratio(text: str) -> float:
    return float(chinese_ratios([text])[0])


def rejection_reason(text: str, cfg: QualityConfig, ratio: float) -> tuple[str, str] | None:
    """(reason, detail) for a text the quality rules reject, or None to keep it.

    ``ratio`` is the text's ``chinese_ratio`` (computed for the whole batch at once).
    """
    if not text.strip():
        return "empty", "no text left after cleaning"
    if len(text) < cfg.min_chars:
        return "too_short", f"{len(text)} characters, minimum is {cfg.min_chars}"
    if ratio < cfg.min_chinese_ratio:
        return (
            "low_chinese_ratio",
            f"Chinese characters are {ratio:.0%} of the text, minimum is {cfg.min_chinese_ratio:.0%}",
        )
    return None


def quality_batch(records: pa.Table, cfg: QualityConfig) -> StageOutput:
    texts = records.column("text").to_pylist()
    ratios = chinese_ratios(texts)
    verdicts = [rejection_reason(t, cfg, r) for t, r in zip(texts, ratios, strict=True)]
    return split_by_mask(
        records,
        keep=[v is None for v in verdicts],
        reasons=[v[0] if v else None for v in verdicts],
        details=[v[1] if v else None for v in verdicts],
    )
