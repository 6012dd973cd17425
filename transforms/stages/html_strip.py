"""Stage ``html_strip``: turn HTML bodies into plain text whose paragraphs are separated by ``\\n``.

``strip_html`` parses once with beautifulsoup4 and the lxml parser, then walks
the tree iteratively (no recursion, so 100,000 nested ``<div>`` are fine).
What each kind of node becomes:

* **Block elements** (``BLOCK_TAGS``: ``p``, ``div``, ``br``, ``li``, ``ul``,
  ``ol``, ``h1``-``h6``, ``tr``, ``table``, ``section``, ``article``,
  ``blockquote``, ``pre``, ``header``, ``footer``, ``dd``, ``dt``, ``hr``, ...)
  start and end a paragraph: ``\\n`` between paragraphs, never an empty one.
* **Table cells** (``td``, ``th``) are separated by one space, so two cells of a
  row never run together into one word.
* **Inline elements** (``span``, ``b``, ``a``, ``font``, anything not listed)
  add nothing: ``<span>省</span><span>知联会</span>`` gives ``省知联会``.
* **Inside ``pre``** each source line becomes its own paragraph.
* **Elements that leave no text** (``SKIP_TAGS``): ``script``, ``style``,
  ``noscript``, ``iframe``, ``img``, ``svg``, ``template``, ``head`` and
  ``title``, embedded media (``object``, ``embed``, ``video``, ``audio``,
  ``canvas``, ``picture``, ...), form ``select`` lists, and the ruby
  annotations ``rt`` / ``rp`` (pinyin over the characters; the base text
  stays).  ``img`` alt text is dropped too.
* **Comments, CDATA, doctypes and processing instructions** leave no text.
* **Entities** are decoded by the parser (``&nbsp;`` becomes U+00A0 and
  ``&#12288;`` U+3000; normalize turns those into spaces later).
* **Whitespace in text** follows CSS white-space collapsing: a run of ASCII
  whitespace becomes one space, except that a run containing a line break
  between two East Asian wide characters is removed entirely (the CSS Text 3
  segment-break rule), so ``中国\\n人民`` gives ``中国人民``.  We also count
  Chinese quotation marks, ``…``, ``—`` and ``·`` as wide when the other side is
  truly wide, because in Chinese text they are set full-width even though
  Unicode calls them ambiguous (``“好”\\n然后`` gives ``“好”然后``).
* **Escaped markup**: text that still looks like a tag after decoding (a
  double-escaped ``&lt;p&gt;``) is removed too, block tags making a paragraph
  break, so the output never contains a tag.  A ``<`` in prose (``a<b``) stays.

``strip_html`` never raises: if the parser fails on some input, a linear-time
regex tokenizer with the same rules produces the text instead.

The stage ``strip_html_batch`` sends a record through ``strip_html`` when its
``is_html`` is true, when ``HtmlConfig.strip_all`` is set, or when
``contains_markup`` finds markup in its text; every record it strips gets
``is_html = True`` so later stages (and ``html_stripped`` in the output) know
markup was removed.  A title is stripped when it contains markup itself.
Nothing is rejected here: a record left empty is the quality stage's ``empty``.
"""

from __future__ import annotations

import html
import re
import unicodedata
import warnings
from collections.abc import Iterator

import pyarrow as pa
from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, XMLParsedAsHTMLWarning
from bs4.element import NavigableString, Tag

from transforms.config import HtmlStripConfig
from transforms.stage import StageOutput

# bs4 warns when a document starts with <?xml or looks like a file name or URL.
# For a corpus cleaner those are just odd documents, and a warning per record
# would flood the logs; silence only these two bs4 categories.
warnings.filterwarnings("ignore", category=XMLParsedAsHTMLWarning)
warnings.filterwarnings("ignore", category=MarkupResemblesLocatorWarning)

