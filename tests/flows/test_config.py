from pathlib import Path

import pytest

from flows.config import ConfigError, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "zhclean.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_toml_sets_knobs_and_flags_override_them(tmp_path):
    path = write(tmp_path, "[filter]\nmin_chars = 50\n[dedup]\nthreshold = 0.9\n")
    config = load_config(path, {"dedup": {"threshold": 0.7}})
    assert config.filter.min_chars == 50
    assert config.dedup.threshold == 0.7


def test_missing_config_file_is_a_one_line_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "none.toml")


def test_invalid_toml_is_a_one_line_error(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[filter\nmin_chars = "))


def test_unreadable_config_is_a_one_line_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path)  # a folder cannot be read as a file


def test_bad_values_name_the_setting(tmp_path):
    with pytest.raises(ConfigError, match=r"filter\.min_chinese_ratio"):
        load_config(write(tmp_path, "[filter]\nmin_chinese_ratio = 2.0\n"))
    with pytest.raises(ConfigError, match=r"dedup\.treshold"):
        load_config(write(tmp_path, "[dedup]\ntreshold = 0.5\n"))
