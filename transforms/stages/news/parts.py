"""A news text taken apart: its dateline, credits, captions and furniture, and its body.

``split_news(text)`` reads a normalized text (paragraphs separated by ``\\n``)
in three zones, conservatively (a sentence of prose that mentions 记者 stays):

* the **head**: up to ``HEAD_LINES`` lines before the first paragraph of
  prose: bylines (``新华社记者于长洪、张洪河、刘懿德``), metadata lines (``作者：``,
  ``来源：``, ``时间：``, ``地点：``) and the opening **dateline** at the start of
  the first paragraph (``新华社武汉3月24日电（记者谭元斌）``, ``本报北京1月1日讯
  记者…报道：``, ``据新华社莫斯科1月1日电``);
* **captions** anywhere: paragraphs that start with ``▲`` or ``图为``, or end
  with a photo credit (``…现场（央广网发 通讯员 吴豪博 供图）``), and lines that
  are only a photo credit (``新华社记者才扬摄``);
* the **tail**: up to ``TAIL_LINES`` last lines that are closing credits
  (``（湖北日报全媒记者 蔡朝阳 唐晓安）``), editor lines (``责任编辑：王洁``),
  source, end and copyright lines, share prompts and print-edition lines
  (``《 人民日报 》（ 2021年03月05日 01 版）``).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field

from transforms.stages.news.credits import (
    AGENCY,
    EDITOR_ROLES,
    HAN,
    KNOWN_AGENCIES,
    KNOWN_AGENCY,
    REPORTER_ROLES,
    Credits,
    credit_outlet,
    credited_people,
)
from transforms.stages.news.dates import (
    DATE,
    PartialDate,
    parse_given_date,
    parse_text_date,
)

HEAD_LINES = 6
TAIL_LINES = 8
# A line of prose ends a sentence; a heading, subtitle or label does not.
_SENTENCE_END = "。！？…」』”’）)"

# 达沃斯（瑞士）: a place, with its country in parentheses.
_PLACE = rf"(?:(?!记者|讯|消息)[{HAN}·]){{1,12}}?(?:[（(][{HAN}]{{1,8}}[）)])?"
# 电 that begins a word (电视, 电话) is not a dateline's.
_WIRED = r"(?:专电|电(?![视话影脑力网子器台报讯文站邮费价]))"
_DATELINE_RE = re.compile(
    rf"^(?P<according>据)?(?P<agency>{AGENCY})\s*"
    rf"(?:(?P<place>{_PLACE})?\s*(?P<date>{DATE})\s*(?P<kind>{_WIRED}|讯(?!息)|消息)"
    rf"|(?P<bare>讯(?!息)|消息)"
    # Without a date: 本报福州电, 据新华社电 (see _plausible).
    rf"|(?P<undated>(?P<undated_place>{_PLACE})?\s*{_WIRED}))"
)
_CREDIT_AHEAD_RE = re.compile(r"\s|[（(]|记者|本报记者|$")
_PAREN_CREDIT_RE = re.compile(r"\s*[（(](?P<credit>[^（）()]{1,80})[）)]")
_REPORTED_CREDIT_RE = re.compile(r"\s*(?P<credit>[^：:。]{2,80}?)(?:报道|报导)\s*[：:]")
# 记者陈陆军从有关部门获悉: the reporter credited by the first words of the prose.
_REPORTER_IN_PROSE_RE = re.compile(
    rf"\s*(?:本报|新华社)?记者(?P<names>[{HAN}]{{2,3}}?(?:、[{HAN}]{{2,3}}?)*)"
    r"(?=从|在|日前|近日|今天|今日|昨天|昨日|获悉|了解到|采访|走访|来到|近期|专访)"
)
# What follows 记者 in prose where no name does: 记者日前在…, 记者从今天…
_NOT_A_NAME_RE = re.compile(r"^[从在对据]|今天|今日|昨天|昨日|日前|近日|近期|目前|当天|此前")
# What ends a photographer's credit.
_PHOTO = "(?:摄影报道|摄影|供图|拍摄|摄)"
_PHOTO_CREDIT_RE = re.compile(rf"{_PHOTO}[）)]?$")
_PHOTO_CREDIT_END_RE = re.compile(rf"[（(](?P<credit>[^（）()]{{2,40}}?{_PHOTO})[）)]$")
# 图为 after a sentence, through the end of the paragraph.
_GLUED_CAPTION_RE = re.compile(r"(?<=[。！？”])\s*(?P<caption>图为.*)$")
# A photo credit without parentheses ending a caption: ``人民图片 孟德龙/摄``.
_CLOSING_PHOTO_CREDIT_RE = re.compile(
    rf"(?<=[。！？\s])\s*(?P<credit>[^。！？（）()]{{2,30}}?{_PHOTO})$"
)
_PHOTO_MARKERS_AT_END_RE = re.compile(
    r"(?:\s*[（(](?:(?:数码)?传真照片|附?图片(?:\d+张)?|资料图片?|新华社[发稿]|附图)[）)])+$"
)
_PHOTO_LINE_RE = re.compile(rf"^[（(]?(?P<credit>[^（）()。]{{2,40}}?{_PHOTO})[）)]?$")
# ▲ opens a caption on news pages; other bullets (△, ■, ●) open list items as often.
_CAPTION_START_RE = re.compile(r"^(?:▲|(?:图为|图：|图片：|上图|下图|左图|右图|组图|题图)[：:]?)")
_PHOTO_MARKER_RE = re.compile(
    r"^[（(【\[]?(?:图片|(?:数码)?传真照片|资料图片?|附图片?\d*张?|视频截图|新华社[发稿]|图文无关)"
    r"[）)】\]]?[：:]?$"
)
_METADATA_RE = re.compile(
    r"^(?P<key>作者|记者|通讯员|来源|稿源|文章来源|时间|日期|发布时间|发稿时间|地点|编辑|责任编辑|责编)"
    r"\s*[：:]\s*(?P<value>[^。！？]{1,60})$"
)
_CLOSING_CREDIT_RE = re.compile(
    r"^[（(【\[]\s*(?P<credit>[^（）()【】\[\]]{2,200})\s*[）)】\]](?P<rest>.*)$"
)
# Where a closing credit or end mark starts after the last sentence of a paragraph:
# a paren group that is the line's last.
_TRAILING_PIECE_RE = re.compile(
    r"(?<=[。！？!?…”」』）)])\s*(?=[（(][^（）()]{1,200}[）)][^（）()]*$)"
)
_CLOSING_DATELINE_RE = re.compile(
    r"^(?P<credit>[^（）()]{0,60}?)\s*[（(](?P<dateline>[^（）()]{4,40})[）)]$"
)
# A credit of an outlet's staff without names: 新华社记者, 本报记者.
_NAMELESS_CREDIT_RE = re.compile(rf"(?:{AGENCY})(?:{'|'.join(REPORTER_ROLES)})")
# （据新华社电）, （本栏均据新华社）, （中央广播电视总台央视网）: a source note.  Without 据
# or 来源 only a known outlet: a bare name in parentheses may be anything.
_SOURCE_LINE_RE = re.compile(
    rf"^[（(【\[]\s*(?:(?:(?:本栏|本版|除署名外)?均?据|来源[：:]|转载自|转自)\s*"
    rf"(?P<outlet>(?:{AGENCY}){{1,2}})|(?P<known>(?:{KNOWN_AGENCY}){{1,2}}))(?:电|消息)?"
    r"\s*[）)】\]]$"
)
_EDITOR_LINE_RE = re.compile(
    rf"^[（(【\[]?\s*(?:{'|'.join(sorted(EDITOR_ROLES, key=len, reverse=True))})\s*[：:].{{1,60}}$"
)
_EDITION_RE = re.compile(
    r"^《\s*(?P<paper>[^》]{2,20}?)\s*》\s*[（(]\s*(?P<date>\d{4}年\d{1,2}月\d{1,2}日)"
    r"\s*(?:第?\s*\d{1,3}\s*版)?\s*[）)]$"
)
_FURNITURE_RE = re.compile(
    r"^[（(【\[]?\s*(?:完|全文完|续完|待续|未完待续|本文来源[：:].*|来源[：:].*|稿源[：:].*|文章来源[：:].*|原标题[：:].*)"
    r"\s*[）)】\]]?$"
)
# Found anywhere in a line, but only in a short one: prose mentions 扫码 and 版权 too.
_NOTICE_RE = re.compile(
    r"版权所有|版权声明|Copyright|©|未经.{0,12}(?:授权|许可).{0,12}(?:转载|使用|复制)"
    r"|转载请注明|ICP备|ICP证|分享到|点击(?:进入|查看|阅读|播放|图片)"
    r"|(?:扫描|扫|长按识别|长按|识别)(?:下方|上方|图中|文末)?二维码|扫码(?:关注|下载|阅读|观看|收听)"
    r"|关注.{0,12}(?:公众号|微信号|微博|客户端)|下载.{0,12}客户端"
)
NOTICE_MAX_CHARS = 40


@dataclass
class NewsParts:
    """What ``split_news`` found: the body's lines and the pieces taken out of it."""

    body: list[str]
    dateline: str | None = None
    agency: str | None = None
    place: str | None = None
    date: PartialDate | None = None
    published: datetime.date | None = None  # a date with year the text gives (edition line)
    credits: Credits = field(default_factory=Credits)
    captions: list[str] = field(default_factory=list)
    boilerplate: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # outlets named by bylines, 来源 lines

    def news_date(self) -> str | None:
        date = self.date.completed(self.published) if self.date else None
        return date.iso() if date else None