BLOCK_TAGS: frozenset[str] = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "br", "caption", "center",
        "dd", "details", "dialog", "dir", "div", "dl", "dt", "fieldset", "figcaption",
        "figure", "footer", "form", "frameset", "h1", "h2", "h3", "h4", "h5", "h6",
        "header", "hgroup", "hr", "html", "legend", "li", "main", "menu", "nav", "ol",
        "optgroup", "option", "p", "pre", "search", "section", "summary", "table", "tbody",
        "tfoot", "thead", "tr", "ul",
    }
)  # fmt: skip
CELL_TAGS: frozenset[str] = frozenset({"td", "th"})
SKIP_TAGS: frozenset[str] = frozenset(
    {
        "applet", "audio", "canvas", "embed", "head", "iframe", "img", "link", "map", "meta",
        "noembed", "noframes", "noscript", "object", "picture", "rp", "rt", "script", "select",
        "source", "style", "svg", "template", "title", "track", "video",
    }
)  # fmt: skip
# Elements that never have content: the fallback must not wait for their end tag.
VOID_TAGS: frozenset[str] = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr",
    }
)  # fmt: skip

# Every HTML element name (WHATWG), obsolete ones that old news pages still use included.
_KNOWN_ELEMENTS = frozenset(
    [
        "a",
        "abbr",
        "address",
        "area",
        "article",
        "aside",
        "audio",
        "b",
        "base",
        "bdi",
        "bdo",
        "big",
        "blink",
        "blockquote",
        "body",
        "br",
        "button",
        "canvas",
        "caption",
        "center",
        "cite",
        "code",
        "col",
        "colgroup",
        "data",
        "datalist",
        "dd",
        "del",
        "details",
        "dfn",
        "dialog",
        "dir",
        "div",
        "dl",
        "dt",
        "em",
        "embed",
        "fieldset",
        "figcaption",
        "figure",
        "font",
        "footer",
        "form",
        "frame",
        "frameset",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "head",
        "header",
        "hgroup",
        "hr",
        "html",
        "i",
        "iframe",
        "img",
        "input",
        "ins",
        "kbd",
        "label",
        "legend",
        "li",
        "link",
        "main",
        "map",
        "mark",
        "marquee",
        "menu",
        "meta",
        "meter",
        "nav",
        "nobr",
        "noframes",
        "noscript",
        "object",
        "ol",
        "optgroup",
        "option",
        "output",
        "p",
        "param",
        "picture",
        "pre",
        "progress",
        "q",
        "rp",
        "rt",
        "ruby",
        "s",
        "samp",
        "script",
        "search",
        "section",
        "select",
        "slot",
        "small",
        "source",
        "span",
        "strike",
        "strong",
        "style",
        "sub",
        "summary",
        "sup",
        "table",
        "tbody",
        "td",
        "template",
        "textarea",
        "tfoot",
        "th",
        "thead",
        "time",
        "title",
        "tr",
        "track",
        "tt",
        "u",
        "ul",
        "var",
        "video",
        "wbr",
    ]
)

# A tag as it appears in source: start tag with optional attributes, end tag,
# comment / doctype / CDATA (<!...>), processing instruction (<?...>).  It
# needs a letter, "/", "!" or "?" right after "<", so prose like "a<b" or
# "x < 5" is not a tag.
_TAG_SOURCE = (
    r"<(?:[A-Za-z][A-Za-z0-9:_-]*(?:\s[^<>]*)?/?"
    r"|/[A-Za-z][A-Za-z0-9:_-]*\s*"
    r"|![^<>]*"
    r"|\?[^<>]*)>"
)
_ENTITY_SOURCE = r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});"
_ENTITY_RE = re.compile(_ENTITY_SOURCE)
_TAG_RE = re.compile(_TAG_SOURCE)
_TAG_NAME_RE = re.compile(r"</?([A-Za-z][A-Za-z0-9:_-]*)")
# Every "<" that could start a tag; removing the whole run of "<" cannot make
# a new one.  The last resort of ``_finish`` (see there).
_TAG_START_RE = re.compile(r"<+(?=[A-Za-z/!?])")

