"""Working days: Monday to Friday, less Thai public and government holidays.

The holidays come from the `holidays` package (lunar dates and substitution days included); the
agency's own exceptions are rows: a special day off the cabinet announced late (working=False), or
a listed holiday the agency works (working=True).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

import holidays
from sqlalchemy import Boolean, Date, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base


class CalendarException(Base):
    __tablename__ = "calendar_exception"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str] = mapped_column(String(200), default="")


@lru_cache(maxsize=64)
def _thai_holidays(year: int) -> dict[date, str]:
    listed = holidays.country_holidays("TH", years=year, language="th",
                                       categories=(holidays.PUBLIC, holidays.GOVERNMENT))
    return dict(listed.items())


@dataclass(frozen=True)
class WorkCalendar:
    """A snapshot of the exceptions; cheap to build once per job run."""

    days_off: dict[date, str] = field(default_factory=dict)
    days_on: frozenset[date] = frozenset()

    def holiday_name(self, day: date) -> str | None:
        if day in self.days_on:
            return None
        return self.days_off.get(day) or _thai_holidays(day.year).get(day)

    def is_working(self, day: date) -> bool:
        if day in self.days_on:
            return True
        return day.weekday() < 5 and self.holiday_name(day) is None

    def on_or_after(self, day: date) -> date:
        """The day itself if it is a working day, else the next one."""
        while not self.is_working(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, day: date, count: int) -> date:
        for _ in range(count):
            day = self.on_or_after(day + timedelta(days=1))
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end`."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_working(day)
        return count


def load(session: Session) -> WorkCalendar:
    rows = list(session.scalars(select(CalendarException)))
    return WorkCalendar(days_off={r.day: r.name for r in rows if not r.working},
                        days_on=frozenset(r.day for r in rows if r.working))


def set_exception(session: Session, day: date, working: bool, name: str = "") -> None:
    row = session.get(CalendarException, day)
    if row is None:
        session.add(CalendarException(day=day, working=working, name=name))
    else:
        row.working, row.name = working, name or row.name


def remove_exception(session: Session, day: date) -> bool:
    row = session.get(CalendarException, day)
    if row is None:
        return False
    session.delete(row)
    return True


def holidays_in(session: Session, year: int) -> list[tuple[date, str, str]]:
    """(day, name, source) for one calendar year: what the calendar treats as days off."""
    cal = load(session)
    listed = {d: (n, "ราชการ") for d, n in _thai_holidays(year).items() if d not in cal.days_on}
    listed.update({d: (n, "หน่วยงาน") for d, n in cal.days_off.items() if d.year == year})
    return [(d, n, src) for d, (n, src) in sorted(listed.items())]
