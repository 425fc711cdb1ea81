"""Takes stored webhook events, oldest first per chat, through the dialog layer."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from datetime import datetime

from bot.database import Database
from handlers import texts
from handlers.context import Settings
from handlers.dispatch import dispatch
from handlers.messages import text
from models import inbox, outbox
from models.base import utcnow
from models.inbox import InboxEvent

log = logging.getLogger(__name__)


def process_once(
    db: Database, settings: Settings, now: Callable[[], datetime] = utcnow, limit: int = 100
) -> int:
    """Handle due events; each commits its state change and its outbox rows together."""
    with db.transaction() as session:
        due = [(row.id, row.chat_id) for row in inbox.due_events(session, now(), limit)]
    handled, failed_chats = 0, set()
    for row_id, chat_id in due:
        if chat_id in failed_chats:
            continue  # keep this chat's order: its earlier event must succeed first
        try:
            with db.transaction() as session:
                row = session.get(InboxEvent, row_id)
                if row is None or row.status != inbox.PENDING:
                    continue
                took = dispatch(session, row.payload, now(), settings, row.id, row.received_at)
                inbox.mark_processed(row, now(), inbox.DONE if took else inbox.IGNORED)
            handled += 1
        except Exception as exc:
            failed_chats.add(chat_id)
            _record_failure(db, row_id, exc, now())
    return handled


def _record_failure(db: Database, row_id: int, exc: Exception, now: datetime) -> None:
    """Count the failed attempt in its own transaction, then (on giving up) tell the person in
    another: a notice that cannot be written must not undo the count, or the event would stay
    pending for ever and hold back its chat."""
    # Type and place only: exception messages can quote what the user wrote.
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}" if frame else "?"
    error = f"{type(exc).__name__} at {where}"
    log.error("inbox event %d failed: %s", row_id, error)
    try:
        with db.transaction() as session:
            row = session.get(InboxEvent, row_id)
            if row is None:
                return
            gave_up = inbox.record_failure(row, now, error)
            notify = _user_to_tell(row.payload) if gave_up else None
    except Exception as failure:  # the database itself failed: the event is retried on the next tick
        log.error("inbox event %d: the failure could not be recorded (%s)", row_id, type(failure).__name__)
        return
    if notify is None:
        return
    try:
        with db.transaction() as session:
            # The person must not be left waiting in silence; the admin sees the failed row.
            outbox.enqueue(session, notify, [text(texts.SYSTEM_ERROR)], now, inbox_event_id=row_id)
    except Exception as failure:
        log.error("inbox event %d: the failure notice could not be queued (%s)", row_id, type(failure).__name__)


def _user_to_tell(payload: object) -> str | None:
    """The 1:1 chat of a failed event, only if its id is one LINE could have sent."""
    source = payload.get("source") if isinstance(payload, dict) else None
    if not isinstance(source, dict) or source.get("type") != "user":
        return None
    user_id = source.get("userId")
    return user_id if isinstance(user_id, str) and inbox.SOURCE_IDS["userId"].fullmatch(user_id) else None