# Tokenizer for the fallback path: comments (an unclosed one runs to the end,
# as in a browser), then tags.  Each alternative scans forward at most to the
# next "<" or ">", so the whole pass is linear in the input.
_FALLBACK_TOKEN_RE = re.compile(
    r"<!--.*?(?:-->|\Z)"
    r"|<(/?)([A-Za-z][A-Za-z0-9:_-]*)(?:\s[^<>]*)?(/?)>"
    r"|<![^<>]*>|<\?[^<>]*>",
    re.DOTALL,
)

# Paragraph boundary inside the joined text.  NUL never occurs in parsed text
# (lxml and html.unescape turn it into U+FFFD) and the fallback removes it.
_BREAK = "\x00"
_SURROGATES_RE = re.compile("[\ud800-\udfff]")


def _wide_class() -> str:
    """Regex class of East Asian Wide, Fullwidth and Halfwidth characters, Hangul excluded.

    Computed from ``unicodedata`` so it follows Python's Unicode version.  The
    ideographic planes 2 and 3 are wide throughout and later planes have no
    wide characters, so only planes 0 and 1 are scanned (import stays fast).
    """
    hangul = (
        (0x1100, 0x11FF),  # Jamo
        (0x3130, 0x318F),  # compatibility Jamo
        (0xA960, 0xA97F),  # Jamo extended A
        (0xAC00, 0xD7FF),  # syllables, Jamo extended B
        (0xFFA0, 0xFFDC),  # half-width
    )
    ranges: list[tuple[int, int]] = []
    for cp in range(0x20000):
        char = chr(cp)
        # Unassigned code points report a width too; only real characters count.
        if unicodedata.east_asian_width(char) not in ("W", "F", "H"):
            continue
        if unicodedata.category(char) == "Cn":
            continue
        if any(lo <= cp <= hi for lo, hi in hangul):
            continue
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    ranges.append((0x20000, 0x3FFFF))
    return "".join(
        re.escape(chr(lo)) if lo == hi else f"{re.escape(chr(lo))}-{re.escape(chr(hi))}"
        for lo, hi in ranges
    )


_WIDE_RE = re.compile(f"[{_wide_class()}]")
# Chinese punctuation that Unicode calls ambiguous width but Chinese text sets full-width.
_ZH_AMBIGUOUS_RE = re.compile("[“”‘’…—·]")
_WS_RUN_RE = re.compile(r"[ \t\n\r\f]+")
_PARAGRAPH_BREAK_RE = re.compile(rf" ?{_BREAK}[{_BREAK} ]*")


# Start tags that by themselves show a text is HTML.  Element names that also
# serve as placeholders in plain text (``<OPTION>``, ``<title>``, ``<code>``
# in software documentation) are not in this list: such a name counts only as
# an end tag or with attributes.
_STRUCTURAL_TAGS = frozenset(
    {
        "a", "b", "blockquote", "body", "br", "center", "div", "em", "font", "h1", "h2", "h3",
        "h4", "h5", "h6", "head", "hr", "html", "i", "iframe", "img", "li", "meta", "ol", "p",
        "pre", "script", "span", "strong", "style", "table", "td", "th", "tr", "u", "ul",
    }
)  # fmt: skip
_HTML_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)(\s[^<>]*)?/?>")


