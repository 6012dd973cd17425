"""Small synthetic corpora of real Chinese sentences (from data/sample) for flow tests."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from tests.paths import SAMPLE

_SENTENCE = re.compile(r"[^。！？\n]+[。！？]")


def sample_sentences() -> list[str]:
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(SAMPLE.glob("*.txt")))
    text = re.sub(r"<[^>]+>", "", text)
    return sorted({s.strip() for s in _SENTENCE.findall(text) if len(s.strip()) > 15})


def write_jsonl_corpus(folder: Path, files: int, docs_per_file: int, seed: int = 0) -> Path:
    """``files`` JSON Lines files of documents of 10-25 random sample sentences; every 7th is a copy."""
    rng = random.Random(seed)
    sentences = sample_sentences()
    folder.mkdir(parents=True, exist_ok=True)
    previous = ""
    for f in range(files):
        with open(folder / f"part-{f:03d}.jsonl", "w", encoding="utf-8") as out:
            for d in range(docs_per_file):
                if d % 7 == 6 and previous:
                    text = previous  # an exact copy of the document before
                else:
                    text = "\n".join(rng.sample(sentences, rng.randint(10, 25)))
                previous = text
                out.write(json.dumps({"id": f"{f}-{d}", "text": text}, ensure_ascii=False) + "\n")
    return folder


_HALFWIDTH = str.maketrans("，。；：？！（）", ",.;:?!()")


def _perturbed(text: str, rng: random.Random, kind: str) -> str:
    """A copy of ``text`` changed the way copies of news change on their way around."""
    lines = text.split("\n")
    if kind == "drop" and len(lines) > 3:
        del lines[rng.randrange(len(lines))]
    elif kind == "typos":
        chars = list(text)
        for _ in range(rng.randint(2, 6)):
            i = rng.randrange(len(chars))
            if "\u4e00" <= chars[i] <= "\u9fff":
                chars[i] = chr(rng.randint(0x4E00, 0x9FA5))
        return "".join(chars)
    elif kind == "halfwidth":
        return text.translate(_HALFWIDTH)
    elif kind == "html":
        body = "".join(f"<p>{line}</p>" for line in lines)
        return f"<html><head><title>t</title></head><body>{body}</body></html>"
    elif kind == "truncate":
        return text[: int(len(text) * rng.uniform(0.8, 0.9))]
    elif kind == "insert":
        lines.insert(rng.randrange(len(lines) + 1), rng.choice(sample_sentences()))
    return "\n".join(lines)


def write_perturbed_corpus(folder: Path, docs: int, seed: int = 0) -> Path:
    """One JSON Lines file of ``docs`` documents of sample sentences; a third are copies.

    Copies are exact, or changed (a line dropped or inserted, typos, half-width
    punctuation, wrapped in HTML, truncated), and some are copies of copies,
    so that near-duplicate clusters hold pairs that are not alike themselves.
    """
    rng = random.Random(seed)
    sentences = sample_sentences()
    kinds = ["exact", "drop", "typos", "halfwidth", "html", "truncate", "insert"]
    folder.mkdir(parents=True, exist_ok=True)
    made: list[str] = []
    with open(folder / "perturbed.jsonl", "w", encoding="utf-8") as out:
        for d in range(docs):
            field = "text"
            if made and rng.random() < 0.35:
                kind = rng.choice(kinds)
                # Copies of the recent documents, so that chains form (a copy of a copy).
                text = _perturbed(made[-rng.randint(1, min(len(made), 4))], rng, kind)
                field = "html" if kind == "html" else "text"
            else:
                text = "\n".join(rng.sample(sentences, rng.randint(6, 14)))
            if field == "text":
                made.append(text)
            record = {"id": f"doc-{d}", field: text}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return folder
