"""The one configuration model: every knob of every stage, with defaults for Chinese news.

Each stage receives only its own section (``ExtractConfig`` for extract, ...).
``PipelineConfig`` composes them; ``flows.config`` loads it from TOML and CLI
flags.  ``PipelineConfig.config_hash`` fingerprints the sections that change
what is written, so two datasets with the same hash were cleaned the same way.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MiB = 1024 * 1024


class _Section(BaseModel):
    # Unknown keys are errors: a typo in a TOML file must not be ignored silently.
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExtractConfig(_Section):
    text_field: str = Field(
        "text", min_length=1, description="JSON Lines / Parquet field holding plain text"
    )
    html_field: str = Field(
        "html", min_length=1, description="JSON Lines / Parquet field holding HTML"
    )
    id_field: str = Field(
        "id", min_length=1, description="field holding the record's own id (optional)"
    )
    title_field: str = Field(
        "title", min_length=1, description="field holding the title (optional)"
    )
    title_max_chars: int = Field(
        64, ge=1, description="a .txt record's first line becomes its title if at most this long"
    )
    max_record_bytes: int = Field(
        16 * MiB, ge=1024, description="records larger than this are rejected as too_large"
    )
    max_file_bytes: int = Field(
        2048 * MiB,
        ge=1024,
        description=".txt and .html files larger than this are rejected whole as too_large",
    )


class HtmlConfig(_Section):
    # Records that are not known to be HTML go through the stripper only if
    # they contain markup; this forces every record through it instead.
    strip_all: bool = Field(False, description="strip HTML from every record, markup or not")


class NormalizeConfig(_Section):
    traditional_to_simplified: bool = Field(
        False, description="convert traditional script to simplified (OpenCC t2s) in the output"
    )
    fullwidth_punctuation_between_hanzi: bool = Field(
        True, description="turn ASCII , ; : ? ! ( ) between Chinese characters into full-width"
    )


class FilterConfig(_Section):
    min_chars: int = Field(
        100, ge=0, description="documents with fewer characters (after cleaning) are too_short"
    )
    min_chinese_ratio: float = Field(
        0.3,
        ge=0.0,
        le=1.0,
        description="minimum share of Han characters among non-space characters",
    )


class DedupConfig(_Section):
    enabled: bool = Field(True, description="remove exact and near duplicates")
    ngram_size: int = Field(5, ge=1, le=32, description="character n-gram (shingle) size")
    num_perm: int = Field(128, ge=16, le=1024, description="MinHash permutations")
    # numpy's RandomState (datasketch's permutations) takes 32-bit seeds only.
    seed: int = Field(1, ge=0, le=2**32 - 1, description="MinHash seed (datasketch's default is 1)")
    threshold: float = Field(
        0.8, gt=0.0, le=1.0, description="Jaccard at or above which two documents are duplicates"
    )
    bands: int = Field(20, ge=1, description="LSH bands")
    rows: int = Field(6, ge=1, description="rows (permutations) per LSH band")
    fold_script: bool = Field(
        True, description="compare traditional and simplified script as the same text"
    )

    @model_validator(mode="after")
    def _bands_fit_signature(self) -> DedupConfig:
        if self.bands * self.rows > self.num_perm:
            raise ValueError(
                f"bands * rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}"
            )
        return self

    def candidate_probability(self, jaccard: float) -> float:
        """Probability that a pair with this Jaccard shares at least one band."""
        return 1.0 - (1.0 - jaccard**self.rows) ** self.bands


class SegmentConfig(_Section):
    words: bool = Field(False, description="also write a `words` column (word segmentation)")
    word_segmenter: Literal["rjieba", "jieba"] = Field(
        "rjieba", description="rjieba (fast, same Chinese tokens as jieba) or jieba"
    )


class OutputConfig(_Section):
    compression: Literal["zstd", "snappy", "gzip", "none"] = Field(
        "zstd", description="Parquet compression codec"
    )
    compression_level: int | None = Field(
        3, description="codec level (zstd: 1-22, gzip: 1-9; ignored by snappy and none)"
    )
    max_rows_per_file: int = Field(
        100_000, ge=1, description="a Parquet file holds at most this many rows"
    )
    row_group_rows: int = Field(
        10_000,
        ge=1,
        description="rows per Parquet row group (streaming readers read one at a time)",
    )

    @model_validator(mode="after")
    def _level_fits_codec(self) -> OutputConfig:
        # A level the codec refuses would fail the run only when it writes its output.
        levels = {"zstd": (1, 22), "gzip": (1, 9)}
        if self.compression in levels and self.compression_level is not None:
            low, high = levels[self.compression]
            if not low <= self.compression_level <= high:
                raise ValueError(
                    f"compression_level {self.compression_level} is outside {low}-{high} "
                    f"for {self.compression}"
                )
        return self


class RunConfig(_Section):
    shard_max_bytes: int = Field(
        64 * MiB, ge=1, description="small input files are grouped into shards up to this size"
    )
    dedup_partitions: int = Field(
        8,
        ge=1,
        le=4096,
        description="band rows are split into this many partitions, each paired on its own",
    )
    workers: int | None = Field(
        None, ge=1, description="worker processes for shard work (default: all cores)"
    )
    dask_address: str | None = Field(
        None,
        pattern=r"^\S+$",
        description=(
            "run the tasks on this Dask cluster (scheduler address, e.g. tcp://10.0.0.5:8786) "
            "instead of local worker processes"
        ),
    )

    def resolved_workers(self) -> int:
        import os

        return self.workers or os.cpu_count() or 1


# Keys that would put a credential into a config file (and from there into
# stats.json and release manifests).  Credentials come from the environment
# or the storage library's own config files, never from zhclean's config.
_CREDENTIAL_WORDS = ("key", "secret", "token", "password", "passwd", "credential")


def _credential_keys(options: dict[str, Any], prefix: str = "") -> list[str]:
    found = []
    for name, value in options.items():
        if any(word in name.lower() for word in _CREDENTIAL_WORDS):
            found.append(prefix + name)
        if isinstance(value, dict):
            found += _credential_keys(value, f"{prefix}{name}.")
    return found


class ReleaseConfig(_Section):
    license: str = Field(
        "unknown",
        pattern=r"^[a-z0-9][a-z0-9.+-]*$",
        description=(
            "license id in the dataset card (a Hugging Face id such as cc-by-4.0); "
            "`unknown` until you know the sources' terms"
        ),
    )
    pretty_name: str = Field(
        "zhclean Chinese text corpus", min_length=1, description="the dataset card's title"
    )
    max_file_bytes: int = Field(
        256 * MiB,
        ge=4096,
        description="a release's Parquet files stop growing at this size (one row group may overshoot)",
    )
    include_rejected: bool = Field(
        False, description="also put the rejected documents into releases (`--with-rejected`)"
    )
    storage_options: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "fsspec options for --publish and verify URLs, e.g. endpoint_url; "
            "never credentials (they come from the environment)"
        ),
    )

    @field_validator("storage_options")
    @classmethod
    def _no_credentials(cls, value: dict[str, Any]) -> dict[str, Any]:
        found = _credential_keys(value)
        if found:
            raise ValueError(
                f"must not hold credentials ({', '.join(found)}): set them in the environment "
                "(e.g. AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or the storage library's config"
            )
        return value


class PipelineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    inputs: list[Path] = Field(
        default_factory=lambda: [Path("data/sample")],
        description="input files and folders (folders are searched recursively)",
    )
    output: Path = Field(Path("output"), description="output dataset folder")
    extract: ExtractConfig = ExtractConfig()
    html: HtmlConfig = HtmlConfig()
    normalize: NormalizeConfig = NormalizeConfig()
    filter: FilterConfig = FilterConfig()
    dedup: DedupConfig = DedupConfig()
    segment: SegmentConfig = SegmentConfig()
    output_files: OutputConfig = OutputConfig()
    run: RunConfig = RunConfig()
    release: ReleaseConfig = ReleaseConfig()

    @field_validator("inputs")
    @classmethod
    def _at_least_one_input(cls, value: list[Path]) -> list[Path]:
        if not value:
            raise ValueError("at least one input path is required")
        return value

    # Sections that change what is written; run knobs (workers, shard size)
    # and paths do not, so they stay out of the hash.
    _HASHED_SECTIONS = ("extract", "html", "normalize", "filter", "dedup", "segment")

    @property
    def config_hash(self) -> str:
        payload = {
            name: getattr(self, name).model_dump(mode="json") for name in self._HASHED_SECTIONS
        }
        blob = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()[:16]
