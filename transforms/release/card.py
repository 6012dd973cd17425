"""A release's dataset card (``README.md``), in the Hugging Face dataset-card form.

YAML front matter (``language``, ``license``, ``size_categories``,
``configs`` pointing at ``data/*.parquet``, ...) and then prose for a person:
what the data is, where it came from, every column, every cleaning step with
its settings and what it removed, duplicate clusters, provenance, and plots.

Everything comes from the release being built (the profiles gathered while its
files were copied), the runs' stats and the schema module, never from
hand-written numbers.  Column meanings are ``transforms.schema.COLUMN_DOCS``;
setting meanings are the config models' field descriptions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from transforms.config import LEGACY_SECTIONS, PipelineConfig, ReleaseConfig, WriteConfig
from transforms.pipeline import STAGE_NAMES
from transforms.release.changes import Changes
from transforms.release.manifest import type_name
from transforms.release.plots import documents_per_source, length_histogram, removals_per_reason
from transforms.release.profile import KeptProfile, RejectedProfile, source_of
from transforms.schema import COLUMN_DOCS, REJECTION_REASONS

# Hugging Face's size_categories buckets: (exclusive upper bound, label).
_SIZE_BUCKETS = [
    (10**3, "n<1K"),
    (10**4, "1K<n<10K"),
    (10**5, "10K<n<100K"),
    (10**6, "100K<n<1M"),
    (10**7, "1M<n<10M"),
    (10**8, "10M<n<100M"),
    (10**9, "100M<n<1B"),
    (10**10, "1B<n<10B"),
    (10**11, "10B<n<100B"),
    (10**12, "100B<n<1T"),
]

# What each stage does, for the card; its settings are the config section of its name.
STAGE_PROSE = {
    "extract": (
        "Raw dumps are split into records: multi-document `.txt` dumps, `.html`/`.htm` "
        "files, JSON Lines (`.jsonl`, `.jsonl.gz`) and Parquet. Each record keeps its exact "
        "source (file, record index, byte range, SHA-256 of its raw bytes) and the encoding "
        "it was decoded with (UTF-8/16/32, GB18030/GBK and Big5 are detected)."
    ),
    "html_strip": (
        "Records that are HTML go through beautifulsoup4 with lxml: block elements become "
        "paragraphs, inline elements never split a word, scripts, styles and comments leave "
        "no text, character references are decoded."
    ),
    "normalize": (
        "Unicode width folding that keeps Chinese punctuation full-width, ASCII punctuation "
        "between Chinese characters made full-width, whitespace and paragraph clean-up "
        "(paragraphs separated by one newline), and optionally traditional → simplified "
        "script (OpenCC `t2s`)."
    ),
    "news": (
        "Datelines, bylines, photo captions, editor and source lines are read into columns "
        "(`dateline`, `news_agency`, `news_place`, `news_date`, `reporters`, `editors`, "
        "`captions`, `boilerplate`) and, with `news.strip`, taken out of the text."
    ),
    "quality": (
        "Documents that are empty, too short, or have too small a share of Chinese (Han) "
        "characters are removed."
    ),
    "dedup": (
        "Exact duplicates (the same canonical form: traditional folded to simplified, NFKC, "
        "case-folded, letters and digits only), then near duplicates: MinHash signatures "
        "over character n-grams of the canonical form, LSH banding, every candidate pair "
        "verified against the threshold, pairs joined into clusters over the whole run. "
        "Each cluster keeps its most complete document (then the earliest in source order)."
    ),
    "segment": "Sentences are split (Chinese-aware); words too when `segment.words` is on.",
    "write": "Kept documents are written as Parquet; every other record goes to the rejected set.",
}


def size_category(rows: int) -> str:
    for bound, label in _SIZE_BUCKETS:
        if rows < bound:
            return label
    return "n>1T"


@dataclass
class CardFacts:
    version: str
    created_at: datetime
    release: ReleaseConfig
    kept: KeptProfile
    rejected: RejectedProfile
    rejected_included: bool
    data_files: list[tuple[str, int]]
    rejected_files: list[tuple[str, int]]
    data_schema: pa.Schema
    rejected_schema: pa.Schema | None
    runs: list[dict[str, Any]]
    runs_without_stats: list[str]
    input_manifest: dict[str, Any] | None
    previous: dict[str, Any] | None
    changes: Changes | None
    write: WriteConfig
    plots: dict[str, str] = field(default_factory=dict)

    @property
    def config(self) -> dict[str, Any]:
        """The cleaning settings of the latest run the documents came from (sections under
        their current names, also for runs of zhclean before 0.2)."""
        config = (self.runs[-1].get("config") or {}) if self.runs else {}
        return {current_name(name): section for name, section in config.items()}

    @property
    def deduplicated(self) -> bool:
        return bool(self.config.get("dedup", {}).get("enabled", True))

    def source_counts(self) -> list[tuple[str, int]]:
        counts = self.kept.sources()
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))

    def stage_order(self) -> list[str]:
        names = [current_name(name) for run in self.runs for name in run.get("stages", {})]
        return list(dict.fromkeys([*STAGE_NAMES, *names]))


def current_name(name: str) -> str:
    """A stage's or config section's name today (runs before zhclean 0.2 used others)."""
    return LEGACY_SECTIONS.get(name, name)


# -- helpers -----------------------------------------------------------------


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _share(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}%" if total else "-"


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    if value is None:
        return "(not set)"
    return str(value)


def _setting_docs(section: str) -> dict[str, str]:
    info = PipelineConfig.model_fields.get(section)
    model = getattr(info, "annotation", None)
    fields = getattr(model, "model_fields", {})
    return {name: f.description or "" for name, f in fields.items()}


def _yaml_list(values: list[str]) -> list[str]:
    return [f"- {json.dumps(v, ensure_ascii=False)}" for v in values]


# -- plots -------------------------------------------------------------------


def write_plots(facts: CardFacts, folder: Path) -> dict[str, str]:
    """Draw the card's PNG plots into ``folder``; return name -> path relative to the release."""
    plots = {
        "length": length_histogram(facts.kept.lengths(), folder / "length_distribution.png"),
        "sources": documents_per_source(facts.source_counts(), folder / "documents_per_source.png"),
    }
    removals = [(s, r, n) for (s, r), n in facts.rejected.by_stage_reason.items()]
    if removals:
        plots["removals"] = removals_per_reason(
            removals, folder / "removals_per_reason.png", facts.stage_order()
        )
    return {name: f"{folder.name}/{path.name}" for name, path in plots.items()}


