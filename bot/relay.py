"""Sends outbox rows through LINE: reply while the token is fresh, otherwise push with a retry key."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select

from bot.database import Database
from bot.line_api import LineApi, Outcome, SendResult
from models import groups, message_quota, outbox
from models.base import utcnow
from models.outbox import OutboxMessage

log = logging.getLogger(__name__)


def relay_once(db: Database, line: LineApi, now: Callable[[], datetime] = utcnow, limit: int = 50) -> int:
    """Send what is due; returns how many rows were settled (sent or dead)."""
    with db.transaction() as session:
        due = [(row.id, row.to_id, outbox.reply_is_fresh(row, now()))
               for row in outbox.due_messages(session, now(), limit)]
    settled, held_back = 0, set()
    for row_id, to, fresh_reply in due:
        if to in held_back and not fresh_reply:
            continue  # an earlier message to this chat must go first (a fresh reply never waits)
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
        use_reply = outbox.reply_is_fresh(row, now())
        # An earlier attempt that reached LINE, or whose fate is unknown (the worker died during it).
        retried_reply = row.reply_attempted_at is not None
        if use_reply:
            # Committed before the call: after a crash we know this token may have been used.
            row.reply_attempted_at = now()
        token, to, messages, key = row.reply_token, row.to_id, row.messages, row.retry_key
        recipients = list(row.recipients or [])
        group_size = groups.member_count(session, to) if groups.is_group_chat(to) else None

    if use_reply and token:
        result, via = line.reply(token, messages), "reply"
        if result.outcome is Outcome.BAD_REPLY_TOKEN and retried_reply:
            # The token is fresh and an earlier attempt reached LINE, so LINE refusing it now means that
            # attempt used it (its answer was lost).
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
        if via == "reply" and result.outcome is Outcome.RETRY:
            if result.reached:
                row.reply_reached_at = row.reply_reached_at or now()
            else:  # this attempt never left: only an attempt that reached LINE can have used the token
                row.reply_attempted_at = row.reply_reached_at
        if result.outcome is Outcome.SENT:
            outbox.mark_sent(row, now(), via, result.status or 200, _charge(via, recipients, group_size))
            return Outcome.SENT
        if result.outcome is Outcome.RETRY:
            outbox.schedule_retry(row, now(), result.status, result.error)
            if row.status == outbox.DEAD:
                log.error("outbox %d: given up after %d attempts; kept for the admin", row_id, row.attempts)
                return Outcome.REJECTED
            return Outcome.RETRY
        outbox.mark_dead(row, result.status, result.error)
        if result.quota_exhausted:
            # Retrying cannot help before next month (or a bigger plan); replies still go out free.
            if message_quota.mark_exhausted(session, now()):
                log.error("LINE's monthly message quota is used up: pushes are kept for the admin to resend")
            return Outcome.REJECTED
        log.error("outbox %d: LINE rejected the message (status %s); kept for the admin", row_id, result.status)
        return Outcome.REJECTED


def _charge(via: str, recipients: list[str], group_size: int | None) -> int:
    """What LINE counts against the monthly quota for one accepted call: replies are free, a push is
    one message per person who receives it (every member of a group; one when the size is unknown)."""
    if via == "reply":
        return 0
    if via == "multi":
        return len(recipients)
    return max(group_size or 1, 1)


def pending_count(db: Database) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).where(OutboxMessage.status == outbox.PENDING)) or 0
