"""Quality filters: reject documents that are empty, too short, or not Chinese enough.

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

import re

import pyarrow as pa

from transforms.config import FilterConfig
from transforms.stage import StageResult, split_by_mask

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_SPACE = re.compile(r"\s")


def chinese_ratio(text: str) -> float:
    """Han characters as a share of the non-space characters (0.0 for an empty text)."""
    visible = len(text) - len(_SPACE.findall(text))
    return len(_HAN.findall(text)) / visible if visible else 0.0


def rejection_reason(text: str, cfg: FilterConfig) -> tuple[str, str] | None:
    """(reason, detail) for a text the filters reject, or None to keep it."""
    if not text.strip():
        return "empty", "no text left after cleaning"
    if len(text) < cfg.min_chars:
        return "too_short", f"{len(text)} characters, minimum is {cfg.min_chars}"
    ratio = chinese_ratio(text)
    if ratio < cfg.min_chinese_ratio:
        return (
            "low_chinese_ratio",
            f"Chinese characters are {ratio:.0%} of the text, minimum is {cfg.min_chinese_ratio:.0%}",
        )
    return None


def filter_batch(records: pa.Table, cfg: FilterConfig) -> StageResult:
    verdicts = [rejection_reason(text, cfg) for text in records.column("text").to_pylist()]
    return split_by_mask(
        records,
        keep=[v is None for v in verdicts],
        reasons=[v[0] if v else None for v in verdicts],
        details=[v[1] if v else None for v in verdicts],
        stage="filter",
    )
