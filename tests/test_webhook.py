"""POST /callback: signature, storage before the 200, exactly-once effects."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import time
import uuid
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from models.base import utcnow
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


def _as_delivered_now(event: dict) -> dict:
    """A sample as LINE would send it today: its own event id, a current timestamp, and full-length ids
    where the documentation abbreviates them ("C4af4980629...")."""
    source = dict(event.get("source", {}))
    for key, prefix in (("userId", "U"), ("groupId", "C"), ("roomId", "R")):
        if key in source and not re.fullmatch(rf"{prefix}[0-9a-f]{{32}}", source[key]):
            source[key] = prefix + hashlib.md5(source[key].encode()).hexdigest()
    return dict(event, webhookEventId=uuid.uuid4().hex, timestamp=int(time.time() * 1000), source=source)


def test_every_sample_event_from_line_is_handled_without_error(client, line, db, worker, caplog):
    events = load_fixture_events()
    assert len(events) == 28
    caplog.set_level(logging.WARNING)
    for event in events:
        assert post_events(client, line, [_as_delivered_now(event)]).status_code == 200
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


def test_a_redelivered_event_is_answered_by_reply_while_line_still_takes_its_token(client, line, db, worker):
    """LINE: a redelivered event's reply token works for a minute from the redelivery (unused, and not
    more than 20 minutes after the original event). Two minutes late is still a free reply."""
    event = line.redelivery(line.make_event("text", MALEE, text="เมนู"), original_age=120)
    assert post_events(client, line, [event]).status_code == 200
    worker.tick()
    with db.transaction() as session:
        row = session.scalar(select(OutboxMessage))
        assert row.status == "sent" and row.sent_via == "reply"
    assert line.push_count == 0


def test_a_redelivery_more_than_20_minutes_late_is_pushed_without_trying_its_token(client, line, db, worker):
    event = line.redelivery(line.make_event("text", MALEE, text="เมนู"), original_age=25 * 60)
    assert post_events(client, line, [event]).status_code == 200
    worker.tick()
    with db.transaction() as session:
        row = session.scalar(select(OutboxMessage))
        assert row.sent_via == "push" and row.reply_attempted_at is None
    assert not [r for r in line.requests if r.path == "/v2/bot/message/reply"]


def test_a_late_first_delivery_does_not_trust_its_token_beyond_the_events_age(client, line, db, worker):
    """Not a redelivery, but delayed: the token is as old as the event, so no reply is tried."""
    event = line.make_event("text", MALEE, text="เมนู")
    event["timestamp"] = int((time.time() - 120) * 1000)
    assert post_events(client, line, [event]).status_code == 200
    worker.tick()
    with db.transaction() as session:
        row = session.scalar(select(OutboxMessage))
        assert row.sent_via == "push" and row.reply_attempted_at is None


@pytest.mark.parametrize("source", [
    {"type": "user", "userId": "U" + "a" * 80},  # 81 characters
    {"type": "user", "userId": ["U" + "a" * 32]},  # a list
    {"type": "user", "userId": "U" + "A" * 32},  # upper-case hex
    {"type": "group", "groupId": "U" + "a" * 32, "userId": MALEE},  # a user id where a group id belongs
    {"type": "room", "roomId": "R123"},
    "U" + "a" * 32,  # not an object
])
def test_an_event_with_a_malformed_id_is_refused_at_the_door_and_the_rest_are_kept(client, line, db, worker,
                                                                                  source):
    bad = dict(line.make_event("text", MALEE, text="สวัสดี"), source=source)
    good = line.make_event("text", MALEE, text="เมนู")
    assert post_events(client, line, [bad, good]).status_code == 200
    worker.tick()
    with db.transaction() as session:
        rows = session.scalars(select(InboxEvent)).all()
    assert [r.webhook_event_id for r in rows] == [good["webhookEventId"]]
    assert rows[0].status == "done" and line.messages_to(MALEE)


def test_a_signed_body_replayed_after_the_purge_is_not_handled_again(client, line, db, worker):
    """Event ids are kept 90 days and events older than MAX_EVENT_AGE are refused, so a captured body
    replayed after its row was purged does nothing."""
    body, signed = line.sign_events([line.make_event("text", MALEE, text="เมนู")])
    headers = {"X-Line-Signature": signed, "Content-Type": "application/json"}
    assert client.post("/callback", data=body, headers=headers).status_code == 200
    worker.tick()
    answered = len(line.messages_to(MALEE))
    assert answered > 0
    with time_machine.travel(utcnow() + timedelta(days=91), tick=False):
        worker.purge_personal_data()
        assert _count(db, InboxEvent) == 0
        assert client.post("/callback", data=body, headers=headers).status_code == 200
        worker.tick()
    assert _count(db, InboxEvent) == 0
    assert len(line.messages_to(MALEE)) == answered


def test_event_ids_are_kept_longer_than_events_are_accepted():
    from models.inbox import MAX_EVENT_AGE
    from models.privacy import TRAFFIC_LOG_MINIMUM

    assert TRAFFIC_LOG_MINIMUM > MAX_EVENT_AGE
