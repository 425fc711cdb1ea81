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


# LINE as it really behaves (issue 13) -------------------------------------------------------------

GROUP = "C" + "1" * 32


def test_a_push_refused_for_the_monthly_limit_is_not_retried_and_alerts_the_admin(db, line):
    """LINE's 429 "You have reached your monthly limit" lasts until next month: kept for the admin at
    once (not retried for a day), and the month is marked as exhausted for the quota page."""
    from models import message_quota

    api = LineApi(line.base_url, ACCESS_TOKEN, timeout=2)
    now = utcnow()
    line.set_quota(0)
    row_id = _queue(db, now)
    relay_once(db, api, now=lambda: now)
    row = _row(db, row_id)
    assert row.status == outbox.DEAD and row.last_status == 429 and "monthly limit" in row.last_error
    relay_once(db, api, now=lambda: now + timedelta(hours=1))
    assert len(_pushes(line)) == 1
    with db.transaction() as session:
        assert message_quota.exhausted_since(session, now) == now


def test_a_rate_limited_push_is_still_retried(db, line):
    api = LineApi(line.base_url, ACCESS_TOKEN, timeout=2)
    now = utcnow()
    row_id = _queue(db, now)
    line.fail_next(1, status=429)  # "Too many requests": per-request rate limit
    relay_once(db, api, now=lambda: now)
    assert _row(db, row_id).status == outbox.PENDING
    relay_once(db, api, now=lambda: now + timedelta(minutes=1))
    assert _row(db, row_id).status == outbox.SENT


def test_a_push_waiting_for_a_retry_does_not_hold_back_a_fresh_reply(db, line):
    """The user's free answer goes out while its token is fresh, whatever waits before it."""
    api = LineApi(line.base_url, ACCESS_TOKEN, timeout=2)
    now = utcnow()
    waiting = _queue(db, now)
    line.fail_next(1, status=500, path_prefix="/v2/bot/message/push")
    relay_once(db, api, now=lambda: now)
    assert _row(db, waiting).status == outbox.PENDING
    token = line.issue_reply_token(MALEE)
    reply = _queue(db, now, reply_token=token, reply_expires_at=now + timedelta(seconds=50))
    relay_once(db, api, now=lambda: now + timedelta(seconds=1))  # the push is not due yet
    row = _row(db, reply)
    assert row.status == outbox.SENT and row.sent_via == "reply"
    assert _row(db, waiting).status == outbox.PENDING
    relay_once(db, api, now=lambda: now + timedelta(minutes=1))
    assert _row(db, waiting).status == outbox.SENT


def test_with_the_quota_used_up_the_next_answer_still_goes_out_as_a_free_reply(client, line, db, worker):
    from tests.conftest import say

    line.set_quota(0)
    with db.transaction() as session:
        (row,) = outbox.enqueue(session, MALEE, [text("แจ้งเตือน")], utcnow())
    worker.relay_outbox()
    answer = say(client, line, worker, MALEE, "เมนู")
    assert answer and [s.kind for s in line.sent] == ["reply"]
    assert _row(db, row.id).status == outbox.DEAD


def _closed_port_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_a_reply_that_never_reached_line_is_not_taken_as_delivered_when_its_token_is_refused(db, line):
    """The first attempt could not connect, so LINE never saw it: a refused token later means the token
    expired (LINE's clock), not that we used it. The message is pushed, not recorded as delivered."""
    unreachable = LineApi(_closed_port_url(), ACCESS_TOKEN, timeout=2)
    api = LineApi(line.base_url, ACCESS_TOKEN, timeout=2)
    now = utcnow()
    token = line.issue_reply_token(MALEE)
    row_id = _queue(db, now, reply_token=token, reply_expires_at=now + timedelta(seconds=50))
    relay_once(db, unreachable, now=lambda: now)
    row = _row(db, row_id)
    assert row.status == outbox.PENDING and row.reply_attempted_at is None
    line.expire_reply_token(token)
    relay_once(db, api, now=lambda: now + timedelta(seconds=5))
    row = _row(db, row_id)
    assert row.status == outbox.SENT and row.sent_via == "push"
    assert [s.kind for s in line.sent] == ["push"]