def contains_markup(text: str) -> bool:
    """True if ``text`` is HTML: an HTML comment or doctype, or a tag of a real HTML element.

    A tag needs a name right after ``<`` (``<p>``, ``</span>``, ``<br/>``,
    ``<img src=...>``), so ``a<b`` or ``《》`` in prose is not markup.  A name
    that is also a common placeholder in plain text counts only as an end tag
    or with attributes: ``选择 <OPTION> 项`` or ``<Value>`` in software help text,
    and ``<?`` in prose, do not make a plain-text record go through the parser
    (which would swallow text up to the next ``>``).
    """
    if "<!--" in text or "<!DOCTYPE" in text.upper():
        return True
    for match in _HTML_TAG_RE.finditer(text):
        closing, name, attributes = match.group(1), match.group(2).lower(), match.group(3)
        if name in _STRUCTURAL_TAGS or (
            name in _KNOWN_ELEMENTS and (closing or (attributes and "=" in attributes))
        ):
            return True
    return False


# "<?" and "<!" that do not open a complete processing instruction, comment,
# CDATA section or doctype: prose in a plain-text record ("输入「left lceil<?」").
# An HTML parser would take everything up to the next ">" (often the end of
# the record) for a bogus comment and drop it.
_STRAY_OPENER_RE = re.compile(r"<(?=[?!])(?!!--|!\[CDATA\[|!doctype)(?!\?[^<>]*\?>)", re.IGNORECASE)


def escape_stray_openers(text: str) -> str:
    """``text`` with every stray ``<?`` / ``<!`` escaped (``&lt;``), so that a parser keeps
    what follows as text; for plain text that holds some markup, not for HTML documents."""
    return _STRAY_OPENER_RE.sub("&lt;", text)


def contains_entities(text: str) -> bool:
    """True if ``text`` holds an HTML character reference (``&nbsp;``, ``&#12288;``)."""
    return _ENTITY_RE.search(text) is not None


def _scrub_tag_like(text: str) -> str:
    """Remove tag-like text (decoded from escaped markup); block tags become paragraph breaks."""

    def replace(match: re.Match[str]) -> str:
        name = _TAG_NAME_RE.match(match.group())
        return _BREAK if name and name.group(1).lower() in BLOCK_TAGS else ""

    return _TAG_RE.sub(replace, text)


def _collapse_whitespace(match: re.Match[str]) -> str:
    """One space for a whitespace run; nothing for a line break between wide characters.

    The CSS Text 3 segment-break rule: a run holding a line break between two
    East Asian wide characters (Hangul excluded) disappears.  One side may
    instead be Chinese punctuation of ambiguous width (see module docstring).
    """
    if "\n" not in match.group():
        return " "
    text, start, end = match.string, match.start(), match.end()
    if start == 0 or end == len(text):
        return " "
    before_wide = _WIDE_RE.match(text, start - 1) is not None
    after_wide = _WIDE_RE.match(text, end) is not None
    if before_wide and after_wide:
        return ""
    if before_wide and _ZH_AMBIGUOUS_RE.match(text, end):
        return ""
    if after_wide and _ZH_AMBIGUOUS_RE.match(text, start - 1):
        return ""
    return " "


def _finish(chunks: list[str]) -> str:
    """Join text chunks and paragraph breaks; collapse whitespace as CSS does."""
    text = "".join(chunks)
    if "<" in text:
        text = _scrub_tag_like(text)
    text = _WS_RUN_RE.sub(_collapse_whitespace, text)
    text = _PARAGRAPH_BREAK_RE.sub("\n", text).strip(" \n")
    if "<" in text and _TAG_RE.search(text):
        # Removing a tag joined the text around it into another ("<<p>p>"), or
        # a paragraph break became the whitespace inside one ("<b" NUL "-->").
        # Dropping every tag-opening "<" guarantees none is left, in one pass.
        text = _TAG_START_RE.sub("", text)
    return text


# Markers pushed on the walk stack to act when an element's children are done.
_END_BLOCK = object()
_END_CELL = object()
_END_PRE = object()


