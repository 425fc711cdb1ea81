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
        ids = [row.id for row in outbox.due_messages(session, now(), limit)]
    settled = 0
    for row_id in ids:
        settled += _send_one(db, line, row_id, now)
    return settled


def _send_one(db: Database, line: LineApi, row_id: int, now: Callable[[], datetime]) -> int:
    with db.transaction() as session:
        row = session.get(OutboxMessage, row_id)
        if row is None or row.status != outbox.PENDING:
            return 0
        use_reply = bool(row.reply_token) and row.reply_expires_at is not None and row.reply_expires_at > now()
        retried_reply = row.reply_attempted_at is not None
        if use_reply:
            # Committed before the call: after a crash we know this token may have been used.
            row.reply_attempted_at = now()
        token, to, messages, key = row.reply_token, row.to_id, row.messages, row.retry_key

    if use_reply and token:
        result = line.reply(token, messages)
        if result.outcome is Outcome.BAD_REPLY_TOKEN and retried_reply:
            # The token is fresh, so LINE refusing it now means our earlier attempt used it.
            result = SendResult(Outcome.SENT, 400, "reply token already used by an earlier attempt")
        via = "reply"
        if result.outcome in (Outcome.BAD_REPLY_TOKEN, Outcome.RETRY):
            result, via = line.push(to, messages, key), "push"
    else:
        result, via = line.push(to, messages, key), "push"

    with db.transaction() as session:
        row = session.get(OutboxMessage, row_id)
        if row is None or row.status != outbox.PENDING:
            return 0
        if result.outcome is Outcome.SENT:
            outbox.mark_sent(row, now(), via, result.status or 200)
            return 1
        if result.outcome is Outcome.RETRY:
            outbox.schedule_retry(row, now(), result.status, result.error)
            return 1 if row.status == outbox.DEAD else 0
        outbox.mark_dead(row, result.status, result.error)
        log.error("outbox %d: LINE rejected the message (status %s); kept for the admin", row_id, result.status)
        return 1


def pending_count(db: Database) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).where(OutboxMessage.status == outbox.PENDING)) or 0
