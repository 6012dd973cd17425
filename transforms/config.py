"""The one configuration model: every knob of every stage, with defaults for Chinese news.

Each stage receives only its own section, named like the stage
(``[html_strip]`` for ``html_strip``, ...); ``run`` and ``release`` hold the
knobs of the run engine and of releases.  ``load_config`` reads it from a TOML
file and command-line overrides.  ``PipelineConfig.config_hash`` fingerprints
the sections that change what is written, so two datasets with the same hash
were cleaned the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from transforms.dedup.lsh import candidate_probability, lsh_bands_rows

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
    date_field: str = Field(
        "date",
        min_length=1,
        description="field holding the publication date (optional; fills news_date)",
    )
    author_field: str = Field(
        "author", min_length=1, description="field holding the author (optional; fills reporters)"
    )
    source_field: str = Field(
        "source",
        min_length=1,
        description="field holding the outlet (optional; fills news_agency)",
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
    # A few bad bytes (a multibyte character cut in two) damage a record; many
    # mean the record is in another encoding than the one it is decoded with.
    # Measured by bench/invalid_bytes.py on the sample's paragraphs: read in a
    # wrong encoding, a record has at least 1.29% of its bytes invalid (GB18030
    # read as Big5; UTF-8 read as GB18030 1.48%; anything read as UTF-8 over
    # 46%).  Half a percent leaves a margin of 2.6 and still keeps a
    # 200-character record with a character cut in two.
    max_invalid_byte_share: float = Field(
        0.005,
        ge=0.0,
        le=1.0,
        description=(
            "a record with a larger share of bytes invalid in its encoding is rejected as "
            "decode_error; fewer become U+FFFD (counted in source_invalid_bytes)"
        ),
    )


class HtmlStripConfig(_Section):
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


class NewsConfig(_Section):
    strip: bool = Field(
        True,
        description=(
            "take datelines, bylines, captions and editor lines out of the text "
            "(the news columns hold them either way)"
        ),
    )


class QualityConfig(_Section):
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
    # Left out, both follow from threshold and num_perm (``transforms.dedup.lsh``).
    bands: int | None = Field(
        None, ge=1, description="LSH bands (default: derived from threshold and num_perm)"
    )
    rows: int | None = Field(
        None,
        ge=1,
        description="rows (permutations) per LSH band (default: derived with bands)",
    )
    fold_script: bool = Field(
        True, description="compare traditional and simplified script as the same text"
    )

    @model_validator(mode="after")
    def _banding(self) -> DedupConfig:
        if (self.bands is None) != (self.rows is None):
            raise ValueError(
                "set bands and rows together, or neither (then they follow from "
                "threshold and num_perm)"
            )
        if self.bands is None:
            bands, rows = lsh_bands_rows(self.threshold, self.num_perm)
            # Filled in once, so that the dump and the config hash hold the values used.
            object.__setattr__(self, "bands", bands)
            object.__setattr__(self, "rows", rows)
        elif self.bands * self.rows > self.num_perm:
            raise ValueError(
                f"bands * rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}"
            )
        return self

    @property
    def banding(self) -> tuple[int, int]:
        """(bands, rows), filled in by validation."""
        assert self.bands is not None and self.rows is not None
        return self.bands, self.rows

    def candidate_probability(self, jaccard: float) -> float:
        """Probability that a pair with this Jaccard shares at least one band."""
        return candidate_probability(jaccard, *self.banding)


class SegmentConfig(_Section):
    words: bool = Field(False, description="also write a `words` column (word segmentation)")
    word_segmenter: Literal["rjieba", "jieba"] = Field(
        "rjieba", description="rjieba (fast, same Chinese tokens as jieba) or jieba"
    )


class WriteConfig(_Section):
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
    def _level_fits_codec(self) -> WriteConfig:
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


# Sections renamed in zhclean 0.2 to the name of their stage; files and
# deployments written before are still read (the new name wins where both are).
LEGACY_SECTIONS = {"html": "html_strip", "filter": "quality", "output_files": "write"}


class PipelineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    inputs: list[Path] = Field(
        default_factory=lambda: [Path("data/sample")],
        description="input files and folders (folders are searched recursively)",
    )
    output: Path = Field(Path("output"), description="output dataset folder")
    # One section per stage, named like it (see LEGACY_SECTIONS for older names).
    extract: ExtractConfig = ExtractConfig()
    html_strip: HtmlStripConfig = HtmlStripConfig()
    normalize: NormalizeConfig = NormalizeConfig()
    news: NewsConfig = NewsConfig()
    quality: QualityConfig = QualityConfig()
    dedup: DedupConfig = DedupConfig()
    segment: SegmentConfig = SegmentConfig()
    write: WriteConfig = WriteConfig()
    run: RunConfig = RunConfig()
    release: ReleaseConfig = ReleaseConfig()

    @model_validator(mode="before")
    @classmethod
    def _read_legacy_sections(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not LEGACY_SECTIONS.keys() & data.keys():
            return data
        data = dict(data)
        for old, new in LEGACY_SECTIONS.items():
            if old in data:
                legacy = data.pop(old)
                current = data.get(new)
                both = isinstance(legacy, dict) and isinstance(current, dict)
                data[new] = merge_settings(legacy, current) if both else current or legacy
        return data

    @field_validator("inputs")
    @classmethod
    def _at_least_one_input(cls, value: list[Path]) -> list[Path]:
        if not value:
            raise ValueError("at least one input path is required")
        return value

    # The sections of the stages that change what is written; how it is written
    # (write: codec, file sizes), run knobs (workers, shard size) and paths
    # do not, so they stay out of the hash.
    HASHED_SECTIONS: ClassVar[tuple[str, ...]] = (
        "extract",
        "html_strip",
        "normalize",
        "news",
        "quality",
        "dedup",
        "segment",
    )

    @property
    def config_hash(self) -> str:
        payload = {
            name: getattr(self, name).model_dump(mode="json") for name in self.HASHED_SECTIONS
        }
        blob = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


# ----------------------------------------------------------------- loading


class ConfigError(ValueError):
    """The configuration cannot be used; the message is one line for the user."""


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as err:
        raise ConfigError(f"config file not found: {path}") from err
    except OSError as err:
        raise ConfigError(f"cannot read config file {path}: {err.strerror}") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"config file {path} is not valid TOML: {err}") from err


def merge_settings(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``override``'s values, nested sections merged key by key."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_settings(merged[key], value)
        else:
            merged[key] = value
    return merged


def _first_error(err: ValidationError, source: str) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "config"
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"invalid configuration in {source}: {where}: {first['msg']}{more}"


def load_config(
    config_file: Path | None = None, overrides: dict[str, Any] | None = None
) -> PipelineConfig:
    """Defaults < ``config_file`` (TOML) < ``overrides`` (nested dict, e.g. from CLI flags).

    Paths in the file are relative to the current directory, like paths on the
    command line.  Raises ``ConfigError`` with a one-line message.
    """
    values: dict[str, Any] = {}
    source = "command-line options"
    if config_file is not None:
        values = read_toml(config_file)
        source = str(config_file)
    values = merge_settings(values, overrides or {})
    try:
        return PipelineConfig.model_validate(values)
    except ValidationError as err:
        raise ConfigError(_first_error(err, source)) from err
