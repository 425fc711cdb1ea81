"""Website publication requests as announcement 003 prescribes them."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from handlers import texts
from handlers.postback import decode
from models import web_requests
from models.base import utcnow
from models.org import staff_by_code
from models.web_requests import WebRequest
from tests.conftest import DIRECTOR, KANDA, MALEE, post_events, say, tap
from tests.conftest import footer_data as _footer
from tests.conftest import quick_data as _quick

THANA = "U518701e6fbbc3e88d29983006674e487"  # S011, webmaster
PORNTIP = "U2e7b46d7b1f1248f6af910b812a75904"  # S020, head of nursing: Malee's group head
BANGKOK = ZoneInfo("Asia/Bangkok")
MORNING = datetime(2026, 11, 22, 9, 0, tzinfo=BANGKOK)




@pytest.fixture
def clock():
    with time_machine.travel(MORNING, tick=True):
        yield


def _request(client, line, worker, link: str = "https://www.example.go.th/flu-2569") -> dict[str, str]:
    """Malee asks to publish a flu-vaccine notice; returns Porntip's card buttons."""
    asked = tap(client, line, worker, MALEE, "a=menu&i=website")
    assert asked[0]["text"] == texts.WEB_ASK_TITLE
    say(client, line, worker, MALEE, "ประชาสัมพันธ์ฉีดวัคซีนไข้หวัดใหญ่ ปี 2569")
    details = say(client, line, worker, MALEE, "เปิดบริการฉีดวัคซีนไข้หวัดใหญ่ฟรีสำหรับกลุ่มเสี่ยง ทุกวันพุธ")
    link_prompt = tap(client, line, worker, MALEE, _quick(details[0])["เสร็จ"])
    assert link_prompt[0]["text"] == texts.WEB_ASK_LINK
    say(client, line, worker, MALEE, link)
    say(client, line, worker, MALEE, "กลุ่มงานการพยาบาล")
    categories = line.messages_to(MALEE)[-1]
    days = tap(client, line, worker, MALEE, _quick(categories)["ข่าวประชาสัมพันธ์ จ…"])
    notes = tap(client, line, worker, MALEE, _quick(days[0])["30 วัน"])
    summary = tap(client, line, worker, MALEE, _quick(notes[0])["ไม่มี"])[0]
    assert "หัวข้อ: ประชาสัมพันธ์ฉีดวัคซีน" in summary["text"] and "30 วัน" in summary["text"]
    sent = tap(client, line, worker, MALEE, _quick(summary)["ยืนยันส่งคำขอ"])
    assert sent[0]["text"] == "WEB-2570-0001 ส่งให้ พรทิพย์ พิจารณาแล้วค่ะ"
    return _footer(line.messages_to(PORNTIP)[-1])


def _row(db) -> WebRequest:
    with db.transaction() as session:
        row = session.scalar(select(WebRequest))
        session.expunge(row)
        return row


def test_request_approval_webmaster_url_and_requester_told(client, line, worker, db, clock):
    buttons = _request(client, line, worker)
    assert set(buttons) == {"อนุมัติ", "ไม่อนุมัติ"}
    tap(client, line, worker, PORNTIP, buttons["อนุมัติ"])
    assert line.messages_to(MALEE)[-1]["text"] == texts.WEB_APPROVED_REQUESTER.format(number="WEB-2570-0001")
    card = line.messages_to(THANA)[-1]
    assert "WEB-2570-0001" in card["altText"] and "WEB-2570-0001" in line.messages_to(KANDA)[-1]["altText"]
    taken = tap(client, line, worker, THANA, _footer(card)["รับเผยแพร่"])[0]["text"]
    assert "ข่าวประชาสัมพันธ์" in taken
    assert say(client, line, worker, THANA, "ยังไม่ได้ลง")[0]["text"] == texts.WEB_BAD_URL_PUBLISHED
    say(client, line, worker, THANA, "https://www.example.go.th/news/123")
    assert line.messages_to(MALEE)[-1]["text"] == (
        "WEB-2570-0001 เผยแพร่บนเว็บไซต์แล้วค่ะ: https://www.example.go.th/news/123")
    row = _row(db)
    assert (row.state, row.published_url, row.expires_on.isoformat()) == (
        "published", "https://www.example.go.th/news/123", "2026-12-22")


