"""SOP questions in LINE: answered with a citation and feedback buttons; requests go to services."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers import intents, texts
from handlers.postback import decode, encode
from models.sop_answers import SopAnswer
from tests.conftest import KANDA, MALEE, say, tap


def _answers(db) -> list[SopAnswer]:
    with db.transaction() as session:
        return list(session.scalars(select(SopAnswer).order_by(SopAnswer.id)))


def _buttons(message: dict) -> list[dict]:
    return [item["action"] for item in message.get("quickReply", {}).get("items", [])]


def test_a_question_in_chat_gets_a_cited_answer_and_feedback_buttons(client, line, worker, db):
    sent = say(client, line, worker, MALEE, "ต้องทบทวนสิทธิ์ผู้ใช้งานบ่อยแค่ไหน")
    assert "SOP-HSS-MRD-S-0203" in sent[0]["text"] and "ปีละ 1 ครั้ง" in sent[0]["text"]
    assert sent[1]["text"] == texts.SOP_DID_IT_HELP
    labels = [b["label"] for b in _buttons(sent[1])]
    assert labels[:2] == ["ช่วยได้", "ยังไม่ตรง"]
    [row] = _answers(db)
    assert row.found and row.passage_ids[0] == "000-6.6" and row.helpful is None


def test_feedback_is_stored_once_and_only_for_the_asker(client, line, worker, db):
    sent = say(client, line, worker, MALEE, "ต้องทบทวนสิทธิ์ผู้ใช้งานบ่อยแค่ไหน")
    helped = _buttons(sent[1])[0]["data"]
    assert tap(client, line, worker, KANDA, helped)[0]["text"] == texts.SOP_FEEDBACK_ALREADY  # not theirs
    assert _answers(db)[0].helpful is None
    assert tap(client, line, worker, MALEE, helped)[0]["text"] == texts.SOP_THANKS
    not_helped = encode("kbf", i=decode(helped).params["i"], v=0)
    assert tap(client, line, worker, MALEE, not_helped)[0]["text"] == texts.SOP_FEEDBACK_ALREADY
    row = _answers(db)[0]
    assert row.helpful is True and row.feedback_at is not None


def test_not_helpful_offers_it_help(client, line, worker, db):
    sent = say(client, line, worker, MALEE, "ต้องทบทวนสิทธิ์ผู้ใช้งานบ่อยแค่ไหน")
    answer = tap(client, line, worker, MALEE, _buttons(sent[1])[1]["data"])
    assert answer[0]["text"] == texts.SOP_SORRY
    assert "แจ้งไอที" in [b["label"] for b in _buttons(answer[0])]
    assert _answers(db)[0].helpful is False


def test_a_question_the_documents_do_not_answer_says_so_and_offers_it(client, line, worker, db):
    sent = say(client, line, worker, MALEE, "ตั้งค่า VPN จากบ้านยังไง")
    assert sent[0]["text"] == texts.SOP_NOT_FOUND
    assert [b["label"] for b in _buttons(sent[0])][:2] == ["แจ้งไอที", "ถามเรื่องอื่น"]
    assert _answers(db)[0].found is False


def test_ask_from_the_menu_takes_the_next_message_as_the_question(client, line, worker, db):
    assert tap(client, line, worker, MALEE, encode("menu", i="ask"))[0]["text"] == texts.SOP_ASK_PROMPT
    sent = say(client, line, worker, MALEE, "ขอลงข่าวบนเว็บไซต์ต้องทำอย่างไร")
    assert "2.2" in sent[0]["text"]
    assert sent[1]["text"] == texts.SOP_DID_IT_HELP
    assert say(client, line, worker, MALEE, "ยกเลิก")[0]["text"] == texts.NOTHING_TO_CANCEL  # the dialog ended


@pytest.mark.parametrize(
    ("words", "service", "first_reply"),
    [
        ("HOSxP เข้าไม่ได้ค่ะ ขึ้น connection timeout ทั้งวอร์ด", "report", "รับแจ้งปัญหา HIS/HOSxP"),
        ("ปริ้นเตอร์ห้องยาเสีย", "report", "รับแจ้งปัญหา เครื่องพิมพ์"),
        ("เน็ตล่มทั้งตึก", "report", "รับแจ้งปัญหา เครือข่าย"),
        ("ขอสิทธิ์เข้า HOSxP หน่อยครับ เพิ่งย้ายมาห้องยา", "account", "ขอสิทธิ์ระบบ HOSxP XE นะคะ ต้องการแบบไหน"),
        ("ลืมรหัสผ่านเข้าระบบ", "account", texts.ACC_ASK_SYSTEM),
        ("ขอลงข่าวประชาสัมพันธ์บนเว็บไซต์หน่อยค่ะ", "website", texts.WEB_ASK_TITLE),
        ("ติดตาม INC-2570-0142", "track", "ไม่พบคำขอ INC-2570-0142"),
        ("งานของฉัน", "track", texts.TRACK_MINE),
    ],
)
def test_requests_are_not_questions(client, line, worker, db, words, service, first_reply):
    assert intents.requested_service(words) == service
    sent = say(client, line, worker, MALEE, words)
    assert first_reply in sent[0]["text"]  # the service's own first step
    assert _answers(db) == []  # not searched as an SOP question


@pytest.mark.parametrize(
    "words",
    ["ต้องทบทวนสิทธิ์ผู้ใช้งานบ่อยแค่ไหน", "ถ้า HOSxP ล่มต้องทำยังไง", "ขอสิทธิ์ HOSxP ต้องทำอย่างไร",
     "ขั้นตอนการขอลงข่าวบนเว็บไซต์"],
)
def test_questions_about_how_things_are_done_are_questions(words):
    assert intents.requested_service(words) is None
