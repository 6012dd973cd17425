"""The dataset card: Hugging Face front matter, prose built from the data, readable plots."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest
import yaml

from tests.transforms.release.release_support import build_dataset
from transforms.config import PipelineConfig
from transforms.release import plots as release_plots
from transforms.release.build import create_release
from transforms.release.card import size_category
from transforms.schema import COLUMN_DOCS, KEPT_SCHEMA, REJECTED_SCHEMA, REJECTION_REASONS

RUN_CONFIG = PipelineConfig.model_validate(
    {"quality": {"min_chars": 150}, "dedup": {"threshold": 0.85, "num_perm": 256}}
)
RELEASE_CONFIG = PipelineConfig.model_validate(
    {"release": {"license": "cc-by-4.0", "pretty_name": "中文新闻 test corpus"}}
)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    dataset = build_dataset(tmp_path_factory.mktemp("card") / "out")
    dataset.config = RUN_CONFIG  # the settings the (pretend) run cleaned with
    dataset.write()
    release = create_release(dataset.root, "2026.11", RELEASE_CONFIG, include_rejected=True)
    return dataset, release, (release.path / "README.md").read_text(encoding="utf-8")


def front_matter(card: str) -> dict:
    match = re.match(r"---\n(.*?)\n---\n", card, re.S)
    assert match, "the card starts with YAML front matter"
    return yaml.safe_load(match.group(1))


@pytest.mark.parametrize(
    ("rows", "label"),
    [
        (0, "n<1K"),
        (999, "n<1K"),
        (1_000, "1K<n<10K"),
        (9_999, "1K<n<10K"),
        (10_000, "10K<n<100K"),
        (999_999, "100K<n<1M"),
        (1_000_000, "1M<n<10M"),
        (250_000_000, "100M<n<1B"),
        (10**12, "n>1T"),
    ],
)
def test_size_categories_are_hugging_face_buckets(rows, label):
    assert size_category(rows) == label


def test_front_matter_follows_the_hugging_face_dataset_card_convention(made):
    dataset, _, card = made
    meta = front_matter(card)
    assert meta["language"] == ["zh"]
    assert meta["license"] == "cc-by-4.0"
    assert meta["pretty_name"] == "中文新闻 test corpus"
    assert meta["size_categories"] == [size_category(len(dataset.kept))]
    assert meta["task_categories"] == ["text-generation"]
    configs = {c["config_name"]: c for c in meta["configs"]}
    assert configs["default"]["default"] is True
    assert configs["default"]["data_files"] == [{"split": "train", "path": "data/*.parquet"}]
    assert configs["rejected"]["data_files"] == [{"split": "train", "path": "rejected/*.parquet"}]
    from huggingface_hub import DatasetCard

    parsed = DatasetCard(card).data
    assert parsed.license == "cc-by-4.0" and parsed.language == ["zh"]
    assert parsed.configs[0]["data_files"][0]["path"] == "data/*.parquet"


def test_the_default_license_is_unknown_and_a_run_without_dedup_says_so(tmp_path):
    dataset = build_dataset(tmp_path / "out")
    dataset.kept = dataset.kept[:3]
    dataset.config = PipelineConfig.model_validate({"dedup": {"enabled": False}})
    dataset.write()
    card = (create_release(dataset.root, "v1").path / "README.md").read_text()
    meta = front_matter(card)
    assert meta["license"] == "unknown"
    assert "find out the terms of every source" in card
    assert "rejected" not in {c["config_name"] for c in meta["configs"]}
    assert "deduplicated" not in meta["tags"] and "deduplicated" not in card
    assert "Deduplication was off for this data" in card


def test_every_column_is_described_from_the_schema_module(made):
    _, _, card = made
    for field in KEPT_SCHEMA:
        doc = COLUMN_DOCS[field.name].replace("|", "\\|")
        assert f"| `{field.name}` | " in card and doc in card, field.name
    for name in set(REJECTED_SCHEMA.names) - set(KEPT_SCHEMA.names):
        assert f"| `{name}` | " in card, name


def test_every_cleaning_setting_is_listed_with_the_value_the_run_used(made):
    _, _, card = made
    assert "| `quality.min_chars` | 150 |" in card
    assert "| `dedup.threshold` | 0.85 |" in card
    assert "| `dedup.num_perm` | 256 |" in card
    config = RUN_CONFIG.model_dump(mode="json")
    for section in PipelineConfig.HASHED_SECTIONS:
        for knob in config[section]:
            assert f"| `{section}.{knob}` |" in card, f"{section}.{knob}"


def test_removals_are_counted_per_step_and_reason_from_the_rejected_documents(made):
    dataset, _, card = made
    extracted = len(dataset.kept) + len(dataset.rejected)
    by_key = Counter((r["stage"], r["reason"]) for r in dataset.rejected)
    assert f"{len(dataset.rejected)} of {extracted} extracted records" in card
    for (stage, reason), n in by_key.items():
        row = f"| {stage} | `{reason}` | {n} | {100 * n / extracted:.1f}% | {REJECTION_REASONS[reason]}"
        assert row in card, row
    quality_removed = sum(n for (stage, _), n in by_key.items() if stage == "quality")
    assert f"removed: {quality_removed}." in card


def test_sources_and_their_share(made):
    dataset, _, card = made
    per_source = Counter(r["source_path"].split("/")[0] for r in dataset.kept)
    total = len(dataset.kept)
    ranked = sorted(per_source.items(), key=lambda item: (-item[1], item[0]))
    for rank, (source, n) in enumerate(ranked, start=1):
        files = len({r["source_path"] for r in dataset.kept if r["source_path"].startswith(source)})
        assert f"| {rank} | {source} | {files} | {n} | {100 * n / total:.1f}% |" in card
    formats = Counter(r["source_format"] for r in dataset.kept)
    for fmt, n in formats.items():
        assert f"| {fmt} | {n} | {100 * n / total:.1f}% |" in card


def test_datelines_and_the_commonest_agencies_and_places(made):
    dataset, _, card = made
    total = len(dataset.kept)
    dated = sum(r["dateline"] is not None for r in dataset.kept)
    assert f"{dated} of {total} documents ({100 * dated / total:.1f}%) have a `dateline`" in card
    section = card.split("## News structure", 1)[1].split("\n## ", 1)[0]
    for column in ("news_agency", "news_place"):
        counts = Counter(r[column] for r in dataset.kept if r[column])
        assert counts, column
        for value, n in counts.items():
            assert f"| {value} | {n} | {100 * n / total:.1f}% |" in section


def test_duplicate_cluster_statistics(made):
    dataset, _, card = made
    sizes = Counter(r["dup_cluster_size"] for r in dataset.kept if r["dup_cluster_size"] > 1)
    for size, clusters in sizes.items():
        assert f"| {size} | {clusters} |" in card
    assert f"Largest cluster: {max(sizes)} documents." in card
    exact = sum(r["reason"] == "exact_duplicate" for r in dataset.rejected)
    near = sum(r["reason"] == "near_duplicate" for r in dataset.rejected)
    assert f"{exact} exact and {near} near duplicates were removed" in card
    assert "Jaccard ≥ 0.85" in card


def test_document_lengths(made):
    dataset, _, card = made
    lengths = np.array([r["n_chars"] for r in dataset.kept])
    assert f"| {lengths.min():,} | " in card and f"| {lengths.max():,} |" in card
    assert f"{lengths.sum():,} characters" in card


def test_the_plots_are_linked_and_are_real_images(made):
    import matplotlib.image as mpimg

    _, release, card = made
    for name in ("length_distribution", "documents_per_source", "removals_per_reason"):
        assert f"](plots/{name}.png)" in card
        pixels = mpimg.imread(release.path / "plots" / f"{name}.png")
        height, width = pixels.shape[:2]
        assert width == int(release_plots.FIGSIZE[0] * release_plots.DPI)
        assert height >= 250
        assert pixels[..., :3].std() > 0.05  # not a blank canvas


def test_labels_the_font_cannot_draw_become_ranks(monkeypatch):
    monkeypatch.setattr(release_plots, "_font_charmap", lambda: frozenset(range(128)))
    assert release_plots.plot_label("新闻", 3) == "#3"
    assert release_plots.plot_label("news/a.jsonl", 1) == "news/a.jsonl"
    long = "x" * 100
    assert len(release_plots.plot_label(long, 1)) == release_plots.LABEL_CHARS


def test_the_real_font_draws_ascii_labels():
    assert release_plots.renders("blog.txt near_duplicate (dedup) 0123")
