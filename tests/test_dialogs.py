"""The dialog layer: declared dialogs, state in the database, cancel, expiry, help."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

import handlers.dispatch
from handlers import texts
from handlers.conversation import END, Conversations, Dialog, Route, any_text, postback_is, text_is
from handlers.messages import postback_action, text
from handlers.registry import DuplicateRegistration, Registry
from models.dialogs import DialogState
from tests.conftest import MALEE, say, tap


def _ask_name(ctx, data):
    ctx.reply(text("ชื่ออะไรคะ"))
    return "name"


def _got_name(ctx, data):
    data["name"] = ctx.text
    ctx.reply(text("สีที่ชอบคะ", [postback_action("แดง", "colour", c="red")]))
    return "colour"


def _got_colour(ctx, data):
    ctx.reply(text(f"{data['name']} ชอบ {ctx.postback.params['c']}"))
    return END


def _unexpected(ctx, data, state):
    ctx.reply(text(f"ยังรอคำตอบ ({state})"))


SURVEY = Dialog(
    name="survey",
    entry_points=[Route(text_is("แบบสอบถาม"), _ask_name)],
    states={"name": [Route(any_text(), _got_name)], "colour": [Route(postback_is("colour"), _got_colour)]},
    timeout=timedelta(minutes=10),
    on_unexpected=_unexpected,
)


@pytest.fixture
def survey(monkeypatch):
    conversations = Conversations()
    conversations.add(SURVEY)
    monkeypatch.setattr(handlers.dispatch, "CONVERSATIONS", conversations)
    return conversations


def _state(db):
    with db.transaction() as session:
        row = session.scalar(select(DialogState))
        return None if row is None else (row.dialog, row.state, dict(row.data), row.version)


def test_dialog_runs_through_its_states_with_state_in_the_database(client, line, worker, db, survey):
    assert say(client, line, worker, MALEE, "แบบสอบถาม")[0]["text"] == "ชื่ออะไรคะ"
    assert _state(db)[:2] == ("survey", "name")
    say(client, line, worker, MALEE, "มาลี")
    assert _state(db)[:3] == ("survey", "colour", {"name": "มาลี"})
    assert _state(db)[3] == 2  # version counts saves
    answer = tap(client, line, worker, MALEE, "a=colour&c=red")
    assert answer[0]["text"] == "มาลี ชอบ red"
    assert _state(db) is None


def test_unexpected_input_keeps_the_state_and_says_what_is_awaited(client, line, worker, db, survey):
    say(client, line, worker, MALEE, "แบบสอบถาม")
    say(client, line, worker, MALEE, "มาลี")
    answer = say(client, line, worker, MALEE, "อะไรนะ")
    assert answer[0]["text"] == "ยังรอคำตอบ (colour)"
    assert _state(db)[1] == "colour"


def test_cancel_ends_any_dialog(client, line, worker, db, survey):
    say(client, line, worker, MALEE, "แบบสอบถาม")
    answer = say(client, line, worker, MALEE, "ยกเลิก")
    assert answer[0]["text"] == texts.CANCELLED
    assert _state(db) is None
    assert say(client, line, worker, MALEE, "ยกเลิก")[0]["text"] == texts.NOTHING_TO_CANCEL


def test_expired_dialog_says_so(client, line, worker, db, survey):
    say(client, line, worker, MALEE, "แบบสอบถาม")
    with time_machine.travel(timedelta(minutes=11)):
        answer = say(client, line, worker, MALEE, "มาลี")
    assert answer[0]["text"] == texts.DIALOG_EXPIRED
    assert _state(db) is None


def test_unknown_text_gets_help_not_silence(client, line, worker):
    answer = say(client, line, worker, MALEE, "ฟหกดเสวงส")
    assert answer[0]["text"] == texts.NOT_UNDERSTOOD
    assert answer[0]["quickReply"]["items"]


def test_stale_or_forged_postback_gets_a_polite_answer(client, line, worker):
    for data in ("a=colour&c=red", "garbage%%%", "x" * 300):
        answer = tap(client, line, worker, MALEE, data)
        assert answer[0]["text"] == texts.STALE_BUTTON


def test_menu_lists_what_the_bot_does_within_line_limits(client, line, worker):
    items = say(client, line, worker, MALEE, "เมนู")[0]["quickReply"]["items"]
    labels = [item["action"]["label"] for item in items]
    assert "แจ้งปัญหาไอที" in labels and "ยกเลิก" in labels
    assert len(items) <= 13 and all(len(label) <= 20 for label in labels)


def test_menu_item_not_yet_available_says_so(client, line, worker, monkeypatch):
    import handlers.menu

    items: Registry = Registry("menu item")
    items.register("future", handlers.menu.MenuItem("future", "บริการใหม่", "บริการใหม่"))
    monkeypatch.setattr(handlers.menu, "ITEMS", items)
    answer = tap(client, line, worker, MALEE, "a=menu&i=future")
    assert "ยังไม่เปิดใช้" in answer[0]["text"]


def test_sticker_or_image_outside_a_dialog_gets_the_menu(client, line, worker):
    from tests.conftest import post_events

    before = len(line.messages_to(MALEE))
    post_events(client, line, [line.make_event("sticker", MALEE)])
    worker.tick()
    assert line.messages_to(MALEE)[before:][0]["text"] == texts.UNSUPPORTED_MESSAGE


def test_registering_the_same_key_twice_raises():
    registry: Registry[int] = Registry("thing")
    registry.register("a", 1)
    with pytest.raises(DuplicateRegistration):
        registry.register("a", 2)
    conversations = Conversations()
    conversations.add(SURVEY)
    with pytest.raises(DuplicateRegistration):
        conversations.add(SURVEY)


def test_follow_gets_welcome_and_privacy_notice(client, line, worker):
    from tests.conftest import post_events

    post_events(client, line, [line.make_event("follow", MALEE)])
    worker.tick()
    texts_sent = [m["text"] for m in line.messages_to(MALEE)]
    assert any("สวัสดี" in t for t in texts_sent)
    assert any("ข้อมูลส่วนบุคคล" in t and "วัน" in t for t in texts_sent)
