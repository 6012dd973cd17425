"""How many bytes of a record are invalid when it is read in the wrong encoding.

Usage::

    python bench/invalid_bytes.py

``extract.max_invalid_byte_share`` separates a record with a few damaged bytes
(a multibyte character cut in two: kept, the bytes as U+FFFD) from a record in
another encoding than the one its file is read with (rejected as
``decode_error``).  This measures the second: every paragraph of the sample
dumps longer than 200 characters, encoded in one of zhclean's encodings and
decoded in another, and the share of its bytes that are invalid there
(zhclean's own ``decode_replacing``).  Pairs where a wrong decoding finds no
invalid byte at all (Big5 read as GB18030) cannot be told by this share; the
file-level detection and its plausibility score are what catches them.
"""

from __future__ import annotations

import re
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from transforms.stages.extract.decode import decode_replacing  # noqa: E402

ENCODINGS = ("utf-8", "gb18030", "big5")


def paragraphs() -> list[str]:
    found = []
    for path in sorted((REPO / "data" / "sample").glob("*.txt")):
        text = re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8"))
        found += [p.strip() for p in re.split(r"\n\s*\n|\*{5,}", text) if len(p.strip()) > 200]
    return found


def main() -> int:
    texts = paragraphs()
    print(f"{len(texts)} paragraphs of data/sample over 200 characters")
    print("| written in | read as | invalid share: min | median | max |")
    print("|---|---|---:|---:|---:|")
    for written in ENCODINGS:
        for read in ENCODINGS:
            if written == read:
                continue
            shares = []
            for text in texts:
                raw = text.encode(written, errors="ignore")
                shares.append(decode_replacing(raw, read).invalid_share(len(raw)))
            print(
                f"| {written} | {read} | {min(shares):.2%} | {statistics.median(shares):.2%} "
                f"| {max(shares):.2%} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