def test_rejection_reaches_the_requester_with_its_reason(client, line, worker, db, clock):
    buttons = _request(client, line, worker)
    tap(client, line, worker, PORNTIP, buttons["ไม่อนุมัติ"])
    say(client, line, worker, PORNTIP, "ไม่เกี่ยวข้องกับภารกิจของหน่วยงาน")
    assert line.messages_to(MALEE)[-1]["text"] == (
        "WEB-2570-0001 พรทิพย์ ไม่อนุมัติค่ะ เหตุผล: ไม่เกี่ยวข้องกับภารกิจของหน่วยงาน")
    assert _row(db).state == "rejected"
    assert not any("WEB-2570-0001" in m.get("altText", "") for m in line.messages_to(THANA))


def test_a_verbal_approval_is_recorded_by_a_webmaster_and_the_head_is_told(client, line, worker, db, clock):
    _request(client, line, worker)
    wrong = say(client, line, worker, THANA, "อนุมัติวาจา WEB-2570-0001 โดย S001")[0]["text"]
    assert wrong.startswith("WEB-2570-0001 ต้องได้รับอนุมัติจาก นางพรทิพย์")
    assert say(client, line, worker, MALEE, "อนุมัติวาจา WEB-2570-0001 S020")[0]["text"] == texts.WEB_WEBMASTER_ONLY
    recorded = say(client, line, worker, THANA, "อนุมัติวาจา WEB-2570-0001 โดย S020")[0]["text"]
    assert recorded == "บันทึกการอนุมัติด้วยวาจาของ พรทิพย์ สำหรับ WEB-2570-0001 แล้วค่ะ"
    assert line.messages_to(PORNTIP)[-1]["text"].startswith("นายธนา เครือข่าย บันทึกว่าท่านอนุมัติด้วยวาจา")
    assert _row(db).state == "approved"
    stale = tap(client, line, worker, PORNTIP, _footer(line.messages_to(PORNTIP)[-2])["อนุมัติ"])[0]["text"]
    assert stale.startswith("WEB-2570-0001 พิจารณาไปแล้วค่ะ")


