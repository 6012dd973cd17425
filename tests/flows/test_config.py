import re
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


@pytest.mark.parametrize(
    ("toml", "setting"),
    [
        ("[extract]\nmax_record_bytes = -1\n", "extract.max_record_bytes"),
        ("[extract]\nmax_file_bytes = 0\n", "extract.max_file_bytes"),
        ('[extract]\nmax_record_bytes = "16 MiB"\n', "extract.max_record_bytes"),
        ("[extract]\nmax_record_bytes = 2048.5\n", "extract.max_record_bytes"),
        ('[extract]\ntext_field = ""\n', "extract.text_field"),
        ("[extract]\ntitle_max_chars = 0\n", "extract.title_max_chars"),
        ("[filter]\nmin_chars = -5\n", "filter.min_chars"),
        ("[filter]\nmin_chinese_ratio = nan\n", "filter.min_chinese_ratio"),
        ("[dedup]\nthreshold = inf\n", "dedup.threshold"),
        ("[dedup]\nseed = -1\n", "dedup.seed"),
        ("[dedup]\nseed = 4294967296\n", "dedup.seed"),
        ("[dedup]\nbands = 30\nrows = 6\n", "dedup"),
        ("[output_files]\ncompression_level = 99\n", "output_files"),
        ('[output_files]\ncompression = "gzip"\ncompression_level = 20\n', "output_files"),
        ('[output_files]\ncompression = "lz4"\n', "output_files.compression"),
        ("[run]\nworkers = 0\n", "run.workers"),
        ("[run]\nshard_max_bytes = -1\n", "run.shard_max_bytes"),
        ('inputs = "data/sample"\n', "inputs"),
        ("inputs = []\n", "inputs"),
        ("extract = 5\n", "extract"),
    ],
)
def test_a_bad_value_exits_2_naming_the_setting_before_any_work(tmp_path, capsys, toml, setting):
    """Negative sizes, wrong types, out-of-range values: refused when the run starts, in one line."""
    from flows.cli import main

    path = write(tmp_path, toml)
    with pytest.raises(ConfigError, match=rf"in {re.escape(str(path))}: {re.escape(setting)}\b"):
        load_config(path)
    output = tmp_path / "out"
    assert main(["run", "--config", str(path), "-o", str(output)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("zhclean: error: invalid configuration in ")
    assert not output.exists()


def test_the_limits_that_pass_validation_are_usable(tmp_path):
    config = load_config(
        write(
            tmp_path,
            '[dedup]\nseed = 4294967295\n[output_files]\ncompression = "gzip"\n'
            "compression_level = 9\n[extract]\nmax_record_bytes = 1024\n",
        )
    )
    assert (config.dedup.seed, config.output_files.compression_level) == (2**32 - 1, 9)
    from transforms.dedup.minhash import signatures
    from transforms.engine.parquet_io import write_table

    assert signatures(["边界种子测试文本"], 5, 16, config.dedup.seed).shape[0] == 1
    import pyarrow as pa

    write_table(pa.table({"a": [1]}), tmp_path / "t.parquet", config.output_files)
