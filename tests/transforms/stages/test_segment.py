"""Tests for transforms.stages.segment: paragraphs, sentences, words and the segment stage."""

from __future__ import annotations

import pickle
import re
import subprocess
import sys
import textwrap

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.paths import REPO
from tests.transforms.stage_support import run_stage
from transforms.config import SegmentConfig
from transforms.schema import KEPT_SCHEMA
from transforms.stages.segment import (
    Backend,
    WordSegmenter,
    segment_batch,
    sentences_of,
    split_paragraphs,
    split_sentences,
    split_sentences_general,
)

SAMPLE_DIR = REPO / "data" / "sample"

NEWS = (
    "疫情发生以来，王燕已经连着工作了一个多月。她说：“我们累点没事，大家没事就好。”\n"
    "信阳位于豫鄂两省交界处，疫情防控压力不小！辖区22个卡点，她得挨个去……\n"
    "为了让辖区服务全覆盖，王燕建立了36个微信群"
)


def sample_paragraphs(name: str) -> list[str]:
    """Stripped non-empty lines of one sample dump (the ones without HTML)."""
    text = (SAMPLE_DIR / name).read_text(encoding="utf-8", errors="replace")
    return [line.strip() for line in text.splitlines() if line.strip()]


def batch(*texts: str) -> pa.Table:
    return pa.table(
        {
            "doc_id": pa.array([f"d{i}" for i in range(len(texts))], pa.string()),
            "text": pa.array(texts, pa.string()),
        }
    )


# --- paragraphs -------------------------------------------------------------


def test_paragraphs_are_the_non_empty_lines() -> None:
    assert split_paragraphs("第一段。\n第二段。\n\n第三段") == ["第一段。", "第二段。", "第三段"]


def test_only_newline_separates_paragraphs() -> None:
    # \u2028 and \r are not paragraph breaks in normalized text; splitlines would split there.
    assert split_paragraphs("甲\u2028乙\r丙\n丁") == ["甲\u2028乙\r丙", "丁"]


def test_empty_text_has_no_paragraphs() -> None:
    assert split_paragraphs("") == []


# --- sentences --------------------------------------------------------------


@pytest.mark.parametrize("terminator", ["。", "！", "？", "；", "!", "?"])
def test_each_terminator_ends_a_sentence(terminator: str) -> None:
    assert split_sentences(f"天气很好{terminator}我们出发") == [f"天气很好{terminator}", "我们出发"]


def test_closing_quote_stays_with_its_sentence() -> None:
    assert split_sentences("他说：“走吧。”然后离开。") == ["他说：“走吧。”", "然后离开。"]


@pytest.mark.parametrize("closers", ["’", "」", "』", "）", ")", "】", "》", "”）", "'"])
def test_closing_brackets_stay_with_their_sentence(closers: str) -> None:
    assert split_sentences(f"甲说完了。{closers}乙开始。") == [f"甲说完了。{closers}", "乙开始。"]


def test_straight_double_quote_stays_only_when_it_closes_an_open_quote() -> None:
    assert split_sentences('他说"走吧。"然后离开。"好"她说') == [
        '他说"走吧。"',
        "然后离开。",
        '"好"她说',
    ]


@pytest.mark.parametrize("run", ["？！", "!!", "。。", "?!", "！？”"])
def test_run_of_terminators_stays_together(run: str) -> None:
    assert split_sentences(f"真的吗{run}我不信。") == [f"真的吗{run}", "我不信。"]


@pytest.mark.parametrize("ellipsis", ["…", "……", "⋯", "⋯⋯"])
def test_ellipsis_ends_one_sentence(ellipsis: str) -> None:
    assert split_sentences(f"她得挨个去{ellipsis}一天下来") == [f"她得挨个去{ellipsis}", "一天下来"]


@pytest.mark.parametrize(
    "paragraph",
    [
        "同比增长3.5%，创新高",
        "详情见www.example.com页面",
        "美国U.S.经济增长",
        "升级到1.1.10版本",
        "他想了想...然后走了",
    ],
)
def test_decimal_point_does_not_end_a_sentence(paragraph: str) -> None:
    assert split_sentences(paragraph) == [paragraph]


