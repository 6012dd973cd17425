"""Stage ``normalize``: one canonical spelling of characters, spaces and paragraphs.

``normalize_text`` applies these rules (each is tested by name in
``tests/transforms/test_normalize.py``).  They run in the order 1-3 (one
``str.translate`` pass, then NFC), 5, 6, 4, 7: punctuation (4) looks at
neighbouring characters, so it runs once spaces and lines are settled.

1. **Line breaks.** ``\r\n``, ``\r``, U+2028, U+2029, ``\x0b``, ``\x0c``
   and ``\x85`` become ``\n``.
2. **Invisible characters.** Zero-width characters (U+200B, U+200C, U+200D,
   U+2060, U+FEFF), the soft hyphen and every other format character
   (category Cf), control characters (Cc) other than ``\n`` and ``\t``, and
   lone surrogates (not encodable as UTF-8) are removed; a tab becomes a space.
3. **Width and compatibility folding.** NFKC, except where it is wrong for
   Chinese: full-width letters, digits and symbols fold (``Ａ１％`` to
   ``A1%``), half-width CJK punctuation widens (``｡｢｣､`` to ``。「」、``),
   Kangxi radicals and CJK compatibility ideographs become unified ideographs;
   but ``，；：？！（）～`` stay full-width, ``…`` and ``‥`` stay, circled and
   parenthesised numbers and ideographs (``①⑴⒈㈠``, list markers: the
   Enclosed Alphanumerics and Enclosed CJK blocks) stay, and superscripts and
   subscripts stay (``m²``, ``CO₂``, also ``™``; and inside a folded
   character: ``㎡`` becomes ``m²``).  Small-form and vertical-form Chinese
   punctuation (``﹐﹑﹔﹕﹖﹗︐︑︓︔︕︖﹙﹚︵︶``) become the normal
   full-width marks (``，、；：？！（）``), not ASCII.  Every space character
   (U+3000, NBSP, U+2000-U+200A, ...) becomes a plain space.  Rules 1-3 are
   one ``str.translate`` table built at import, followed by NFC so that
   characters a fold left decomposed are composed again (``ｶﾞ`` gives ``ガ``).
4. **Full-width punctuation between Chinese characters**
   (``fullwidth_punctuation_between_hanzi``, default on).  First parentheses,
   as a pair: ``(``...``)`` on one line, with a Han character and no other
   parenthesis inside, and a Han character or Chinese punctuation touching it
   outside (or filling its whole line), becomes ``（``...``）``:
   ``90个县(市、区)疫情`` gives ``90个县（市、区）疫情``.  Adjacent pairs are
   judged as one run: ``(甲)(乙)丙`` gives ``（甲）（乙）丙``.  Then ``, ; : ? !`` (and runs like ``?!``) with a
   Han character or closing Chinese punctuation (``”’」』》〉）】〕〗``) before
   and a Han character, opening Chinese punctuation (``“‘「『《〈（【〔〖``) or
   a digit after, one space in between allowed and dropped, become
   ``，；：？！``: ``疫情防控,关键在治`` gives ``疫情防控，关键在治`` and
   ``通知,2月3日`` gives ``通知，2月3日``.  ``?`` and ``!`` after Chinese
   also convert before closing Chinese punctuation or at the end of a line
   (``英雄!”`` gives ``英雄！”``).  ASCII punctuation
   anywhere else (``3.5``, ``1,000``, ``http://a.b``, ``C++``, English) is
   untouched.
5. **Spaces.** Leading and trailing spaces of every line go (so U+3000
   paragraph indents and NBSP, already spaces by rule 3, go), runs of spaces
   become one space (a U+3000 inside a line is an ordinary space).
6. **Paragraphs.** Blank lines go: paragraphs are separated by exactly one
   ``\n``, with none at the start or end.
7. **Traditional to simplified** (``traditional_to_simplified``, default off):
   OpenCC ``t2s``, repeated until stable because a few of its mappings chain
   (``薴`` to ``苧`` to ``苎``) and the result must be idempotent.

``normalize_text`` is pure and idempotent.  It never changes the Chinese
punctuation ``“”‘’「」『』《》〈〉【】（）、。，；：？！…—·～`` except by the
conversions above.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import cache
from itertools import chain
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from transforms.codepoints import SEVERAL, map_characters
from transforms.config import NormalizeConfig
from transforms.stage import StageOutput

if TYPE_CHECKING:
    from opencc import OpenCC


_DEFAULT_CONFIG = NormalizeConfig()

# ---------------------------------------------------------------- rules 1-3: translate table

LINE_BREAKS = "\r\x0b\x0c\x85\u2028\u2029"

# Chinese punctuation NFKC would turn into ASCII; Chinese text wants it full-width.
PROTECTED_PUNCTUATION = "，；：？！（）～…‥"
# Circled / parenthesised numbers, letters and ideographs: Enclosed Alphanumerics,
# Enclosed CJK Letters and Months, and their supplements.
PROTECTED_BLOCKS: tuple[tuple[int, int], ...] = (
    (0x2460, 0x24FF),
    (0x3200, 0x32FF),
    (0x1F100, 0x1F2FF),
)
# Compatibility tags whose characters keep their meaning only in their own form.
PROTECTED_TAGS = frozenset({"<super>", "<sub>"})
# Small-form and vertical-form variants are Chinese punctuation: their ASCII
# NFKC result becomes the full-width mark instead.
_CHINESE_FORM_TAGS = frozenset({"<small>", "<vertical>"})
_FULLWIDTH_OF_ASCII = dict(zip(",;:?!()", "，；：？！（）", strict=True))


def is_protected(char: str) -> bool:
    """True for characters the width folding leaves alone (see rule 3)."""
    if char in PROTECTED_PUNCTUATION:
        return True
    cp = ord(char)
    if any(lo <= cp <= hi for lo, hi in PROTECTED_BLOCKS):
        return True
    decomposition = unicodedata.decomposition(char)
    return decomposition.split(" ", 1)[0] in PROTECTED_TAGS


def _fold(char: str) -> str:
    """NFKD of ``char`` that stops at protected characters (recursive over the decomposition)."""
    if is_protected(char):
        return char
    decomposition = unicodedata.decomposition(char).split()
    if not decomposition:
        return char
    if decomposition[0].startswith("<"):
        decomposition = decomposition[1:]
    return "".join(_fold(chr(int(code, 16))) for code in decomposition)


def _folded(char: str) -> str:
    """What rule 3 turns ``char`` into (``char`` itself if nothing)."""
    tag = unicodedata.decomposition(char).split(" ", 1)[0]
    folded = unicodedata.normalize("NFC", _fold(char))
    if tag in _CHINESE_FORM_TAGS:
        folded = _FULLWIDTH_OF_ASCII.get(folded, folded)
    return folded


# Where to look for characters the table must hold.  Left out, to keep import
# fast: the big blocks where no character is changed by NFKC or is Cc / Cf /
# Zs / Cs (CJK ideographs, Hangul syllables, private use, the ideographic
# planes but their compatibility block) and planes 4-13 and 15-16, which have
# none either.  A test rebuilds the table over every code point and compares.
_SCANNED_RANGES: tuple[range, ...] = (
    range(0x0000, 0x3400),
    range(0x4DC0, 0x4E00),
    range(0xA000, 0xAC00),
    range(0xD7A4, 0xE000),
    range(0xF900, 0x20000),
    range(0x2F800, 0x2FA20),
    range(0xE0000, 0xE1000),
)


def build_translate_table(code_points: Iterable[int]) -> dict[int, str | None]:
    """The rules 1-3 ``str.translate`` table over ``code_points``: replacement, or None to delete."""
    table: dict[int, str | None] = {}
    for cp in code_points:
        char = chr(cp)
        category = unicodedata.category(char)
        if char in LINE_BREAKS:
            table[cp] = "\n"
        elif char == "\t" or category == "Zs":
            if char != " ":
                table[cp] = " "
        elif category in ("Cf", "Cs") or (category == "Cc" and char != "\n"):
            table[cp] = None
        elif unicodedata.normalize("NFKC", char) != char and not is_protected(char):
            table[cp] = _folded(char)
    return table


TRANSLATE_TABLE: dict[int, str | None] = build_translate_table(chain.from_iterable(_SCANNED_RANGES))

# ---------------------------------------------------------------- rules 5-6: spaces, paragraphs

_SPACE_RUN_RE = re.compile(r" {2,}")

# ---------------------------------------------------------------- rule 4: punctuation

HAN = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"
CHINESE_OPENING = "“‘「『《〈（【〔〖"
CHINESE_CLOSING = "”’」』》〉）】〕〗"
CHINESE_PUNCTUATION = CHINESE_OPENING + CHINESE_CLOSING + "、。，；：？！…—·～"

_HAN_RE = re.compile(f"[{HAN}]")
_PAREN_TOUCH_RE = re.compile(f"[{HAN}{CHINESE_PUNCTUATION}]")
# A pair on one line with no other parenthesis inside, and runs of adjacent
# pairs: "(甲)(乙)丙" is decided as one run, so one pass is enough (deciding
# pair by pair, "(甲)" would only qualify once "(乙)" had been converted).
# Nested pairs never qualify, so converting an inner pair cannot make its
# outer pair qualify on a second pass.
_ASCII_PAREN_PAIR_RE = re.compile(r"\(([^()（）\n]*)\)")
_ASCII_PAREN_RUN_RE = re.compile(r"(?:\([^()（）\n]*\))+")
# Candidates for rule 4: a mark (or a run of "?!") and one optional space.
# The pattern starts with a small character class that the regex engine
# scans for quickly; the neighbours are checked in ``_fullwidth_punctuation``
# (a leading lookbehind on a class of ideographs would be tried at every
# position, 5x slower on news text).
# Written as one leading character class (the second and third "?!" only after
# a "?!"): the regex engine then skips ahead by that class, 4x faster on news
# text than the equivalent "(?:[,;:]|[?!]{1,3}) ?".
_ASCII_PUNCTUATION_RE = re.compile(r"[,;:?!](?:(?<=[?!])[?!]{0,2})? ?")
_BEFORE_PUNCTUATION_RE = re.compile(f"[{HAN}{CHINESE_CLOSING}]")
# After: a Han character, opening Chinese punctuation or a digit ("通知,2月3日":
# a number after Chinese text starts a new clause; "1,000" has a digit before,
# so it never qualifies).
_AFTER_PUNCTUATION_RE = re.compile(f"[{HAN}{CHINESE_OPENING}0-9]")
# "?" and "!" end sentences, so they also convert before closing Chinese
# punctuation or at the end of a line ("英雄!”").
_AFTER_SENTENCE_END_RE = re.compile(f"[{CHINESE_CLOSING}\n]")
_FULLWIDTH_PUNCTUATION = str.maketrans(",;:?!", "，；：？！")


def _fullwidth_pair(match: re.Match[str]) -> str:
    content = match.group(1)
    return f"（{content}）" if _HAN_RE.search(content) else match.group()


def _fullwidth_paren_run(match: re.Match[str]) -> str:
    """Convert the Chinese pairs of a run of adjacent ``(...)`` pairs that touches Chinese."""
    text, start, end = match.string, match.start(), match.end()
    at_line_start = start == 0 or text[start - 1] == "\n"
    at_line_end = end == len(text) or text[end] == "\n"
    touches = (not at_line_start and _PAREN_TOUCH_RE.match(text, start - 1) is not None) or (
        not at_line_end and _PAREN_TOUCH_RE.match(text, end) is not None
    )
    if touches or (at_line_start and at_line_end):
        return _ASCII_PAREN_PAIR_RE.sub(_fullwidth_pair, match.group())
    return match.group()


def _fullwidth_punctuation(match: re.Match[str]) -> str:
    text, start, end = match.string, match.start(), match.end()
    if start == 0 or not _BEFORE_PUNCTUATION_RE.match(text, start - 1):
        return match.group()
    if _AFTER_PUNCTUATION_RE.match(text, end):
        return match.group().rstrip(" ").translate(_FULLWIDTH_PUNCTUATION)
    marks = match.group()
    sentence_end = marks[0] in "?!" and not marks.endswith(" ")
    if sentence_end and (end == len(text) or _AFTER_SENTENCE_END_RE.match(text, end)):
        return marks.translate(_FULLWIDTH_PUNCTUATION)
    return marks


def fullwidth_punctuation_between_hanzi(text: str) -> str:
    """Rule 4 alone: ASCII parentheses, then ``, ; : ? !`` between Chinese characters to full-width."""
    if "(" in text:
        text = _ASCII_PAREN_RUN_RE.sub(_fullwidth_paren_run, text)
    return _ASCII_PUNCTUATION_RE.sub(_fullwidth_punctuation, text)


# ---------------------------------------------------------------- rule 7: script


@cache
def _t2s_converter() -> OpenCC:
    # Loading the dictionaries takes a while, so one converter per process,
    # created on first use.  OpenCC's converter is safe to share between
    # threads (BYVoid/OpenCC#231: the maintainer confirms, tested upstream).
    from opencc import OpenCC

    return OpenCC("t2s")


def traditional_to_simplified(text: str) -> str:
    """Rule 7 alone: OpenCC ``t2s``, repeated until the text stops changing (at most 4 times)."""
    converter = _t2s_converter()
    for _ in range(4):
        converted = converter.convert(text)
        if converted == text:
            break
        text = converted
    return text


# ---------------------------------------------------------------- the whole


@cache
def _translate_array() -> np.ndarray:
    """``TRANSLATE_TABLE`` as an array over every code point: replacement, 0 to delete."""
    array = np.arange(0x110000, dtype=np.uint32)
    for cp, replacement in TRANSLATE_TABLE.items():
        if replacement is None:
            array[cp] = 0
        elif len(replacement) == 1:
            array[cp] = ord(replacement)
        else:
            array[cp] = SEVERAL
    array[0] = 0  # NUL is a control character (deleted) and also the array's "delete"
    return array


def translate_batch(texts: Sequence[str]) -> list[str]:
    """Rules 1-3 (before NFC) for a whole batch in one numpy pass over its code points.

    The same result as ``text.translate(TRANSLATE_TABLE)`` per text, which is
    slow on Chinese text: every character missing from the table costs a
    dictionary miss.  The few texts with a character that becomes several
    (``㎡``) take ``str.translate``.
    """
    texts = [t.replace("\r\n", "\n") if "\r\n" in t else t for t in texts]
    out, several = map_characters(texts, _translate_array())
    for i in np.flatnonzero(several):
        out[i] = texts[i].translate(TRANSLATE_TABLE)
    return out


def normalize_text(text: str, cfg: NormalizeConfig = _DEFAULT_CONFIG) -> str:
    """``text`` with rules 1-7 of the module docstring applied; pure and idempotent.

    Returns ``""`` when nothing but whitespace and invisible characters was there.
    """
    return _normalize_translated(translate_batch([text])[0], cfg)


def _normalize_translated(text: str, cfg: NormalizeConfig) -> str:
    """Rules 1-7 for a text that rules 1-3's translation was already applied to."""
    text = unicodedata.normalize("NFC", text)  # rules 1-3
    # Rules 5 and 6: spaces around line breaks and blank lines, then runs of spaces.
    # Splitting into lines is faster than a regex whose match may start anywhere.
    text = "\n".join(line for line in (part.strip(" ") for part in text.split("\n")) if line)
    if "  " in text:
        text = _SPACE_RUN_RE.sub(" ", text)
    if cfg.fullwidth_punctuation_between_hanzi:
        text = fullwidth_punctuation_between_hanzi(text)
    if cfg.traditional_to_simplified:
        text = traditional_to_simplified(text)
    return text