# -- the card ----------------------------------------------------------------


def front_matter(facts: CardFacts) -> list[str]:
    lines = [
        "---",
        f"pretty_name: {json.dumps(facts.release.pretty_name, ensure_ascii=False)}",
        "language:",
        *_yaml_list(["zh"]),
        f"license: {json.dumps(facts.release.license)}",
        "size_categories:",
        *_yaml_list([size_category(facts.kept.rows)]),
        "task_categories:",
        *_yaml_list(["text-generation"]),
        "tags:",
        *_yaml_list(["zhclean", "chinese", *(["deduplicated"] if facts.deduplicated else [])]),
        "configs:",
        "- config_name: default",
        "  default: true",
        "  data_files:",
        "  - split: train",
        '    path: "data/*.parquet"',
    ]
    if facts.rejected_included:
        lines += [
            "- config_name: rejected",
            "  data_files:",
            "  - split: train",
            '    path: "rejected/*.parquet"',
        ]
    return [*lines, "---"]


def _summary(facts: CardFacts) -> list[str]:
    kept, lengths = facts.kept, facts.kept.lengths()
    extracted = kept.rows + facts.rejected.rows
    files = len(kept.paths)
    runs = len(facts.runs)
    lines = [
        f"# {facts.release.pretty_name}",
        "",
        f"Release **{facts.version}**, made {facts.created_at:%Y-%m-%d %H:%M UTC}.",
        "",
        f"{kept.rows:,} documents of cleaned Chinese text ({int(lengths.sum()):,} characters) "
        f"from {files:,} input files, "
        + ("deduplicated and " if facts.deduplicated else "")
        + "traceable to the exact bytes they came "
        f"from. They are what zhclean kept of "
        f"{extracted:,} extracted records in {runs} run{'s' if runs != 1 else ''}: "
        f"{facts.rejected.rows:,} records were removed (see *Cleaning* below).",
        "",
        f"License: `{facts.release.license}`."
        + (
            " The license of the source texts has not been set: find out the terms of every "
            "source before you use or share this data, and set `release.license`."
            if facts.release.license in ("unknown", "other")
            else ""
        ),
        "",
    ]
    return lines


