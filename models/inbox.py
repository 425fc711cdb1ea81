"""Webhook events as received: stored before LINE gets its 200, processed later by the worker."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, Text, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, UTCDateTime

PENDING, DONE, IGNORED, FAILED = "pending", "done", "ignored", "failed"
MAX_ATTEMPTS = 5
# LINE's ids: U (user), C (group), R (room) and 32 lower-case hex digits. Anything else in an event's
# source is refused at the door: it could never be answered, and would fail every insert that used it.
SOURCE_IDS = {"userId": re.compile(r"U[0-9a-f]{32}"), "groupId": re.compile(r"C[0-9a-f]{32}"),
              "roomId": re.compile(r"R[0-9a-f]{32}")}
# Events older than this are refused at the door (LINE redelivers for far less time). Event ids are
# kept at least TRAFFIC_LOG_MINIMUM (90 days, models.privacy), so a signed body replayed after the
# purge is refused for its age, and one replayed before it is refused for its id.
MAX_EVENT_AGE = timedelta(days=7)


class InboxEvent(Base):
    __tablename__ = "inbox_event"
    __table_args__ = (Index("ix_inbox_event_status_ts", "status", "event_ts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_event_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(40))
    mode: Mapped[str] = mapped_column(String(16), default="active")
    source_type: Mapped[str] = mapped_column(String(16), default="")
    # The chat the event belongs to: user id in 1:1, group/room id otherwise. Events of one chat
    # are processed in timestamp order.
    chat_id: Mapped[str] = mapped_column(String(64), default="")
    event_ts: Mapped[int] = mapped_column(BigInteger, default=0)
    is_redelivery: Mapped[bool] = mapped_column(Boolean, default=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Exception class and location only: never message text or ids.
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


def event_key(event: dict[str, Any]) -> str:
    """LINE's webhookEventId, or a digest of the event for senders that omit it."""
    key = event.get("webhookEventId")
    if isinstance(key, str) and key:
        return key[:64]
    canonical = json.dumps(event, sort_keys=True, ensure_ascii=False).encode()
    return "sha256:" + hashlib.sha256(canonical).hexdigest()[:57]


def chat_of(event: dict[str, Any]) -> tuple[str, str]:
    source = event.get("source") if isinstance(event.get("source"), dict) else {}
    source_type = str(source.get("type") or "")
    chat = source.get("groupId") or source.get("roomId") or source.get("userId") or ""
    return source_type, str(chat)[:64]


def _without_nul(event: dict[str, Any]) -> dict[str, Any]:
    """PostgreSQL text cannot hold NUL; LINE never sends one, a forged body might."""
    dumped = json.dumps(event, ensure_ascii=False)
    return json.loads(dumped.replace("\\u0000", "")) if "\\u0000" in dumped else event


def _plausible_timestamp(value: object) -> bool:
    """Milliseconds since 1970 that fit the column (a forged 2**63 would otherwise break the insert)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**53


def refusal(event: dict[str, Any], now: datetime) -> str | None:
    """Why an event (signed, so from LINE or a replay of LINE's) is not to be stored, or None."""
    source = event.get("source")
    if source is not None and not isinstance(source, dict):
        return "malformed source"
    for key, pattern in SOURCE_IDS.items():
        if isinstance(source, dict) and key in source:
            value = source[key]
            if not isinstance(value, str) or not pattern.fullmatch(value):
                return "malformed id"
    timestamp = event.get("timestamp")
    if _plausible_timestamp(timestamp) and timestamp < (now - MAX_EVENT_AGE).timestamp() * 1000:
        return "too old"
    return None


def store_events(session: Session, events: list[dict[str, Any]], now: datetime) -> int:
    """Insert events once each (a redelivery or a repeated POST is a no-op). Returns rows added.
    Events refused by `refusal` are left out (the caller counts them)."""
    added = 0
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for event in events:
        if refusal(event, now) is not None:
            continue
        event = _without_nul(event)
        source_type, chat_id = chat_of(event)
        timestamp = event.get("timestamp")
        delivery = event.get("deliveryContext") if isinstance(event.get("deliveryContext"), dict) else {}
        row = {
            "webhook_event_id": event_key(event),
            "event_type": str(event.get("type") or "unknown")[:40],
            "mode": str(event.get("mode") or "active")[:16],
            "source_type": source_type[:16],
            "chat_id": chat_id,
            "event_ts": timestamp if _plausible_timestamp(timestamp) else 0,
            "is_redelivery": bool(delivery.get("isRedelivery")),
            "payload": event,
            "received_at": now,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
        }
        stmt = insert(InboxEvent).values(**row).on_conflict_do_nothing(index_elements=["webhook_event_id"])
        added += session.execute(stmt).rowcount or 0
    return added


def due_events(session: Session, now: datetime, limit: int = 100) -> list[InboxEvent]:
    """Pending events, oldest first; a chat whose earliest event is waiting blocks its later ones."""
    # Waiting chats are left out in SQL, so that a busy chat in backoff cannot fill the window and
    # starve the others (only a chat's first pending event is ever retried).
    waiting = select(InboxEvent.chat_id).where(InboxEvent.status == PENDING, InboxEvent.next_attempt_at > now)
    stmt = (
        select(InboxEvent)
        .where(InboxEvent.status == PENDING, InboxEvent.chat_id.not_in(waiting))
        .order_by(InboxEvent.event_ts, InboxEvent.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def mark_processed(row: InboxEvent, now: datetime, status: str = DONE) -> None:
    row.status = status
    row.processed_at = now
    row.error = None


def record_failure(row: InboxEvent, now: datetime, error: str) -> bool:
    """Count a failed attempt; returns True when the event has given up (status failed)."""
    row.attempts += 1
    row.error = error[:500]
    if row.attempts >= MAX_ATTEMPTS:
        row.status = FAILED
        row.processed_at = now
        return True
    row.next_attempt_at = now + timedelta(seconds=2 ** row.attempts)
    return False
