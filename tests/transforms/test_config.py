import pytest
from pydantic import ValidationError

from transforms.config import DedupConfig, PipelineConfig


def test_defaults_suit_chinese_news():
    config = PipelineConfig()
    assert config.dedup.ngram_size == 5 and config.dedup.threshold == 0.8
    assert config.normalize.traditional_to_simplified is False
    assert config.filter.min_chars == 100


def test_default_banding_makes_nearly_every_pair_at_the_threshold_a_candidate():
    dedup = DedupConfig()
    assert dedup.candidate_probability(0.8) > 0.99
    assert dedup.candidate_probability(0.3) < 0.02


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
    assert (
        PipelineConfig.model_validate({"filter": {"min_chars": 5}}).config_hash != base.config_hash
    )