def _usage(facts: CardFacts) -> list[str]:
    lines = [
        "## Loading",
        "",
        "The documents are Parquet files under `data/` (zstd, row groups of "
        f"{facts.write.row_group_rows:,} rows for streaming readers):",
        "",
        "```python",
        "import pandas as pd",
        'df = pd.read_parquet("data")',
        "",
        "from datasets import load_dataset",
        'ds = load_dataset("parquet", data_dir="data", split="train")',
        "",
        "import duckdb",
        "duckdb.sql(\"SELECT source_path, count(*) FROM 'data/*.parquet' GROUP BY 1\")",
        "```",
        "",
    ]
    if facts.rejected_included:
        lines += [
            "The removed records, each with its `reason`, are under `rejected/` "
            '(the `rejected` config: `load_dataset("parquet", data_dir="rejected")`).',
            "",
        ]
    return lines


def _sources(facts: CardFacts) -> list[str]:
    counts = facts.source_counts()
    total = facts.kept.rows
    files_per_source: dict[str, int] = {}
    for path in facts.kept.paths:
        files_per_source[source_of(path)] = files_per_source.get(source_of(path), 0) + 1
    lines = [
        "## Sources",
        "",
        "A source is the first folder of a document's `source_path` (the path relative to "
        "the input folder it was found in), or the file itself when it lies at the top.",
        "",
        "| # | source | files | documents | share |",
        "|---:|---|---:|---:|---:|",
    ]
    shown = counts[:50]
    lines += [
        f"| {rank} | {_cell(name)} | {files_per_source.get(name, 0):,} | {n:,} | {_share(n, total)} |"
        for rank, (name, n) in enumerate(shown, start=1)
    ]
    if len(counts) > len(shown):
        rest = sum(n for _, n in counts[len(shown) :])
        lines.append(
            f"| | {len(counts) - len(shown):,} more sources | | {rest:,} | {_share(rest, total)} |"
        )
    lines += ["", f"![Kept documents per source]({facts.plots['sources']})", ""]
    lines += ["By input format:", "", "| format | documents | share |", "|---|---:|---:|"]
    lines += [
        f"| {_cell(fmt)} | {n:,} | {_share(n, total)} |"
        for fmt, n in sorted(facts.kept.formats.items(), key=lambda item: (-item[1], item[0]))
    ]
    return [*lines, ""]


def _lengths(facts: CardFacts) -> list[str]:
    values = facts.kept.lengths()
    lines = ["## Document length", ""]
    if len(values):
        p10, median, p90 = np.percentile(values, [10, 50, 90])
        lines += [
            "Characters per document after cleaning (`n_chars`):",
            "",
            "| min | 10% | median | mean | 90% | max |",
            "|---:|---:|---:|---:|---:|---:|",
            f"| {values.min():,} | {p10:,.0f} | {median:,.0f} | {values.mean():,.0f} "
            f"| {p90:,.0f} | {values.max():,} |",
            "",
        ]
    lines += [f"![Document length distribution]({facts.plots['length']})", ""]
    return lines


def _news(facts: CardFacts) -> list[str]:
    """Datelines, and the commonest agencies and places (the news stage's columns)."""
    news = facts.kept.news.summary()
    total, dated = news["documents"], news["with_dateline"]
    lines = [
        "## News structure",
        "",
        f"{dated:,} of {total:,} documents ({_share(dated, total)}) have a `dateline`; "
        f"{news['with_agency']:,} name their `news_agency`. The commonest:",
    ]
    for title, column, rows in (
        ("agency", "news_agency", news["top_agencies"]),
        ("place", "news_place", news["top_places"]),
    ):
        lines += ["", f"| {title} (`{column}`) | documents | share |", "|---|---:|---:|"]
        lines += [f"| {_cell(value)} | {n:,} | {_share(n, total)} |" for value, n in rows]
        lines += [] if rows else ["| (none) | 0 | |"]
    return [*lines, ""]


def _columns(facts: CardFacts) -> list[str]:
    lines = [
        "## Columns",
        "",
        "| column | type | meaning |",
        "|---|---|---|",
    ]
    lines += [
        f"| `{f.name}` | {type_name(f.type)}{'' if f.nullable else ', never null'} "
        f"| {_cell(COLUMN_DOCS.get(f.name, ''))} |"
        for f in facts.data_schema
    ]
    if facts.rejected_schema is not None:
        extra = [f for f in facts.rejected_schema if f.name not in facts.data_schema.names]
        lines += [
            "",
            "The rejected documents (`rejected/`) have the provenance and lineage columns, "
            "`doc_id`, `title`, `text`, `n_chars` and:",
            "",
            "| column | type | meaning |",
            "|---|---|---|",
        ]
        lines += [
            f"| `{f.name}` | {type_name(f.type)} | {_cell(COLUMN_DOCS.get(f.name, ''))} |"
            for f in extra
        ]
    return [*lines, ""]


