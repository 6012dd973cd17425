"""Stage ``news``: datelines, bylines, captions and editor lines into columns, out of the body.

Each document's normalized text is taken apart by ``split_news``
(``transforms.stages.news.parts``): the opening dateline
(``新华社武汉3月24日电（记者谭元斌）``) gives ``dateline``, ``news_agency``,
``news_place`` and ``news_date``; credits anywhere in the head, the captions
and the tail give ``reporters`` and ``editors``; photo captions go to
``captions`` and the other furniture lines (bylines, 来源, （完）, copyright,
share prompts, editor lines) to ``boilerplate``, in order.  With
``news.strip`` (the default) ``text`` is the body without them; nothing is
lost, since the columns hold them.  A document that is nothing but such
pieces (a photo story of captions) keeps its text whole.

Where the text says nothing, what the input says fills in: the ``date``,
``author`` and ``source`` fields of a JSON Lines or Parquet record
(``extract.date_field`` ...) and an HTML page's ``<meta>`` tags
(``article:published_time``, ``author``, ``og:site_name``), carried in the
``given_*`` columns.  A given date also dates a dateline that has no year.
Nothing is rejected here.
"""

from __future__ import annotations

from collections import Counter

import pyarrow as pa

from transforms.config import NewsConfig
from transforms.schema import NEWS_FIELDS
from transforms.stage import StageOutput
from transforms.stages.news.credits import credited_people
from transforms.stages.news.dates import parse_given_date
from transforms.stages.news.parts import NewsParts, split_news

NEWS_COLUMNS = tuple(f.name for f in NEWS_FIELDS)


def news_batch(records: pa.Table, cfg: NewsConfig) -> StageOutput:
    """The news columns of every document, and with ``cfg.strip`` its text without them."""
    texts: list[str] = records.column("text").to_pylist()
    given = {
        name: _column_or_nulls(records, f"given_{name}") for name in ("date", "author", "source")
    }
    columns: dict[str, list[object]] = {name: [] for name in NEWS_COLUMNS}
    tally: Counter[str] = Counter()
    for i, text in enumerate(texts):
        parts = split_news(text)
        row = news_row(parts, given["date"][i], given["author"][i], given["source"][i])
        for name in NEWS_COLUMNS:
            columns[name].append(row[name])
        # A document that is all furniture (a photo story of captions) keeps its text.
        if cfg.strip and parts.body:
            texts[i] = "\n".join(parts.body)
        tally["kept_whole"] += cfg.strip and not parts.body and bool(text)
        _count(tally, row)
    table = records.set_column(
        records.schema.get_field_index("text"), "text", pa.array(texts, pa.string())
    )
    for field in NEWS_FIELDS:
        table = table.append_column(field, pa.array(columns[field.name], field.type))
    return StageOutput(kept=table, extra=tally)


def news_row(
    parts: NewsParts, given_date: str | None, given_author: str | None, given_source: str | None
) -> dict[str, object]:
    """A document's news columns from its parts, the input's fields filling what the text lacks."""
    published = parts.published or parse_given_date(given_date)
    if parts.date is not None:
        date = parts.date.completed(published).iso()
    else:
        date = published.isoformat() if published else None
    reporters = parts.credits.reporters
    if not reporters and given_author:
        people = credited_people(given_author, role_required=False)
        reporters = people.reporters if people else []
    return {
        "dateline": parts.dateline,
        "news_agency": parts.agency or next(iter(parts.sources), None) or given_source or None,
        "news_place": parts.place,
        "news_date": date,
        "reporters": reporters,
        "editors": parts.credits.editors,
        "captions": parts.captions,
        "boilerplate": parts.boilerplate,
    }


def _column_or_nulls(records: pa.Table, name: str) -> list[str | None]:
    if name in records.column_names:
        return records.column(name).to_pylist()
    return [None] * records.num_rows


def _count(tally: Counter[str], row: dict[str, object]) -> None:
    tally["with_dateline"] += row["dateline"] is not None
    tally["with_date"] += row["news_date"] is not None
    tally["with_reporters"] += bool(row["reporters"])
    tally["captions"] += len(row["captions"])  # type: ignore[arg-type]
    tally["boilerplate_lines"] += len(row["boilerplate"])  # type: ignore[arg-type]
