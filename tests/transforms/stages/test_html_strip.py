"""Tests for transforms.stages.html_strip: what each kind of element becomes, robustness, the stage."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.paths import SAMPLE
from transforms.config import HtmlStripConfig
from transforms.schema import RECORD_SCHEMA, REJECTION_SCHEMA, table_from_rows
from transforms.stages import html_strip
from transforms.stages.html_strip import (
    contains_entities,
    contains_markup,
    page_metadata,
    strip_html,
    strip_html_batch,
)

SEED_002 = SAMPLE / "002_ca418ce6a18ed07a.txt"

# The opening of seed 002's first paragraph, as it is in the dump.
SEED_002_OPENING = (
    '<p align="justify" style=""><b><span>   央广网河南分网</span><span>2</span>'
    "<span>月</span><span>21</span></b><b>日消息</b>（记者 汪宁 通讯员 甄浩鹏）自新冠肺炎"
    "战“疫”打响以来</p>"
)


def records(*rows: dict[str, Any]) -> pa.Table:
    """A RECORD_SCHEMA table of tiny Chinese records; each row gives text (and title, is_html)."""
    full = []
    for i, row in enumerate(rows):
        text = row["text"]
        full.append(
            {
                "doc_id": f"doc-{i}",
                "title": row.get("title"),
                "text": text,
                "is_html": row.get("is_html", False),
                "source_uri": "file:///data/sample/news.jsonl",
                "source_path": "news.jsonl",
                "source_record": i,
                "source_offset": 0,
                "source_length": len(text.encode()),
                "source_sha256": hashlib.sha256(text.encode()).hexdigest(),
                "source_format": "jsonl",
                "source_encoding": "utf-8",
            }
        )
    return table_from_rows(full, RECORD_SCHEMA)


# The module silences bs4's "looks like XML" warning for the whole process,
# but pytest restores its own warning filters around every test.
quiet_bs4 = pytest.mark.filterwarnings(
    "ignore::bs4.XMLParsedAsHTMLWarning", "ignore::bs4.MarkupResemblesLocatorWarning"
)


def has_tag(text: str) -> bool:
    return html_strip._TAG_RE.search(text) is not None


# ---------------------------------------------------------------- contains_markup


@pytest.mark.parametrize(
    "text",
    [
        "<p>正文</p>",
        "第一段</span>",
        "上<br/>下",
        '图<img src="a.jpg">说',
        "<!-- 注释",
        "<!DOCTYPE html>",
        "<P>旧网页的大写标签",
        '选择<option value="1">一</option>',
    ],
)
def test_contains_markup_finds_tags_and_comments(text: str) -> None:
    assert contains_markup(text)


@pytest.mark.parametrize("text", ["空&nbsp;格", "缩进&#12288;正文", "A&amp;B"])
def test_character_references_alone_are_entities_not_markup(text: str) -> None:
    assert contains_entities(text) and not contains_markup(text)


@pytest.mark.parametrize(
    "text",
    [
        "在对话框中选择 <OPTION> 项，然后输入 <Value></Value> 中的数值。",
        "<?树中的每个元素可以是以下三种类型之一：分类汇总值。",
        "把 <title> 替换成文档的标题。",
    ],
)
def test_placeholders_in_plain_text_are_not_markup(text: str) -> None:
    assert not contains_markup(text)


def test_plain_text_with_placeholders_keeps_every_character() -> None:
    text = "在对话框中选择 <OPTION> 项，<?然后输入数值&nbsp;即可。"
    result = strip_html_batch(records({"text": text}), HtmlStripConfig())
    assert result.kept.column("text").to_pylist() == [text.replace("&nbsp;", "\xa0")]
    assert result.kept.column("is_html").to_pylist() == [False]
    assert result.extra["entities_decoded"] == 1


def test_a_stray_opener_in_plain_text_with_tags_keeps_the_text_after_it() -> None:
    """Found at 1M documents: software help text quoting ``<h1>`` and ``lceil<?`` lost the
    rest of the record, which the parser took for a bogus comment."""
    text = "用 <h1> 标记标题。输入 left lceil<?选择「视图」，然后<!重要 拖动幻灯片到其他位置。"
    result = strip_html_batch(records({"text": text}), HtmlStripConfig())
    [out] = result.kept.column("text").to_pylist()
    assert out == "用\n标记标题。输入 left lceil<?选择「视图」，然后<!重要 拖动幻灯片到其他位置。"
    assert result.kept.column("is_html").to_pylist() == [True]


def test_declared_html_keeps_parser_semantics_for_stray_openers() -> None:
    """An HTML document is read as a browser reads it: ``<?...>`` is a bogus comment."""
    html = '<?xml version="1.0"?><p>新闻<?php echo 1 ?>正文</p><!-- 注释 --><p>结尾</p>'
    result = strip_html_batch(records({"text": html, "is_html": True}), HtmlStripConfig())
    assert result.kept.column("text").to_pylist() == ["新闻正文\n结尾"]


def test_escape_stray_openers_leaves_complete_constructs_alone() -> None:
    from transforms.stages.html_strip import escape_stray_openers

    text = '<?xml version="1.0"?><!-- c --><!DOCTYPE html><![CDATA[x]]><p>a<?b <!x</p>'
    assert escape_stray_openers(text) == (
        '<?xml version="1.0"?><!-- c --><!DOCTYPE html><![CDATA[x]]><p>a&lt;?b &lt;!x</p>'
    )


@pytest.mark.parametrize(
    "text",
    ["若a<b，则b>a", "《人民日报》报道", "x < 5 且 y > 3", "如果x<5且y>3", "AT&T 公司", "纯文本"],
)
def test_prose_with_angle_brackets_is_not_markup(text: str) -> None:
    assert not contains_markup(text)


# ---------------------------------------------------------------- inline and block elements


def test_inline_spans_do_not_split_words() -> None:
    assert (
        strip_html("<p>　　<span>省</span><span>知联会</span>常务理事</p>")
        == "　　省知联会常务理事"
    )


def test_bold_spans_join_into_one_date() -> None:
    assert strip_html(SEED_002_OPENING).startswith("央广网河南分网2月21日消息（记者 汪宁")


def test_block_elements_become_paragraph_breaks() -> None:
    markup = (
        "<h1>标题</h1><div>第一段<br>第二段</div><ul><li>甲</li><li>乙</li></ul>"
        "<blockquote>引文</blockquote><hr><section><article><p>正文</p></article></section>"
        "<dl><dt>术语</dt><dd>解释</dd></dl><footer>页脚</footer>"
    )
    assert strip_html(markup) == "标题\n第一段\n第二段\n甲\n乙\n引文\n正文\n术语\n解释\n页脚"


def test_empty_blocks_leave_no_empty_paragraph() -> None:
    assert strip_html("<p>甲</p><p> </p><div><p></p></div><br><br><p>乙</p>") == "甲\n乙"


def test_table_cells_are_separated_by_a_space() -> None:
    markup = "<table><tr><td>姓名</td><td>张三</td></tr><tr><th>年龄</th><th>30</th></tr></table>"
    assert strip_html(markup) == "姓名 张三\n年龄 30"


def test_pre_keeps_its_lines_as_paragraphs() -> None:
    assert strip_html("<pre>第一行\n第二行</pre>后文") == "第一行\n第二行\n后文"


def test_script_and_comments_leave_no_text() -> None:
    markup = (
        "<html><head><title>网页标题</title><style>p{color:red}</style></head><body>"
        "<script>var s = '<p>脚本</p>';</script><noscript>请启用脚本</noscript>"
        '<iframe src="x">框架</iframe><img src="a.jpg" alt="图片说明"><svg><text>矢量</text></svg>'
        "<template><p>模板</p></template><!-- 注释 -->正文<![CDATA[数据]]></body></html>"
    )
    assert strip_html(markup) == "正文"


def test_ruby_annotations_leave_only_the_base_text() -> None:
    assert strip_html("<ruby>汉<rp>(</rp><rt>hàn</rt><rp>)</rp></ruby>字") == "汉字"


def test_entities_are_decoded() -> None:
    assert strip_html("<p>A&amp;B&nbsp;C&#12288;D&#x4E2D;若a&lt;b</p>") == "A&B\xa0C\u3000D中若a<b"


# ---------------------------------------------------------------- whitespace


def test_line_break_between_chinese_characters_is_removed() -> None:
    assert strip_html("<p>中国\n人民</p>") == "中国人民"
    assert strip_html("<p>中国  \n   人民</p>") == "中国人民"
    assert strip_html("<p><span>中国\n</span><b>人民</b></p>") == "中国人民"


def test_line_break_next_to_chinese_quotes_is_removed() -> None:
    assert strip_html("<p>他说“好”\n然后走了。</p>") == "他说“好”然后走了。"


def test_line_break_between_latin_words_becomes_a_space() -> None:
    assert strip_html("<p>hello\nworld  and\t tabs</p>") == "hello world and tabs"


def test_space_between_chinese_characters_without_line_break_stays_one_space() -> None:
    assert strip_html("<p>记者   汪宁</p>") == "记者 汪宁"


def test_line_break_between_hangul_becomes_a_space() -> None:
    assert strip_html("<p>한\n국</p>") == "한 국"


# ---------------------------------------------------------------- robustness


def test_escaped_markup_leaves_no_tag() -> None:
    text = strip_html("&lt;p&gt;中文&lt;/p&gt;&lt;p&gt;下一段&lt;span&gt;甲&lt;/span&gt;乙")
    assert text == "中文\n下一段甲乙"
    assert not has_tag(strip_html("&lt;&lt;p&gt;p&gt;x"))


def test_deeply_nested_divs_do_not_recurse() -> None:
    depth = 100_000
    assert strip_html("<div>" * depth + "深处" + "</div>" * depth) == "深处"


def test_linear_fallback_handles_deep_nesting() -> None:
    depth = 100_000
    markup = "<div>" * depth + "深处" + "</div>" * depth
    assert html_strip._strip_html_linear(markup) == "深处"


def test_parser_failure_falls_back_to_linear_stripping(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_parser(*args: object, **kwargs: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(html_strip, "BeautifulSoup", broken_parser)
    markup = SEED_002_OPENING + "<script>x</script><p>第二段&amp;</p>"
    assert (
        strip_html(markup)
        == "央广网河南分网2月21日消息（记者 汪宁 通讯员 甄浩鹏）自新冠肺炎战“疫”打响以来\n第二段&"
    )


def test_linear_fallback_agrees_with_the_parser_on_seed_002() -> None:
    raw = SEED_002.read_text(encoding="utf-8")
    assert html_strip._strip_html_linear(raw) == strip_html(raw)


def test_lone_surrogates_do_not_break_the_parser() -> None:
    assert strip_html("<p>中\ud800文</p>") == "中文"


@quiet_bs4
@pytest.mark.parametrize(
    "markup",
    ["", "<", "<!--", "<p", "</>", "&", "<<p>>", "\x00<p>\x00", '<?xml version="1.0"?><a>b</a>'],
)
def test_degenerate_markup_gives_text_without_tags(markup: str) -> None:
    text = strip_html(markup)
    assert isinstance(text, str)
    assert not has_tag(text)


MARKUP_TOKENS = st.sampled_from(
    [
        "<p>", "</p>", "<div>", "</div>", "<span>", "</span>", "<br/>", "<br>", '<img src="a">',
        "<script>", "</script>", "<style>", "</style>", "<pre>", "</pre>", "<td>", "<tr>",
        "<!--", "-->", "<![CDATA[", "]]>", "<?xml ", "?>", "<!DOCTYPE html>", "<", ">", "/",
        '"', "'", "=", "&nbsp;", "&lt;", "&gt;", "&amp;", "&#12288;", "&#x3C;", "&", ";",
        " ", "\n", "\t", "　", "中国", "人民", "，", "。", "abc", "a<b", "《》", "\x00",
    ]
)  # fmt: skip
MARKUP_LIKE = st.lists(st.one_of(MARKUP_TOKENS, st.text(max_size=5)), max_size=40).map("".join)


@quiet_bs4
@settings(max_examples=150, deadline=None)
@given(MARKUP_LIKE)
def test_strip_html_never_raises_and_never_leaves_a_tag(markup: str) -> None:
    text = strip_html(markup)
    assert not has_tag(text)
    assert not text.startswith(("\n", " ")) and not text.endswith(("\n", " "))


@settings(max_examples=150, deadline=None)
@given(MARKUP_LIKE)
def test_linear_fallback_never_leaves_a_tag(markup: str) -> None:
    assert not has_tag(html_strip._strip_html_linear(markup))


# ---------------------------------------------------------------- the stage


def test_batch_strips_html_records_and_records_with_markup_only() -> None:
    table = records(
        {"text": "<p>甲</p><p>乙</p>", "is_html": True},
        {"text": "纯文本，没有标记。"},
        {"text": "正文里有<br>标记"},
        {"text": "若a<b，则b>a"},
    )
    result = strip_html_batch(table, HtmlStripConfig())
    assert result.kept.schema == RECORD_SCHEMA
    assert result.kept.column("text").to_pylist() == [
        "甲\n乙",
        "纯文本，没有标记。",
        "正文里有\n标记",
        "若a<b，则b>a",
    ]
    assert result.kept.column("is_html").to_pylist() == [True, False, True, False]
    assert result.extra["stripped"] == 2
    assert result.kept.num_rows == 4


def test_batch_rejects_nothing_even_when_stripping_leaves_nothing() -> None:
    result = strip_html_batch(
        records({"text": "<script>x</script>", "is_html": True}), HtmlStripConfig()
    )
    assert result.kept.column("text").to_pylist() == [""]
    assert result.rejected.num_rows == 0
    assert result.rejected.schema == REJECTION_SCHEMA


def test_strip_all_sends_every_record_through_the_parser() -> None:
    table = records({"text": "纯文本  两个空格"}, {"text": "第二条"})
    result = strip_html_batch(table, HtmlStripConfig(strip_all=True))
    assert result.kept.column("text").to_pylist() == ["纯文本 两个空格", "第二条"]
    assert result.kept.column("is_html").to_pylist() == [True, True]
    assert result.extra["stripped"] == 2


def test_titles_with_markup_are_stripped_to_one_line() -> None:
    table = records(
        {"title": "<b>抗疫</b><br>一线&amp;后方", "text": "正文"},
        {"title": "普通标题", "text": "正文"},
        {"title": "<img src='a.jpg'>", "text": "正文"},
        {"title": None, "text": "正文"},
    )
    result = strip_html_batch(table, HtmlStripConfig())
    assert result.kept.column("title").to_pylist() == ["抗疫 一线&后方", "普通标题", None, None]
    assert result.extra["titles_stripped"] == 2
    # A title with markup does not mark the record's text as stripped.
    assert result.kept.column("is_html").to_pylist() == [False] * 4


def test_batch_keeps_provenance_columns() -> None:
    table = records({"text": "<p>甲</p>", "is_html": True}, {"text": "乙"})
    result = strip_html_batch(table, HtmlStripConfig())
    for name in ("doc_id", "source_uri", "source_record", "source_sha256"):
        assert result.kept.column(name).equals(table.column(name))


# ---------------------------------------------------------------- security: parse only


def test_external_entities_are_never_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("机密内容不得出现", encoding="utf-8")
    markup = (
        f'<?xml version="1.0"?><!DOCTYPE html [<!ENTITY s SYSTEM "{secret.as_uri()}">'
        '<!ENTITY p SYSTEM "file:///etc/passwd">]>'
        "<html><body><p>&s;</p><p>&p;</p><p>正文</p></body></html>"
    )
    passwd = Path("/etc/passwd").read_text(encoding="utf-8", errors="replace").splitlines()[0]
    for text in (strip_html(markup), html_strip._strip_html_linear(markup)):
        assert "机密内容" not in text and passwd not in text
        assert "正文" in text


def test_an_entity_bomb_costs_nothing() -> None:
    import time

    entities = '<!ENTITY a "哈哈哈哈哈哈哈哈">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9)
    )
    markup = f"<!DOCTYPE html [{entities}]><p>&j;</p><p>正文</p>"
    started = time.perf_counter()
    text = strip_html(markup)
    assert time.perf_counter() - started < 2
    assert "哈哈" not in text and len(text) < 1000


def test_referenced_resources_are_never_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    """A page pointing at a server on this machine gets no request, and opens no socket at all."""
    import http.server
    import socket
    import threading

    hits: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/"
    markup = (
        f'<!DOCTYPE html SYSTEM "{url}x.dtd"><html><head><link rel=stylesheet href="{url}a.css">'
        f'<script src="{url}a.js"></script><base href="{url}"></head><body>'
        f'<img src="{url}a.png"><iframe src="{url}f.html"></iframe><video src="{url}v.mp4"></video>'
        f'<object data="{url}o.swf"></object><p style="background:url({url}b.png)">正文</p>'
        "</body></html>"
    )
    opened: list[object] = []
    real_socket = socket.socket

    def no_socket(*args: object, **kwargs: object) -> socket.socket:
        opened.append(args)
        return real_socket(*args, **kwargs)

    try:
        monkeypatch.setattr(socket, "socket", no_socket)
        texts = [strip_html(markup), html_strip._strip_html_linear(markup)]
        monkeypatch.undo()
    finally:
        server.shutdown()
        server.server_close()
    assert texts == ["正文", "正文"]
    assert hits == [] and opened == []


# ---------------------------------------------------------------- meta tags for the news stage

PAGE = (
    "<html><head><title>标题</title>"
    '<meta property="og:site_name" content="新华网">'
    "<META NAME='author' CONTENT='谭元斌'>"
    '<meta property="article:published_time" content="2020-03-24T08:00:00+08:00">'
    '<meta name="description" content="说明">'
    "</head><body><p>正文。</p><meta name='author' content='页脚里的不算'></body></html>"
)


def test_page_metadata_reads_the_date_author_and_site_of_the_head() -> None:
    assert page_metadata(PAGE) == {
        "given_date": "2020-03-24T08:00:00+08:00",
        "given_author": "谭元斌",
        "given_source": "新华网",
    }
    assert page_metadata("<p>没有头部</p>") == {}


def test_meta_tags_fill_the_given_columns_the_record_left_empty() -> None:
    table = records({"text": PAGE, "is_html": True}, {"text": PAGE, "is_html": True})
    table = table.set_column(
        table.schema.get_field_index("given_source"),
        RECORD_SCHEMA.field("given_source"),
        pa.array(["人民网", None], pa.string()),
    )
    rows = strip_html_batch(table, HtmlStripConfig()).kept.to_pylist()
    assert [r["given_source"] for r in rows] == ["人民网", "新华网"]  # the record's own wins
    assert rows[1]["given_author"] == "谭元斌" and rows[1]["text"] == "正文。"