def split_news(text: str) -> NewsParts:
    """The dateline, credits, captions and furniture of ``text``, and its body (see module)."""
    lines = text.split("\n") if text else []
    parts, in_tail = NewsParts(body=[]), NewsParts(body=[])
    lines = _take_tail(lines, in_tail)
    in_head = True
    for index, line in enumerate(lines):
        in_head = _read_line(line, parts, in_head, near_top=index < HEAD_LINES)
    return _with_tail(parts, in_tail)


def _read_line(line: str, parts: NewsParts, in_head: bool, near_top: bool) -> bool:
    """Read one line above the tail into ``parts``; whether the head goes on after it."""
    if near_top and _take_metadata(line, parts):
        parts.boilerplate.append(line)
        return in_head
    as_head = in_head and near_top
    if as_head:
        in_head, line = _take_head_line(line, parts)
        if not line:
            return in_head
    if _take_closing_dateline(line, parts):  # a story's end, inside a compilation
        parts.boilerplate.append(line)
        return in_head
    line = _take_glued_caption(line, parts)
    if _take_caption(line, parts):
        # A photo above the first paragraph: the byline or dateline may still follow.
        return in_head or (as_head and parts.dateline is None)
    parts.body.append(line)
    return in_head


def _with_tail(parts: NewsParts, tail: NewsParts) -> NewsParts:
    """``parts`` with what the tail gave: its credits after the others, and the dateline, the
    edition's date and the outlets where the head has none."""
    parts.credits.add(tail.credits)
    parts.sources += tail.sources
    parts.captions += tail.captions
    parts.boilerplate += tail.boilerplate
    parts.published = parts.published or tail.published
    if parts.dateline is None and tail.dateline is not None:
        parts.dateline, parts.agency = tail.dateline, tail.agency
        parts.place, parts.date = tail.place, tail.date
    return parts


