"""Credits of news text: who an outlet is, and which people a line credits, by what role.

A credit names people after a role word (``记者``, ``通讯员``, ``责任编辑`` ...),
possibly after an outlet (``新华社记者``, ``湖北日报全媒记者``), several names
separated by ``、``, ``，`` or spaces, a photographer's name followed by
``摄`` or ``供图``.  ``credited_people`` reads such a segment and returns
nothing unless every part of it reads as credits: a wrong name is worse than a
missing one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from transforms.stages.news.names import HAN, split_names, starts_with_surname

# Outlets that write datelines and bylines, longest first where one starts another.
KNOWN_AGENCIES = (
    "新华社", "中新社", "中新网", "中国新闻社", "中国新闻网", "人民网", "新华网", "央视网",
    "央广网", "光明网", "中国网", "国际在线", "中国经济网", "中国日报网", "中国青年网",
    "澎湃新闻", "界面新闻", "财新网", "新京报", "本报", "本台", "本刊", "本网",
    "央视新闻", "央视", "中央电视台", "中央人民广播电台", "中央广播电视总台", "总台",
    "人民日报", "光明日报", "经济日报", "解放军报", "中国日报", "中国青年报", "科技日报",
    "法制日报", "法治日报", "工人日报", "农民日报", "环球时报", "北京日报", "解放日报",
    "文汇报", "南方日报", "南方都市报", "湖北日报", "长江日报", "楚天都市报", "荆楚网",
    "人民图片", "人民视觉", "视觉中国", "中新图片", "中国国际广播电台", "国际广播电台",
    "中央人民广播电台", "中国妇女报", "中国体育报", "人民日报海外版", "北京电视台",
    "上海电视台", "中国新闻周刊", "瞭望", "半月谈", "求是",
)  # fmt: skip
# An outlet not in the list: a name ending the way outlets' names end.
_GENERIC_AGENCY = (
    rf"[{HAN}]{{2,8}}?(?:日报|晚报|晨报|时报|商报|青年报|报社|通讯社|新闻社|新闻网|电视台"
    rf"|广播电台|广播电视台|融媒体中心|网|报|社|台)"
)
# A part of an outlet after its name: 央广网河南分网, 人民网北京频道.
_AGENCY_BRANCH = rf"(?:[{HAN}]{{1,6}}(?:分网|频道|分社|记者站|客户端|融媒))?"
KNOWN_AGENCY = rf"(?:(?:{'|'.join(sorted(KNOWN_AGENCIES, key=len, reverse=True))}){_AGENCY_BRANCH})"
AGENCY = rf"(?:{KNOWN_AGENCY}|{_GENERIC_AGENCY})"

_OUTLET_RE = re.compile(AGENCY)

REPORTER_ROLES = (
    "记者", "通讯员", "特约记者", "实习生", "见习记者", "摄影记者", "首席记者", "全媒记者",
    "全媒体记者", "融媒体记者", "融媒记者", "本报记者", "特派记者", "实习记者", "摄影",
    "摄像", "作者", "撰稿", "参与记者", "报道员", "照片", "压题照片",
)  # fmt: skip
# One-character roles, which also begin names (文静, 图门): only with "/" or "：" after them.
SHORT_ROLES = ("文", "图", "摄")
EDITOR_ROLES = (
    "责任编辑", "责编", "编辑", "校对", "审核", "审校", "审稿", "终审", "二审", "三审",
    "监制", "主编", "值班主编", "编审", "美编", "制图", "图片编辑", "视频编辑",
    "新媒体编辑", "实习编辑", "统筹", "策划",
)  # fmt: skip
_ROLE_ALTERNATION = "|".join(sorted({*REPORTER_ROLES, *EDITOR_ROLES}, key=len, reverse=True))
# A role, after an optional outlet and "驻 ... " (新华社驻东京记者), before names.
_ROLE_RE = re.compile(
    rf"(?P<outlet>{AGENCY})?(?:驻[{HAN}]{{1,8}}?)?"
    rf"(?:(?P<role>{_ROLE_ALTERNATION})\s*[/:：为]?|(?P<short>{'|'.join(SHORT_ROLES)})\s*[/:：])\s*"
)
# A role word inside a run (孙茂庆新华社通讯员钱友荣): the outlet before it is a known one,
# or a paper in 《》, so that a generic outlet cannot swallow the names before it.
_ROLE_WORD_RE = re.compile(
    rf"(?:{KNOWN_AGENCY}|《[^》]{{1,20}}》)?(?:驻[{HAN}]{{1,8}}?)?"
    rf"(?:(?P<role>{_ROLE_ALTERNATION})\s*[/:：为]?|(?P<short>{'|'.join(SHORT_ROLES)})\s*[/:：])"
)
# What follows a photographer's name (摄, 摄影, 供图, 拍摄) or reporters' (报道).
_NAME_SUFFIX_RE = re.compile(r"\s*/?\s*(?:摄影报道|摄影|供图|拍摄|摄|报道|报导)$")
_SUFFIX_WORDS = frozenset(
    {"摄", "摄影", "供图", "拍摄", "图", "报道", "报导", "发", "等", "摄影报道"}
)
# A person's name: 2-4 Han characters, or a name with a middle dot (买买提·吐尔逊).
NAME = rf"(?:[{HAN}]{{2,4}}|[{HAN}]{{1,8}}·[{HAN}]{{1,8}})"
_DOTTED_NAME_RE = re.compile(rf"[{HAN}]{{1,8}}·[{HAN}]{{1,8}}")
# Words that end up where a name should be when a credit is really prose.
_NOT_NAMES = frozenset(
    {"报道", "摄影", "供图", "发自", "综合", "整理", "编译", "联合", "等人", "本报", "电讯",
     "全文完", "续完", "待续", "未完", "有删节", "节选", "摘编", "供稿", "编者", "译者"}
)  # fmt: skip
# Where a photographer works, before the name: 湖北武汉市魏振华摄.
_PLACE_PREFIX_RE = re.compile(
    rf"^[{HAN}]{{2,10}}?[省市县区州](?=[{HAN}]{{2,4}}(?:\s*/?\s*\S{{1,4}})?$)"
)
_NOT_NAME_ENDINGS = frozenset("省市县区镇乡村局厂院所社部委办处队站校作画绘摘译辑书题摄")
_SEPARATORS_RE = re.compile(r"[、，,；;\s]+")


@dataclass
class Credits:
    """The people a piece of text credits, by kind, in the order written."""

    reporters: list[str] = field(default_factory=list)
    editors: list[str] = field(default_factory=list)

    def add(self, other: Credits) -> None:
        self.reporters += [n for n in other.reporters if n not in self.reporters]
        self.editors += [n for n in other.editors if n not in self.editors]

    def __bool__(self) -> bool:
        return bool(self.reporters or self.editors)


def credited_people(segment: str, role_required: bool = True) -> Credits | None:
    """The people ``segment`` credits (``记者 汪宁 通讯员 甄浩鹏``, ``新华社记者于长洪、张洪河``,
    ``央广网发 通讯员 吴豪博 供图``, ``责任编辑：王洁``, ``本报记者李济国贾建舟``), or None
    unless all of it reads so.

    A name counts only after a role word, unless ``role_required`` is false (a
    field that says what it holds, such as ``作者：``, or the parentheses that
    close a brief): then every name must start with a surname.
    """
    credits, role = Credits(), None
    for part in _SEPARATORS_RE.split(segment.strip()):
        runs, role = _role_runs(part, role)
        for run_role, run in runs:
            if _OUTLET_RE.fullmatch(run):  # 人民图片 陈张坤/摄: the outlet, then the name
                continue
            if run_role is None and (suffix := _NAME_SUFFIX_RE.search(run)):
                # 邢永臣摄影报道, 湖北武汉市魏振华摄: what follows the name credits it.
                run_role, run = suffix.group().strip(" /"), _PLACE_PREFIX_RE.sub("", run)
            names = _names(run, surname_required=run_role is None)
            if names is None or (run_role is None and role_required):
                return None
            bucket = credits.editors if run_role in EDITOR_ROLES else credits.reporters
            bucket += [name for name in names if name not in bucket]
    return credits if credits else None


def _role_runs(part: str, role: str | None) -> tuple[list[tuple[str | None, str]], str | None]:
    """``part`` as ``(role, names)`` pairs, the role in force (carried over from the
    parts before) and the text up to the next role word; and the role in force after."""
    runs: list[tuple[str | None, str]] = []
    start = 0
    while True:
        # An outlet of any form opens a part; inside one, only a known one (see above).
        while (match := (_ROLE_WORD_RE if start else _ROLE_RE).match(part, start)) is not None:
            role, start = match.group("role") or match.group("short"), match.end()
        start = _after_outlet_release(part, start)
        following = _ROLE_WORD_RE.search(part, start + 1)
        if following and _NAME_SUFFIX_RE.fullmatch(part, following.start()):
            following = None  # 摄影 after the name (邢永臣摄影报道) ends its credit
        end = following.start() if following else len(part)
        if part[start:end] and part[start:end] not in _SUFFIX_WORDS:
            runs.append((role, part[start:end]))
        if following is None:
            return runs, role
        start = end


def _after_outlet_release(part: str, start: int) -> int:
    """Past ``央广网发`` (released by the outlet) at ``start``, if it is there."""
    match = re.compile(rf"(?:{AGENCY})发").match(part, start)
    return match.end() if match else start


def _names(run: str, surname_required: bool) -> list[str] | None:
    """The names ``run`` holds (suffixes such as 摄 dropped), or None if it is not names."""
    run = _NAME_SUFFIX_RE.sub("", run) if len(run) > 2 else run
    if _DOTTED_NAME_RE.fullmatch(run):
        return [run]
    names = split_names(run)
    if names is None or any(name in _NOT_NAMES for name in names):
        return None
    if surname_required and not all(_plain_name(name) for name in names):
        return None
    return names


def _plain_name(name: str) -> bool:
    """A name given without a role: it starts with a surname and does not end the way a
    place, a body or an artist's credit does (吉林市, 张滨作)."""
    return starts_with_surname(name) and name[-1] not in _NOT_NAME_ENDINGS and "摄" not in name


def credit_outlet(credit: str) -> str | None:
    """The outlet before the first role word of ``credit`` (``新华社记者…`` gives 新华社)."""
    match = _ROLE_RE.match(credit.strip("（）()【】[] "))
    return match.group("outlet") if match else None
