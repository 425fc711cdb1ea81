"""The worker's inbox side: order per chat, failures retried, then given up with an apology."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import select

import handlers.dispatch
from bot.inbox_processor import process_once
from bot.worker import handler_settings
from handlers import texts
from models.inbox import MAX_ATTEMPTS, InboxEvent
from tests.conftest import MALEE, post_events


def test_events_of_one_chat_are_handled_in_timestamp_order(app, client, line, db, monkeypatch):
    seen: list[str] = []
    monkeypatch.setattr(handlers.dispatch, "_converse", lambda ctx: seen.append(ctx.text))
    late = line.make_event("text", MALEE, text="สอง", timestamp=2_000)
    early = line.make_event("text", MALEE, text="หนึ่ง", timestamp=1_000)
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
    post_events(client, line, [line.make_event("text", MALEE, text="ข้อความลับ", timestamp=1_000)])
    post_events(client, line, [line.make_event("text", MALEE, text="ต่อมา", timestamp=2_000)])
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
