"""Tests for transforms.stages.normalize, rule by rule (numbers as in the module docstring), then the stage."""

from __future__ import annotations

import hashlib
import unicodedata
from collections import Counter
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.paths import SAMPLE
from tests.transforms.stage_support import run_stage
from transforms.config import NormalizeConfig
from transforms.schema import RECORD_SCHEMA, table_from_rows
from transforms.stages import normalize
from transforms.stages.html_strip import contains_markup, strip_html
from transforms.stages.normalize import (
    TRANSLATE_TABLE,
    build_translate_table,
    is_protected,
    normalize_batch,
    normalize_text,
)

CHINESE_PUNCTUATION = "“”‘’「」『』《》〈〉【】（）、。，；：？！…—·～"
# The only conversions allowed to change Chinese punctuation counts (rules 3 and 4).
ASCII_TO_FULLWIDTH = dict(zip(",;:?!()", "，；：？！（）", strict=True))

NO_PUNCTUATION_RULE = NormalizeConfig(fullwidth_punctuation_between_hanzi=False)
SIMPLIFIED = NormalizeConfig(traditional_to_simplified=True)


def records(*rows: dict[str, Any]) -> pa.Table:
    """A RECORD_SCHEMA table of tiny Chinese records; each row gives text (and title)."""
    full = []
    for i, row in enumerate(rows):
        text = row["text"]
        full.append(
            {
                "doc_id": f"doc-{i}",
                "title": row.get("title"),
                "text": text,
                "is_html": False,
                "source_uri": "file:///data/sample/news.txt",
                "source_path": "news.txt",
                "source_record": i,
                "source_sha256": hashlib.sha256(text.encode()).hexdigest(),
                "source_format": "txt",
                "source_encoding": "utf-8",
            }
        )
    return table_from_rows(full, RECORD_SCHEMA)


# ---------------------------------------------------------------- rule 1: line breaks


def test_crlf_and_other_line_breaks_become_newlines() -> None:
    for brk in ("\r\n", "\r", "\u2028", "\u2029", "\x0b", "\x0c", "\x85"):
        assert normalize_text(f"第一段{brk}第二段") == "第一段\n第二段"


# ---------------------------------------------------------------- rule 2: invisible characters


def test_zero_width_and_format_characters_are_removed() -> None:
    text = "中\u200b国\u200c人\u200d民\u2060万\ufeff岁\u00ad啊\u202e！"
    assert normalize_text(text) == "中国人民万岁啊！"


def test_control_characters_are_removed_and_tab_becomes_space() -> None:
    assert normalize_text("记者\t汪宁\x00\x07\x1b\x7f\x9f报道") == "记者 汪宁报道"


def test_lone_surrogates_are_removed() -> None:
    assert normalize_text("中\ud800国") == "中国"


# ---------------------------------------------------------------- rule 3: width folding


def test_fullwidth_digits_fold_to_ascii() -> None:
    assert normalize_text("２０２０年３月１０日") == "2020年3月10日"


def test_fullwidth_letters_and_symbols_fold_to_ascii() -> None:
    assert normalize_text("ＰＣＲ检测％＃＠＋＝") == "PCR检测%#@+="


def test_halfwidth_cjk_punctuation_widens() -> None:
    assert normalize_text("｢好｣､走｡") == "「好」、走。"


def test_halfwidth_katakana_recomposes_after_folding() -> None:
    assert normalize_text("ｶﾞｲﾄﾞ") == "ガイド"


def test_kangxi_radicals_and_compatibility_ideographs_become_unified() -> None:
    assert normalize_text("\u2f00\u2f08\uf900") == "一人\u8c48"


def test_chinese_punctuation_survives_nfkc() -> None:
    assert normalize_text(CHINESE_PUNCTUATION) == CHINESE_PUNCTUATION
    assert normalize_text("疫情防控，关键在治；基础在防：好吗？好！（注）～") == (
        "疫情防控，关键在治；基础在防：好吗？好！（注）～"
    )


def test_ellipsis_is_not_expanded() -> None:
    assert normalize_text("等等……还有‥") == "等等……还有‥"


def test_circled_and_parenthesised_list_markers_survive() -> None:
    assert normalize_text("①第一 ⑴其一 ⒈首先 ㈠甲 ㊀乙") == "①第一 ⑴其一 ⒈首先 ㈠甲 ㊀乙"


def test_superscripts_and_subscripts_survive() -> None:
    assert normalize_text("面积100m²，排放CO₂，x³") == "面积100m²，排放CO₂，x³"