# --------------------------------------------------------------------------- head


def _take_head_line(line: str, parts: NewsParts) -> tuple[bool, str]:
    """Whether the head goes on after ``line``, and what of ``line`` stays in the body."""
    if _take_byline(line, parts):
        parts.boilerplate.append(line)
        return True, ""
    rest = _take_dateline(line, parts)
    if rest is not None:
        # 新华社北京3月4日电 题：…: the story's title, then its byline may follow.
        return rest.startswith(("题：", "题:")), rest
    return _is_heading(line), line


def _is_heading(line: str) -> bool:
    line = _PHOTO_MARKERS_AT_END_RE.sub("", line)  # 标题（附图片1张）
    return len(line) < 40 and not line.endswith(tuple(_SENTENCE_END))


def _take_metadata(line: str, parts: NewsParts) -> bool:
    match = _METADATA_RE.match(line)
    if match is None:
        return False
    key, value = match.group("key"), match.group("value").strip()
    if key in ("作者", "记者", "通讯员", "编辑", "责任编辑", "责编"):
        people = credited_people(f"{key}：{value}")
        if people:
            parts.credits.add(people)
    elif key in ("来源", "稿源", "文章来源"):
        parts.sources.append(value)
    # 时间 and 日期 lines stay unread: they date what the text tells (an event, a
    # diary entry), not always when it was published.
    return True


def _take_byline(line: str, parts: NewsParts) -> bool:
    """A line that is only a credit (``新华社记者于长洪、张洪河``, ``本报记者 张三``)."""
    stripped = line.strip("（）() ")
    people = credited_people(stripped) if len(stripped) <= 80 else None
    if people is None:
        return False
    parts.credits.add(people)
    _add_outlet(stripped, parts)
    return True


