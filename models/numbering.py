"""Request numbers: PREFIX-<Thai fiscal year in BE>-<sequence>, e.g. INC-2570-0001 (DESIGN §3)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base

BANGKOK = ZoneInfo("Asia/Bangkok")
PREFIXES = ("INC", "ACC", "WEB")


class RequestCounter(Base):
    __tablename__ = "request_counter"

    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


def fiscal_year_be(moment: datetime) -> int:
    """The Thai government fiscal year runs 1 October to 30 September: 1 Oct 2026 is in 2570."""
    local = moment.astimezone(BANGKOK)
    return local.year + 543 + (1 if local.month >= 10 else 0)


def next_number(session: Session, prefix: str, now: datetime) -> str:
    """The next number of this kind in the current fiscal year. Taken in the transaction that creates
    the request, so a request that is rolled back gives its number back: numbers have no gaps."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown request prefix {prefix!r}")
    year = fiscal_year_be(now)
    key = RequestCounter.prefix == prefix, RequestCounter.fiscal_year == year
    if session.scalar(select(RequestCounter.last).where(*key)) is None:
        session.add(RequestCounter(prefix=prefix, fiscal_year=year, last=0))
        session.flush()
    # One UPDATE: two transactions can never read the same value (the row lock orders them).
    session.execute(update(RequestCounter).where(*key).values(last=RequestCounter.last + 1))
    value = session.scalar(select(RequestCounter.last).where(*key))
    return f"{prefix}-{year}-{value:04d}"
