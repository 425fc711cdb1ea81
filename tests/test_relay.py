"""The outbox relay: reply while fresh, push with a fixed retry key, retry what LINE may accept."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.line_api import LineApi
from bot.relay import relay_once
from handlers.messages import text
from models import outbox
from models.base import utcnow
from models.outbox import OutboxMessage
from tests.conftest import ACCESS_TOKEN, MALEE


def _queue(db, now, **kw) -> int:
    with db.transaction() as session:
        [row] = outbox.enqueue(session, MALEE, [text("ทดสอบ")], now, **kw)
        session.flush()
        return row.id


def _row(db, row_id) -> OutboxMessage:
    with db.transaction() as session:
        return session.get(OutboxMessage, row_id)


def _pushes(line):
    return [r for r in line.requests if r.path == "/v2/bot/message/push"]


def test_push_retried_after_500s_is_delivered_once_with_the_same_retry_key(db, line):
    api = LineApi(line.base_url, ACCESS_TOKEN, timeout=2)
    start = utcnow()
    row_id = _queue(db, start)
    line.fail_next(2, status=500)
    for minutes in (0, 1, 2):
        relay_once(db, api, now=lambda m=minutes: start + timedelta(minutes=m))
    keys = [r.headers.get("x-line-retry-key") for r in _pushes(line)]
    assert len(keys) == 3 and len(set(keys)) == 1
    assert keys[0] == _row(db, row_id).retry_key
    assert len(line.sent) == 1
    assert _row(db, row_id).status == outbox.SENT


def test_409_counts_as_sent_and_is_not_resent(db, line):
    api = LineApi(line.base_url, ACCESS_TOKEN, timeout=2)
    now = utcnow()
    row_id = _queue(db, now)
    key = _row(db, row_id).retry_key
    # The platform already accepted this key (e.g. our answer was lost on the way back).
    api.push(MALEE, [text("ทดสอบ")], key)
    relay_once(db, api, now=lambda: now)
    row = _row(db, row_id)
    assert row.status == outbox.SENT and row.last_status == 409
    relay_once(db, api, now=lambda: now + timedelta(minutes=5))
    assert len(_pushes(line)) == 2
    assert len(line.sent) == 1


def test_429_and_timeouts_are_retried_with_backoff(db, line):
    api = LineApi(line.base_url, ACCESS_TOKEN, timeout=0.3)
    start = utcnow()
    row_id = _queue(db, start)
    line.fail_next(1, status=429)
    relay_once(db, api, now=lambda: start)
    row = _row(db, row_id)
    assert row.status == outbox.PENDING and row.attempts == 1 and row.next_attempt_at > start
    relay_once(db, api, now=lambda: start)  # not due yet: nothing sent
    assert len(_pushes(line)) == 1
    line.set_delay(1.0)
    relay_once(db, api, now=lambda: start + timedelta(minutes=1))
    line.set_delay(0)
    assert _row(db, row_id).status == outbox.PENDING  # timed out: unknown, so retried
    relay_once(db, api, now=lambda: start + timedelta(minutes=10))
    assert _row(db, row_id).status == outbox.SENT
    assert len(line.accepted_retry_keys()) == 1  # the slow one was accepted; the retry got 409


def test_other_4xx_stops_and_is_kept_for_the_admin(db, line):
    api = LineApi(line.base_url, ACCESS_TOKEN, timeout=2)
    now = utcnow()
    line.fail_next(1, status=403)
    row_id = _queue(db, now)
    relay_once(db, api, now=lambda: now)
    row = _row(db, row_id)
    assert row.status == outbox.DEAD and row.last_status == 403
    relay_once(db, api, now=lambda: now + timedelta(hours=1))
    assert len(line.sent) == 0


def test_fresh_reply_token_is_used_and_push_is_not(db, line):
    api = LineApi(line.base_url, ACCESS_TOKEN, timeout=2)
    now = utcnow()
    token = line.issue_reply_token(MALEE)
    row_id = _queue(db, now, reply_token=token, reply_expires_at=now + timedelta(seconds=50))
    relay_once(db, api, now=lambda: now)
    assert _row(db, row_id).sent_via == "reply"
    assert [s.kind for s in line.sent] == ["reply"]
    assert line.push_count == 0


def test_stale_reply_token_falls_back_to_push(db, line):
    api = LineApi(line.base_url, ACCESS_TOKEN, timeout=2)
    now = utcnow()
    token = line.issue_reply_token(MALEE)
    row_id = _queue(db, now, reply_token=token, reply_expires_at=now + timedelta(seconds=50))
    relay_once(db, api, now=lambda: now + timedelta(minutes=2))
    assert _row(db, row_id).sent_via == "push"
    assert [s.kind for s in line.sent] == ["push"]


def test_reply_token_rejected_by_line_falls_back_to_push(db, line):
    api = LineApi(line.base_url, ACCESS_TOKEN, timeout=2)
    now = utcnow()
    token = line.issue_reply_token(MALEE)
    line.expire_reply_token(token)
    row_id = _queue(db, now, reply_token=token, reply_expires_at=now + timedelta(seconds=50))
    relay_once(db, api, now=lambda: now)
    assert _row(db, row_id).sent_via == "push"
    assert len(line.sent) == 1


def test_reply_interrupted_after_delivery_is_not_sent_twice(db, line):
    """A crash after LINE took the reply: the token is now used, which proves delivery."""
    api = LineApi(line.base_url, ACCESS_TOKEN, timeout=2)
    now = utcnow()
    token = line.issue_reply_token(MALEE)
    row_id = _queue(db, now, reply_token=token, reply_expires_at=now + timedelta(seconds=50))
    api.reply(token, [text("ทดสอบ")])  # delivered, but the worker died before recording it
    with db.transaction() as session:
        session.get(OutboxMessage, row_id).reply_attempted_at = now
    relay_once(db, api, now=lambda: now + timedelta(seconds=5))
    assert _row(db, row_id).status == outbox.SENT
    assert len(line.sent) == 1


def test_more_than_five_messages_are_split_into_calls_of_five(db, line):
    api = LineApi(line.base_url, ACCESS_TOKEN, timeout=2)
    now = utcnow()
    with db.transaction() as session:
        rows = outbox.enqueue(session, MALEE, [text(f"ข้อ {i}") for i in range(7)], now)
    assert [len(r.messages) for r in rows] == [5, 2]
    relay_once(db, api, now=lambda: now)
    assert [len(s.messages) for s in line.sent] == [5, 2]


def test_a_chat_waiting_for_a_retry_holds_back_its_later_messages(db, line):
    api = LineApi(line.base_url, ACCESS_TOKEN, timeout=2)
    start = utcnow()
    first = _queue(db, start)
    second = _queue(db, start)
    line.fail_next(1, status=500)
    relay_once(db, api, now=lambda: start)
    assert _row(db, first).status == outbox.PENDING
    assert _row(db, second).status == outbox.PENDING  # not sent ahead of the first
    relay_once(db, api, now=lambda: start + timedelta(seconds=1))  # the first is not due yet
    assert _row(db, second).status == outbox.PENDING
    relay_once(db, api, now=lambda: start + timedelta(minutes=1))
    assert [s.retry_key for s in line.sent] == [_row(db, first).retry_key, _row(db, second).retry_key]


def test_a_reply_whose_answer_was_lost_is_retried_as_a_reply_and_not_pushed(db, line):
    """LINE took the reply but the answer timed out: the retry finds the token used, so it was sent."""
    api = LineApi(line.base_url, ACCESS_TOKEN, timeout=0.3)
    now = utcnow()
    token = line.issue_reply_token(MALEE)
    row_id = _queue(db, now, reply_token=token, reply_expires_at=now + timedelta(seconds=50))
    line.set_delay(1.0, path_prefix="/v2/bot/message/reply")
    relay_once(db, api, now=lambda: now)
    line.set_delay(0, path_prefix="/v2/bot/message/reply")
    assert _row(db, row_id).status == outbox.PENDING
    assert _pushes(line) == []
    relay_once(db, api, now=lambda: now + timedelta(seconds=5))
    row = _row(db, row_id)
    assert row.status == outbox.SENT and row.sent_via == "reply"
    assert len(line.sent) == 1 and _pushes(line) == []


def test_a_reply_refused_with_500_is_retried_and_delivered_once(db, line):
    api = LineApi(line.base_url, ACCESS_TOKEN, timeout=2)
    now = utcnow()
    token = line.issue_reply_token(MALEE)
    row_id = _queue(db, now, reply_token=token, reply_expires_at=now + timedelta(seconds=50))
    line.fail_next(1, status=500, path_prefix="/v2/bot/message/reply")
    relay_once(db, api, now=lambda: now)
    relay_once(db, api, now=lambda: now + timedelta(seconds=5))
    assert _row(db, row_id).sent_via == "reply"
    assert [s.kind for s in line.sent] == ["reply"]


def test_a_busy_chat_waiting_for_a_retry_does_not_hold_up_other_chats(db, line):
    """Hundreds of rows of one chat in backoff used to fill the relay's window: nobody else was served."""
    from models import inbox

    busy, other = "U" + "b" * 32, MALEE
    now = utcnow()
    with db.transaction() as session:
        rows = [r for i in range(501) for r in outbox.enqueue(session, busy, [text(f"{i}")], now)]
        session.flush()
        outbox.schedule_retry(rows[0], now, 500, "server error")  # the head waits
        outbox.enqueue(session, other, [text("ถึงคนอื่น")], now)
        events = [line.make_event("text", busy, text=f"{i}") for i in range(150)]
        events.append(line.make_event("text", other, text="สวัสดี"))
        inbox.store_events(session, events, now)
    with db.transaction() as session:
        head = session.scalars(select(inbox.InboxEvent).where(inbox.InboxEvent.chat_id == busy)
                               .order_by(inbox.InboxEvent.event_ts, inbox.InboxEvent.id)).first()
        inbox.record_failure(head, now, "boom")
    with db.transaction() as session:
        assert [m.to_id for m in outbox.due_messages(session, now)] == [other]
        assert [e.chat_id for e in inbox.due_events(session, now)] == [other]


def test_a_resent_row_gets_a_new_day_of_retries(db):
    """An admin's resend restarts the give-up clock: one temporary failure must not kill it again."""
    long_ago = utcnow() - timedelta(days=3)
    with db.transaction() as session:
        (row,) = outbox.enqueue(session, MALEE, [text("เก่า")], long_ago)
        row.status = outbox.DEAD
        session.flush()
        assert outbox.resend(session, row.id, utcnow())
        session.refresh(row)
        outbox.schedule_retry(row, utcnow(), 500, "server error")
        assert row.status == outbox.PENDING and row.resent_at is not None