def test_a_reply_that_reached_line_and_lost_its_answer_is_taken_as_delivered(db, line):
    api = LineApi(line.base_url, ACCESS_TOKEN, timeout=2)
    now = utcnow()
    token = line.issue_reply_token(MALEE)
    row_id = _queue(db, now, reply_token=token, reply_expires_at=now + timedelta(seconds=50))
    line.set_failure_rate(1.0, 500, "/v2/bot/message/reply", after_accept=1.0)  # taken, answer lost
    relay_once(db, api, now=lambda: now)
    line.set_failure_rate(0)
    assert _row(db, row_id).reply_reached_at is not None
    relay_once(db, api, now=lambda: now + timedelta(seconds=5))
    row = _row(db, row_id)
    assert row.status == outbox.SENT and row.sent_via == "reply"
    assert [s.kind for s in line.sent] == ["reply"]


def test_a_push_into_a_group_is_charged_per_member(app, db, line, worker):
    """LINE's pricing: a push to a five-person chat counts five messages. The fake charges so, and the
    outbox records the same charge once the worker knows the group's size."""
    members = [f"U{i:032x}" for i in range(1, 6)]
    line.add_members(GROUP, *members)
    with db.transaction() as session:
        from models import groups

        groups.joined(session, GROUP, utcnow())
    worker.check_quota()  # reads the quota and the size of every group the bot is in
    with db.transaction() as session:
        assert groups.member_count(session, GROUP) == 5
        (row,) = outbox.enqueue(session, GROUP, [text("ถึงกลุ่ม")], utcnow())
    worker.relay_outbox()
    assert line.push_count == 5
    assert _row(db, row.id).charged == 5


def test_group_pushes_count_in_the_estimate_and_bring_the_warning_forward(app, db, line, worker):
    """At 70 of 100 in the morning reading, three pushes into a five-person group make 85: past the 80 %
    warning, so the worker asks LINE again at once (not tomorrow) and the admins are warned today."""
    from handlers import texts
    from models import groups, message_quota
    from tests.conftest import DIRECTOR, KANDA

    line.set_quota(100)
    line.add_members(GROUP, *[f"U{i:032x}" for i in range(1, 6)])
    with db.transaction() as session:
        groups.joined(session, GROUP, utcnow())
    for i in range(70):
        line.state.deliver("push", [f"U{i + 100:032x}"], [text("ก่อนหน้า")], None, f"r{i}")
    assert worker.check_quota() is False  # 70 %: no warning
    for i in range(3):
        with db.transaction() as session:
            outbox.enqueue(session, GROUP, [text(f"งาน {i}")], utcnow())
        worker.relay_outbox()
    with db.transaction() as session:
        assert message_quota.estimate(session, utcnow()) == (100, 85)
    assert worker.check_quota() is True
    worker.relay_outbox()
    warnings = [m for admin in (KANDA, DIRECTOR) for m in line.messages_to(admin)
                if m.get("text", "").startswith(texts.QUOTA_WARNING.split("{")[0])]
    assert warnings


def test_pushes_to_one_chat_in_one_transaction_go_in_one_call(app, db, line, worker):
    """Two cards for the IT group from one event are one push (one charge per member), not two."""
    from handlers.context import Context
    from handlers.messages import text as message

    with app.app_context(), db.transaction() as session:
        ctx = Context.for_job(session, utcnow(), worker_settings(app))
        ctx.push(GROUP, message("งานที่ 1"))
        ctx.push(MALEE, message("ถึงคุณ"))
        ctx.push(GROUP, message("งานที่ 2"))
        ctx.flush()
    worker.relay_outbox()
    calls = [r.json["to"] for r in _pushes(line)]
    assert sorted(calls) == sorted([GROUP, MALEE])
    assert [m["text"] for m in line.messages_to(GROUP)] == ["งานที่ 1", "งานที่ 2"]


def worker_settings(app):
    from bot.worker import handler_settings

    return handler_settings(app)
