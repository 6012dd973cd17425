"""Dates of news text: ``3月24日``, ``十二月三十一日``, ``2020年3月24日``, ``2020-03-24``, as ISO 8601.

A date with its year is ``YYYY-MM-DD``; one with month and day only is
``--MM-DD`` (ISO 8601's form for a date without year).  Digits may be ASCII
or Chinese numerals (``一九九七年``, ``十二月三十一日``); normalize has already
folded full-width digits to ASCII.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

_NUMERALS = {"〇": 0, "零": 0, "○": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_NUMERALS |= {"六": 6, "七": 7, "八": 8, "九": 9}
CN_NUMBER = "〇零○一二两三四五六七八九十"
# A date in running text: the year and the month may be missing, the day not.
DATE = (
    rf"(?:(?P<year>\d{{4}}|[{CN_NUMBER}]{{4}})\s*年\s*)?"
    rf"(?:(?P<month>\d{{1,2}}|[{CN_NUMBER}]{{1,3}})\s*月\s*)?"
    rf"(?P<day>\d{{1,2}}|[{CN_NUMBER}]{{1,3}})\s*日"
)
_DATE_RE = re.compile(DATE)
# Dates given by a record's fields or meta tags: 2020-03-24, 2020/3/24, 2020.03.24,
# 20200324, 2020年3月24日, each possibly followed by a time.
_GIVEN_RE = re.compile(
    r"(?P<year>\d{4})\s*(?:[-/.年]\s*(?P<month>\d{1,2})\s*[-/.月]\s*(?P<day>\d{1,2})|"
    r"(?P<month8>\d{2})(?P<day8>\d{2})(?!\d))"
)


def chinese_number(text: str) -> int | None:
    """``12``, ``十二``, ``三十一``, ``二十`` or, for years, ``一九九七``; None when not a number."""
    if text.isdigit():
        return int(text)
    if "十" not in text:  # digit by digit: 一九九七
        digits = [_NUMERALS.get(c) for c in text]
        return None if None in digits or not digits else int("".join(map(str, digits)))
    tens, _, ones = text.partition("十")
    high = _NUMERALS.get(tens, -1) if tens else 1
    low = _NUMERALS.get(ones, -1) if ones else 0
    return None if high < 0 or low < 0 else high * 10 + low


@dataclass(frozen=True)
class PartialDate:
    """A date as far as the text gives it: the day always, the month and year if written."""

    day: int
    month: int | None = None
    year: int | None = None

    def iso(self) -> str | None:
        """ISO 8601 (``YYYY-MM-DD`` or ``--MM-DD``), or None without a month or valid day."""
        if self.month is None or not _valid(self.year or 2000, self.month, self.day):
            return None
        if self.year is None:
            return f"--{self.month:02d}-{self.day:02d}"
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"

    def completed(self, published: datetime.date | None) -> PartialDate:
        """The date with month and year taken from ``published`` (the record's own date) where
        the text leaves them out: the latest such date not after ``published``."""
        if published is None or self.year is not None:
            return self
        month = self.month or published.month
        year = published.year
        if (month, self.day) > (published.month, published.day):
            if self.month is None:  # the day of an earlier month
                month = published.month - 1 or 12
                year -= month == 12
            else:  # December's dateline of a paper published in January
                year -= 1
        return PartialDate(self.day, month, year)


def _valid(year: int, month: int, day: int) -> bool:
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    return True


def parse_text_date(match: re.Match[str]) -> PartialDate | None:
    """The ``PartialDate`` of a match of ``DATE`` (its named groups), or None if out of range."""
    day = chinese_number(match.group("day"))
    month = chinese_number(match.group("month")) if match.group("month") else None
    year = chinese_number(match.group("year")) if match.group("year") else None
    if day is None or not 1 <= day <= 31 or (month is not None and not 1 <= month <= 12):
        return None
    return PartialDate(day, month, year)


def find_text_date(text: str) -> PartialDate | None:
    match = _DATE_RE.search(text)
    return parse_text_date(match) if match else None


def parse_given_date(value: str | None) -> datetime.date | None:
    """A record's date field or meta tag (``2020-03-24T08:00:00+08:00``, ``2020年3月24日`` ...)."""
    if not value:
        return None
    match = _GIVEN_RE.search(value)
    if match is None:
        return None
    year = int(match.group("year"))
    month = int(match.group("month") or match.group("month8"))
    day = int(match.group("day") or match.group("day8"))
    return datetime.date(year, month, day) if _valid(year, month, day) else None
