"""The LINE message quota as read from LINE each day: kept for the admin, and the admins are warned
once a month when consumption passes the warning share."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, UTCDateTime
from models.numbering import BANGKOK
from models.org import get_setting, set_setting
from models.outbox import SENT, OutboxMessage


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


def warned_this_month(session: Session, now: datetime) -> bool:
    return session.scalar(select(QuotaReading.id).where(QuotaReading.month == month_of(now),
                                                        QuotaReading.warned.is_(True)).limit(1)) is not None


def record(session: Session, now: datetime, limit: int | None, used: int, warn_share: float) -> QuotaReading | None:
    """Store today's reading. Returns it when it is the month's first to pass the warning share."""
    month = month_of(now)
    warn = limit is not None and limit > 0 and used >= limit * warn_share and not warned_this_month(session, now)
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


EXHAUSTED_SETTING = "line_quota.exhausted_at"


def charged_since(session: Session, since: datetime) -> int:
    """Messages the outbox sent (and LINE counted) after `since`: pushes per recipient, group pushes
    per member, replies free."""
    return int(session.scalar(select(func.coalesce(func.sum(OutboxMessage.charged), 0))
                              .where(OutboxMessage.status == SENT, OutboxMessage.sent_at > since)) or 0)


def estimate(session: Session, now: datetime) -> tuple[int | None, int] | None:
    """(limit, used) now: the latest reading of this month plus what was sent since it. None before
    the month's first reading (LINE's own figure is needed to start from)."""
    last = latest(session)
    if last is None or last.month != month_of(now):
        return None
    return last.limit, last.used + charged_since(session, last.read_at)


def mark_exhausted(session: Session, now: datetime) -> bool:
    """LINE refused a push for the monthly limit. True the first time this month (to alert once)."""
    when = get_setting(session, EXHAUSTED_SETTING)
    if when and month_of(datetime.fromisoformat(when)) == month_of(now):
        return False
    set_setting(session, EXHAUSTED_SETTING, now.isoformat())
    return True


def exhausted_since(session: Session, now: datetime) -> datetime | None:
    """When LINE first refused a push for the monthly limit this month, if it did."""
    when = get_setting(session, EXHAUSTED_SETTING)
    if not when:
        return None
    moment = datetime.fromisoformat(when)
    return moment if month_of(moment) == month_of(now) else None