def _tree_chunks(soup: BeautifulSoup) -> list[str]:
    """Text chunks and paragraph breaks of ``soup`` in document order, walked without recursion."""
    chunks: list[str] = []
    stack: list[object] = [soup]
    in_pre = 0
    while stack:
        node = stack.pop()
        # Exact type: Comment, CData, Doctype, Script, Stylesheet, RubyTextString
        # ... are NavigableString subclasses that must leave no text.
        if type(node) is NavigableString:
            chunks.append(node.replace("\n", _BREAK) if in_pre else node)
        elif isinstance(node, Tag):
            name = node.name
            if name in SKIP_TAGS:
                continue
            if name in BLOCK_TAGS:
                chunks.append(_BREAK)
                if name == "pre":
                    in_pre += 1
                    stack.append(_END_PRE)
                else:
                    stack.append(_END_BLOCK)
            elif name in CELL_TAGS:
                chunks.append(" ")
                stack.append(_END_CELL)
            stack.extend(reversed(node.contents))
        elif node is _END_BLOCK:
            chunks.append(_BREAK)
        elif node is _END_CELL:
            chunks.append(" ")
        elif node is _END_PRE:
            in_pre -= 1
            chunks.append(_BREAK)
    return chunks


def _fallback_chunks(markup: str) -> Iterator[str]:
    """Linear-time regex tokenizer with the same element rules as ``_tree_chunks``."""
    skipping: str | None = None  # name of the SKIP_TAGS element whose content we are inside
    in_pre = False
    position = 0
    for match in _FALLBACK_TOKEN_RE.finditer(markup):
        if skipping is None and match.start() > position:
            text = html.unescape(markup[position : match.start()])
            yield text.replace("\n", _BREAK) if in_pre else text
        position = match.end()
        name = (match.group(2) or "").lower()
        if not name:
            continue  # comment, doctype, processing instruction
        closing, self_closing = bool(match.group(1)), bool(match.group(3))
        if skipping is not None:
            if closing and name == skipping:
                skipping = None
            continue
        if name in SKIP_TAGS:
            if not closing and not self_closing and name not in VOID_TAGS:
                skipping = name
        elif name in BLOCK_TAGS:
            if name == "pre":
                in_pre = not closing
            yield _BREAK
        elif name in CELL_TAGS:
            yield " "
    if skipping is None and position < len(markup):
        text = html.unescape(markup[position:])
        yield text.replace("\n", _BREAK) if in_pre else text


def _strip_html_linear(markup: str) -> str:
    """The fallback: regex tokenizer, no tree, no recursion; never raises on a ``str``."""
    # html.unescape turns "&#0;" into U+FFFD, so after this no NUL can pose as a break.
    return _finish(list(_fallback_chunks(markup.replace(_BREAK, ""))))


def strip_html(html_text: str) -> str:
    """Plain text of an HTML fragment or document; paragraphs separated by ``\\n``.

    See the module docstring for what each element becomes.  Never raises and
    never returns a tag; returns ``""`` when nothing readable is left.
    """
    if _SURROGATES_RE.search(html_text):
        # Lone surrogates cannot be encoded for lxml; they are not text anyway.
        html_text = _SURROGATES_RE.sub("", html_text)
    try:
        soup = BeautifulSoup(html_text, "lxml")
        return _finish(_tree_chunks(soup))
    except Exception:  # the parser must not stop a run; the linear path has the same rules
        return _strip_html_linear(html_text)


# <meta> tags that say when a page was published, by whom and where: the first
# tag found of each kind wins, in this order.
_META_KEYS: dict[str, tuple[str, ...]] = {
    "given_date": (
        "article:published_time", "og:published_time", "publishdate", "pubdate",
        "publish_date", "publishtime", "datepublished", "dc.date", "dc.date.issued", "date",
    ),
    "given_author": ("article:author", "author", "dc.creator", "byl"),
    "given_source": ("og:site_name", "source", "article:publisher", "dc.publisher", "publisher"),
}  # fmt: skip
_META_TAG_RE = re.compile(r"<meta\b[^<>]{0,2000}>", re.IGNORECASE)
_META_ATTR_RE = re.compile(
    r"""(?P<name>name|property|itemprop|content|http-equiv)\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s"'>]+))""",
    re.IGNORECASE,
)
_HEAD_SCAN_CHARS = 65_536
_META_OPEN_RE = re.compile(r"<meta\b", re.IGNORECASE)


