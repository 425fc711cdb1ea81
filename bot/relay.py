"""Sends outbox rows through LINE: reply while the token is fresh, otherwise push with a retry key."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select

from bot.database import Database
from bot.line_api import LineApi, Outcome, SendResult
from models import outbox
from models.base import utcnow
from models.outbox import OutboxMessage

log = logging.getLogger(__name__)


def relay_once(db: Database, line: LineApi, now: Callable[[], datetime] = utcnow, limit: int = 50) -> int:
    """Send what is due; returns how many rows were settled (sent or dead)."""
    with db.transaction() as session:
        due = [(row.id, row.to_id) for row in outbox.due_messages(session, now(), limit)]
    settled, held_back = 0, set()
    for row_id, to in due:
        if to in held_back:
            continue  # an earlier message to this chat must go first
        outcome = _send_one(db, line, row_id, now)
        if outcome is Outcome.RETRY:
            held_back.add(to)
        elif outcome is not None:
            settled += 1
    return settled


def _send_one(db: Database, line: LineApi, row_id: int, now: Callable[[], datetime]) -> Outcome | None:
    """One row, one attempt. Returns SENT, RETRY or REJECTED as recorded; None if nothing to do."""
    with db.transaction() as session:
        row = session.get(OutboxMessage, row_id)
        if row is None or row.status != outbox.PENDING:
            return None
        use_reply = bool(row.reply_token) and row.reply_expires_at is not None and row.reply_expires_at > now()
        retried_reply = row.reply_attempted_at is not None
        if use_reply:
            # Committed before the call: after a crash we know this token may have been used.
            row.reply_attempted_at = now()
        token, to, messages, key = row.reply_token, row.to_id, row.messages, row.retry_key
        recipients = list(row.recipients or [])

    if use_reply and token:
        result, via = line.reply(token, messages), "reply"
        if result.outcome is Outcome.BAD_REPLY_TOKEN and retried_reply:
            # The token is fresh, so LINE refusing it now means our earlier attempt used it.
            result = SendResult(Outcome.SENT, 400, "reply token already used by an earlier attempt")
        elif result.outcome is Outcome.BAD_REPLY_TOKEN:
            result, via = line.push(to, messages, key), "push"
        # A reply that failed with 5xx/429/timeout may still have been delivered: it is retried as a
        # reply while the token is fresh (a used token then proves delivery), never pushed at once.
    elif recipients:
        result, via = line.multicast(recipients, messages, key), "multi"
    else:
        result, via = line.push(to, messages, key), "push"

    with db.transaction() as session:
        row = session.get(OutboxMessage, row_id)
        if row is None or row.status != outbox.PENDING:
            return None
        if result.outcome is Outcome.SENT:
            outbox.mark_sent(row, now(), via, result.status or 200)
            return Outcome.SENT
        if result.outcome is Outcome.RETRY:
            outbox.schedule_retry(row, now(), result.status, result.error)
            if row.status == outbox.DEAD:
                log.error("outbox %d: given up after %d attempts; kept for the admin", row_id, row.attempts)
                return Outcome.REJECTED
            return Outcome.RETRY
        outbox.mark_dead(row, result.status, result.error)
        log.error("outbox %d: LINE rejected the message (status %s); kept for the admin", row_id, result.status)
        return Outcome.REJECTED


def pending_count(db: Database) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).where(OutboxMessage.status == outbox.PENDING)) or 0