def test_question_mark_inside_a_url_does_not_end_a_sentence() -> None:
    paragraph = "访问 https://x.cn/news?id=42&a=b 查看，或判断 x != y 是否成立。"
    assert split_sentences(paragraph) == [paragraph]


def test_ascii_semicolon_does_not_end_a_sentence() -> None:
    assert split_sentences("残留的&nbsp;实体和 a; b 不分句；这里分句") == [
        "残留的&nbsp;实体和 a; b 不分句；",
        "这里分句",
    ]


def test_english_exclamation_followed_by_a_space_ends_a_sentence() -> None:
    assert split_sentences("Great! Then 继续") == ["Great! ", "Then 继续"]


def test_whitespace_after_a_sentence_stays_with_it() -> None:
    assert split_sentences("第一句。 \u3000第二句！\t") == ["第一句。 \u3000", "第二句！\t"]


def test_text_after_the_last_terminator_is_a_final_sentence() -> None:
    assert split_sentences("有句号。没有句号") == ["有句号。", "没有句号"]


def test_empty_paragraph_has_no_sentences() -> None:
    assert split_sentences("") == []


def test_paragraph_end_ends_a_sentence() -> None:
    assert sentences_of("没有句号的标题\n正文第一句。正文第二句") == [
        "没有句号的标题",
        "正文第一句。",
        "正文第二句",
    ]


# Biased towards the characters the splitter cares about, so that runs of
# terminators, closers, quotes and spaces come up often.
_INTERESTING = st.sampled_from(list("。！？；…⋯!?;.\"'”’」』）)】》“「（《 \u3000\t甲乙aZ3/=-\n"))
_TEXTS = st.one_of(st.text(), st.text(alphabet=_INTERESTING))


@given(_TEXTS)
def test_sentences_join_back_to_the_paragraph(paragraph: str) -> None:
    sentences = split_sentences(paragraph)
    assert "".join(sentences) == paragraph
    assert all(sentences)


@given(_TEXTS)
def test_sentences_join_back_to_the_text(text: str) -> None:
    assert "".join(sentences_of(text)) == text.replace("\n", "")


def test_sample_news_splits_into_sentences_that_end_at_terminators() -> None:
    paragraphs = sample_paragraphs("003_ceb8abdfd1cab23a.txt")
    text = "\n".join(paragraphs)
    sentences = sentences_of(text)
    assert "".join(sentences) == text.replace("\n", "")
    assert len(sentences) > len(paragraphs)
    # Every sentence ends at a terminator (plus closers), or at a paragraph end.
    ends = re.compile(r"[。！？；…⋯!?][”’」』）)】》\"']*\s*$")
    last_of_paragraph = {split_sentences(p)[-1] for p in paragraphs}
    assert all(ends.search(s) or s in last_of_paragraph for s in sentences)


# --- words ------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["rjieba", "jieba"])
def test_words_drop_whitespace_only_tokens(backend: Backend) -> None:
    words = WordSegmenter(backend).words("王燕 和同事\u3000建立了\t微信群\n")
    assert words == ["王燕", "和", "同事", "建立", "了", "微信群"]


def test_rjieba_and_jieba_agree_on_chinese_news() -> None:
    paragraphs = sample_paragraphs("000_ce45d41deba75528.txt") + sample_paragraphs(
        "003_ceb8abdfd1cab23a.txt"
    )
    rjieba, jieba = WordSegmenter("rjieba"), WordSegmenter("jieba")
    assert [rjieba.words(p) for p in paragraphs] == [jieba.words(p) for p in paragraphs]


def test_rjieba_keeps_technical_tokens_whole() -> None:
    # Where the backends differ (HMM on): rjieba keeps these, jieba splits them.
    words = WordSegmenter("rjieba").words("按 C-x 保存，升级到 1.1.10，COVID-19 疫情")
    assert {"C-x", "1.1.10", "COVID-19"} <= set(words)
    assert "C-x" not in WordSegmenter("jieba").words("按 C-x 保存")


def test_hmm_finds_names_missing_from_the_dictionary() -> None:
    assert "王燕" in WordSegmenter().words("王燕是社区负责人")
    assert "王燕" not in WordSegmenter(hmm=False).words("王燕是社区负责人")


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown word segmenter"):
        WordSegmenter("pkuseg")  # type: ignore[arg-type]