def _add_outlet(credit: str, parts: NewsParts) -> None:
    """The outlet ``credit`` starts with, as a source, unless it credits a photo: a
    photographer's outlet is not the article's."""
    agency = credit_outlet(credit)
    if agency and not _PHOTO_CREDIT_RE.search(credit):
        parts.sources.append(agency)


def _take_dateline(line: str, parts: NewsParts) -> str | None:
    """The rest of ``line`` after its opening dateline and credit, or None without one."""
    match = _DATELINE_RE.match(line)
    if match is None or parts.dateline is not None or not _plausible(match, line):
        return None
    date = parse_text_date(match) if match.group("date") else None
    if match.group("date") and date is None:
        return None
    end = match.end()
    end = _take_dateline_credit(line, end, parts)
    parts.dateline = line[:end].strip()
    parts.agency = match.group("agency")
    parts.place = match.group("place") or match.group("undated_place") or None
    parts.date = date
    rest = line[end:].lstrip(" ：:")
    reporters = _REPORTER_IN_PROSE_RE.match(rest)
    names = reporters.group("names").split("、") if reporters else []
    if names and not any(_NOT_A_NAME_RE.search(name) for name in names):
        parts.credits.add(Credits(reporters=names))
    return rest


def _plausible(match: re.Match[str], line: str) -> bool:
    """A dateline without a date is one after 据, of a known outlet, or before a credit:
    a generic outlet's name then 电 may be prose."""
    if not match.group("undated") or match.group("according"):
        return True
    if match.group("agency").startswith(KNOWN_AGENCIES):
        return True
    return _CREDIT_AHEAD_RE.match(line, match.end()) is not None


def _take_dateline_credit(line: str, end: int, parts: NewsParts) -> int:
    """Where the dateline's credit ends (``（记者谭元斌）``, ``记者…报道：``), or ``end``."""
    for pattern in (_PAREN_CREDIT_RE, _REPORTED_CREDIT_RE):
        match = pattern.match(line, end)
        if match is None:
            continue
        people = credited_people(match.group("credit"))
        if people:
            parts.credits.add(people)
            return match.end()
    return end


# --------------------------------------------------------------------------- captions


def _take_glued_caption(line: str, parts: NewsParts) -> str:
    """``…的转变。图为际华3502公司防护服生产车间。 人民图片 孟德龙/摄``: a caption that a
    page's layout glued to the end of a paragraph, out of it; the prose stays."""
    match = _GLUED_CAPTION_RE.search(line)
    if match is None:
        return line
    caption = match.group("caption")
    parts.credits.add(_photo_credit(caption) or Credits())
    parts.captions.append(caption)
    return line[: match.start("caption")].rstrip()


def _take_caption(line: str, parts: NewsParts) -> bool:
    """A photo caption, a line that only credits a photo, or a photo marker: out of the body."""
    if _PHOTO_MARKER_RE.match(line):
        parts.boilerplate.append(line)
        return True
    only_credit = _PHOTO_LINE_RE.match(line)
    if only_credit:
        people = credited_people(only_credit.group("credit"), role_required=False)
        if people:
            parts.credits.add(people)
            parts.boilerplate.append(line)
            return True
    people = _photo_credit(line)
    if people is None and not _CAPTION_START_RE.match(line):
        return False
    parts.credits.add(people or Credits())
    parts.captions.append(line)
    return True


def _photo_credit(line: str) -> Credits | None:
    """The people credited for a photo at the end of ``line`` (``（新华社记者兰红光摄）``,
    ``人民图片 陈张坤/摄``), past photo markers such as ``（传真照片）``."""
    line = _PHOTO_MARKERS_AT_END_RE.sub("", line)
    for pattern in (_PHOTO_CREDIT_END_RE, _CLOSING_PHOTO_CREDIT_RE):
        match = pattern.search(line)
        people = credited_people(match.group("credit"), role_required=False) if match else None
        if people:
            return people
    return None


# --------------------------------------------------------------------------- tail