def test_squared_unit_folds_but_keeps_its_superscript() -> None:
    assert normalize_text("120㎡的房子") == "120m²的房子"


def test_small_and_vertical_chinese_punctuation_becomes_fullwidth() -> None:
    assert normalize_text("甲﹐乙﹑丙﹔丁﹕戊﹖己﹗") == "甲，乙、丙；丁：戊？己！"
    assert normalize_text("甲︐乙︑丙︓丁︔戊︕己︖") == "甲，乙、丙：丁；戊！己？"
    assert normalize_text("﹙注﹚︵注︶") == "（注）（注）"


def test_space_characters_become_plain_spaces() -> None:
    for space in ("\u3000", "\xa0", "\u2002", "\u2009", "\u202f", "\u205f", "\u1680"):
        assert normalize_text(f"A{space}B") == "A B"


def test_translate_table_matches_a_scan_of_every_code_point() -> None:
    assert build_translate_table(range(0x110000)) == TRANSLATE_TABLE


def test_translate_table_never_folds_a_protected_character() -> None:
    for char in (
        "，",
        "；",
        "：",
        "？",
        "！",
        "（",
        "）",
        "～",
        "…",
        "‥",
        "①",
        "⑴",
        "⒈",
        "㈠",
        "²",
        "₂",
    ):
        assert is_protected(char), char
    assert not any(is_protected(chr(cp)) for cp in TRANSLATE_TABLE)


def test_translate_table_replacements_are_already_normal() -> None:
    for cp, replacement in TRANSLATE_TABLE.items():
        if replacement is None:
            continue
        assert replacement.translate(TRANSLATE_TABLE) == replacement, hex(cp)
        assert unicodedata.is_normalized("NFC", replacement), hex(cp)


def test_translate_table_is_nfkc_where_nothing_is_protected() -> None:
    """Every fold is NFKC's, except for a protected character or a Chinese punctuation form."""
    for cp, replacement in TRANSLATE_TABLE.items():
        char = chr(cp)
        if replacement is None or replacement in (" ", "\n"):
            continue
        nfkc = unicodedata.normalize("NFKC", char)
        if replacement == nfkc:
            continue
        tag = unicodedata.decomposition(char).split(" ", 1)[0]
        keeps_protected = any(is_protected(c) for c in replacement)
        assert keeps_protected or tag in ("<small>", "<vertical>"), (hex(cp), replacement, nfkc)


def test_every_character_nfkc_changes_is_folded_or_protected() -> None:
    for cp in range(0x110000):
        char = chr(cp)
        if unicodedata.normalize("NFKC", char) != char:
            assert cp in TRANSLATE_TABLE or is_protected(char), hex(cp)


# ---------------------------------------------------------------- rule 4: punctuation


def test_ascii_comma_between_hanzi_becomes_fullwidth() -> None:
    assert normalize_text("疫情防控,关键在治,基础在防。") == "疫情防控，关键在治，基础在防。"


def test_ascii_semicolon_colon_question_exclamation_between_hanzi_become_fullwidth() -> None:
    assert normalize_text("病毒;疫情:考验吗?是!对") == "病毒；疫情：考验吗？是！对"


def test_space_after_converted_punctuation_is_dropped() -> None:
    assert normalize_text("守好社区, 就是守住城市") == "守好社区，就是守住城市"


def test_punctuation_next_to_chinese_quotes_becomes_fullwidth() -> None:
    assert normalize_text("他说“好”,然后,“走”") == "他说“好”，然后，“走”"


def test_number_after_chinese_clause_gets_a_fullwidth_comma() -> None:
    assert normalize_text("中组部1月29日印发通知,2月3日召开会议") == (
        "中组部1月29日印发通知，2月3日召开会议"
    )


def test_sentence_final_marks_after_hanzi_become_fullwidth() -> None:
    assert normalize_text("我们就是社区的英雄!”\n胜利必将属于我们!\n谁上?!") == (
        "我们就是社区的英雄！”\n胜利必将属于我们！\n谁上？！"
    )


@pytest.mark.parametrize(
    "text",
    [
        "Hello, world: really? yes!",
        "增长3.5个百分点",
        "共1,000人",
        "早晨7:48到达",
        "见http://a.b/c?d=1",
        "学习C++和C#",
        "比例为85%,高于",
        "A,中文",
        "中文,A",
        "f(x) = (a+b)",
        "Python (编程语言)",
    ],
)
def test_ascii_punctuation_outside_chinese_is_untouched(text: str) -> None:
    assert normalize_text(text) == text


