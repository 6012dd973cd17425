"""Bounded mutation fuzzing of extract (every format) and the HTML stripper.

Run as a program, in its own process, so that a crash of native code (lxml,
pyarrow, zlib) or a hang cannot take the caller down with it::

    python -m tests.transforms.fuzz_driver --seconds 40 --seed 7 --work /tmp/fuzz

Inputs start from the sample dumps (``data/sample``) turned into every input
format (.txt in UTF-8, GBK, Big5 and UTF-16, .html, .jsonl, .jsonl.gz,
.parquet); each round takes one, applies one to four random mutations (bit
flips, interesting bytes, deleted, duplicated or spliced ranges, inserted
tokens such as ``<div>``, ``{"text":``, ``*****``, a BOM or a gzip magic) and
runs it through ``extract_file`` (half the time with a small
``max_record_bytes``) and its text through ``strip_html``.  A round fails
when extract raises, breaks an invariant of ``tests.transforms.stages.extract.extract_support``
(counts, schema, byte ranges that hash to their sha256, unique doc ids), or
``strip_html`` raises or leaves a tag.

Before each round the input is written to ``<work>/current*``; a failing
round is copied to ``<work>/crashes/`` as ``extract-<sha12>[-r<max_record_bytes>]<suffix>``
or ``html-<sha12>.html`` (the names ``tests/transforms/test_regressions.py``
replays).  The caller saves ``current*`` itself when this process dies.
``<work>/summary.json`` counts the rounds.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import random
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.paths import SAMPLE

ROUND_TIMEOUT_SECONDS = 20

TOKENS = [
    b"<div>", b"</div>", b"<p>", b"</p>", b"<script>", b"</script>", b"<!--", b"-->", b"<pre>",
    b"<![CDATA[", b"<?xml ", b'<meta charset="gbk">', b"<title>", b"&nbsp;", b"&#0;", b"&#x110000;",
    b'{"text": "', b'{"html": "', b'", "id": ', b"}\n", b"[", b"null", b"\\ud800", b'\\"',
    b"*****\n", b">>>", b"=====NEXT NEWS=====\n", b"\n\n\n", b"\r\n", b"\r",
    b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x1f\x8b\x08", b"PAR1", b"\x00" * 20, b"\x00",
    "\u3000".encode(), "疫情".encode(), "疫情".encode("gbk"), "疫情".encode("big5"), b"\xff",
]  # fmt: skip
INTERESTING_BYTES = b"\x00\xff\n\r<>\"'{}*=\\&;\x80\xc0\xe0\x1f\x8b"


def seeds() -> dict[str, list[bytes]]:
    """Seed inputs per suffix, built from the sample dumps."""
    dumps = [p.read_bytes() for p in sorted(SAMPLE.glob("*.txt"))]
    rng = random.Random(0)
    slices = []
    for data in dumps:
        for _ in range(4):
            start = rng.randrange(len(data))
            slices.append(data[start : start + rng.randrange(500, 6000)])
    text = [d.decode("utf-8", errors="ignore") for d in slices]
    paragraphs = [p for t in text for p in t.split("\n") if p.strip()]
    records = [{"id": i, "text": p} for i, p in enumerate(paragraphs[:60])]
    records += [{"id": "h", "html": f"<p>{p}</p><script>x</script>"} for p in paragraphs[60:80]]
    jsonl = [
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records[i : i + 12]).encode()
        for i in range(0, len(records), 12)
    ]
    parquet = []
    for i in range(0, 60, 20):
        buffer = io.BytesIO()
        chunk = records[i : i + 20]
        pq.write_table(
            pa.table({"id": [r["id"] for r in chunk], "text": [r.get("text") for r in chunk]}),
            buffer,
        )
        parquet.append(buffer.getvalue())
    html_pages = [
        f"<html><head><meta charset='utf-8'><title>标题</title></head><body>{t}</body></html>".encode()
        for t in text
        if "<" in t
    ] or [b"<p>\xe4\xb8\xad</p>"]
    legacy = [t.encode("gbk", errors="ignore") for t in text[:6]]
    legacy += [t.encode("big5", errors="ignore") for t in text[6:10]]
    legacy += [b"\xff\xfe" + t.encode("utf-16-le") for t in text[10:12]]
    return {
        ".txt": slices + legacy,
        ".html": html_pages + [t.encode("gbk", errors="ignore") for t in text[:3]],
        ".jsonl": jsonl,
        ".jsonl.gz": [gzip.compress(j, mtime=0) for j in jsonl],
        ".parquet": parquet,
    }


def mutate(data: bytes, rng: random.Random, pool: list[bytes]) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(7)
        position = rng.randrange(len(buf) + 1)
        if kind == 0 and buf:  # flip a bit
            i = min(position, len(buf) - 1)
            buf[i] ^= 1 << rng.randrange(8)
        elif kind == 1 and buf:  # an interesting byte
            buf[min(position, len(buf) - 1)] = rng.choice(INTERESTING_BYTES)
        elif kind == 2:  # delete a range
            del buf[position : position + rng.randint(1, 200)]
        elif kind == 3 and buf:  # duplicate a range
            start = rng.randrange(len(buf))
            buf[position:position] = buf[start : start + rng.randint(1, 300)]
        elif kind == 4:  # insert a token
            buf[position:position] = rng.choice(TOKENS) * rng.choice((1, 1, 1, 5, 200))
        elif kind == 5:  # splice another seed in
            other = rng.choice(pool)
            start = rng.randrange(len(other) + 1)
            buf[position:] = other[start:]
        else:  # truncate
            del buf[position:]
    return bytes(buf)


class Timeout(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise Timeout(f"one round took more than {ROUND_TIMEOUT_SECONDS} s")


def check_extract(path: Path, max_record_bytes: int) -> None:
    from tests.transforms.stages.extract.extract_support import extract
    from transforms.config import ExtractConfig

    extract(path, ExtractConfig(max_record_bytes=max_record_bytes))


def check_strip(text: str) -> None:
    from transforms.stages import html_strip

    stripped = html_strip.strip_html(text)
    assert isinstance(stripped, str)
    assert html_strip._TAG_RE.search(stripped) is None, f"a tag is left: {stripped[:200]!r}"


def crash_name(kind: str, data: bytes, suffix: str, max_record_bytes: int | None = None) -> str:
    digest = hashlib.sha256(data).hexdigest()[:12]
    limit = f"-r{max_record_bytes}" if max_record_bytes is not None else ""
    return f"{kind}-{digest}{limit}{suffix}"


def fuzz(seconds: float, seed: int, work: Path) -> dict[str, object]:
    """Fuzz for ``seconds``; crashing inputs go to ``work/crashes``; returns the summary."""
    import warnings

    warnings.simplefilter("ignore")
    rng = random.Random(seed)
    pools = seeds()
    crashes = work / "crashes"
    crashes.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGALRM, _alarm)
    rounds = {"extract": 0, "html": 0}
    found: list[dict[str, str]] = []
    deadline = time.monotonic() + seconds

    def attempt(kind: str, name: str, data: bytes, check: Callable[[], None]) -> None:
        signal.alarm(ROUND_TIMEOUT_SECONDS)
        try:
            check()
        except Exception as err:
            (crashes / name).write_bytes(data)
            found.append({"file": name, "error": "".join(traceback.format_exception(err))[-2000:]})
        finally:
            signal.alarm(0)
        rounds[kind] += 1

    while time.monotonic() < deadline:
        suffix = rng.choice(list(pools))
        data = mutate(rng.choice(pools[suffix]), rng, pools[suffix])
        limit = rng.choice((1024, 4096, 16 * 1024 * 1024))
        for old in work.glob("current*"):
            old.unlink()
        path = work / f"current{suffix}"
        path.write_bytes(data)
        (work / "current.json").write_text(json.dumps({"max_record_bytes": limit}))
        attempt(
            "extract",
            crash_name("extract", data, suffix, limit),
            data,
            lambda path=path, limit=limit: check_extract(path, limit),
        )
        if suffix == ".html" or rng.random() < 0.3:
            text = data.decode("utf-8", errors="replace")
            html = text.encode("utf-8", errors="surrogatepass")
            attempt("html", crash_name("html", html, ".html"), html, lambda t=text: check_strip(t))
    summary = {"seed": seed, "seconds": seconds, "rounds": rounds, "crashes": found}
    (work / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1))
    for old in work.glob("current*"):
        old.unlink()
    return summary


def save_crashes(work: Path, regressions: Path) -> list[Path]:
    """Copy the crashes of a fuzz run (and the input it died on, if it died) into ``regressions``."""
    regressions.mkdir(parents=True, exist_ok=True)
    saved = []
    for crash in sorted((work / "crashes").glob("*")):
        saved.append(Path(shutil.copy2(crash, regressions / crash.name)))
    current = [p for p in work.glob("current*") if p.name != "current.json"]
    if current:  # the process died on this input (a crash in native code, or killed on a hang)
        data = current[0].read_bytes()
        suffix = current[0].name[len("current") :]
        limit = json.loads((work / "current.json").read_text())["max_record_bytes"]
        target = regressions / crash_name("extract", data, suffix, limit)
        target.write_bytes(data)
        saved.append(target)
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--work", type=Path, required=True)
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    summary = fuzz(args.seconds, seed, args.work)
    print(json.dumps({k: summary[k] for k in ("seed", "rounds")}), flush=True)
    return 1 if summary["crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())
