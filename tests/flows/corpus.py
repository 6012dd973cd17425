"""Small synthetic corpora of real Chinese sentences (from data/sample) for flow tests."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
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
