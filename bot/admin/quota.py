"""LINE's monthly message quota as the worker reads it each day: how much is left before pushes
(new-ticket alerts, reminders) start failing, and whether the admins were warned this month."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template
from sqlalchemy import select

from bot.admin import NAV, bp
from bot.admin.auth import IT_PAGES, require
from bot.database import get_db
from models import message_quota
from models.base import utcnow
from models.message_quota import QuotaReading

READINGS = 40
NAV.append(("admin.quota_page", "โควตาข้อความ", IT_PAGES))


def share(reading: QuotaReading) -> float | None:
    """Used share in percent; None without a monthly limit."""
    if reading.limit is None or reading.limit <= 0:
        return None
    return round(100 * reading.used / reading.limit, 1)


@bp.get("/quota")
@require(*IT_PAGES)
def quota_page() -> Any:
    now = utcnow()
    month = message_quota.month_of(now)
    with get_db().transaction() as session:
        latest = message_quota.latest(session)
        estimate = message_quota.estimate(session, now)
        exhausted = message_quota.exhausted_since(session, now)
        readings = list(session.scalars(select(QuotaReading).order_by(QuotaReading.read_at.desc(),
                                                                      QuotaReading.id.desc()).limit(READINGS)))
        warned = session.scalar(select(QuotaReading.read_at).where(QuotaReading.month == month,
                                                                   QuotaReading.warned.is_(True)).limit(1))
    warn_percent = float(current_app.config.get("QUOTA_WARN_PERCENT", 80))
    percent = share(latest) if latest else None
    over = percent is not None and percent >= warn_percent
    return render_template("admin/quota.html", latest=latest, percent=percent, readings=readings, share=share,
                           estimate=estimate, exhausted=exhausted,
                           warn_percent=warn_percent, warned=warned, over=over, month=month,
                           stale=latest is not None and latest.month != month)
