import pytest

from tests.transforms.stage_support import records, run_stage
from transforms.config import QualityConfig
from transforms.stages.quality import chinese_ratio, chinese_ratios, quality_batch

LONG = "社区是疫情防控的最前线，约四百万名社区工作者夜以继日，奋战在寻常巷陌，守护着人民家园。" * 4


def batch(texts):
    return records(texts)


def test_each_rule_rejects_with_its_reason_and_a_detail():
    run = run_stage("quality", batch(["", "太短了。", "Hello world " * 20, LONG]), QualityConfig())
    assert run.kept.column("doc_id").to_pylist() == ["d3"]
    rejected = {r["doc_id"]: r for r in run.rejected.to_pylist()}
    assert rejected["d0"]["reason"] == "empty"
    assert rejected["d1"]["reason"] == "too_short" and "minimum is 100" in rejected["d1"]["detail"]
    assert rejected["d2"]["reason"] == "low_chinese_ratio"
    assert all(r["stage"] == "quality" for r in rejected.values())
    counts = run.counts["quality"]
    assert counts.input == 4 and counts.kept == 1
    assert dict(counts.rejected) == {"empty": 1, "too_short": 1, "low_chinese_ratio": 1}


def test_a_short_photo_story_of_two_hundred_characters_is_kept():
    story = ("3月24日，在武汉默东动物医院，高级宠物医生为一只小猫检查身体。" * 7)[:200]
    assert len(quality_batch(batch([story]), QualityConfig()).kept) == 1


def test_thresholds_come_from_the_config():
    result = quality_batch(batch(["太短了。"]), QualityConfig(min_chars=2, min_chinese_ratio=0.5))
    assert result.kept.num_rows == 1


def test_chinese_ratio_ignores_spaces():
    assert chinese_ratio("中文 中文") == 1.0
    assert chinese_ratio("") == 0.0
    assert chinese_ratio("中a") == 0.5


def test_batch_ratios_equal_the_regex_definition():
    import random
    import re

    han = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
    rng = random.Random(0)
    alphabet = [0x20, 0x3000, 0xA0, 0x0A, 0x2028, 0x41, 0x4E00, 0x9FFF, 0x20000, 0xFF0C]
    texts = [
        "".join(chr(rng.choice(alphabet)) for _ in range(rng.randrange(20))) for _ in range(500)
    ]
    for text, ratio in zip(texts, chinese_ratios(texts), strict=True):
        visible = len(text) - len(re.findall(r"\s", text))
        expected = len(han.findall(text)) / visible if visible else 0.0
        assert ratio == pytest.approx(expected)