def test_two_webmasters_taking_at_once_leave_one_publisher(app, db, clock):
    with db.transaction() as session:
        malee = staff_by_code(session, "S021")
        row = web_requests.create(session, malee, {"title": "ข่าวทดสอบการรับงาน", "details": "x" * 30,
                                                   "source": "กลุ่มงาน", "category": "news"}, utcnow())
        row.state = web_requests.APPROVED
        number = row.number
    barrier, taken = threading.Barrier(2), []

    def take(code: str) -> None:
        barrier.wait(timeout=10)
        with app.app_context(), db.transaction() as session:
            if web_requests.take(session, number, staff_by_code(session, code), utcnow()) is not None:
                taken.append(code)

    threads = [threading.Thread(target=take, args=(code,)) for code in ("S010", "S011")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(taken) == 1
    assert _row(db).webmaster_id is not None


def test_the_publisher_is_reminded_to_take_the_item_down_when_it_expires(client, line, worker, db):
    with time_machine.travel(MORNING, tick=False):
        buttons = _request(client, line, worker)
        tap(client, line, worker, PORNTIP, buttons["อนุมัติ"])
        tap(client, line, worker, THANA, _footer(line.messages_to(THANA)[-1])["รับเผยแพร่"])
        say(client, line, worker, THANA, "https://www.example.go.th/news/123")
    reminders = lambda: [m for m in line.messages_to(THANA) if "ครบกำหนดเผยแพร่" in m.get("altText", "")]  # noqa: E731
    for days, count in ((29, 0), (30, 1), (31, 1)):
        with time_machine.travel(MORNING + timedelta(days=days), tick=False):
            worker.approval_deadlines()
            worker.relay_outbox()
        assert len(reminders()) == count, days
    assert not any("ครบกำหนดเผยแพร่" in m.get("altText", "") for m in line.messages_to(KANDA))  # the publisher
    with time_machine.travel(MORNING + timedelta(days=31), tick=False):
        down = tap(client, line, worker, THANA, _footer(reminders()[0])["นำออกแล้ว"])
    assert down[0]["text"] == "บันทึกว่า WEB-2570-0001 นำออกจากเว็บไซต์แล้วค่ะ"
    assert _row(db).state == "taken_down"


def test_a_malformed_url_and_an_oversized_file_are_refused_clearly(client, line, worker, db, clock):
    tap(client, line, worker, MALEE, "a=menu&i=website")
    say(client, line, worker, MALEE, "ประกาศรับสมัครงานพนักงานขับรถ")
    event = line.make_event("text", MALEE, text="x")  # a file message, as LINE sends one
    event["message"] = {"id": "400000000000000001", "type": "file", "fileName": "big.pdf", "fileSize": 25 * 1024 * 1024}
    post_events(client, line, [event])
    worker.tick()
    assert line.messages_to(MALEE)[-1]["text"] == texts.WEB_FILE_TOO_LARGE.format(mb=10)
    details = say(client, line, worker, MALEE, "รับสมัครพนักงานขับรถยนต์ 1 อัตรา ยื่นใบสมัครถึงสิ้นเดือน")
    tap(client, line, worker, MALEE, _quick(details[0])["เสร็จ"])
    bad = say(client, line, worker, MALEE, "www.example.go.th/jobs")[0]
    assert bad["text"] == texts.WEB_BAD_URL
    assert say(client, line, worker, MALEE, "javascript:alert(1)")[0]["text"] == texts.WEB_BAD_URL


def test_missing_source_is_asked_again_as_the_announcement_requires():
    assert web_requests.missing_fields({"title": "ข่าว", "details": "", "category": "zzz"}) == [
        "ชื่อเรื่อง", "รายละเอียดหรือไฟล์แนบ", "ที่มาหรือเจ้าของข้อมูล", "หมวดบนเว็บไซต์"]


def test_the_exported_form_holds_every_field_of_the_announcements_form(app, client, line, worker, db, clock):
    buttons = _request(client, line, worker)
    tap(client, line, worker, PORNTIP, buttons["อนุมัติ"])
    tap(client, line, worker, THANA, _footer(line.messages_to(THANA)[-1])["รับเผยแพร่"])
    say(client, line, worker, THANA, "https://www.example.go.th/news/123")
    result = app.test_cli_runner().invoke(args=["web", "form", "WEB-2570-0001"])
    assert result.exit_code == 0, result.output
    html = result.output
    for field in ("ชื่อกลุ่มงาน", "วัน/เดือน/ปี", "หัวข้อ", "รายละเอียดข้อมูล (โดยสรุปหรือเอกสารแนบ)",
                  "Link ภายนอก", "หมายเหตุ", "ผู้รับผิดชอบการให้ข้อมูล", "ผู้อนุมัติรับรอง",
                  "ผู้รับผิดชอบการนำข้อมูลขึ้นเผยแพร่", "ตำแหน่ง", "@page", "size: A4"):
        assert field in html, field
    for value in ("กลุ่มงานการพยาบาล", "22 พ.ย. 2569", "ประชาสัมพันธ์ฉีดวัคซีนไข้หวัดใหญ่", "นางสาวมาลี ผู้ป่วยใน",
                  "นางพรทิพย์ หัวหน้าพยาบาล", "นายธนา เครือข่าย", "https://www.example.go.th/flu-2569"):
        assert value in html, value
    listing = app.test_cli_runner().invoke(args=["web", "list", "2570"]).output.splitlines()
    assert listing[0].startswith("เลขที่,วันที่ขอ") and listing[1].startswith("WEB-2570-0001,22 พ.ย. 2569")
    assert "เผยแพร่แล้ว" in listing[1]


def test_admins_are_warned_when_fewer_than_two_webmasters_are_registered(app, line, worker, db, clock):
    from models.org import Staff, StaffRole

    worker.approval_deadlines()
    worker.relay_outbox()
    assert not any("webmaster" in m.get("text", "") for m in line.messages_to(DIRECTOR))  # two registered
    with db.transaction() as session:
        thana = session.scalar(select(Staff).where(Staff.code == "S011"))
        session.execute(StaffRole.__table__.delete().where(StaffRole.staff_id == thana.id,
                                                           StaffRole.role == "webmaster"))
    worker.approval_deadlines()
    worker.approval_deadlines()  # once a day, not once a run
    worker.relay_outbox()
    warnings = [m for m in line.messages_to(DIRECTOR) if "webmaster" in m.get("text", "")]
    assert len(warnings) == 1 and "1 คน" in warnings[0]["text"]
    assert decode("a=x").action == "x"


def test_attached_files_are_fetched_from_line_and_kept_with_the_request(client, line, worker, db, clock):
    from models.tickets import TicketPhoto

    line.add_content("500000000000000001", b"%PDF-1.4 " + b"0" * 3000, "application/pdf")
    tap(client, line, worker, MALEE, "a=menu&i=website")
    say(client, line, worker, MALEE, "คู่มือการขอใช้บริการคลินิกโรคเรื้อรัง")
    for message_id in ("500000000000000001", "500000000000000002"):  # the second is gone from LINE
        post_events(client, line, [line.make_event("image", MALEE, message_id=message_id)])
        worker.tick()
    assert line.messages_to(MALEE)[-1]["text"] == texts.WEB_GOT_FILE.format(count=2)
    link = tap(client, line, worker, MALEE, _quick(line.messages_to(MALEE)[-1])["เสร็จ"])
    tap(client, line, worker, MALEE, _quick(link[0])["ไม่มี"])
    say(client, line, worker, MALEE, "กลุ่มงานการพยาบาล")
    days = tap(client, line, worker, MALEE, _quick(line.messages_to(MALEE)[-1])["คู่มือสำหรับประชาชน"])
    notes = tap(client, line, worker, MALEE, _quick(days[0])["ไม่กำหนด"])
    summary = tap(client, line, worker, MALEE, _quick(notes[0])["ไม่มี"])[0]
    tap(client, line, worker, MALEE, _quick(summary)["ยืนยันส่งคำขอ"])
    worker.fetch_photos()
    worker.relay_outbox()
    with db.transaction() as session:
        kept = sorted((p.kind, p.status, p.size) for p in session.scalars(select(TicketPhoto)))
    assert kept == [("web", "failed", 0), ("web", "stored", 3009)]
    assert line.messages_to(MALEE)[-1]["text"].startswith("WEB-2570-0001: รูปหรือไฟล์ที่แนบมาหนึ่งรายการบันทึกไม่ได้")


def test_starting_over_from_the_summary_forgets_the_old_answers(client, line, worker, db, clock):
    tap(client, line, worker, MALEE, "a=menu&i=website")
    say(client, line, worker, MALEE, "ประชาสัมพันธ์ฉีดวัคซีนไข้หวัดใหญ่ ปี 2569")
    details = say(client, line, worker, MALEE, "เปิดบริการฉีดวัคซีนไข้หวัดใหญ่ฟรีสำหรับกลุ่มเสี่ยง ทุกวันพุธ")
    link = tap(client, line, worker, MALEE, _quick(details[0])["เสร็จ"])
    tap(client, line, worker, MALEE, _quick(link[0])["ไม่มี"])
    say(client, line, worker, MALEE, "กลุ่มงานการพยาบาล")
    days = tap(client, line, worker, MALEE, _quick(line.messages_to(MALEE)[-1])["องค์ความรู้"])
    notes = tap(client, line, worker, MALEE, _quick(days[0])["90 วัน"])
    summary = tap(client, line, worker, MALEE, _quick(notes[0])["ไม่มี"])[0]
    again = tap(client, line, worker, MALEE, _quick(summary)["เริ่มใหม่"])
    assert again[0]["text"] == texts.WEB_ASK_TITLE
    assert say(client, line, worker, MALEE, "หัวข้อใหม่ทั้งหมดของคำขอนี้")[0]["text"] == texts.WEB_ASK_DETAILS
