"""The fake LINE platform refuses what LINE refuses, so a green suite means LINE would accept us."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from bot.fake_line import FakeLine
from bot.fake_line.events import KINDS
from bot.fake_line.spec import grapheme_length, validate_webhook_body
from handlers.postback import encode
from tests.conftest import ACCESS_TOKEN, CHANNEL_SECRET, MALEE

PUSH = "/v2/bot/message/push"
REPLY = "/v2/bot/message/reply"


@pytest.fixture
def fake() -> Iterator[FakeLine]:
    """A private platform: these tests break rules on purpose, which the shared `line` forbids."""
    platform = FakeLine(CHANNEL_SECRET, ACCESS_TOKEN)
    platform.start()
    yield platform
    platform.stop()


def _post(fake: FakeLine, path: str, body: dict[str, Any], token: str = ACCESS_TOKEN, timeout: float = 5,
          **headers: str) -> Any:
    return requests.post(fake.base_url + path, json=body, timeout=timeout,
                         headers={"Authorization": f"Bearer {token}", **headers})


def _push(fake: FakeLine, *messages: dict[str, Any], to: str = MALEE, timeout: float = 5, **headers: str) -> Any:
    return _post(fake, PUSH, {"to": to, "messages": list(messages)}, timeout=timeout, **headers)


def _text(body: str = "ทดสอบ", **extra: Any) -> dict[str, Any]:
    return {"type": "text", "text": body, **extra}


def _quick(*actions: dict[str, Any]) -> dict[str, Any]:
    return {"items": [{"type": "action", "action": a} for a in actions]}


def _postback(label: str = "ตกลง", data: str = "a=x") -> dict[str, Any]:
    return {"type": "postback", "label": label, "data": data}


def test_a_valid_push_is_accepted_and_recorded(fake):
    resp = _push(fake, _text(quickReply=_quick(_postback())))
    assert resp.status_code == 200
    assert len(resp.json()["sentMessages"]) == 1
    assert fake.messages_to(MALEE)[0]["text"] == "ทดสอบ"
    assert fake.violations == []
    assert fake.push_count == 1


@pytest.mark.parametrize(
    ("messages", "why"),
    [
        ([_text() for _ in range(6)], "more than 5 messages in one call"),
        ([_text(quickReply=_quick(*[_postback(f"ข้อ {i}") for i in range(14)]))], "14 quick reply items"),
        ([_text(quickReply=_quick(_postback("ป้ายที่ยาวเกินยี่สิบตัวอักษรแน่นอน")))], "label over 20"),
        ([_text(quickReply=_quick(_postback(data="x" * 301)))], "postback data over 300"),
        ([_text("")], "empty text"),
        ([_text("ก" * 5001)], "text over 5000"),
        ([{"type": "text"}], "text missing"),
        ([{"type": "no-such-type", "text": "x"}], "unknown message type"),
        ([{"type": "flex", "altText": "x", "contents": {"type": "bubble", "body": {"type": "box",
          "layout": "sideways", "contents": []}}}], "a Flex box with an unknown layout"),
        ([], "no messages at all"),
    ],
)
def test_requests_line_would_reject_are_refused_and_counted_as_violations(fake, messages, why):
    resp = _push(fake, *messages)
    assert resp.status_code == 400, why
    assert fake.violations, why
    assert fake.sent == []


def test_a_push_to_something_that_is_not_a_chat_id_is_refused(fake):
    assert _push(fake, _text(), to="S021").status_code == 400
    assert fake.violations


def test_wrong_or_missing_token_is_401(fake):
    assert _post(fake, PUSH, {"to": MALEE, "messages": [_text()]}, token="other").status_code == 401
    resp = requests.post(fake.base_url + PUSH, json={"to": MALEE, "messages": [_text()]}, timeout=5)
    assert resp.status_code == 401
    assert len(fake.violations) == 2


def test_unknown_endpoint_is_404(fake):
    assert _post(fake, "/v2/bot/message/shout", {"to": MALEE}).status_code == 404


def test_the_bots_own_postback_encoding_fits_lines_limit(fake):
    data = encode("menu", i="report")
    assert _push(fake, _text(quickReply=_quick(_postback(data=data)))).status_code == 200


def test_thai_labels_count_grapheme_clusters_not_code_points():
    # 20 clusters but 26 code points: LINE accepts it, a naive len() would not.
    label = "ขอสิทธิ์ใช้งานระบบเพิ่ม"
    assert len(label) > 20
    assert grapheme_length(label) <= 20


def test_a_retry_key_is_accepted_once_then_answered_409(fake):
    key = "123e4567-e89b-12d3-a456-426614174000"
    first = _push(fake, _text(), **{"X-Line-Retry-Key": key})
    again = _push(fake, _text(), **{"X-Line-Retry-Key": key})
    assert first.status_code == 200
    assert again.status_code == 409
    assert again.headers["x-line-accepted-request-id"] == first.headers["x-line-request-id"]
    assert fake.accepted_retry_keys() == [key]
    assert len(fake.sent) == 1
    assert fake.push_count == 1


def test_a_reply_token_works_once_and_replies_are_free(fake):
    token = fake.issue_reply_token(MALEE)
    assert _post(fake, REPLY, {"replyToken": token, "messages": [_text()]}).status_code == 200
    second = _post(fake, REPLY, {"replyToken": token, "messages": [_text()]})
    assert second.status_code == 400
    assert "reply token" in second.json()["message"].lower()
    assert fake.push_count == 0
    assert fake.violations == []  # a used token is LINE's normal answer, not a malformed request


def test_faults_fail_the_next_calls_then_clear(fake):
    fake.fail_next(2, status=500)
    assert [_push(fake, _text()).status_code for _ in range(3)] == [500, 500, 200]
    fake.fail_next(1, status=429)
    assert _push(fake, _text()).status_code == 429
    fake.set_down(True)
    assert _push(fake, _text()).status_code == 503
    fake.set_down(False)
    assert _push(fake, _text()).status_code == 200
    assert len(fake.sent) == 2


def test_a_slow_answer_times_out_the_client_but_the_message_was_taken(fake):
    fake.set_delay(2.0)
    with pytest.raises(requests.Timeout):
        _push(fake, _text(), timeout=0.3, **{"X-Line-Retry-Key": "223e4567-e89b-12d3-a456-426614174000"})
    fake.set_delay(0)
    assert len(fake.sent) == 1


def test_the_monthly_quota_is_counted_and_enforced(fake):
    fake.set_quota(2)
    assert [_push(fake, _text()).status_code for _ in range(3)] == [200, 200, 429]
    quota = requests.get(fake.base_url + "/v2/bot/message/quota", timeout=5,
                         headers={"Authorization": f"Bearer {ACCESS_TOKEN}"}).json()
    used = requests.get(fake.base_url + "/v2/bot/message/quota/consumption", timeout=5,
                        headers={"Authorization": f"Bearer {ACCESS_TOKEN}"}).json()
    assert quota == {"type": "limited", "value": 2}
    assert used == {"totalUsage": 2}


@pytest.mark.parametrize("kind", KINDS)
def test_every_event_the_fake_builds_matches_lines_webhook_spec(fake, kind):
    group = "C" + "0" * 32 if kind in ("join", "leave", "memberJoined", "memberLeft") else None
    fields: dict[str, Any] = {"text": "สวัสดี"} if kind == "text" else {"data": "a=x"} if kind == "postback" else {}
    event = fake.make_event(kind, MALEE, group_id=group, **fields)
    body, _signature = fake.sign_events([event])
    assert validate_webhook_body(body) == []


def test_signature_is_lines_hmac_over_the_exact_body(fake):
    import base64
    import hashlib
    import hmac

    body, signature = fake.sign_events([fake.make_event("text", MALEE, text="x")])
    expected = base64.b64encode(hmac.new(CHANNEL_SECRET.encode(), body, hashlib.sha256).digest()).decode()
    assert signature == expected


def test_a_random_failure_rate_fails_about_that_share_and_repeats_with_the_same_seed(fake):
    def run() -> list[int]:
        fake.reset()
        fake.set_quota(None)
        fake.set_failure_rate(0.2, 500, seed=7)
        return [_push(fake, _text(), **{"X-Line-Retry-Key": str(uuid.uuid4())}).status_code for _ in range(200)]

    first = run()
    assert set(first) == {200, 500}
    assert 20 <= first.count(500) <= 60  # 20 % of 200, give or take
    assert len(fake.sent) == first.count(200)  # a refused request was not taken
    assert run() == first
    fake.set_failure_rate(0)
    assert _push(fake, _text()).status_code == 200


def test_a_failure_after_accept_loses_the_answer_and_the_retry_key_then_answers_409(fake):
    fake.set_failure_rate(1.0, 503, "/v2/bot/message/push", after_accept=1.0)
    key = {"X-Line-Retry-Key": str(uuid.uuid4())}
    assert _push(fake, _text(), **key).status_code == 503
    assert len(fake.sent) == 1  # LINE took it; only the answer failed
    fake.set_failure_rate(0)
    assert _push(fake, _text(), **key).status_code == 409
    assert fake.accepted_retry_keys() == [key["X-Line-Retry-Key"]]
    assert fake.violations == []