def test_parentheses_around_chinese_become_a_fullwidth_pair() -> None:
    assert normalize_text("全省90个县(市、区)疫情风险") == "全省90个县（市、区）疫情风险"
    assert normalize_text("新华社记者(新华社北京3月10日电)") == "新华社记者（新华社北京3月10日电）"


def test_parenthesised_line_of_chinese_becomes_fullwidth() -> None:
    assert normalize_text("正文。\n(新华社北京3月10日电)") == "正文。\n（新华社北京3月10日电）"


def test_adjacent_parenthesised_groups_convert_together() -> None:
    assert normalize_text("(甲)(乙)丙") == "（甲）（乙）丙"


def test_nested_parentheses_convert_only_the_inner_pair() -> None:
    assert normalize_text("(新华社(北京)电)") == "(新华社（北京）电)"


def test_parentheses_without_chinese_inside_stay_ascii() -> None:
    assert normalize_text("武汉(PCR)检测") == "武汉(PCR)检测"


def test_punctuation_after_converted_parenthesis_becomes_fullwidth() -> None:
    assert normalize_text("动物医院(光谷分院),高进东") == "动物医院（光谷分院），高进东"


def test_punctuation_rule_can_be_turned_off() -> None:
    text = "疫情防控,关键在治(防)"
    assert normalize_text(text, NO_PUNCTUATION_RULE) == text


# ---------------------------------------------------------------- rule 5: spaces


def test_indents_and_trailing_spaces_are_removed() -> None:
    assert normalize_text("\u3000\u3000第一段\xa0 \n  第二段\u3000") == "第一段\n第二段"


def test_runs_of_spaces_collapse_to_one() -> None:
    assert normalize_text("记者   汪宁\u3000\u3000通讯员 \t 甄浩鹏") == "记者 汪宁 通讯员 甄浩鹏"


# ---------------------------------------------------------------- rule 6: paragraphs


def test_blank_lines_collapse_and_ends_are_trimmed() -> None:
    assert normalize_text("\n\n\n标题\n\n\n\n正文\n \n\u3000\n结尾\n\n") == "标题\n正文\n结尾"


def test_whitespace_only_text_becomes_empty() -> None:
    assert normalize_text(" \u3000\n\u200b\r\n\t") == ""


# ---------------------------------------------------------------- rule 7: script


def test_traditional_becomes_simplified_only_when_asked() -> None:
    text = "中國人民，頭髮，乾隆皇帝"
    assert normalize_text(text) == text
    assert normalize_text(text, SIMPLIFIED) == "中国人民，头发，乾隆皇帝"


def test_t2s_converter_is_created_once() -> None:
    normalize_text("臺灣", SIMPLIFIED)
    assert normalize._t2s_converter() is normalize._t2s_converter()


def test_t2s_chains_are_followed_to_a_fixed_point() -> None:
    once = normalize._t2s_converter().convert("薴")
    assert once != "薴" and normalize._t2s_converter().convert(once) != once  # OpenCC itself chains
    assert normalize_text("薴", SIMPLIFIED) == normalize_text(
        normalize_text("薴", SIMPLIFIED), SIMPLIFIED
    )


# ---------------------------------------------------------------- whole-function properties

ODD_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(
            list("中国人民疫情防控關鍵薴乾隆ａＡ１％ｶﾞ")
            + list(CHINESE_PUNCTUATION)
            + list(",;:?!()().-/%&<> \t\n\r　\xa0\u200b\ufeff\u2028\x0b\x85\x00\u00ad")
            + list("①⑴㈠²₂﹐﹑︵︶…‥⼀\uf900㎡")
        ),
        st.characters(),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(ODD_TEXT)
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


@settings(max_examples=150, deadline=None)
@given(ODD_TEXT)
def test_normalize_with_simplification_is_idempotent(text: str) -> None:
    once = normalize_text(text, SIMPLIFIED)
    assert normalize_text(once, SIMPLIFIED) == once


@settings(max_examples=200, deadline=None)
@given(ODD_TEXT)
def test_normalized_text_has_clean_lines(text: str) -> None:
    result = normalize_text(text)
    assert "\n\n" not in result and "  " not in result
    assert result == result.strip(" \n")
    for line in result.split("\n") if result else []:
        assert line == line.strip(" ") and line


