"""Segmentation: paragraphs, sentences and (optionally) words of normalized Chinese text.

Input text is normalized: paragraphs are separated by exactly one ``\\n``.
Segmentation rejects nothing; ``segment_batch`` adds columns to every row.

Sentences
---------
A sentence is an exact slice of its paragraph, so
``"".join(split_sentences(p)) == p`` for every string and
``"".join(sentences_of(text)) == text.replace("\\n", "")``.

* It ends at ``。！？；``, at an ellipsis (a run of ``…`` or ``⋯``, written
  once or twice), and at ASCII ``!`` and ``?``.  A run of terminators
  (``？！``, ``!!``, ``。。``, ``……``) stays together.
* ASCII ``!`` and ``?`` end a sentence only when what follows is not
  another printable ASCII character: ``https://x.cn/a?b=1``, ``x != y`` and
  ``Yahoo!News`` stay whole, while ``真的吗?我`` and ``Great! Then`` split.
* ASCII ``;`` is NOT a terminator: between Chinese characters normalize has
  already turned it into ``；``, and what is left is code, lists of English
  terms or HTML entities (``&nbsp;``), where a split would be wrong.
* ASCII ``.`` is NOT a terminator: it is a decimal point (``3.5``), part of a
  version (``1.1.10``), a host name (``www.x.com``) or an abbreviation
  (``U.S.``) far more often than a sentence end in Chinese news; ``...``
  is therefore not an ellipsis either.  English prose inside a paragraph stays
  in one sentence up to the next Chinese or ``!``/``?`` terminator.
* Closing quotes and brackets right after the terminator (``”’」』）)】》〉〕］]'``
  and a straight ``"`` that closes an open one) belong to that sentence:
  ``他说：“走吧。”然后离开。`` → ``他说：“走吧。”`` + ``然后离开。``.
* Whitespace after a sentence stays at its end, so nothing is lost.
* Text after the last terminator is a final sentence, and a paragraph end
  always ends a sentence.

Words
-----
``WordSegmenter`` wraps rjieba (the Rust port of jieba) or jieba.  Both
default to HMM on, and so does zhclean.  Measured by
``bench/word_segmenters.py`` (figures in ``bench/RESULTS.md``, 2 cores):

* rjieba is 20-27x faster (6.0 against 0.22 Mchar/s with HMM on in the
  recorded run; 21-22x in two earlier ones, the machine is noisy), and,
  compared like with like (the same HMM setting on both sides), it gives the
  same tokens as jieba on all 476 pure-Chinese sample paragraphs, HMM on or
  off.  So rjieba is the default backend.
* With HMM on they differ only inside non-Chinese runs (every token with a
  Chinese character is the same in all 784 paragraphs; 283 of 284 sample
  paragraphs with ASCII letters or digits identical; 10 of 24 mixed technical
  ones): rjieba keeps ``C-x``, ``1.1.10``, ``2020.02.07`` and ``COVID-19``
  whole where jieba splits them at the punctuation, which is the better token
  for a ``words`` column.
* HMM off makes the backends agree on mixed text too (24 of 24), but only by
  making both worse there: without HMM, jieba and rjieba both cut ``3.11``
  into ``3`` / ``.`` / ``11``.  HMM is also what finds words missing from the
  dictionary, which news is full of (王燕, 村转): it changes the tokens of
  57% of the pure-Chinese paragraphs.  It is not always right (黄媛柳 becomes
  黄媛 / 柳, against 黄 / 媛 / 柳 without it), but it is jieba's default and
  what users of jieba tokens expect.

The dictionaries load lazily, once per process (jieba's takes about a second
and is cached in the temp folder; rjieba builds its own from the data in
its wheel at import, in about 0.2 s): nothing is downloaded.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

from transforms.config import SegmentConfig
from transforms.schema import KEPT_SCHEMA
from transforms.stage import StageOutput

_FULLWIDTH_TERMINATORS = "。！？；…⋯"
_ASCII_TERMINATORS = "!?"
_TERMINATORS = _FULLWIDTH_TERMINATORS + _ASCII_TERMINATORS
# Straight '"' is handled apart: it closes only when a '"' is open (see
# _absorb_closers).  Straight "'" is taken as closing whenever it follows a
# terminator, because apostrophes (it's) make counting it meaningless.
_CLOSERS = "”’」』）)】》〉〕］]'"

_TERMINATOR_RUN = re.compile(f"[{re.escape(_TERMINATORS)}]+")

# Without ASCII '!', '?' and straight quotes every terminator run ends a
# sentence and no quote needs counting, so one regex finds the same sentences
# as the general loop below (a test checks it on random paragraphs); measured
# several times faster, and it covers nearly every paragraph of Chinese news.
_NEEDS_GENERAL_PATH = re.compile("[!?\"']")
_T = re.escape(_FULLWIDTH_TERMINATORS)
_C = re.escape(_CLOSERS)
_SIMPLE_SENTENCE = re.compile(f"[^{_T}]*[{_T}][{_C}{_T}]*\\s*|[^{_T}]+")


def split_paragraphs(text: str) -> list[str]:
    """The non-empty lines of ``text``, in order.

    Splits on ``\\n`` only (not ``str.splitlines``, which also splits on
    ``\\r``, ``\\x1c``, ``\\u2028`` ...), so that the paragraphs joined are
    exactly ``text`` less its newlines.
    """
    return [line for line in text.split("\n") if line]


def _is_ascii_word_continuation(char: str) -> bool:
    # A printable ASCII character that is neither space, terminator nor closer
    # right after '!' or '?' means they are inside a token (URL query, `!=`).
    return "!" <= char <= "~" and char not in _TERMINATORS and char not in _CLOSERS and char != '"'


def _ends_sentence(paragraph: str, run: re.Match[str]) -> bool:
    if any(c in _FULLWIDTH_TERMINATORS for c in run.group()):
        return True
    end = run.end()
    return end == len(paragraph) or not _is_ascii_word_continuation(paragraph[end])


def _absorb_closers(paragraph: str, start: int, end: int) -> int:
    """Extend a sentence ending at ``end`` over the closing quotes, brackets and
    further terminators that follow it (``。”）``, ``？”！``)."""
    open_straight_quotes = paragraph.count('"', start, end) % 2 == 1
    n = len(paragraph)
    while end < n:
        char = paragraph[end]
        if char == '"' and open_straight_quotes:
            open_straight_quotes = False
        elif char not in _CLOSERS and char not in _TERMINATORS:
            break
        end += 1
    return end


def split_sentences(paragraph: str) -> list[str]:
    """The sentences of one paragraph, as exact slices of it (see the module docstring).

    ``"".join(split_sentences(p)) == p`` for every string; no sentence is
    empty, so an empty paragraph has no sentence.
    """
    if _NEEDS_GENERAL_PATH.search(paragraph) is None:
        return _SIMPLE_SENTENCE.findall(paragraph)
    return split_sentences_general(paragraph)


def split_sentences_general(paragraph: str) -> list[str]:
    """``split_sentences`` for any paragraph: ASCII '!' and '?', straight quotes."""
    sentences: list[str] = []
    start = search_from = 0
    while (run := _TERMINATOR_RUN.search(paragraph, search_from)) is not None:
        search_from = run.end()
        if not _ends_sentence(paragraph, run):
            continue
        end = _absorb_closers(paragraph, start, run.end())
        while end < len(paragraph) and paragraph[end].isspace():
            end += 1
        sentences.append(paragraph[start:end])
        start = search_from = end
    if start < len(paragraph):
        sentences.append(paragraph[start:])
    return sentences


def sentences_of(text: str) -> list[str]:
    """All sentences of all paragraphs of ``text``, in order; a paragraph end ends a sentence."""
    return [s for paragraph in split_paragraphs(text) for s in split_sentences(paragraph)]


Backend = Literal["rjieba", "jieba"]
_BACKENDS: tuple[Backend, ...] = ("rjieba", "jieba")


# Cached per process: jieba's prefix dictionary takes about a second to load
# (and rjieba builds its own at import), so every WordSegmenter shares one.
@functools.cache
def _jieba_cut() -> Callable[[str, bool], list[str]]:
    import jieba

    # jieba logs "Building prefix dict ..." at DEBUG on its own stderr handler
    # when the dictionary loads; raise its level before loading to keep it quiet.
    jieba.setLogLevel(logging.WARNING)
    jieba.dt.initialize()
    return lambda text, hmm: jieba.dt.lcut(text, HMM=hmm)


@functools.cache
def _rjieba_cut() -> Callable[[str, bool], list[str]]:
    import rjieba

    return lambda text, hmm: rjieba.cut(text, hmm=hmm)


_LOADERS: dict[Backend, Callable[[], Callable[[str, bool], list[str]]]] = {
    "jieba": _jieba_cut,
    "rjieba": _rjieba_cut,
}


@dataclass(frozen=True)
class WordSegmenter:
    """Word segmentation with jieba's dictionary, by ``backend`` "rjieba" (default) or "jieba".

    Cheap to build and to pickle: the dictionary loads on the first ``words``
    call, once per process.  ``hmm`` (default on, as in jieba) lets the HMM find
    words missing from the dictionary; see the module docstring for the choice.
    """

    backend: Backend = "rjieba"
    hmm: bool = True

    def __post_init__(self) -> None:
        if self.backend not in _BACKENDS:
            raise ValueError(
                f"unknown word segmenter {self.backend!r}; expected one of {_BACKENDS}"
            )

    def words(self, text: str) -> list[str]:
        """The tokens of ``text`` in order, without whitespace-only tokens.

        Tokens are slices of ``text``; punctuation tokens are kept.
        """
        cut = _LOADERS[self.backend]()
        return [token for token in cut(text, self.hmm) if token.strip()]


def _set_column(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    """Replace column ``name`` in place if present, else append it, typed as in KEPT_SCHEMA."""
    field = KEPT_SCHEMA.field(name)
    index = table.schema.get_field_index(name)
    if index >= 0:
        return table.set_column(index, field, values)
    return table.append_column(field, values)


def segment_batch(table: pa.Table, cfg: SegmentConfig) -> StageOutput:
    """Segment every row's ``text`` into sentences (and words if ``cfg.words``).

    Returns the same rows with columns ``sentences`` (list<string>),
    ``n_chars`` (``len(text)``), ``n_paragraphs``, ``n_sentences`` (int32) and
    ``words`` (list<string>, null on every row unless ``cfg.words``) added or
    replaced; nothing is rejected, and ``extra`` holds the total number of
    sentences and of words.  Raises ``ValueError`` on a null text.
    """
    text_column = table.column("text")
    if text_column.null_count:
        raise ValueError(f"segment: {text_column.null_count} row(s) have a null text")
    texts: list[str] = text_column.to_pylist()

    sentences = [sentences_of(text) for text in texts]
    n_paragraphs = [len(split_paragraphs(text)) for text in texts]
    if cfg.words:
        segmenter = WordSegmenter(cfg.word_segmenter)
        words: list[list[str]] | None = [segmenter.words(text) for text in texts]
        words_array = pa.array(words, KEPT_SCHEMA.field("words").type)
    else:
        words = None
        words_array = pa.nulls(len(texts), KEPT_SCHEMA.field("words").type)

    int32 = pa.int32()
    table = _set_column(table, "sentences", pa.array(sentences, pa.list_(pa.string())))
    table = _set_column(table, "words", words_array)
    table = _set_column(table, "n_chars", pa.array([len(t) for t in texts], int32))
    table = _set_column(table, "n_paragraphs", pa.array(n_paragraphs, int32))
    table = _set_column(table, "n_sentences", pa.array([len(s) for s in sentences], int32))

    extra = {
        "sentences": sum(len(s) for s in sentences),
        "words": sum(len(w) for w in words) if words is not None else 0,
    }
    return StageOutput(kept=table, extra=extra)
