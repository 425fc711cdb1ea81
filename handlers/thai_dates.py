"""Dates as Thai staff read them: Buddhist Era, Thai month names, Bangkok time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from pythainlp.util import thai_strftime

BANGKOK = ZoneInfo("Asia/Bangkok")


def thai_date(moment: datetime) -> str:
    """22 พ.ย. 2569"""
    return thai_strftime(moment.astimezone(BANGKOK), "%-d %b %Y")


def thai_datetime(moment: datetime) -> str:
    """22 พ.ย. 2569 10:14"""
    return thai_strftime(moment.astimezone(BANGKOK), "%-d %b %Y %H:%M")


def thai_time(moment: datetime) -> str:
    return moment.astimezone(BANGKOK).strftime("%H:%M")
