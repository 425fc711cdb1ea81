"""Dates as Thai staff read them: Buddhist Era, Thai month names, Bangkok time. One place for every
layer (messages, exports, pages), so that a date reads the same wherever it is shown."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from pythainlp.util import thai_strftime

BANGKOK = ZoneInfo("Asia/Bangkok")


def _local(day: date | datetime) -> datetime:
    """A moment in Bangkok; a calendar date as its midnight (no time zone to convert)."""
    if isinstance(day, datetime):
        return day.astimezone(BANGKOK)
    return datetime(day.year, day.month, day.day)


def thai_date(day: date | datetime) -> str:
    """22 พ.ย. 2569 (the Bangkok date of a moment)"""
    return thai_strftime(_local(day), "%-d %b %Y")


def thai_datetime(moment: datetime) -> str:
    """22 พ.ย. 2569 10:14"""
    return thai_strftime(moment.astimezone(BANGKOK), "%-d %b %Y %H:%M")


def thai_time(moment: datetime) -> str:
    return moment.astimezone(BANGKOK).strftime("%H:%M")
