"""An announcement to many staff at once (what LINE Notify groups were used for): one multicast
per 500 people, so it costs one call per batch and keeps a single retry key per call."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from handlers.messages import text
from models import audit, outbox
from models.org import active_staff, staff_with_role


def announce(session: Session, now: datetime, words: str, role: str | None = None) -> int:
    """Queue the text for every active person who uses LINE (or those with the role); returns how many."""
    people = staff_with_role(session, role) if role else active_staff(session)
    recipients = [s.line_user_id for s in people if s.line_user_id]
    if recipients and words.strip():
        outbox.enqueue_multicast(session, recipients, [text(words.strip())], now)
        audit.record(session, now, "announcement.sent", role=role or "all", recipients=len(recipients))
    return len(recipients) if words.strip() else 0
