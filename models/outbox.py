"""Messages waiting to be sent: written in the same transaction as the change they report."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, ColumnElement, ForeignKey, Index, Integer, String, Text, and_, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, UTCDateTime

PENDING, SENT, DEAD = "pending", "sent", "dead"
MAX_MESSAGES_PER_CALL = 5  # LINE's limit for one reply or push
MULTICAST_MAX = 500  # LINE's limit of recipients for one multicast
MULTICAST = "multicast"  # to_id of multicast rows: they keep their own order, apart from any chat
BACKOFF_CAP = timedelta(minutes=5)
GIVE_UP_AFTER = timedelta(hours=24)


class OutboxMessage(Base):
    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inbox_event_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_event.id"), nullable=True)
    to_id: Mapped[str] = mapped_column(String(64))
    # Set for a multicast (one call to up to 500 people); then to_id is MULTICAST.
    recipients: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    messages: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    reply_token: Mapped[str | None] = mapped_column(String(128), nullable=True)
    reply_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Set (and committed) before a reply is attempted: after a crash we then know a reply may
    # already have been delivered, and LINE refusing the token again proves it was.
    reply_attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Set when an attempted reply is known to have reached LINE (LINE answered, or the answer was lost
    # after the request was sent). Only then does a refused token prove the earlier attempt delivered.
    reply_reached_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Fixed when the row is written, so every push attempt of this row carries the same key.
    retry_key: Mapped[str] = mapped_column(String(36), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # an admin requeued it
    sent_via: Mapped[str | None] = mapped_column(String(8), nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Messages LINE counted against the monthly quota for this row once sent (one per recipient of a
    # push or multicast, one per member of a group chat; 0 for a free reply).
    charged: Mapped[int | None] = mapped_column(Integer, nullable=True)


def enqueue(
    session: Session,
    to_id: str,
    messages: list[dict[str, Any]],
    now: datetime,
    reply_token: str | None = None,
    reply_expires_at: datetime | None = None,
    inbox_event_id: int | None = None,
) -> list[OutboxMessage]:
    """Queue messages for one chat, five per row; only the first row may use the reply token."""
    rows = []
    for start in range(0, len(messages), MAX_MESSAGES_PER_CALL):
        first = start == 0
        row = OutboxMessage(
            inbox_event_id=inbox_event_id,
            to_id=to_id,
            messages=messages[start : start + MAX_MESSAGES_PER_CALL],
            reply_token=reply_token if first else None,
            reply_expires_at=reply_expires_at if first else None,
            retry_key=str(uuid.uuid4()),
            status=PENDING,
            attempts=0,
            created_at=now,
            next_attempt_at=now,
        )
        session.add(row)
        rows.append(row)
    return rows


def enqueue_multicast(session: Session, recipients: list[str], messages: list[dict[str, Any]], now: datetime
                      ) -> list[OutboxMessage]:
    """The same messages to many people: one row (one call, one retry key) per 500 recipients."""
    unique = list(dict.fromkeys(r for r in recipients if r))
    rows = []
    for start in range(0, len(unique), MULTICAST_MAX):
        for row in enqueue(session, MULTICAST, messages, now):
            row.recipients = unique[start : start + MULTICAST_MAX]
            rows.append(row)
    return rows


def due_messages(session: Session, now: datetime, limit: int = 50) -> list[OutboxMessage]:
    """Pending rows in the order they were written; a chat whose earlier row waits for a retry
    holds back its later rows, so nobody reads an answer before the question it follows."""
    # Chats waiting for a retry are left out in SQL: scanning a fixed window instead would let one
    # busy chat in backoff (hundreds of rows) starve every other chat behind it. Only a chat's first
    # pending row is ever retried, so "has a row not yet due" means "is waiting".
    # A reply whose token is still fresh is never held back: it is free only for a minute, and a push
    # waiting for a retry (LINE down, quota) must not turn it into a paid push or a lost answer.
    waiting = select(OutboxMessage.to_id).where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at > now)
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now,
               or_(OutboxMessage.to_id.not_in(waiting), has_fresh_reply_token(now)))
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def has_fresh_reply_token(now: datetime) -> ColumnElement[bool]:
    return and_(OutboxMessage.reply_token.is_not(None), OutboxMessage.reply_expires_at > now)


def reply_is_fresh(row: OutboxMessage, now: datetime) -> bool:
    return bool(row.reply_token) and row.reply_expires_at is not None and row.reply_expires_at > now


def mark_sent(row: OutboxMessage, now: datetime, via: str, status: int, charged: int = 0) -> None:
    row.charged = charged
    row.status = SENT
    row.sent_at = now
    row.sent_via = via
    row.last_status = status
    row.last_error = None


def mark_dead(row: OutboxMessage, status: int | None, error: str) -> None:
    """Stop trying (LINE refused the request itself); kept for the admin to see and resend."""
    row.status = DEAD
    row.last_status = status
    row.last_error = error[:500]


def schedule_retry(row: OutboxMessage, now: datetime, status: int | None, error: str) -> None:
    """Exponential backoff with jitter; after a day the row is given up as dead."""
    row.attempts += 1
    row.last_status = status
    row.last_error = error[:500]
    if now - (row.resent_at or row.created_at) > GIVE_UP_AFTER:
        row.status = DEAD
        return
    delay = min(timedelta(seconds=2 ** min(row.attempts, 10)), BACKOFF_CAP)
    row.next_attempt_at = now + delay * random.uniform(0.5, 1.0)


def resend(session: Session, row_id: int, now: datetime) -> bool:
    """An admin's resend of a dead row: pending again, due now, with a fresh retry count.

    It gets a NEW retry key: LINE refused the old request itself, or a day of attempts failed, past
    the time LINE remembers a retry key anyway (a timed-out attempt LINE did accept may then arrive
    twice; the admin page says so). The give-up clock restarts at the resend. The reply token is
    dropped: it has long expired, and a refused token must not be read as proof of an earlier
    delivery. False if the row is not dead (already resent, or never given up).
    """
    # One guarded UPDATE: two admins pressing resend at once requeue the row once.
    return bool(session.execute(
        update(OutboxMessage).where(OutboxMessage.id == row_id, OutboxMessage.status == DEAD)
        .values(status=PENDING, retry_key=str(uuid.uuid4()), attempts=0, next_attempt_at=now, reply_token=None,
                reply_expires_at=None, reply_attempted_at=None, resent_at=now)
    ).rowcount)