def test_word_segmenter_pickles_for_worker_processes() -> None:
    segmenter = WordSegmenter("jieba", hmm=False)
    assert pickle.loads(pickle.dumps(segmenter)) == segmenter


def test_loading_jieba_is_lazy_silent_and_offline() -> None:
    # A fresh process, so the dictionary really loads here; sockets are
    # disabled so that any download attempt fails the test.
    code = textwrap.dedent(
        """
        import socket, sys

        def no_network(*args, **kwargs):
            raise OSError("network access attempted")

        socket.socket.connect = no_network
        socket.create_connection = no_network
        from transforms.stages.segment import WordSegmenter
        segmenter = WordSegmenter("jieba")
        assert "jieba" not in sys.modules, "jieba imported before first use"
        print(" ".join(segmenter.words("社区是疫情防控的第一线")))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["社区", "是", "疫情", "防控", "的", "第一线"]
    assert "prefix dict" not in done.stderr
    assert "Loading model" not in done.stderr


# --- the stage --------------------------------------------------------------


def test_segment_batch_adds_columns_typed_as_in_the_kept_schema() -> None:
    table = segment_batch(batch(NEWS), SegmentConfig()).kept
    for name in ("sentences", "words", "n_chars", "n_paragraphs", "n_sentences"):
        assert table.schema.field(name).type == KEPT_SCHEMA.field(name).type
    row = table.to_pylist()[0]
    assert row["doc_id"] == "d0" and row["text"] == NEWS
    assert row["sentences"] == sentences_of(NEWS)
    assert row["n_sentences"] == 5
    assert row["n_paragraphs"] == 3
    assert row["n_chars"] == len(NEWS)


def test_words_are_null_unless_enabled() -> None:
    out = segment_batch(batch(NEWS, "短文。"), SegmentConfig())
    assert out.kept.column("words").null_count == 2
    assert out.extra["words"] == 0


@pytest.mark.parametrize("backend", ["rjieba", "jieba"])
def test_words_are_segmented_when_enabled(backend: Backend) -> None:
    cfg = SegmentConfig(words=True, word_segmenter=backend)
    out = segment_batch(batch(NEWS, "短文。"), cfg)
    words = out.kept.column("words").to_pylist()
    assert words[0] == WordSegmenter(backend).words(NEWS)
    assert "王燕" in words[0] and "\n" not in words[0]
    assert out.extra["words"] == len(words[0]) + len(words[1])


def test_existing_columns_are_replaced_not_duplicated() -> None:
    stale = batch(NEWS).append_column("n_sentences", pa.array([99], pa.int64()))
    table = segment_batch(stale, SegmentConfig()).kept
    assert table.column_names.count("n_sentences") == 1
    assert table.column_names.index("n_sentences") == 2  # kept its place
    assert table.column("n_sentences").to_pylist() == [5]


def test_counts_keep_every_row_and_total_the_sentences() -> None:
    run = run_stage("segment", batch(NEWS, "一句。两句！", "无标点"), SegmentConfig())
    counts = run.counts["segment"]
    assert (counts.input, counts.kept) == (3, 3)
    assert not counts.rejected
    assert counts.extra["sentences"] == 5 + 2 + 1


def test_empty_batch_gives_empty_columns() -> None:
    out = segment_batch(batch(), SegmentConfig(words=True))
    assert out.kept.num_rows == 0 and "sentences" in out.kept.column_names
    assert out.extra["sentences"] == 0


def test_null_text_is_refused() -> None:
    table = pa.table({"doc_id": ["d0"], "text": pa.array([None], pa.string())})
    with pytest.raises(ValueError, match="null text"):
        segment_batch(table, SegmentConfig())


@given(
    st.text(
        alphabet=st.sampled_from(list("。！？；…⋯”’」』）)】》〉〕］]中文字 \u3000\tab,.;:(")),
        max_size=60,
    )
)
def test_fast_path_finds_the_same_sentences_as_the_general_loop(paragraph: str) -> None:
    # Paragraphs without ASCII '!', '?' or straight quotes take one regex.
    assert split_sentences(paragraph) == split_sentences_general(paragraph)