def _stage_totals(facts: CardFacts) -> dict[str, dict[str, int]]:
    totals: dict[str, dict[str, int]] = {}
    for run in facts.runs:
        for stage, counts in run.get("stages", {}).items():
            name = current_name(stage)
            into = totals.setdefault(name, {"input": 0, "kept": 0, "removed": 0})
            into["input"] += int(counts.get("input", 0))
            into["kept"] += int(counts.get("kept", 0))
            into["removed"] += sum(int(n) for n in counts.get("rejected", {}).values())
    return totals


def _cleaning(facts: CardFacts) -> list[str]:
    config = facts.config
    totals = _stage_totals(facts)
    removed_by_stage: dict[str, list[tuple[str, int]]] = {}
    for (stage_name, reason), n in facts.rejected.by_stage_reason.items():
        stage = current_name(stage_name)
        removed_by_stage.setdefault(stage, []).append((reason, n))
    hashes = sorted({str(r.get("config_hash")) for r in facts.runs})
    lines = [
        "## Cleaning",
        "",
        "Every extracted record is either kept (`data/`) or removed with a reason. "
        "The steps, in order, with the settings they ran with"
        + (
            f" (config hash `{hashes[0]}`)"
            if len(hashes) == 1
            else f" (the latest run's; the runs used config hashes {', '.join(hashes)})"
        )
        + ":",
        "",
    ]
    for number, stage in enumerate(
        [s for s in facts.stage_order() if s in totals or s in STAGE_NAMES], start=1
    ):
        section = stage if stage in STAGE_NAMES else None
        lines += [f"### {number}. {stage}", "", STAGE_PROSE.get(stage, ""), ""]
        settings = config.get(section, {}) if section else {}
        docs = _setting_docs(section) if section else {}
        if settings:
            lines += ["| setting | value | meaning |", "|---|---|---|"]
            lines += [
                f"| `{section}.{name}` | {_cell(_value(value))} | {_cell(docs.get(name, ''))} |"
                for name, value in settings.items()
            ]
            lines.append("")
        if stage in totals:
            t = totals[stage]
            lines.append(
                f"Documents in: {t['input']:,}; passed on: {t['kept']:,}; removed: {t['removed']:,}."
            )
        reasons = sorted(removed_by_stage.get(stage, []), key=lambda item: -item[1])
        if reasons:
            lines.append(
                "Removed here: "
                + ", ".join(f"{n:,} `{reason}`" for reason, n in reasons)
                + " (see below)."
            )
        lines.append("")
    return lines


def _removals(facts: CardFacts) -> list[str]:
    extracted = facts.kept.rows + facts.rejected.rows
    rows = sorted(
        facts.rejected.by_stage_reason.items(),
        key=lambda item: (
            facts.stage_order().index(item[0][0]) if item[0][0] in facts.stage_order() else 99,
            -item[1],
        ),
    )
    lines = ["## Removed documents", ""]
    if not rows:
        return [*lines, "No document was removed.", ""]
    lines += [
        f"{facts.rejected.rows:,} of {extracted:,} extracted records "
        f"({_share(facts.rejected.rows, extracted)}) were removed:",
        "",
        "| step | reason | documents | share of extracted | meaning | example |",
        "|---|---|---:|---:|---|---|",
    ]
    for (stage, reason), n in rows:
        example = facts.rejected.example_detail.get((stage, reason), "")
        if len(example) > 120:
            example = example[:117] + "…"
        lines.append(
            f"| {stage} | `{reason}` | {n:,} | {_share(n, extracted)} "
            f"| {_cell(REJECTION_REASONS.get(reason, ''))} | {_cell(example)} |"
        )
    lines += ["", f"![Removed documents per reason]({facts.plots['removals']})", ""]
    if not facts.rejected_included:
        lines += [
            "The removed records are not part of this release (make one with "
            "`zhclean release --with-rejected` to include them).",
            "",
        ]
    return lines


