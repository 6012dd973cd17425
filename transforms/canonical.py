"""The canonical form used to match documents, never to write them.

Two news documents are the same story when they say the same words, whatever
their punctuation, spacing, character width, case or script.  The canonical
form drops all of that so that exact hashing and MinHash compare words only:

1. script: text detected as traditional is converted with OpenCC ``tw2sp``
   (phrase level, so Taiwan vocabulary such as 軟體 and 程式 meets 软件 and
   程序); every other text goes through character-level ``t2s``, which leaves
   simplified text essentially unchanged.  ``tw2sp`` is never applied to
   simplified text because it rewrites it (文件 and 程序 change).
2. NFKC (width and compatibility forms) and case folding.
3. Everything that is not a letter or a digit (punctuation, symbols,
   whitespace, underscores) is removed.

Markup is gone before this runs: the canonical form is taken from the cleaned
text.  The written ``text`` column keeps its script and punctuation.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import cache

import numpy as np

_NOT_WORD = re.compile(r"[\W_]+")

# Above this share of Han characters changed by t2s, a text is traditional.
# Simplified news changes in well under 1% of characters (ambiguous
# characters such as 乾, 著), traditional news in 20-40%.
TRADITIONAL_CHANGED_SHARE = 0.05


@cache
def _converter(config: str):
    import opencc  # imported here: loading the dictionaries costs ~50 ms

    return opencc.OpenCC(config)


def _han_mask(codepoints: np.ndarray) -> np.ndarray:
    return ((codepoints >= 0x4E00) & (codepoints <= 0x9FFF)) | (
        (codepoints >= 0x3400) & (codepoints <= 0x4DBF)
    )


def _codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def traditional_share(text: str, simplified: str) -> float:
    """Share of the Han characters of ``text`` that t2s changed (``simplified`` = t2s(text))."""
    original = _codepoints(text)
    han = int(_han_mask(original).sum())
    if han == 0:
        return 0.0
    converted = _codepoints(simplified)
    if converted.size != original.size:
        # t2s phrase rules changed the length; compare character sets instead.
        changed = len(set(text) - set(simplified))
        return min(1.0, changed / han)
    return float(((original != converted) & _han_mask(original)).sum()) / han


def is_traditional(text: str) -> bool:
    return traditional_share(text, _converter("t2s").convert(text)) > TRADITIONAL_CHANGED_SHARE


def fold_script(text: str) -> str:
    """Simplified-script text with Taiwan vocabulary folded, for matching only."""
    simplified = _converter("t2s").convert(text)
    if traditional_share(text, simplified) > TRADITIONAL_CHANGED_SHARE:
        return _converter("tw2sp").convert(text)
    return simplified


def canonical_form(text: str, fold_traditional: bool = True) -> str:
    if fold_traditional:
        text = fold_script(text)
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).casefold())


def exact_hash(canonical: str) -> str:
    """64-bit BLAKE2b of the canonical form, hex: equal for exact duplicates."""
    return hashlib.blake2b(canonical.encode("utf-8"), digest_size=8).hexdigest()
