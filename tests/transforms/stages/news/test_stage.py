"""The news stage: its columns on every document, the text without the furniture (or not),
and what the input's own fields say where the text says nothing."""

import json

import pyarrow as pa

from tests.transforms.stage_support import records, run_stage
from transforms.config import NewsConfig, PipelineConfig
from transforms.pipeline import BEFORE_DEDUP
from transforms.schema import INPUT_FILE_SCHEMA, KEPT_SCHEMA
from transforms.stage import run_stages
from transforms.stages.news import NEWS_COLUMNS, news_batch

BODY = "抗疫战场，白衣战士执甲逆行，志愿者们站在他们背后，默默呵护这些“最可爱的人”。"
DATED = f"新华社武汉3月24日电（记者谭元斌）{BODY}\n（完）"


def test_the_columns_are_filled_and_the_text_is_the_body():
    run = run_stage("news", records([DATED, BODY]), NewsConfig())
    rows = run.kept.to_pylist()
    assert rows[0]["text"] == BODY
    assert (rows[0]["dateline"], rows[0]["news_agency"], rows[0]["news_place"]) == (
        "新华社武汉3月24日电（记者谭元斌）",
        "新华社",
        "武汉",
    )
    assert (rows[0]["news_date"], rows[0]["reporters"], rows[0]["boilerplate"]) == (
        "--03-24",
        ["谭元斌"],
        ["（完）"],
    )
    assert rows[1]["text"] == BODY and rows[1]["dateline"] is None and rows[1]["reporters"] == []
    for name in NEWS_COLUMNS:
        assert run.kept.schema.field(name).type == KEPT_SCHEMA.field(name).type
    counts = run.counts["news"]
    assert (counts.input, counts.kept, counts.extra["with_dateline"]) == (2, 2, 1)
    assert counts.extra["boilerplate_lines"] == 1


def test_without_strip_the_text_stays_as_it_was():
    out = news_batch(records([DATED]), NewsConfig(strip=False))
    assert out.kept.column("text").to_pylist() == [DATED]
    assert out.kept.column("dateline").to_pylist() == ["新华社武汉3月24日电（记者谭元斌）"]


def test_the_inputs_fields_fill_what_the_text_lacks_and_date_a_dateline():
    table = records(
        [DATED, BODY],
        given_date=["2020-03-25T08:00:00+08:00", "2020-03-25"],
        given_author=[None, "张三、李四"],
        given_source=["新华网", "湖北日报"],
    )
    rows = news_batch(table, NewsConfig()).kept.to_pylist()
    # The dateline's own agency and date win; the given date gives its year.
    assert (rows[0]["news_agency"], rows[0]["news_date"]) == ("新华社", "2020-03-24")
    assert rows[0]["reporters"] == ["谭元斌"]
    assert (rows[1]["news_agency"], rows[1]["news_date"]) == ("湖北日报", "2020-03-25")
    assert rows[1]["reporters"] == ["张三", "李四"]


def test_a_document_of_captions_only_keeps_its_text():
    story = "▲3月5日傍晚，在武汉大学人民医院东院，医疗队的刘凯让87岁老人欣赏久违的日落。（新华社记者才扬摄）"
    out = news_batch(records([story]), NewsConfig())
    row = out.kept.to_pylist()[0]
    assert row["text"] == story and row["captions"] == [story]
    assert out.extra["kept_whole"] == 1


def test_through_the_stages_before_it_a_records_fields_and_a_pages_meta_tags_reach_it(
    tmp_path,
):
    page = (
        '<html><head><meta property="article:published_time" content="2020-03-25T08:00">'
        f"</head><body><p>新华社武汉3月24日电（记者谭元斌）{BODY}</p><p>（完）</p></body></html>"
    )
    (tmp_path / "a.html").write_text(page, encoding="utf-8")
    record = {"text": f"{BODY}\n{BODY}", "date": "2021-05-06", "author": "周洪", "source": "央广网"}
    (tmp_path / "b.jsonl").write_text(json.dumps(record, ensure_ascii=False) + "\n")
    files = pa.Table.from_pylist(
        [
            {"path": str(tmp_path / name), "root": str(tmp_path), "known_doc_ids": []}
            for name in ("a.html", "b.jsonl")
        ],
        schema=INPUT_FILE_SCHEMA,
    )
    config = PipelineConfig.model_validate({"quality": {"min_chars": 10}})
    run = run_stages(BEFORE_DEDUP, files, config)
    rows = {r["source_path"]: r for r in run.kept.to_pylist()}
    assert rows["a.html"]["news_date"] == "2020-03-24" and rows["a.html"]["text"] == BODY
    assert rows["a.html"]["boilerplate"] == ["（完）"]
    assert (rows["b.jsonl"]["news_date"], rows["b.jsonl"]["news_agency"]) == (
        "2021-05-06",
        "央广网",
    )
    assert rows["b.jsonl"]["reporters"] == ["周洪"]
