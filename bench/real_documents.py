"""Corpora of real, whole Chinese documents (not generated) from Debian packages.

``bench/make_corpus.py`` builds documents out of sentences; these corpora keep
each document as its authors wrote it, with the near duplicates that real
collections have (``sha256sum``, ``sha384sum`` and ``sha512sum`` share most of
their man page):

- ``manpages``: every man page of ``manpages-zh`` (``zh_CN`` only), one JSON
  Lines record each: ``id`` (``man1/sha512sum.1``), ``title`` (the page's
  name) and ``text`` (its troff paragraphs, one a line);
- ``debian-html``: every HTML page of the Debian reference, maintainers'
  guide, FAQ and handbook (``zh-CN``) and LibreOffice's help, copied as
  ``.html`` files (whole pages: navigation, tables of contents, footers).

Usage::

    python bench/real_documents.py manpages --out bench/work/real-manpages
    python bench/real_documents.py debian-html --out bench/work/real-debian-html

The packages are the ones ``bench/corpus_sources.py`` fetches (into
``bench/work/sources/``, on first use).
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus_sources import SOURCES_DIR, fetch_sources, troff_paragraphs

EXTRACTED = SOURCES_DIR / "extracted"
MAN_ROOT = EXTRACTED / "manpages-zh" / "usr" / "share" / "man" / "zh_CN"
HTML_ROOTS = (
    EXTRACTED / "debian-reference-zh-cn" / "usr" / "share" / "debian-reference",
    EXTRACTED / "maint-guide-zh-cn" / "usr" / "share" / "doc" / "maint-guide-zh-cn",
    EXTRACTED / "debian-faq-zh-cn" / "usr" / "share" / "doc" / "debian-faq-zh-cn",
    EXTRACTED / "debian-handbook" / "usr" / "share" / "doc" / "debian-handbook" / "html" / "zh-CN",
    EXTRACTED / "libreoffice-help-zh-cn" / "usr" / "share" / "libreoffice" / "help" / "zh-CN",
)


def write_manpages(out: Path) -> int:
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    count = 0
    with open(data / "manpages.jsonl", "w", encoding="utf-8") as handle:
        for path in sorted(MAN_ROOT.rglob("*.gz")):
            source = gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
            text = "\n".join(p for p in troff_paragraphs(source) if p)
            if not text:
                continue
            page = path.relative_to(MAN_ROOT).as_posix().removesuffix(".gz")
            record = {"id": page, "title": Path(page).stem, "text": text}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def write_debian_html(out: Path) -> int:
    data = out / "data"
    count = 0
    for root in HTML_ROOTS:
        for path in sorted(root.rglob("*.html")):
            if path.is_symlink():
                continue
            target = data / root.parts[len(EXTRACTED.parts)] / path.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            count += 1
    return count


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", choices=["manpages", "debian-html"])
    parser.add_argument("--out", type=Path, required=True, help="output folder (replaced)")
    args = parser.parse_args(argv)
    fetch_sources(quiet=True)
    shutil.rmtree(args.out, ignore_errors=True)
    writer = write_manpages if args.corpus == "manpages" else write_debian_html
    count = writer(args.out)
    print(f"{args.corpus}: {count:,} documents -> {args.out / 'data'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
