"""The worker's inbox side: order per chat, failures retried, then given up with an apology."""

from __future__ import annotations

import time
from datetime import timedelta

import time_machine
from sqlalchemy import select

import handlers.dispatch
from bot.inbox_processor import process_once
from bot.worker import handler_settings
from handlers import texts
from models.inbox import MAX_ATTEMPTS, InboxEvent
from models.outbox import OutboxMessage
from tests.conftest import MALEE, post_events

T0 = int(time.time() * 1000)  # event timestamps a few seconds apart, as LINE stamps them (old ones are refused)


def test_events_of_one_chat_are_handled_in_timestamp_order(app, client, line, db, monkeypatch):
    seen: list[str] = []
    monkeypatch.setattr(handlers.dispatch, "_converse", lambda ctx: seen.append(ctx.text))
    late = line.make_event("text", MALEE, text="สอง", timestamp=T0 + 2_000)
    early = line.make_event("text", MALEE, text="หนึ่ง", timestamp=T0 + 1_000)
    post_events(client, line, [late])
    post_events(client, line, [early])
    process_once(db, handler_settings(app))
    assert seen == ["หนึ่ง", "สอง"]


def test_a_failing_event_is_retried_then_given_up_with_an_apology(app, client, line, db, worker, monkeypatch):
    calls: list[int] = []

    def broken(ctx):
        calls.append(1)
        raise RuntimeError(f"boom while reading {ctx.text}")

    monkeypatch.setattr(handlers.dispatch, "_converse", broken)
    post_events(client, line, [line.make_event("text", MALEE, text="ข้อความลับ", timestamp=T0 + 1_000)])
    post_events(client, line, [line.make_event("text", MALEE, text="ต่อมา", timestamp=T0 + 2_000)])
    for minute in range(2 * MAX_ATTEMPTS):
        with time_machine.travel(timedelta(minutes=minute)):
            worker.tick()
    with db.transaction() as session:
        rows = session.scalars(select(InboxEvent).order_by(InboxEvent.event_ts)).all()
    assert rows[0].status == "failed" and rows[0].attempts == MAX_ATTEMPTS
    assert "ข้อความลับ" not in rows[0].error and "RuntimeError" in rows[0].error
    assert rows[1].status == "failed"  # processed after the first gave up, in order
    assert texts.SYSTEM_ERROR in [m["text"] for m in line.messages_to(MALEE)]
    assert len(calls) == 2 * MAX_ATTEMPTS


def test_the_log_carries_no_message_text_or_line_ids(app, client, line, worker, caplog, monkeypatch):
    import logging

    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(handlers.dispatch, "_converse", lambda ctx: 1 / 0)
    post_events(client, line, [line.make_event("text", MALEE, text="รหัสผ่านคือ hunter2")])
    worker.tick()
    assert MALEE not in caplog.text
    assert "hunter2" not in caplog.text


def _store_unchecked(db, event) -> None:
    """An event stored as an earlier version of the webhook would have (before ids were checked)."""
    from models.base import utcnow
    from models.inbox import chat_of, event_key

    with db.transaction() as session:
        source_type, chat = chat_of(event)
        session.add(InboxEvent(webhook_event_id=event_key(event), event_type="message", source_type=source_type,
                               chat_id=chat, event_ts=event["timestamp"], payload=event, received_at=utcnow(),
                               next_attempt_at=utcnow()))


def test_a_poisoned_event_is_given_up_and_does_not_stop_the_worker(app, client, line, db, worker, caplog):
    """An id that fails every statement: the give-up is recorded in its own transaction, no notice is
    addressed to that id, and the other chats go on being answered."""
    import logging

    caplog.set_level(logging.INFO)
    poisoned = line.make_event("text", MALEE, text="สวัสดี", timestamp=T0 + 1_000)
    # What breaks each database: a list on SQLite, an id longer than its column on PostgreSQL.
    bad_id = ["U" + "a" * 32] if db.engine.dialect.name == "sqlite" else "U" + "a" * 80
    poisoned["source"] = {"type": "user", "userId": bad_id}
    _store_unchecked(db, poisoned)
    post_events(client, line, [line.make_event("text", MALEE, text="เมนู", timestamp=T0 + 2_000)])
    for minute in range(3 * MAX_ATTEMPTS):
        with time_machine.travel(timedelta(minutes=minute)):
            worker.tick()
    with db.transaction() as session:
        rows = session.scalars(select(InboxEvent).order_by(InboxEvent.event_ts)).all()
        notices = session.scalars(select(OutboxMessage).where(OutboxMessage.inbox_event_id == rows[0].id)).all()
    assert rows[0].status == "failed" and rows[0].attempts == MAX_ATTEMPTS
    assert notices == []
    assert rows[1].status == "done" and line.messages_to(MALEE)
    assert "could not be recorded" not in caplog.text


def test_database_errors_carry_no_statement_parameters(db):
    """hide_parameters: a failed statement's exception text (and so a logged traceback) never shows the
    values bound to it: message text, tokens, LINE ids."""
    from sqlalchemy import text as sql
    from sqlalchemy.exc import SQLAlchemyError

    secret = "รหัสผ่าน hunter2 " + MALEE
    try:
        with db.transaction() as session:
            session.execute(sql("INSERT INTO no_such_table (x) VALUES (:x)"), {"x": secret})
    except SQLAlchemyError as exc:
        assert "hunter2" not in str(exc) and MALEE not in str(exc)
    else:
        raise AssertionError("the statement should have failed")
