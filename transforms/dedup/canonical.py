"""The canonical form used to match documents, never to write them.

Two news documents are the same story when they say the same words, whatever
their punctuation, spacing, character width, case or script.  The canonical
form drops all of that so that exact hashing and MinHash compare words only:

1. Phrase-level script folding for Taiwan text: a text detected as
   traditional (more than ``TRADITIONAL_CHANGED_SHARE`` of its Han characters
   are ones OpenCC's ``t2s`` changes) that is written in Taiwan's standard
   forms is converted with OpenCC ``tw2sp``, so that Taiwan vocabulary such as
   軟體 and 程式 meets 软件 and 程序.  ``tw2sp`` rewrites mainland vocabulary
   (文件 becomes 文档), so it is never applied to simplified text, nor to
   traditional text that keeps mainland vocabulary: such text (a character-level
   conversion, or Hong Kong text) uses forms Taiwan does not (爲, 裏, 着: OpenCC's
   ``t2tw`` changes them), and gets character-level folding only.
2. Character by character, through one precomputed table over code points:
   character-level ``t2s`` (so a stray traditional character in simplified
   text folds too), NFKC (width and compatibility forms), case folding, and
   only letters and digits kept (``str.isalnum``): punctuation, symbols,
   whitespace and underscores are removed.

Step 2 runs over a whole batch in one numpy pass, and OpenCC runs only on the
texts detected as traditional, which is what makes the canonical form cheap
enough for millions of documents.  Markup is gone before this runs: the
canonical form is taken from the cleaned text.  The written ``text`` column
keeps its script and punctuation.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Sequence
from functools import cache

import numpy as np

from transforms.codepoints import (
    SEVERAL,
    code_points,
    count_per_text,
    lookup,
    replace_texts,
    texts_from_code_points,
)

# Above this share of Han characters that t2s changes, a text is traditional.
# Simplified news has well under 1% of them (ambiguous characters such as 乾
# and 著), traditional news 20-40%.
TRADITIONAL_CHANGED_SHARE = 0.05
# A traditional text is Taiwan text when at most this share of its Han
# characters are forms Taiwan's standard does not use.  Character-level
# conversions of mainland text have 0.4-1.5% of them, Taiwan text none.
NON_TAIWAN_FORMS_SHARE = 0.001

# Code points at or above this are private use, tags and variation selectors:
# none of them is a letter or digit worth matching on.
_TABLE_LIMIT = 0x40000
_EXPANDS = SEVERAL  # marks characters whose folded form is several characters
_HAN_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F))


@cache
def _converter(config: str):
    import opencc  # imported here: loading the dictionaries costs ~50 ms

    return opencc.OpenCC(config)


def _han_code_points() -> np.ndarray:
    return np.concatenate([np.arange(lo, hi + 1, dtype=np.uint32) for lo, hi in _HAN_RANGES])


@cache
def _character_t2s() -> np.ndarray:
    """``t2s[cp]``: the simplified form of each Han character (itself when t2s keeps it).

    Every Han character goes through OpenCC ``t2s`` on its own line, so only
    its character-level mapping applies, never a phrase across neighbours.
    """
    table = np.arange(_TABLE_LIMIT, dtype=np.uint32)
    han = _han_code_points()
    converted = _converter("t2s").convert("\n".join(chr(cp) for cp in han)).split("\n")
    for cp, simple in zip(han.tolist(), converted, strict=True):
        if len(simple) == 1 and ord(simple) != cp:
            table[cp] = ord(simple)
    return table


@cache
def _fold_table(script: bool = True) -> tuple[np.ndarray, dict[int, str]]:
    """Per code point: (character-level t2s if ``script``), NFKC, casefold, letters and digits only.

    ``table[cp]`` is the folded character, 0 when nothing is left, and
    ``_EXPANDS`` when several characters are (``㎡`` gives ``m2``), with the
    text in ``expansions``.  Built once per process (about 0.2 s): only
    characters that are not letters or digits, or that t2s, NFKC or case
    folding change, are looked at one by one.
    """
    base = _character_t2s() if script else np.arange(_TABLE_LIMIT, dtype=np.uint32)
    table = base.copy()
    expansions: dict[int, str] = {}
    for cp in range(_TABLE_LIMIT):
        char = chr(int(base[cp]))
        if not unicodedata.decomposition(char) and char.casefold() == char:
            if not char.isalnum():
                table[cp] = 0
            continue
        folded = unicodedata.normalize("NFKC", char).casefold()
        word = "".join(c for c in folded if c.isalnum())
        if len(word) == 1:
            table[cp] = ord(word)
        elif word:
            table[cp] = _EXPANDS
            expansions[cp] = word
        else:
            table[cp] = 0
    return table, expansions


@cache
def _changed_by_t2s() -> np.ndarray:
    """Boolean mask over code points: Han characters that t2s changes (traditional-only)."""
    t2s = _character_t2s()
    return t2s != np.arange(_TABLE_LIMIT, dtype=np.uint32)


@cache
def _non_taiwan_forms() -> np.ndarray:
    """Boolean mask over code points: traditional forms that OpenCC ``t2tw`` changes (爲, 裏)."""
    mask = np.zeros(_TABLE_LIMIT, dtype=bool)
    han = _han_code_points()
    converted = _converter("t2tw").convert("\n".join(chr(cp) for cp in han)).split("\n")
    for cp, taiwan in zip(han.tolist(), converted, strict=True):
        if taiwan != chr(cp):
            mask[cp] = True
    return mask


_HAN, _CHANGED_BY_T2S, _NON_TAIWAN = 1, 2, 4


@cache
def _script_classes() -> np.ndarray:
    """Per code point, bit flags: _HAN, _CHANGED_BY_T2S, _NON_TAIWAN (one lookup per character)."""
    classes = np.zeros(_TABLE_LIMIT, dtype=np.uint8)
    for lo, hi in _HAN_RANGES:
        classes[lo : min(hi + 1, _TABLE_LIMIT)] |= _HAN
    classes[_changed_by_t2s()] |= _CHANGED_BY_T2S
    classes[_non_taiwan_forms()] |= _NON_TAIWAN
    return classes


def script_shares(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per text, the shares of its Han characters that are traditional, and non-Taiwan forms."""
    return _script_shares(*code_points(texts))