def _title_from_translated(translated: str, cfg: NormalizeConfig) -> str | None:
    return _normalize_translated(translated, cfg).replace("\n", " ") or None


def normalize_batch(records: pa.Table, cfg: NormalizeConfig) -> StageOutput:
    """Normalize ``text`` and ``title`` of every record; RECORD_SCHEMA in and out, nothing rejected.

    An empty text is kept (rejecting it as ``empty`` is the quality stage's
    job); an empty title becomes null.  ``extra["changed"]`` counts records
    whose text changed.
    """
    texts: list[str] = records.column("text").to_pylist()
    titles: list[str | None] = records.column("title").to_pylist()

    changed = 0
    for i, (text, translated) in enumerate(zip(texts, translate_batch(texts), strict=True)):
        normalized = _normalize_translated(translated, cfg)
        if normalized != text:
            texts[i] = normalized
            changed += 1
    titled = [i for i, title in enumerate(titles) if title is not None]
    translated_titles = translate_batch([titles[i] for i in titled])
    for i, translated in zip(titled, translated_titles, strict=True):
        titles[i] = _title_from_translated(translated, cfg)

    schema = records.schema
    kept = records
    for name, values in (("text", texts), ("title", titles)):
        index = schema.get_field_index(name)
        field = schema.field(index)
        kept = kept.set_column(index, field, pa.array(values, field.type))

    return StageOutput(kept=kept, extra={"changed": changed})
