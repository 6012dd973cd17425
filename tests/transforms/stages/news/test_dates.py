import datetime
import re

import pytest

from transforms.stages.news.dates import (
    DATE,
    PartialDate,
    chinese_number,
    parse_given_date,
    parse_text_date,
)


def text_date(text: str) -> PartialDate | None:
    match = re.search(DATE, text)
    return parse_text_date(match) if match else None


@pytest.mark.parametrize(
    ("numeral", "value"),
    [("12", 12), ("十", 10), ("十二", 12), ("二十", 20), ("三十一", 31), ("一九九七", 1997)],
)
def test_chinese_numbers(numeral, value):
    assert chinese_number(numeral) == value


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("新华社武汉3月24日电", "--03-24"),
        ("本报济南十二月三十一日电", "--12-31"),
        ("2020年3月5日", "2020-03-05"),
        ("一九九七年十二月三十一日", "1997-12-31"),
        ("新华社北京31日电", None),  # no month: not a date on its own
        ("2月30日", None),
    ],
)
def test_dates_in_text_become_iso_8601(text, iso):
    found = text_date(text)
    assert (found.iso() if found else None) == iso


def test_the_year_and_month_come_from_the_date_of_publication():
    published = datetime.date(2021, 1, 2)
    assert text_date("12月31日").completed(published).iso() == "2020-12-31"
    assert text_date("1月2日").completed(published).iso() == "2021-01-02"
    assert text_date("31日").completed(published).iso() == "2020-12-31"
    assert text_date("2日").completed(published).iso() == "2021-01-02"
    assert text_date("3月24日").completed(None).iso() == "--03-24"


@pytest.mark.parametrize(
    ("value", "date"),
    [
        ("2020-03-24T08:00:00+08:00", datetime.date(2020, 3, 24)),
        ("2020/3/5 10:00", datetime.date(2020, 3, 5)),
        ("2020年3月5日", datetime.date(2020, 3, 5)),
        ("20200324", datetime.date(2020, 3, 24)),
        ('"2020-03-24 00:00:00"', datetime.date(2020, 3, 24)),
        ("2020-13-01", None),
        ("yesterday", None),
        (None, None),
    ],
)
def test_dates_given_by_fields_and_meta_tags(value, date):
    assert parse_given_date(value) == date
