"""Every column zhclean writes, in one place.

The tables that flow through the pipeline:

* ``INPUT_FILE_SCHEMA``: the batch of the source stage (extract): input files.
* ``RECORD_SCHEMA``: one row per extracted record, the working batch from
  extract on; later stages add columns (``KEPT_SCHEMA`` names them all).
* ``REJECTION_SCHEMA``: what a stage returns for the rows it rejects, with a
  ``reason`` from ``REJECTION_REASONS``; the code that runs the stages adds
  ``stage`` and the writer the run lineage, which make ``REJECTED_SCHEMA``.
* ``KEPT_SCHEMA``: the published dataset under ``<output>/data/``.
* ``REJECTED_SCHEMA``: every record that was not kept, under
  ``<output>/rejected/``.

``table_from_rows`` and ``conform`` build tables with exactly a schema's
columns, so that a column can never silently change type between stages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

# Provenance: where each record came from, exactly.  Carried unchanged from
# extract to the kept and rejected outputs.
PROVENANCE_FIELDS: list[pa.Field] = [
    pa.field("source_uri", pa.string(), nullable=False),  # file:// URI of the input file
    pa.field("source_path", pa.string(), nullable=False),  # path relative to its input root
    pa.field("source_record", pa.int64(), nullable=False),  # 0-based record index in the file
    pa.field("source_offset", pa.int64()),  # byte offset of the raw record (null for Parquet)
    pa.field("source_length", pa.int64()),  # byte length of the raw record (null for Parquet)
    pa.field("source_sha256", pa.string(), nullable=False),  # hex SHA-256 of the raw record
    pa.field("source_id", pa.string()),  # the record's own id, if the input had one
    pa.field("source_format", pa.string(), nullable=False),  # txt, html, jsonl, jsonl.gz, parquet
    pa.field("source_encoding", pa.string(), nullable=False),  # encoding used to decode it
    # Bytes of the raw record not valid in source_encoding, each now U+FFFD in the text.
    pa.field("source_invalid_bytes", pa.int32()),
]

# Run lineage, identical for every row written by one run.
LINEAGE_FIELDS: list[pa.Field] = [
    pa.field("run_id", pa.string(), nullable=False),
    pa.field("pipeline_version", pa.string(), nullable=False),
    pa.field("config_hash", pa.string(), nullable=False),
    pa.field("processed_at", pa.timestamp("us", tz="UTC"), nullable=False),
]

INPUT_FILE_SCHEMA = pa.schema(
    [
        pa.field("path", pa.string(), nullable=False),  # the file, absolute
        pa.field("root", pa.string(), nullable=False),  # the input folder it was found under
        # Records of this file that the dataset already holds (a changed file of an
        # incremental run): extract does not return them again.
        pa.field("known_doc_ids", pa.list_(pa.string()), nullable=False),
    ]
)

RECORD_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("title", pa.string()),
        pa.field("text", pa.string(), nullable=False),
        # True when the record is known to be HTML (an .html file or an `html`
        # field); records whose text merely contains markup are detected later.
        pa.field("is_html", pa.bool_(), nullable=False),
        *PROVENANCE_FIELDS,
        # What the input gives besides the text: a JSON Lines or Parquet record's
        # date, author and source fields, or an HTML page's <meta> tags.  Read by
        # the news stage where the text says nothing; not written out.
        pa.field("given_date", pa.string()),
        pa.field("given_author", pa.string()),
        pa.field("given_source", pa.string()),
    ]
)

# News structure (the news stage): what was taken out of the text, as columns.
NEWS_FIELDS = [
    pa.field("dateline", pa.string()),
    pa.field("news_agency", pa.string()),
    pa.field("news_place", pa.string()),
    pa.field("news_date", pa.string()),  # ISO 8601: YYYY-MM-DD, or --MM-DD without year
    pa.field("reporters", pa.list_(pa.string()), nullable=False),
    pa.field("editors", pa.list_(pa.string()), nullable=False),
    pa.field("captions", pa.list_(pa.string()), nullable=False),
    pa.field("boilerplate", pa.list_(pa.string()), nullable=False),
]

KEPT_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("title", pa.string()),
        pa.field("text", pa.string(), nullable=False),
        pa.field("sentences", pa.list_(pa.string()), nullable=False),
        pa.field("words", pa.list_(pa.string())),  # null unless word segmentation is on
        pa.field("n_chars", pa.int32(), nullable=False),
        pa.field("n_paragraphs", pa.int32(), nullable=False),
        pa.field("n_sentences", pa.int32(), nullable=False),
        pa.field("html_stripped", pa.bool_(), nullable=False),
        *NEWS_FIELDS,
        *PROVENANCE_FIELDS,
        *LINEAGE_FIELDS,
        # Every kept document is in a cluster; a document with no duplicate
        # is its own cluster of size 1, and its cluster id is its doc_id.
        pa.field("dup_cluster_id", pa.string(), nullable=False),
        pa.field("dup_cluster_size", pa.int32(), nullable=False),
    ]
)

# The closed set of reasons a record can be rejected for.  Adding one means
# documenting it here and in README.md.
REJECTION_REASONS: dict[str, str] = {
    "decode_error": "the raw bytes are not text in the detected encoding (too many invalid bytes, or no encoding fits)",
    "parse_error": "the record could not be parsed (malformed JSON, wrong field types, bad Parquet)",
    "too_large": "the raw record or file exceeds the configured size limit",
    "empty": "an input file without any record, or no text left after HTML stripping and normalization",
    "too_short": "fewer characters than filter.min_chars after cleaning",
    "low_chinese_ratio": "the share of Chinese characters is below filter.min_chinese_ratio",
    "exact_duplicate": "same canonical form as a kept document (see duplicate_of)",
    "near_duplicate": "MinHash Jaccard estimate at or above the threshold with a kept document",
}

REJECTED_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("detail", pa.string(), nullable=False),
        pa.field("stage", pa.string(), nullable=False),  # the stage that rejected it
        pa.field("duplicate_of", pa.string()),  # kept doc_id, for duplicates
        pa.field("similarity", pa.float32()),  # estimated Jaccard with duplicate_of
        pa.field("title", pa.string()),
        pa.field("text", pa.string(), nullable=False),  # cleaned text, or raw text if never cleaned
        pa.field("n_chars", pa.int32(), nullable=False),
        # A document rejected after the news stage keeps what it took out of the
        # text; all null for one rejected before it.
        *(f.with_nullable(True) for f in NEWS_FIELDS),
        *PROVENANCE_FIELDS,
        *LINEAGE_FIELDS,
    ]
)

# What each output column means, for people: the README's column tables and
# every release's dataset card say exactly this (tests/test_readme.py checks
# the README against it).
COLUMN_DOCS: dict[str, str] = {
    "doc_id": "stable id: the same input and config give the same id (hash of `source_path`, `source_record`, `source_sha256`)",
    "title": "title, if the record had one",
    "text": "cleaned text; paragraphs separated by exactly one `\\n`",
    "sentences": "sentences in order; joined they give `text` without its `\\n`",
    "words": "word tokens (null unless `segment.words`)",
    "n_chars": "characters in `text`",
    "n_paragraphs": "paragraphs in `text`",
    "n_sentences": "entries in `sentences`",
    "html_stripped": "the record was HTML and went through the HTML stripper",
    "dateline": "the dateline as written, with its credit: the one that opens the text (`新华社武汉3月24日电（记者谭元斌）`, `本报北京1月1日讯 记者…报道：`), else the one that closes it (`（本报莫斯科1月5日电）`); or null",
    "news_agency": "the outlet, as written: the dateline's (`新华社`, `本报`, `央广网河南分网`), else a byline's or source line's, else the input's `source` field or `og:site_name`",
    "news_place": "the dateline's place (`武汉`), or null",
    "news_date": "the dateline's date in ISO 8601: `YYYY-MM-DD` when the year is known (written, or from the input's date), `--MM-DD` when only month and day are; else the input's date",
    "reporters": "people the text credits as 记者, 通讯员, 特约记者, 实习生, 作者 or photographers (摄, 摄影, 供图), or names alone in the parentheses that close an article (`（杜中武 孙传刚）`), in order (else the input's `author` field)",
    "editors": "people the text credits as 责任编辑, 编辑, 校对, 审核 and the like",
    "captions": "photo captions taken out of the text, in order",
    "boilerplate": "the other lines taken out of the text (bylines, 来源 and editor lines, （完）, copyright lines, share prompts, print-edition lines), in order",
    "source_uri": "`file://` URI of the input file",
    "source_path": "the file's path relative to the input folder it was found in",
    "source_record": "0-based record index within the file (line number for JSON Lines, row for Parquet)",
    "source_offset": "byte offset of the raw record in the file (decompressed stream for `.gz`; null for Parquet)",
    "source_length": "byte length of the raw record (null for Parquet)",
    "source_sha256": "SHA-256 of the raw record bytes",
    "source_id": "the input record's own id, if it had one",
    "source_format": "`txt`, `html`, `jsonl`, `jsonl.gz` or `parquet`",
    "source_encoding": "encoding the record was decoded with",
    "source_invalid_bytes": "bytes of the raw record that were not valid in `source_encoding`; each became U+FFFD in `text` (0 for most records; a record with more than `extract.max_invalid_byte_share` of them is rejected as `decode_error`)",
    "run_id": "the Prefect flow run id",
    "pipeline_version": "zhclean version",
    "config_hash": "fingerprint of the cleaning settings",
    "processed_at": "when the run started",
    "dup_cluster_id": "`doc_id` of the kept document of its duplicate cluster (its own id if it has no duplicate)",
    "dup_cluster_size": "documents in the cluster, the kept one included",
    "reason": "one of the reasons below",
    "detail": "what exactly was wrong, for a person",
    "stage": "the stage that rejected it",
    "duplicate_of": "for duplicates: the `doc_id` of the kept document",
    "similarity": "for duplicates: estimated Jaccard with `duplicate_of` (1.0 for exact)",
}

LINEAGE_COLUMNS: list[str] = [f.name for f in LINEAGE_FIELDS]


def table_from_rows(rows: Iterable[Mapping[str, Any]], schema: pa.Schema) -> pa.Table:
    """Build a table with exactly ``schema``'s columns; missing keys become null."""
    rows = list(rows)
    columns = {f.name: [row.get(f.name) for row in rows] for f in schema}
    return pa.Table.from_pydict(columns, schema=schema)


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Select and cast ``table``'s columns to ``schema``; absent columns become null.

    Raises ``KeyError`` if a non-nullable column is missing, so a stage that
    forgets a required column fails loudly instead of writing nulls.
    """
    arrays = []
    for field in schema:
        if field.name in table.column_names:
            arrays.append(table.column(field.name).cast(field.type))
        elif field.nullable:
            arrays.append(pa.nulls(table.num_rows, field.type))
        else:
            raise KeyError(f"required column {field.name!r} is missing")
    return pa.Table.from_arrays(arrays, schema=schema)


# What a stage returns for the records it rejects: the rejected table less the
# stage's name, which the code that runs the stages adds, and the run lineage,
# which the writer adds once per run.
REJECTION_SCHEMA = pa.schema(
    [f for f in REJECTED_SCHEMA if f.name not in {"stage", *LINEAGE_COLUMNS}]
)


def with_lineage(table: pa.Table, lineage: Mapping[str, Any], schema: pa.Schema) -> pa.Table:
    """Append the run lineage columns (``run_id`` ...) and conform to ``schema``."""
    for name in LINEAGE_COLUMNS:
        field = schema.field(name)
        table = table.append_column(field, pa.array([lineage[name]] * table.num_rows, field.type))
    return conform(table, schema)
