"""Shared by the dedup tests: two real stories, documents made of them, decisions in memory."""

from __future__ import annotations

from tests.transforms.stage_support import records as _records
from transforms.config import DedupConfig
from transforms.dedup.batch import deduplicate
from transforms.dedup.fingerprint import fingerprint_batch

STORY = (
    "疫情发生以来，武汉高科集团下沉党员干部坚守社区一线，为居民配送生活物资、测量体温、排查登记。"
    "社区作为防控的最前线，肩负的任务十分艰巨，他们不分日夜值守在城市街巷和道路卡口。"
    "抗击疫情有两个阵地，一个是医院救死扶伤阵地，一个是社区防控阵地，坚持不懈做好疫情防控工作。"
)
OTHER = (
    "春耕农忙正当时，云南省会泽县大海乡小江村的村民在田间忙着播种，农技人员深入田间地头指导。"
    "统筹抓好春耕生产和农民就业增收，当地组织劳务输出，帮助返乡农民工安全有序外出务工。"
)


def records(rows):
    """Documents ``d0``, ``d1``, ... from dicts with ``text`` and optionally ``doc_id``,
    ``path`` and ``record``."""
    table = _records(
        [row["text"] for row in rows],
        doc_id=[row.get("doc_id", f"d{i}") for i, row in enumerate(rows)],
        source_path=[row.get("path", "a.txt") for row in rows],
        source_record=[row.get("record", i) for i, row in enumerate(rows)],
    )
    return table


def decide(rows, cfg=None):
    """A decision for every document of ``rows``, by doc_id."""
    cfg = cfg or DedupConfig()
    decisions = deduplicate(fingerprint_batch(records(rows), cfg), cfg)
    return {r["doc_id"]: r for r in decisions.to_pylist()}
