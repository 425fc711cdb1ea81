"""Template filters for calendar dates (no time of day), in the Buddhist Era as every page shows them."""

from __future__ import annotations

from datetime import date, datetime

from pythainlp.util import thai_strftime

from bot.admin import bp
from models.thai_dates import thai_date


@bp.app_template_filter("be_date")
def be_date(day: date | None) -> str:
    """A due date, a delegation's first or last day: 5 ม.ค. 2570; '-' when there is none."""
    if day is None:
        return "-"
    return thai_date(day)


@bp.app_template_filter("be_month")
def be_month(month: str | None) -> str:
    """A stored month "2026-11" as people read it: พ.ย. 2569."""
    try:
        year, number = (int(part) for part in (month or "").split("-"))
        return thai_strftime(datetime(year, number, 1), "%b %Y")
    except ValueError:
        return month or "-"