def _clusters(facts: CardFacts) -> list[str]:
    sizes = facts.kept.cluster_sizes  # cluster size -> kept documents with that size
    clusters = {size: n for size, n in sizes.items() if size and size > 1}
    dedup = facts.config.get("dedup", {})
    by_reason = facts.rejected.by_reason()
    lines = ["## Duplicates", ""]
    if not dedup.get("enabled", True):
        lines += ["Deduplication was off for this data (`dedup.enabled = false`).", ""]
    grouped = sum(size * n for size, n in clusters.items())
    lines += [
        f"{sum(clusters.values()):,} kept documents had duplicates: their clusters hold "
        f"{grouped:,} documents, of which {grouped - sum(clusters.values()):,} were removed. "
        f"In all, {by_reason.get('exact_duplicate', 0):,} exact and "
        f"{by_reason.get('near_duplicate', 0):,} near duplicates were removed; "
        f"{sizes.get(1, 0):,} kept documents have no duplicate. "
        "Each kept document's `dup_cluster_size` counts its cluster (itself included); "
        "a removed duplicate's `duplicate_of` names the kept one.",
        "",
    ]
    if clusters:
        lines += ["| cluster size | clusters |", "|---:|---:|"]
        lines += [f"| {size:,} | {n:,} |" for size, n in sorted(clusters.items())]
        lines += ["", f"Largest cluster: {max(clusters):,} documents.", ""]
    near = facts.rejected.similarities("near_duplicate")
    if len(near):
        lines += [
            f"Estimated Jaccard similarity of near duplicates with their kept document: "
            f"min {near.min():.3f}, median {float(np.median(near)):.3f}, max {near.max():.3f}.",
            "",
        ]
    if dedup:
        threshold = float(dedup.get("threshold", 0.8))
        bands, rows = int(dedup.get("bands", 1)), int(dedup.get("rows", 1))
        probability = 1.0 - (1.0 - threshold**rows) ** bands
        lines += [
            f"Near duplicates: Jaccard ≥ {threshold} over character {dedup.get('ngram_size')}-grams, "
            f"{dedup.get('num_perm')} MinHash permutations, {bands} bands × {rows} rows "
            f"(a pair at the threshold becomes a candidate with probability {probability:.3f}).",
            "",
        ]
    return lines


def _provenance(facts: CardFacts) -> list[str]:
    lines = [
        "## Provenance",
        "",
        "Every document carries its source (`source_uri`, `source_path`, `source_record`, "
        "byte offset and length, `source_sha256` of the raw bytes) and the run that made it "
        "(`run_id`, `pipeline_version`, `config_hash`, `processed_at`).",
        "",
        "| run | started | zhclean | config hash | input files | extracted | kept |",
        "|---|---|---|---|---:|---:|---:|",
    ]
    for run in facts.runs:
        docs = run.get("documents", {})
        lines.append(
            f"| `{run.get('run_id')}` | {run.get('started_at', '')} | {run.get('pipeline_version', '')} "
            f"| `{run.get('config_hash', '')}` | {run.get('inputs', {}).get('files', '')} "
            f"| {docs.get('extracted', '')} | {docs.get('kept', '')} |"
        )
    lines.append("")
    if facts.runs_without_stats:
        lines += [
            f"{len(facts.runs_without_stats)} run(s) in the data have no stats left: "
            + ", ".join(f"`{r}`" for r in facts.runs_without_stats),
            "",
        ]
    if facts.input_manifest:
        m = facts.input_manifest
        size = f", {human_bytes(m['bytes'])}" if m.get("bytes") is not None else ""
        lines += [
            f"The input manifest `{m['path']}` lists the {m['files']:,} input files{size} "
            "(path, size, modification time and SHA-256 of each).",
            "",
        ]
    return lines


def _files(facts: CardFacts) -> list[str]:
    data_bytes = sum(size for _, size in facts.data_files)
    lines = [
        "## Files",
        "",
        f"- `data/`: {len(facts.data_files)} Parquet file(s), {human_bytes(data_bytes)}",
    ]
    if facts.rejected_included:
        rejected_bytes = sum(size for _, size in facts.rejected_files)
        lines.append(
            f"- `rejected/`: {len(facts.rejected_files)} Parquet file(s), "
            f"{human_bytes(rejected_bytes)}"
        )
    lines += [
        "- `CHANGES.md`: what changed since the previous release"
        + (f" ({facts.previous['version']})" if facts.previous else " (this is the first)"),
        "- `plots/`: the plots above",
        "- `manifest.json`: every file with its size, rows and SHA-256, the schema, the runs",
        "",
        "Check a copy (a folder or a URL such as `s3://bucket/prefix/"
        f"{facts.version}`) against its manifest with `zhclean verify RELEASE`.",
        "",
    ]
    return lines


def render_card(facts: CardFacts) -> str:
    sections = [
        front_matter(facts),
        [""],
        _summary(facts),
        _usage(facts),
        _sources(facts),
        _lengths(facts),
        _news(facts),
        _columns(facts),
        _cleaning(facts),
        _removals(facts),
        _clusters(facts),
        _provenance(facts),
        _files(facts),
    ]
    return "\n".join(line for section in sections for line in section).rstrip() + "\n"