def _take_tail(lines: list[str], parts: NewsParts) -> list[str]:
    """``lines`` without the furniture at their end, read into ``parts`` in order: whole
    lines (past the captions of a picture below the story), then a credit or end mark
    that closes the last paragraph."""
    read: list[NewsParts] = []
    while len(read) < min(TAIL_LINES, len(lines)):
        line, line_parts = lines[len(lines) - len(read) - 1], NewsParts(body=[])
        if _take_tail_line(line, line_parts):
            line_parts.boilerplate.append(line)
        elif not _take_caption(line, line_parts):
            break
        read.insert(0, line_parts)
    rest = lines[: len(lines) - len(read)]
    while rest and len(read) < TAIL_LINES:
        line_parts = NewsParts(body=[])
        prose, piece = _split_trailing_piece(rest[-1], line_parts)
        if piece is None:
            break
        rest[-1] = prose
        line_parts.boilerplate.append(piece)
        read.insert(0, line_parts)
    for line_parts in read:
        _with_tail(parts, line_parts)
    return rest


def _split_trailing_piece(line: str, parts: NewsParts) -> tuple[str, str | None]:
    """``…疫去花开。（记者 蔡朝阳 唐晓安）``, ``…。（完）``, ``…。（据新华社）``: the prose and
    the credit (with at most a dateline after it), end mark or source that closes it; a
    photo credit ends a caption instead."""
    match = _TRAILING_PIECE_RE.search(line)
    if match is None or _PHOTO_CREDIT_END_RE.search(line):
        return line, None
    piece = line[match.end() :]
    taken = _FURNITURE_RE.match(piece) or _take_source_line(piece, parts)
    taken = taken or _take_closing_dateline(piece, parts)
    if not (taken or _take_closing_credit(piece, parts)):
        return line, None
    return line[: match.start()], piece


def _take_tail_line(line: str, parts: NewsParts) -> bool:
    edition = _EDITION_RE.match(line)
    if edition:
        parts.published = parse_given_date(edition.group("date"))
        parts.sources.append(edition.group("paper"))
        return True
    if _EDITOR_LINE_RE.match(line):
        people = credited_people(line.strip("（）()【】[] "))
        if people:
            parts.credits.add(people)
        return True
    if _FURNITURE_RE.match(line):
        return True
    if len(line) <= NOTICE_MAX_CHARS and _NOTICE_RE.search(line):
        return True
    if _take_source_line(line, parts) or _take_closing_dateline(line, parts):
        return True
    return _take_closing_credit(line, parts)


def _take_closing_credit(line: str, parts: NewsParts) -> bool:
    """``（记者 张三）``, ``（参与记者：…）新华社北京3月6日电``: a credit, then at most a dateline."""
    match = _CLOSING_CREDIT_RE.match(line)
    if match is None:
        return _take_byline(line, parts)
    # The parentheses that close an article credit its authors even without a role
    # (People's Daily: ``……。（杜中武 孙传刚）``).
    people = credited_people(match.group("credit"), role_required=False)
    rest = match.group("rest").strip()
    dateline = _DATELINE_RE.fullmatch(rest) if rest else None
    if people is None or (rest and dateline is None):
        return False
    parts.credits.add(people)
    _add_outlet(match.group("credit"), parts)
    if dateline:
        _set_dateline(parts, dateline)
    return True


def _take_closing_dateline(line: str, parts: NewsParts) -> bool:
    """``新华社记者（新华社北京3月10日电）``: a credit, even one without names, then a
    dateline in parentheses."""
    match = _CLOSING_DATELINE_RE.match(line)
    dateline = _DATELINE_RE.fullmatch(match.group("dateline")) if match else None
    if match is None or dateline is None:
        return False
    credit = match.group("credit").strip()
    people = credited_people(credit) if credit else None
    if credit and people is None and not _NAMELESS_CREDIT_RE.fullmatch(credit):
        return False
    if people:
        parts.credits.add(people)
    _set_dateline(parts, dateline)
    return True


def _take_source_line(line: str, parts: NewsParts) -> bool:
    """``（中央广播电视总台央视网）``, ``（据新华社电）``: the outlet a text comes from."""
    match = _SOURCE_LINE_RE.match(line)
    if match:
        parts.sources.append(match.group("outlet") or match.group("known"))
    return match is not None


def _set_dateline(parts: NewsParts, match: re.Match[str]) -> None:
    """The dateline ``match`` (of ``_DATELINE_RE``), unless ``parts`` has one already."""
    if parts.dateline is not None or not _plausible(match, match.string):
        return
    parts.dateline, parts.agency = match.group(), match.group("agency")
    parts.place = match.group("place") or match.group("undated_place") or None
    parts.date = parse_text_date(match) if match.group("date") else None
