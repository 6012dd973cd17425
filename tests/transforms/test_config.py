import re
from pathlib import Path

import pyarrow as pa
import pytest
from pydantic import ValidationError

from transforms.config import (
    LEGACY_SECTIONS,
    ConfigError,
    DedupConfig,
    PipelineConfig,
    load_config,
)
from transforms.dedup.minhash import signatures
from transforms.pipeline import STAGE_NAMES
from transforms.storage import write_table


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "zhclean.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_suit_chinese_news():
    config = PipelineConfig()
    assert config.dedup.ngram_size == 5 and config.dedup.threshold == 0.8
    assert config.normalize.traditional_to_simplified is False
    assert config.quality.min_chars == 100


def test_every_stage_has_the_config_section_of_its_name():
    sections = PipelineConfig.model_fields
    assert all(name in sections for name in STAGE_NAMES)
    # The sections of the stages that decide what is kept, and only those, are hashed.
    assert set(PipelineConfig.HASHED_SECTIONS) == set(STAGE_NAMES) - {"write"}


def test_default_banding_makes_nearly_every_pair_at_the_threshold_a_candidate():
    dedup = DedupConfig()
    assert (dedup.bands, dedup.rows) == (20, 6)
    assert dedup.candidate_probability(0.8) > 0.99
    assert dedup.candidate_probability(0.3) < 0.02


def test_banding_set_by_hand_is_kept_and_must_be_set_whole():
    assert DedupConfig(bands=9, rows=13).banding == (9, 13)
    with pytest.raises(ValidationError, match="together"):
        DedupConfig(bands=9)


def test_bands_times_rows_cannot_exceed_num_perm():
    with pytest.raises(ValidationError, match="exceeds num_perm"):
        DedupConfig(num_perm=64, bands=20, rows=6)


def test_unknown_keys_are_rejected():
    with pytest.raises(ValidationError):
        PipelineConfig.model_validate({"dedup": {"treshold": 0.9}})


def test_config_hash_changes_with_cleaning_settings_only():
    base = PipelineConfig()
    assert base.config_hash == PipelineConfig().config_hash
    assert PipelineConfig(output="elsewhere").config_hash == base.config_hash
    assert PipelineConfig.model_validate({"run": {"workers": 7}}).config_hash == base.config_hash
    assert PipelineConfig.model_validate({"write": {"compression": "gzip"}}).config_hash == (
        base.config_hash
    )
    changed = PipelineConfig.model_validate({"quality": {"min_chars": 5}})
    assert changed.config_hash != base.config_hash


def test_banding_is_part_of_the_config_hash():
    derived = PipelineConfig.model_validate({"dedup": {"threshold": 0.7}})
    explicit = PipelineConfig.model_validate({"dedup": {"threshold": 0.7, "bands": 20, "rows": 6}})
    assert derived.dedup.banding != (20, 6)
    assert derived.config_hash != explicit.config_hash


def test_toml_sets_knobs_and_flags_override_them(tmp_path):
    path = write(tmp_path, "[quality]\nmin_chars = 50\n[dedup]\nthreshold = 0.9\n")
    config = load_config(path, {"dedup": {"threshold": 0.7}})
    assert config.quality.min_chars == 50
    assert config.dedup.threshold == 0.7


def test_sections_are_also_read_under_their_names_before_0_2(tmp_path):
    path = write(
        tmp_path,
        "[filter]\nmin_chars = 50\nmin_chinese_ratio = 0.5\n[html]\nstrip_all = true\n"
        '[output_files]\ncompression = "gzip"\n',
    )
    config = load_config(path, {"quality": {"min_chars": 70}})
    assert (config.quality.min_chars, config.quality.min_chinese_ratio) == (70, 0.5)
    assert config.html_strip.strip_all and config.write.compression == "gzip"
    assert set(LEGACY_SECTIONS.values()) <= set(STAGE_NAMES)
    assert "filter" not in config.model_dump()


def test_missing_config_file_is_a_one_line_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "none.toml")


def test_invalid_toml_is_a_one_line_error(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[quality\nmin_chars = "))


def test_unreadable_config_is_a_one_line_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path)  # a folder cannot be read as a file


BAD_VALUES = [
    ("[extract]\nmax_record_bytes = -1\n", "extract.max_record_bytes"),
    ("[extract]\nmax_file_bytes = 0\n", "extract.max_file_bytes"),
    ('[extract]\nmax_record_bytes = "16 MiB"\n', "extract.max_record_bytes"),
    ("[extract]\nmax_record_bytes = 2048.5\n", "extract.max_record_bytes"),
    ('[extract]\ntext_field = ""\n', "extract.text_field"),
    ("[extract]\ntitle_max_chars = 0\n", "extract.title_max_chars"),
    ("[quality]\nmin_chars = -5\n", "quality.min_chars"),
    ("[quality]\nmin_chinese_ratio = nan\n", "quality.min_chinese_ratio"),
    ("[filter]\nmin_chinese_ratio = 2.0\n", "quality.min_chinese_ratio"),
    ("[dedup]\nthreshold = inf\n", "dedup.threshold"),
    ("[dedup]\ntreshold = 0.5\n", "dedup.treshold"),
    ("[dedup]\nseed = -1\n", "dedup.seed"),
    ("[dedup]\nseed = 4294967296\n", "dedup.seed"),
    ("[dedup]\nbands = 30\nrows = 6\n", "dedup"),
    ("[write]\ncompression_level = 99\n", "write"),
    ('[write]\ncompression = "gzip"\ncompression_level = 20\n', "write"),
    ('[write]\ncompression = "lz4"\n', "write.compression"),
    ("[run]\nworkers = 0\n", "run.workers"),
    ("[run]\nshard_max_bytes = -1\n", "run.shard_max_bytes"),
    ('inputs = "data/sample"\n', "inputs"),
    ("inputs = []\n", "inputs"),
    ("extract = 5\n", "extract"),
]


@pytest.mark.parametrize(("toml", "setting"), BAD_VALUES)
def test_a_bad_value_is_an_error_naming_the_setting(tmp_path, toml, setting):
    """Negative sizes, wrong types, out-of-range values: one line naming the setting."""
    path = write(tmp_path, toml)
    with pytest.raises(ConfigError, match=rf"in {re.escape(str(path))}: {re.escape(setting)}\b"):
        load_config(path)


def test_the_limits_that_pass_validation_are_usable(tmp_path):
    config = load_config(
        write(
            tmp_path,
            '[dedup]\nseed = 4294967295\n[write]\ncompression = "gzip"\n'
            "compression_level = 9\n[extract]\nmax_record_bytes = 1024\n",
        )
    )
    assert (config.dedup.seed, config.write.compression_level) == (2**32 - 1, 9)
    assert signatures(["边界种子测试文本"], 5, 16, config.dedup.seed).shape[0] == 1
    write_table(pa.table({"a": [1]}), tmp_path / "t.parquet", config.write)