def _script_shares(cps: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from transforms.dedup.canonical_kernel import script_counts_kernel

    counts = script_counts_kernel(cps, bounds, _script_classes())
    han = np.maximum(counts[:, 0], 1)
    return counts[:, 1] / han, counts[:, 2] / han


def _script_shares_numpy(cps: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``_script_shares`` without the compiled loop: the reference its tests compare with."""
    classes = lookup(_script_classes(), cps)
    han = np.maximum(count_per_text(classes & _HAN, bounds), 1)
    traditional = count_per_text(classes & _CHANGED_BY_T2S, bounds) / han
    non_taiwan = count_per_text(classes & _NON_TAIWAN, bounds) / han
    return traditional, non_taiwan


def is_traditional(text: str) -> bool:
    return bool(script_shares([text])[0][0] > TRADITIONAL_CHANGED_SHARE)


def is_taiwan_text(traditional: np.ndarray, non_taiwan: np.ndarray) -> np.ndarray:
    return (traditional > TRADITIONAL_CHANGED_SHARE) & (non_taiwan <= NON_TAIWAN_FORMS_SHARE)


def _fold_by_char(text: str, script: bool) -> str:
    table, expansions = _fold_table(script)
    out = []
    for char in text:
        cp = ord(char)
        mapped = int(table[cp]) if cp < _TABLE_LIMIT else 0
        if mapped == _EXPANDS:
            out.append(expansions[cp])
        elif mapped:
            out.append(chr(mapped))
    return "".join(out)


def canonical_code_points(
    texts: Sequence[str], fold_traditional: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The canonical form of every text (steps 1 and 2 above) as (code points, bounds).

    One vectorised pass; MinHash hashes these code points directly, so the
    canonical form never has to become Python strings on the hot path.
    """
    cps, bounds = code_points(texts)
    if fold_traditional:
        taiwan = np.flatnonzero(is_taiwan_text(*_script_shares(cps, bounds)))
        if taiwan.size:
            tw2sp = _converter("tw2sp")
            texts = list(texts)
            for i in taiwan.tolist():
                texts[i] = tw2sp.convert(texts[i])
            cps, bounds = replace_texts(cps, bounds, taiwan, [texts[i] for i in taiwan])
    from transforms.dedup.canonical_kernel import fold_kernel

    table, _ = _fold_table(fold_traditional)
    folded, folded_bounds, several = fold_kernel(cps, bounds, table, _EXPANDS)
    if several.any():
        # Rare (ligatures, squared units): those texts take the per-character path.
        redo = np.flatnonzero(several)
        refolded = [_fold_by_char(texts[i], fold_traditional) for i in redo.tolist()]
        folded, folded_bounds = replace_texts(folded, folded_bounds, redo, refolded)
    return folded, folded_bounds


def canonical_batch(texts: Sequence[str], fold_traditional: bool = True) -> list[str]:
    """The canonical form of every text (steps 1 and 2 above)."""
    return texts_from_code_points(*canonical_code_points(texts, fold_traditional))


def load_tables() -> None:
    """Build this process's lookup tables, and load the compiled loops, now rather than on
    the first batch."""
    _fold_table(True)
    _script_classes()
    canonical_code_points(["預熱"])


def canonical_form(text: str, fold_traditional: bool = True) -> str:
    return canonical_batch([text], fold_traditional)[0]


def exact_hash(canonical: str) -> str:
    """64-bit BLAKE2b of the canonical form, hex: equal for exact duplicates."""
    return hashlib.blake2b(canonical.encode("utf-8"), digest_size=8).hexdigest()


def exact_hashes(cps: np.ndarray, bounds: np.ndarray) -> list[str | None]:
    """``exact_hash`` of every canonical form given as (code points, bounds); None for an
    empty one.  Hashes the UTF-8 bytes straight from the code points: no string per text."""
    from transforms.dedup.canonical_kernel import utf8_kernel

    data, offsets = utf8_kernel(cps, bounds)
    view = memoryview(data)
    blake2b = hashlib.blake2b
    return [
        blake2b(view[a:b], digest_size=8).hexdigest() if b > a else None
        for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True)
    ]