def page_metadata(html_text: str) -> dict[str, str]:
    """The ``given_*`` values a page's ``<meta>`` tags state (publication date, author, site)."""
    head = html_text[:_HEAD_SCAN_CHARS]
    end = head.lower().find("</head")
    found: dict[str, str] = {}
    for tag in _META_TAG_RE.findall(head if end < 0 else head[:end]):
        attributes = {
            m.group("name").lower(): m.group("dq") or m.group("sq") or m.group("bare") or ""
            for m in _META_ATTR_RE.finditer(tag)
        }
        key = (attributes.get("property") or attributes.get("name") or "").lower()
        key = key or attributes.get("itemprop", "").lower()
        content = html.unescape(attributes.get("content", "")).strip()
        if key and content:
            found.setdefault(key, content)
    return {
        column: value
        for column, keys in _META_KEYS.items()
        if (value := next((found[k] for k in keys if k in found), None))
    }


def _strip_title(title: str) -> str | None:
    """A title with markup: stripped, its paragraphs joined by a space; None if nothing is left."""
    stripped = strip_html(title).replace("\n", " ")
    return stripped or None


def strip_html_batch(records: pa.Table, cfg: HtmlStripConfig) -> StageOutput:
    """Strip markup from the records that need it; keeps every record (RECORD_SCHEMA in and out).

    A record's ``text`` goes through ``strip_html`` when ``is_html`` is true,
    ``cfg.strip_all`` is set, or ``contains_markup(text)``; such records come
    out with ``is_html = True``; in a record found by ``contains_markup`` (not
    declared HTML), stray ``<?`` and ``<!`` are kept as text
    (``escape_stray_openers``).  Other records whose text holds character
    references (``&nbsp;``) only get them decoded (``extra["entities_decoded"]``).  A ``title`` containing markup is stripped
    too (paragraphs joined with a space; empty becomes null).  A page's ``<meta>``
    tags fill its ``given_*`` columns where the record left them null
    (``page_metadata``).  Counts:
    ``extra["stripped"]`` records whose text was parsed, ``extra["titles_stripped"]``.
    """
    texts: list[str] = records.column("text").to_pylist()
    titles: list[str | None] = records.column("title").to_pylist()
    is_html: list[bool] = records.column("is_html").to_pylist()
    given = {name: records.column(name).to_pylist() for name in _META_KEYS}

    stripped = titles_stripped = unescaped = 0
    for i, text in enumerate(texts):
        declared = is_html[i] or cfg.strip_all
        if declared or contains_markup(text):
            if _META_OPEN_RE.search(text, 0, _HEAD_SCAN_CHARS):
                for name, value in page_metadata(text).items():
                    given[name][i] = given[name][i] or value
            # Plain text with some tags in it: its stray "<?" is prose, not markup.
            texts[i] = strip_html(text if declared else escape_stray_openers(text))
            is_html[i] = True
            stripped += 1
        elif contains_entities(text):
            # Plain text with character references only: decode them, parse nothing.
            texts[i] = html.unescape(text)
            unescaped += 1
        title = titles[i]
        if title is not None and (contains_markup(title) or contains_entities(title)):
            titles[i] = _strip_title(title)
            titles_stripped += 1

    schema = records.schema
    kept = records
    for name, values in (("text", texts), ("title", titles), ("is_html", is_html), *given.items()):
        index = schema.get_field_index(name)
        field = schema.field(index)
        kept = kept.set_column(index, field, pa.array(values, field.type))

    extra = {
        "stripped": stripped,
        "titles_stripped": titles_stripped,
        "entities_decoded": unescaped,
    }
    return StageOutput(kept=kept, extra=extra)