def seed_paragraphs() -> list[tuple[str, str]]:
    """(seed name, paragraph) for every non-blank line of the sample dumps, markup stripped."""
    paragraphs = []
    for path in sorted(SAMPLE.glob("*.txt")):
        raw = path.read_text(encoding="utf-8")
        text = strip_html(raw) if contains_markup(raw) else raw
        paragraphs += [(path.name, line) for line in text.splitlines() if line.strip()]
    return paragraphs


def test_seed_documents_keep_their_chinese_punctuation() -> None:
    """Each Chinese mark keeps its count, plus what rule 4 converted from its ASCII twin."""
    paragraphs = seed_paragraphs()
    assert len(paragraphs) > 300
    for name, paragraph in paragraphs:
        before, after = Counter(paragraph), Counter(normalize_text(paragraph))
        for mark in CHINESE_PUNCTUATION:
            ascii_twin = next((a for a, f in ASCII_TO_FULLWIDTH.items() if f == mark), None)
            if ascii_twin is None:
                assert after[mark] == before[mark], (name, mark, paragraph)
            else:
                assert after[mark] >= before[mark], (name, mark, paragraph)
                assert after[mark] + after[ascii_twin] == before[mark] + before[ascii_twin]


def test_seed_004_commas_between_hanzi_become_fullwidth() -> None:
    raw = (SAMPLE / "004_4ea96290340b9324.txt").read_text(encoding="utf-8")
    text = normalize_text(raw)
    assert "疫情防控，关键在治，基础在防。" in text
    assert "新华社记者（新华社北京3月10日电）" in text
    assert text.count(",") < 5  # from 528: only a comma after "85%" and the like remain


def test_seeds_normalize_idempotently() -> None:
    for name, paragraph in seed_paragraphs():
        once = normalize_text(paragraph)
        assert normalize_text(once) == once, name


# ---------------------------------------------------------------- the stage


def test_batch_normalizes_text_and_title() -> None:
    table = records(
        {
            "title": "\u3000标题,副题\n第二行 ",
            "text": "\u3000\u3000疫情防控,关键在治\n\n\n基础在防",
        },
        {"title": "干净标题", "text": "干净正文。"},
    )
    result = normalize_batch(table, NormalizeConfig())
    assert result.kept.schema == RECORD_SCHEMA
    assert result.kept.column("text").to_pylist() == ["疫情防控，关键在治\n基础在防", "干净正文。"]
    assert result.kept.column("title").to_pylist() == ["标题，副题 第二行", "干净标题"]
    assert result.extra["changed"] == 1
    counts = run_stage("normalize", table, NormalizeConfig()).counts["normalize"]
    assert (counts.input, counts.kept, counts.extra["changed"]) == (2, 2, 1)


def test_batch_turns_empty_titles_into_null_and_keeps_empty_text() -> None:
    table = records({"title": " \u3000 ", "text": "\u200b \n"}, {"title": None, "text": "正文"})
    result = normalize_batch(table, NormalizeConfig())
    assert result.kept.column("title").to_pylist() == [None, None]
    assert result.kept.column("text").to_pylist() == ["", "正文"]
    assert result.rejected.num_rows == 0


def test_batch_keeps_provenance_columns() -> None:
    table = records({"text": "甲,乙"}, {"text": "丙"})
    result = normalize_batch(table, NormalizeConfig())
    for name in ("doc_id", "source_uri", "source_record", "source_sha256", "is_html"):
        assert result.kept.column(name).equals(table.column(name))


def test_batch_translation_equals_str_translate_text_by_text():
    import random

    from transforms.stages.normalize import TRANSLATE_TABLE, translate_batch

    rng = random.Random(5)
    pool = "中文，。Ａ１㎡①\u3000\xa0\u200b\r\n\r\t\x00\ud800﹐︐ｶﾞ\U000e0001abc "
    texts = ["", "㎡", "a\r\nb", "\x00"] + [
        "".join(rng.choice(pool) for _ in range(rng.randrange(30))) for _ in range(500)
    ]
    expected = [t.replace("\r\n", "\n").translate(TRANSLATE_TABLE) for t in texts]
    assert translate_batch(texts) == expected


def test_a_batch_ending_in_empty_texts_keeps_every_character_of_the_others():
    """Regression: trailing empty texts once cost the text before them its last character."""
    from transforms.stages.normalize import translate_batch

    assert translate_batch(["中文新闻", "", ""]) == ["中文新闻", "", ""]
    assert translate_batch(["", "中文新闻"]) == ["", "中文新闻"]
