"""The LINE message quota as read from LINE each day: kept for the admin, and the admins are warned
once a month when consumption passes the warning share."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, UTCDateTime
from models.numbering import BANGKOK


class QuotaReading(Base):
    __tablename__ = "quota_reading"

    id: Mapped[int] = mapped_column(primary_key=True)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime)
    month: Mapped[str] = mapped_column(String(7), index=True)  # 2026-11, Bangkok
    limit: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: no monthly limit
    used: Mapped[int] = mapped_column(Integer)
    warned: Mapped[bool] = mapped_column(Boolean, default=False)


def month_of(now: datetime) -> str:
    return now.astimezone(BANGKOK).strftime("%Y-%m")


def record(session: Session, now: datetime, limit: int | None, used: int, warn_share: float) -> QuotaReading | None:
    """Store today's reading. Returns it when it is the month's first to pass the warning share."""
    month = month_of(now)
    already = session.scalar(select(QuotaReading.id).where(QuotaReading.month == month,
                                                           QuotaReading.warned.is_(True)).limit(1))
    warn = limit is not None and limit > 0 and used >= limit * warn_share and already is None
    reading = QuotaReading(read_at=now, month=month, limit=limit, used=used, warned=warn)
    session.add(reading)
    session.flush()
    return reading if warn else None


def latest(session: Session) -> QuotaReading | None:
    return session.scalar(select(QuotaReading).order_by(QuotaReading.read_at.desc(), QuotaReading.id.desc())
                          .limit(1))


def read_today(session: Session, now: datetime) -> bool:
    last = latest(session)
    return last is not None and last.read_at.astimezone(BANGKOK).date() == now.astimezone(BANGKOK).date()
