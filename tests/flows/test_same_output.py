"""The dataset a run makes is the one recorded: a change of code that is not meant to change
what is cleaned, kept and rejected must leave these digests as they are.

The digests (``tests/golden/*.json``, made by ``tests.output_digest``) were recorded
from the bundled sample and from a generated corpus of near-duplicate chains; a change
that is meant to alter the output records them again and says why in its commit.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.flows.corpus import SAMPLE, write_perturbed_corpus
from tests.output_digest import differences, digest

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
# The kept columns whose values the digests cover.
COLUMNS = [
    "doc_id", "title", "text", "sentences", "words", "n_chars", "n_paragraphs",
    "n_sentences", "html_stripped", "source_path", "source_record", "source_offset",
    "source_length", "source_sha256", "source_id", "source_format", "source_encoding",
    "dup_cluster_id", "dup_cluster_size", "dateline", "news_agency", "news_place",
    "news_date", "reporters", "editors", "captions", "boilerplate",
]  # fmt: skip

pytestmark = pytest.mark.slow


def _run(inputs: Path, output: Path) -> dict:
    from flows.cli import main

    assert main(["run", str(inputs), "--output", str(output), "--quiet"]) == 0
    return digest(output, COLUMNS)


def _golden(name: str) -> dict:
    return json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))


def test_the_sample_gives_the_recorded_dataset(tmp_path):
    found = _run(SAMPLE, tmp_path / "out")
    assert found == _golden("sample"), differences(_golden("sample"), found)


def test_a_corpus_of_near_duplicate_chains_gives_the_recorded_dataset(tmp_path):
    corpus = write_perturbed_corpus(tmp_path / "corpus", docs=600, seed=13)
    found = _run(corpus, tmp_path / "out")
    assert found == _golden("perturbed"), differences(_golden("perturbed"), found)
