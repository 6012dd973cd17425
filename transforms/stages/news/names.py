"""Personal names in credits, including several written without a separator.

Print credits often run names together (``本报记者李济国贾建舟``, ``（周德会夏立凯）``:
the space between them lost on the way to text).  ``split_names`` cuts such a
run at surnames: each name is a surname (single, or compound such as 欧阳)
followed by one or two characters, and of the cuts that fit, the one with the
fewest names, then the commonest surnames, wins (``康新云刘俊`` is 康新云 and 刘俊,
not 康新 and 云刘俊).  A run that no cut fits, or that two cuts fit about
equally well (孟西安祁勇), is not read.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

HAN = "\u3400-\u4dbf\u4e00-\u9fff"

# Single-character surnames, commonest first (the first hundred in the order of the
# 2020 national household register count; the rest roughly by frequency).
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩邓冯曹彭曾肖田董潘袁蔡蒋余于杜叶程"
    "魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾"
    "龚邵万覃武钱戴严莫孔向常汤康易乔赖文施洪辛柯庄樊殷齐牛温季俞章鲁葛伍申尤毕聂焦柳邢路岳梅"
    "庞宁祝纪舒耿甘游左靳安阎华车单喻褚符成翟项关包屈房解卫宫云米欧倪盛管祁凌霍蓝涂麦裴商饶鲍"
    "兰苗丛戚阮詹卜滕窦冉骆荣杭郎童冷裘竺栾汝蔺秋晏隋柏来谷沙虞佟初奚闵巩宗邬屠艾曲瞿岑薄仲鄢"
    "缪雍原练边应储芦吉查明池连蒲揭简钮刁臧粟敖全门厉卓幸海代农鄂桑凤惠井税信司桂官党平强景利"
    "丰满衣寇步仇危冼区邝糜甄容麻湛穆达訾续闻展燕茅都迟保佘浦乐贝晋伏从索扈巫占那旷买帅贡言冀"
    "郗姬和禹贲凡毋韶植郁弓战逄仝楚铁母晁琚居由苟蒯阚师於诸花盖邸牟亓綦巴鞠习尚郜谈国竹况"
    "柴芮伊但檀东南宿励尉钭果蒙隆宣尧阳勾支郦滑缑汲蔚蓬茹郏阴鄞荆羊殳宓濮鲜璩羿狄宦阙戎暴禄沃厍仰匡隗"
    "弘晃寿蓟苍双莘劳扶堵傅费萧荀胥颜卞戈席娄昝嵇翁邴祖束邰宰慕庾暨衡夔乜巢逯桓"
)
COMPOUND_SURNAMES = (
    "欧阳", "诸葛", "司马", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "夏侯", "令狐",
    "长孙", "宇文", "司徒", "端木", "澹台", "呼延", "万俟", "独孤", "西门", "轩辕", "闻人",
)  # fmt: skip
# Tibetan given names are two two-character parts (索朗罗布, 扎西次仁); 索 and 罗 being
# surnames too, such a four-character name is not cut.
TIBETAN_NAME_PARTS = frozenset(
    {"扎西", "次仁", "多吉", "索朗", "罗布", "旺堆", "格桑", "顿珠", "平措", "尼玛", "达瓦",
     "央金", "卓玛", "拉姆", "白玛", "次旦", "旦增", "丹增", "强巴", "贡嘎", "普布", "边巴",
     "巴桑", "洛桑", "德吉", "曲珍", "阿旺", "益西", "嘎玛", "仁增", "米玛", "桑珠", "土登",
     "才旦", "加措", "嘉措", "群培", "次珍", "布琼", "琼达", "仓决", "索南", "多杰", "才让"}
)  # fmt: skip
_RANK = {name: rank for rank, name in enumerate(dict.fromkeys(SURNAMES))}
_COMPOUND_RANK = 150  # as common as a surname of rank 150
# Cost of a cut: a name each (fewer names win), a rare surname more than a common one,
# and a little for two-character names (rarer than three-character ones).
_NAME_COST = 1.0
_SHORT_NAME_COST = 0.5
# Two cuts closer in cost than this (in bits of surname rarity) are a guess.
AMBIGUOUS_WITHIN = 0.75
_NAME_RUN_RE = re.compile(rf"[{HAN}]+")


def split_names(run: str) -> list[str] | None:
    """The names in ``run`` (see module), or None if it is not names run together.

    Two or three characters are one name; four are one name unless they read as
    two names of two characters each (``李锦赵承``).
    """
    if not _NAME_RUN_RE.fullmatch(run) or len(run) < 2:
        return None
    if len(run) <= 3 or (len(run) == 4 and run[:2] in COMPOUND_SURNAMES):
        return [run]
    if len(run) == 4:
        tibetan = run[:2] in TIBETAN_NAME_PARTS or run[2:] in TIBETAN_NAME_PARTS
        two = run[0] in _RANK and run[2] in _RANK and not tibetan
        return [run[:2], run[2:]] if two else [run]
    cuts = sorted(_cuts(run))
    if not cuts:
        return None
    if len(cuts) > 1 and cuts[1][0] - cuts[0][0] < AMBIGUOUS_WITHIN:
        return None  # 孟西安祁勇: 孟西安 and 祁勇, or 孟西 and 安祁勇? A wrong name is worse.
    return list(cuts[0][1])


@lru_cache(maxsize=4096)
def _cuts(run: str) -> tuple[tuple[float, tuple[str, ...]], ...]:
    """Every cut of ``run`` into names, as ``(cost, names)``."""
    if not run:
        return ((0.0, ()),)
    found = []
    for length in (2, 3, 4):
        name = run[:length]
        cost = _name_cost(name) if len(name) == length else None
        if cost is not None:
            found += [(cost + rest_cost, (name, *rest)) for rest_cost, rest in _cuts(run[length:])]
    return tuple(found)


def _name_cost(name: str) -> float | None:
    if name[:2] in COMPOUND_SURNAMES and len(name) in (3, 4):
        rank = _COMPOUND_RANK
    elif name[0] in _RANK and len(name) in (2, 3):
        rank = _RANK[name[0]]
    else:
        return None
    short = _SHORT_NAME_COST if len(name) == 2 else 0.0
    return _NAME_COST + math.log2(2 + rank) + short


def starts_with_surname(name: str) -> bool:
    return name[0] in _RANK or name[:2] in COMPOUND_SURNAMES
