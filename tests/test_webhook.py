"""POST /callback: signature, storage before the 200, exactly-once effects."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import uuid

import pytest
from sqlalchemy import func, select

from models.inbox import InboxEvent
from models.outbox import OutboxMessage
from tests.conftest import CHANNEL_SECRET, MALEE, load_fixture_events, post_events


def _sign(body: bytes, secret: str = CHANNEL_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _count(db, model) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_valid_signature_is_accepted_and_event_stored(client, line, db):
    resp = post_events(client, line, [line.make_event("text", MALEE, text="สวัสดี")])
    assert resp.status_code == 200
    assert _count(db, InboxEvent) == 1


def test_missing_signature_is_rejected_and_nothing_stored(client, line, db):
    body, _ = line.sign_events([line.make_event("text", MALEE, text="x")])
    resp = client.post("/callback", data=body, content_type="application/json")
    assert resp.status_code == 400
    assert _count(db, InboxEvent) == 0


def test_forged_signature_is_rejected(client, line, db):
    body, _ = line.sign_events([line.make_event("text", MALEE, text="x")])
    resp = client.post("/callback", data=body, headers={"X-Line-Signature": _sign(body, "other-secret")})
    assert resp.status_code == 400
    assert _count(db, InboxEvent) == 0


def test_reordered_json_body_is_rejected(client, line, db):
    """The signature covers the exact bytes: the same JSON re-serialised does not verify."""
    body, signature = line.sign_events([line.make_event("text", MALEE, text="x")])
    reordered = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    assert reordered != body
    resp = client.post("/callback", data=reordered, headers={"X-Line-Signature": signature})
    assert resp.status_code == 400
    assert _count(db, InboxEvent) == 0


def test_empty_events_answer_200(client):
    body = b'{"destination":"U0000000000000000000000000000000a","events":[]}'
    resp = client.post("/callback", data=body, headers={"X-Line-Signature": _sign(body)})
    assert resp.status_code == 200


def test_signed_non_json_body_is_400(client, db):
    body = b"not json at all"
    assert client.post("/callback", data=body, headers={"X-Line-Signature": _sign(body)}).status_code == 400
    assert _count(db, InboxEvent) == 0


def test_oversized_body_is_refused(client, db):
    body = b'{"events":[],"pad":"' + b"x" * (2 * 1024 * 1024) + b'"}'
    resp = client.post("/callback", data=body, headers={"X-Line-Signature": _sign(body)})
    assert resp.status_code == 413
    assert _count(db, InboxEvent) == 0


@pytest.mark.parametrize("redelivery", [False, True])
def test_same_event_delivered_100_times_gives_one_row_and_one_reply(client, line, db, worker, redelivery):
    event = line.make_event("text", MALEE, text="เมนู")
    for attempt in range(100):
        copy = json.loads(json.dumps(event))
        copy["deliveryContext"]["isRedelivery"] = redelivery and attempt > 0
        assert post_events(client, line, [copy]).status_code == 200
        if attempt % 25 == 0:
            worker.tick()
    worker.tick()
    assert _count(db, InboxEvent) == 1
    assert _count(db, OutboxMessage) == 1
    assert len([s for s in line.sent if s.to == MALEE]) == 1


def test_standby_event_is_stored_but_not_answered(client, line, db, worker):
    post_events(client, line, [line.make_event("text", MALEE, text="เมนู", mode="standby")])
    worker.tick()
    assert _count(db, InboxEvent) == 1
    assert line.messages_to(MALEE) == []
    with db.transaction() as session:
        assert session.scalar(select(InboxEvent.status)) == "ignored"


def test_every_sample_event_from_line_is_handled_without_error(client, line, db, worker, caplog):
    events = load_fixture_events()
    assert len(events) == 28
    caplog.set_level(logging.WARNING)
    for event in events:
        # The samples share one placeholder id; LINE gives every real event its own.
        event = dict(event, webhookEventId=uuid.uuid4().hex)
        assert post_events(client, line, [event]).status_code == 200
    worker.tick()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []
    with db.transaction() as session:
        statuses = session.scalars(select(InboxEvent.status)).all()
    assert len(statuses) == 28
    assert set(statuses) <= {"done", "ignored"}


def test_database_down_answers_503_so_line_retries(client, line, app, monkeypatch):
    from sqlalchemy.exc import OperationalError

    import bot.webhook

    def broken(*_a, **_k):
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(bot.webhook, "store_events", broken)
    resp = post_events(client, line, [line.make_event("text", MALEE, text="x")])
    assert resp.status_code == 503


def test_a_late_redelivery_is_answered_by_push_not_with_its_stale_reply_token(client, line, db, worker):
    """A redelivered event's token was issued when the event happened, not when it reached us."""
    import time

    event = line.make_event("text", MALEE, text="เมนู")
    event["timestamp"] = int((time.time() - 120) * 1000)  # happened two minutes ago
    event["deliveryContext"]["isRedelivery"] = True
    assert post_events(client, line, [event]).status_code == 200
    worker.tick()
    with db.transaction() as session:
        row = session.scalar(select(OutboxMessage))
        assert row.sent_via == "push" and row.reply_attempted_at is None
