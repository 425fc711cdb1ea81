"""LINE's monthly message quota, read daily by the worker: the admins are warned once a month when
consumption passes the warning share (pushes beyond the quota are refused by LINE)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from handlers import texts
from handlers.context import Context, Settings
from handlers.messages import text
from models import message_quota
from models.org import staff_with_role


def estimate_passes_warning(session: Session, now: datetime, settings: Settings) -> bool:
    """Whether this month's last reading plus the pushes sent since (group members counted) passed the
    warning share, the admins not yet warned: then LINE is asked again at once, not tomorrow."""
    estimated = message_quota.estimate(session, now)
    if estimated is None or not estimated[0] or message_quota.warned_this_month(session, now):
        return False
    limit, used = estimated
    return used >= limit * settings.quota_warn_share


def record(session: Session, now: datetime, limit: int | None, used: int, settings: Settings) -> bool:
    """Store the reading; True when the admins were warned."""
    reading = message_quota.record(session, now, limit, used, settings.quota_warn_share)
    if reading is None or not reading.limit:
        return False
    ctx = Context.for_job(session, now, settings)
    message = text(texts.QUOTA_WARNING.format(used=used, limit=reading.limit,
                                              percent=round(100 * used / reading.limit)))
    for admin in staff_with_role(session, "admin"):
        if admin.line_user_id:
            ctx.push(admin.line_user_id, message)
    ctx.flush()
    return True
