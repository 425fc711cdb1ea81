"""Outage tickets through the webhook and the fake LINE platform: report, IT, reporter, history."""

from __future__ import annotations

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from handlers import texts
from handlers.postback import encode
from models import tickets
from models.base import utcnow
from models.numbering import fiscal_year_be, next_number
from models.org import staff_by_code
from models.sop_answers import SopAnswer
from models.tickets import Change, Ticket
from tests.conftest import IT_GROUP, KANDA, MALEE, post_events, say, tap
from tests.conftest import quick_data as _quick

THANA = "U518701e6fbbc3e88d29983006674e487"  # S011, it
PITI = "U61f3dc0008d687ec55a5f933c163eb40"  # S031, staff
BANGKOK = ZoneInfo("Asia/Bangkok")
MORNING = datetime(2026, 11, 22, 10, 14, tzinfo=BANGKOK)


@pytest.fixture
def clock():
    with time_machine.travel(MORNING, tick=True) as traveller:
        yield traveller


def _ticket(db, number: str = "INC-2570-0001") -> Ticket:
    with db.transaction() as session:
        ticket = tickets.by_number(session, number)
        assert ticket is not None
        session.expunge(ticket)
        return ticket


def _history(db, number: str = "INC-2570-0001") -> list[str]:
    with db.transaction() as session:
        return [e.action for e in tickets.history(session, tickets.by_number(session, number))]


def _footer(message: dict) -> list[dict]:
    return [c["action"] for c in message["contents"].get("footer", {}).get("contents", [])]


def _report_hosxp(client, line, worker) -> list[dict]:
    """Malee reports HOSxP down, as in the example conversation, without a photo."""
    first = say(client, line, worker, MALEE, "HOSxP เข้าไม่ได้ค่ะ ขึ้น connection timeout ทั้งวอร์ด")
    assert first[0]["text"].startswith("รับแจ้งปัญหา HIS/HOSxP")
    where = tap(client, line, worker, MALEE, _quick(first[0])["กระทบ ผู้ป่วยรอ"])
    photo = tap(client, line, worker, MALEE, next(iter(_quick(where[0]).values())))
    return tap(client, line, worker, MALEE, _quick(photo[0])["ไม่มีรูป"])


def test_fiscal_year_and_numbers_follow_the_design(db):
    assert fiscal_year_be(datetime(2026, 10, 1, 0, 5, tzinfo=BANGKOK)) == 2570
    assert fiscal_year_be(datetime(2026, 9, 30, 23, 55, tzinfo=BANGKOK)) == 2569
    with db.transaction() as session:
        now = datetime(2026, 11, 22, tzinfo=BANGKOK)
        assert [next_number(session, "INC", now) for _ in range(2)] == ["INC-2570-0001", "INC-2570-0002"]
        assert next_number(session, "ACC", now) == "ACC-2570-0001"
        assert next_number(session, "INC", datetime(2027, 10, 1, 9, tzinfo=BANGKOK)) == "INC-2571-0001"


def test_a_whole_ticket_life_through_line(client, line, worker, db, clock):
    created = _report_hosxp(client, line, worker)
    card = created[0]
    assert card["type"] == "flex" and "INC-2570-0001" in card["altText"]
    body = str(card["contents"])
    assert "วิกฤต" in body and "22 พ.ย. 2569 10:14" in body

    it_card = line.messages_to(IT_GROUP)[-1]
    actions = _footer(it_card)
    assert [a["text"] for a in actions] == [f"{word} INC-2570-0001" for word in (
        "รับงาน", "มอบหมาย", "เพิ่มบันทึก", "รออะไหล่", "ส่งผู้รับจ้าง", "ปิดงาน")]
    assert all(a["type"] == "message" for a in actions)  # in a group only messages name who acted

    said = say(client, line, worker, KANDA, "รับงาน INC-2570-0001", group_id=IT_GROUP)
    assert said[0]["text"].startswith("INC-2570-0001 กานดา รับงานแล้ว")
    assert line.messages_to(MALEE)[-1]["text"].startswith("INC-2570-0001 กานดา (ไอที) รับงานแล้ว")

    asked = say(client, line, worker, KANDA, "ปิดงาน INC-2570-0001", group_id=IT_GROUP)
    assert asked[0]["text"] == texts.IT_ASK_RESOLUTION.format(number="INC-2570-0001")
    say(client, line, worker, KANDA, "รีสตาร์ทบริการ HOSxP ใช้งานได้แล้ว", group_id=IT_GROUP)
    resolved = line.messages_to(MALEE)[-1]
    assert "รีสตาร์ทบริการ" in str(resolved["contents"])

    confirm = next(a for a in _footer(resolved) if a["label"] == "ใช้งานได้แล้ว")
    thanks = tap(client, line, worker, MALEE, confirm["data"])
    assert thanks[0]["text"] == texts.INC_CLOSED_THANKS.format(number="INC-2570-0001")
    rated = tap(client, line, worker, MALEE, _quick(thanks[0])["⭐⭐⭐⭐⭐"])
    assert "5 ดาว" in rated[0]["text"] and "ไม่มี" in _quick(rated[0])
    assert say(client, line, worker, MALEE, "แก้ไวมาก ขอบคุณค่ะ")[0]["text"] == texts.INC_COMMENT_THANKS

    ticket = _ticket(db)
    assert (ticket.state, ticket.closed_how, ticket.rating) == ("closed", "confirmed", 5)
    assert ticket.rating_comment == "แก้ไวมาก ขอบคุณค่ะ"
    assert _history(db) == ["created", "accepted", "resolved", "confirmed", "rated", "commented"]
    assert ticket.accepted_at is not None and ticket.resolved_at is not None


def test_an_officer_works_the_ticket_from_a_1_to_1_card_when_no_group_is_set(client, line, worker, db, clock):
    with db.transaction() as session:
        from models.org import set_setting

        set_setting(session, "notify.it_target", None)
    _report_hosxp(client, line, worker)
    card = line.messages_to(THANA)[-1]
    accept = _footer(card)[0]
    assert accept["type"] == "postback"
    assert line.messages_to(KANDA)[-1]["altText"] == card["altText"]  # every IT officer got it
    assert tap(client, line, worker, THANA, accept["data"])[0]["text"].startswith("INC-2570-0001 ธนา รับงานแล้ว")
    taken = tap(client, line, worker, KANDA, accept["data"])
    assert taken[0]["text"].startswith("INC-2570-0001 ธนา รับงานไปแล้ว")
    tap(client, line, worker, THANA, _footer(card)[-1]["data"])  # ปิดงาน: asks what was done
    post_events(client, line, [line.make_event("image", THANA, message_id="300000000000000001")])
    worker.tick()
    assert line.messages_to(THANA)[-1]["text"] == texts.IT_GOT_PHOTO.format(number="INC-2570-0001")
    say(client, line, worker, THANA, "เปลี่ยนสาย LAN")
    assert _ticket(db).state == "resolved"
    from models.tickets import TicketPhoto

    with db.transaction() as session:
        assert session.scalar(select(TicketPhoto.kind)) == "resolution"


def test_the_reporter_can_reopen_and_the_officer_is_told(client, line, worker, db, clock):
    _report_hosxp(client, line, worker)
    say(client, line, worker, KANDA, "รับงาน INC-2570-0001", group_id=IT_GROUP)
    say(client, line, worker, KANDA, "ปิดงาน INC-2570-0001 รีสตาร์ทเครื่อง", group_id=IT_GROUP)
    again = next(a for a in _footer(line.messages_to(MALEE)[-1]) if a["label"] == "ยังไม่หาย")
    assert tap(client, line, worker, MALEE, again["data"])[0]["text"] == texts.INC_REOPENED.format(
        number="INC-2570-0001")
    ticket = _ticket(db)
    assert (ticket.state, ticket.reopen_count, ticket.resolved_at) == ("accepted", 1, None)
    assert "ยังใช้งานไม่ได้" in line.messages_to(KANDA)[-1]["text"]
    assert tap(client, line, worker, MALEE, again["data"])[0]["text"].startswith("INC-2570-0001 ดำเนินการไปแล้ว")


def test_two_officers_accepting_at_once_give_one_owner(client, line, worker, db, clock):
    _report_hosxp(client, line, worker)
    events = [line.make_event("text", who, text="รับงาน INC-2570-0001", group_id=IT_GROUP) for who in (THANA, KANDA)]
    post_events(client, line, events)
    worker.tick()
    answers = [m["text"] for m in line.messages_to(IT_GROUP)[-2:]]
    assert answers[0].startswith("INC-2570-0001 ธนา รับงานแล้ว")
    assert answers[1].startswith("INC-2570-0001 ธนา รับงานไปแล้ว")
    assert _history(db).count("accepted") == 1


def test_concurrent_accepts_in_separate_transactions_leave_one_owner(app, db):
    with db.transaction() as session:
        malee = staff_by_code(session, "S021")
        number = tickets.create(session, malee, tickets.NewTicket("his", "ล่ม", True), utcnow()).number
    barrier, outcomes = threading.Barrier(2), []

    def press(code: str) -> None:
        barrier.wait(timeout=10)  # both start their transaction together
        with app.app_context(), db.transaction() as session:
            officer = staff_by_code(session, code)
            outcomes.append((code, tickets.accept(session, number, officer, utcnow()).change))

    threads = [threading.Thread(target=press, args=(code,)) for code in ("S010", "S011")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(change.value for _, change in outcomes) == ["done", "moved_on"]
    winner = next(code for code, change in outcomes if change is Change.DONE)
    with db.transaction() as session:
        assert tickets.by_number(session, number).assignee.code == winner


def test_a_non_it_user_cannot_work_a_ticket(client, line, worker, db, clock):
    _report_hosxp(client, line, worker)
    forged = encode("inc_acc", n="INC-2570-0001")
    assert tap(client, line, worker, PITI, forged)[0]["text"] == texts.IT_ONLY
    assert say(client, line, worker, PITI, "รับงาน INC-2570-0001", group_id=IT_GROUP)[0]["text"] == texts.IT_ONLY
    assert tap(client, line, worker, MALEE, encode("inc_res", n="INC-2570-0001"))[0]["text"] == texts.IT_ONLY
    assert _ticket(db).state == "new"


def test_only_the_reporter_confirms_or_rates(client, line, worker, db, clock):
    _report_hosxp(client, line, worker)
    say(client, line, worker, KANDA, "ปิดงาน INC-2570-0001 แก้แล้ว", group_id=IT_GROUP)
    assert tap(client, line, worker, PITI, encode("inc_ok", n="INC-2570-0001"))[0]["text"].startswith("ไม่พบคำขอ")
    assert _ticket(db).state == "resolved"


def test_citizen_ids_and_phone_numbers_are_masked_and_the_reporter_told(client, line, worker, db, clock):
    first = say(client, line, worker, MALEE, "HOSxP ค้างตอนเปิดประวัติผู้ป่วย 1-2345-67890-12-3 โทรกลับ 081-234-5678")
    where = tap(client, line, worker, MALEE, _quick(first[0])["ยังไม่กระทบ"])
    photo = tap(client, line, worker, MALEE, next(iter(_quick(where[0]).values())))
    created = tap(client, line, worker, MALEE, _quick(photo[0])["ไม่มีรูป"])
    assert texts.INC_MASKED in [m.get("text") for m in created]
    stored = _ticket(db).description
    assert "1-2345-67890-12-3" not in stored and "x-xxxx-xxxxx-x2-3" in stored
    assert "081-234-5678" not in stored and "xxx-xxx-xx78" in stored
    assert "67890" not in str(line.messages_to(IT_GROUP)[-1])


def test_facts_in_the_first_message_are_not_asked_again_and_photos_are_kept(client, line, worker, db, clock):
    first = say(client, line, worker, MALEE, "ปริ้นเตอร์ห้องยาเสีย")
    assert "กระทบการให้บริการผู้ป่วย" in first[0]["text"]  # category and symptom known already
    where = tap(client, line, worker, MALEE, _quick(first[0])["ยังไม่กระทบ"])
    photo_prompt = say(client, line, worker, MALEE, "ห้องจ่ายยาผู้ป่วยนอก ครุภัณฑ์ 7440-001-0001")
    assert photo_prompt[0]["text"] == texts.INC_ASK_PHOTO
    for message_id in ("100000000000000001", "100000000000000002"):
        post_events(client, line, [line.make_event("image", MALEE, message_id=message_id)])
        worker.tick()
    done = line.messages_to(MALEE)[-1]
    assert "2 รูป" in done["text"]
    tap(client, line, worker, MALEE, _quick(done)["ส่งแจ้งเลย"])
    ticket = _ticket(db)
    assert (ticket.category, ticket.priority, ticket.asset_no) == ("printer", "normal", "7440-001-0001")
    assert ticket.location.startswith("ห้องจ่ายยา") and len(ticket.photo_message_ids) == 2
    assert where  # the location prompt offered the reporter's own work group


def test_a_confident_sop_answer_is_offered_first_and_can_close_the_matter(client, line, worker, db, clock):
    first = say(client, line, worker, MALEE, "คอมพิวเตอร์ติดไวรัส ข้อมูลสูญหาย")
    assert first[0]["text"] == texts.INC_KB_FIRST
    solved = tap(client, line, worker, MALEE, _quick(first[2])["แก้ได้แล้ว"])
    assert solved[0]["text"] == texts.INC_KB_SOLVED
    with db.transaction() as session:
        assert session.scalar(select(Ticket)) is None
        assert session.scalar(select(SopAnswer.helpful)) is True


def test_tracking_shows_own_tickets_and_hides_others(client, line, worker, db, clock):
    _report_hosxp(client, line, worker)
    mine = say(client, line, worker, MALEE, "ติดตาม INC-2570-0001")[0]["text"]
    assert mine.startswith("INC-2570-0001 HIS/HOSxP: รอรับงาน") and "แจ้งปัญหา" in mine
    other = say(client, line, worker, PITI, "ติดตาม INC-2570-0001")[0]["text"]
    assert other == texts.TRACK_NOT_FOUND.format(number="INC-2570-0001")
    queue = say(client, line, worker, KANDA, "งานของฉัน")[0]["text"]
    assert texts.TRACK_QUEUE in queue and "INC-2570-0001" in queue


def _at(moment: datetime):
    return time_machine.travel(moment, tick=False)


def test_sla_breaches_go_to_the_it_head_once_each_and_12_hours_is_a_kpi_event(client, line, worker, db):
    from datetime import timedelta

    from models.audit import AuditEntry

    with _at(MORNING):
        _report_hosxp(client, line, worker)  # critical: accept within 15 min, resolve within 4 h
    head_messages = lambda: [m["text"] for m in line.messages_to(KANDA) if m["type"] == "text"]  # noqa: E731
    for minutes, expected in ((10, 0), (16, 1), (17, 1), (241, 2), (12 * 60 + 1, 3), (13 * 60, 3)):
        with _at(MORNING + timedelta(minutes=minutes)):
            worker.ticket_deadlines()
            worker.relay_outbox()
        assert len([t for t in head_messages() if "INC-2570-0001" in t]) == expected, minutes
    texts_sent = head_messages()
    assert "ยังไม่มีผู้รับงาน" in texts_sent[0] and "ยังแก้ไม่เสร็จ" in texts_sent[1]
    assert "เกิน 12 ชั่วโมง" in texts_sent[2]
    with db.transaction() as session:
        assert session.scalar(select(AuditEntry.subject).where(AuditEntry.action == "kpi.critical_outage_12h")) == (
            "INC-2570-0001")
    assert _history(db)[-3:] == ["sla_accept", "sla_resolve", "kpi_12h"]


def test_a_resolved_ticket_left_unanswered_closes_after_three_working_days(client, line, worker, db):
    friday = datetime(2026, 11, 27, 16, 0, tzinfo=BANGKOK)
    with _at(friday):
        _report_hosxp(client, line, worker)
        say(client, line, worker, KANDA, "ปิดงาน INC-2570-0001 รีสตาร์ทเครื่อง", group_id=IT_GROUP)
    # Sun 29 Nov and Mon 30 Nov, Tue 1 Dec: 0, 1 and 2 working days; Wed 2 Dec: the third.
    for month, day, state in ((11, 29, "resolved"), (11, 30, "resolved"), (12, 1, "resolved"), (12, 2, "closed")):
        with _at(datetime(2026, month, day, 9, 0, tzinfo=BANGKOK)):
            worker.ticket_deadlines()
            worker.relay_outbox()
        assert _ticket(db).state == state, (month, day)
    assert _ticket(db).closed_how == "auto"
    assert "ปิดงาน INC-2570-0001 อัตโนมัติ" in line.messages_to(MALEE)[-1]["text"]
    assert _history(db)[-1] == "auto_closed"


def _report_with_photo(client, line, worker, message_id: str) -> None:
    first = say(client, line, worker, MALEE, "ปริ้นเตอร์ห้องยาเสีย")
    where = tap(client, line, worker, MALEE, _quick(first[0])["ยังไม่กระทบ"])
    tap(client, line, worker, MALEE, next(iter(_quick(where[0]).values())))
    post_events(client, line, [line.make_event("image", MALEE, message_id=message_id)])
    worker.tick()
    tap(client, line, worker, MALEE, _quick(line.messages_to(MALEE)[-1])["ส่งแจ้งเลย"])


def _photos(db):
    from models.tickets import TicketPhoto

    with db.transaction() as session:
        return [(p.status, p.size, p.content_type) for p in session.scalars(select(TicketPhoto))]


def test_a_photo_is_fetched_from_lines_content_endpoint_and_kept(client, line, worker, db, clock):
    jpeg = b"\xff\xd8\xff\xe0" + b"0" * 2000
    line.add_content("200000000000000001", jpeg, "image/jpeg")
    _report_with_photo(client, line, worker, "200000000000000001")
    line.fail_next(1, status=500, path_prefix="/v2/bot/message/200000000000000001/content")
    worker.fetch_photos()
    assert _photos(db) == [("pending", 0, "")]  # a 5xx is tried again
    worker.fetch_photos()
    assert _photos(db) == [("stored", len(jpeg), "image/jpeg")]


@pytest.mark.parametrize("content", [b"x" * (5 * 1024 * 1024 + 1), None])
def test_an_oversized_or_missing_photo_keeps_the_ticket_and_tells_the_reporter(client, line, worker, db, clock,
                                                                                content):
    if content is not None:
        line.add_content("200000000000000002", content, "image/jpeg")
    _report_with_photo(client, line, worker, "200000000000000002")
    worker.fetch_photos()
    worker.relay_outbox()
    assert _photos(db)[0][0] == "failed"
    told = line.messages_to(MALEE)[-1]["text"]
    assert told.startswith("INC-2570-0001: รูปหรือไฟล์ที่แนบมาหนึ่งรายการบันทึกไม่ได้")
    assert ("ใหญ่เกิน 5 MB" in told) == (content is not None)
    assert _ticket(db).state == "new"


WILAI = "U7b9bf267397923a877e2905d7a61df07"  # S030, staff
SUDA = "Uc19480b00f6828547ac1cafac6b86397"  # S040, staff


def _me_too(client, line, worker, who: str, answer: str) -> list[dict]:
    asked = say(client, line, worker, who, "HOSxP ล่มค่ะ")
    assert asked[0]["text"].startswith("มีผู้แจ้งปัญหา HIS/HOSxP ไว้แล้วค่ะ: INC-2570-0001")
    return tap(client, line, worker, who, _quick(asked[0])[answer])


def test_reports_of_one_outage_become_one_major_incident_and_all_hear_the_fix(client, line, worker, db):
    from datetime import timedelta

    with _at(MORNING):
        _report_hosxp(client, line, worker)
    with _at(MORNING + timedelta(minutes=5)):
        joined = _me_too(client, line, worker, PITI, "เรื่องเดียวกัน")
    assert joined[0]["text"] == texts.INC_JOINED.format(number="INC-2570-0001")
    assert not any("มีผู้แจ้งปัญหาเดียวกัน" in m.get("text", "") for m in line.messages_to(IT_GROUP))
    with _at(MORNING + timedelta(minutes=8)):
        _me_too(client, line, worker, WILAI, "เรื่องเดียวกัน")
        assert "มีผู้แจ้งปัญหาเดียวกันแล้ว 3 ราย" in line.messages_to(IT_GROUP)[-1]["text"]
        different = _me_too(client, line, worker, SUDA, "คนละเรื่อง")
        assert "อาการเป็นอย่างไร" in different[0]["text"] or "กระทบ" in different[0]["text"]
        say(client, line, worker, SUDA, "ยกเลิก")
    with db.transaction() as session:
        assert len(session.scalars(select(Ticket)).all()) == 1  # no second ticket
    assert _history(db).count("me_too") == 2 and "major" in _history(db)

    with _at(MORNING + timedelta(minutes=40)):
        say(client, line, worker, KANDA, "ปิดงาน INC-2570-0001 รีสตาร์ท database server", group_id=IT_GROUP)
    for watcher in (PITI, WILAI):
        assert line.messages_to(watcher)[-1]["text"].startswith("INC-2570-0001 ที่ท่านแจ้งร่วม แก้ไขแล้ว")
    with _at(MORNING + timedelta(minutes=50)):
        later = say(client, line, worker, PITI, "HOSxP ล่มอีกแล้ว")
    assert later[0]["text"].startswith("รับแจ้งปัญหา HIS/HOSxP")  # the first is resolved: a new report


def test_the_same_person_reporting_again_is_pointed_to_their_ticket(client, line, worker, db, clock):
    _report_hosxp(client, line, worker)
    asked = say(client, line, worker, MALEE, "HOSxP ยังเข้าไม่ได้")
    answer = tap(client, line, worker, MALEE, _quick(asked[0])["เรื่องเดียวกัน"])
    assert answer[0]["text"].startswith("ท่านแจ้งเรื่องนี้ไว้แล้วค่ะ: INC-2570-0001")


def test_it_assigns_notes_and_waits_and_the_reporter_sees_only_what_concerns_them(client, line, worker, db, clock):
    _report_hosxp(client, line, worker)
    offered = say(client, line, worker, KANDA, "มอบหมาย INC-2570-0001", group_id=IT_GROUP)[0]
    choices = {item["action"]["label"]: item["action"] for item in offered["quickReply"]["items"]}
    assert choices["ธนา"] == {"type": "message", "label": "ธนา", "text": "มอบหมาย INC-2570-0001 ให้ ธนา"}
    assigned = say(client, line, worker, KANDA, choices["ธนา"]["text"], group_id=IT_GROUP)
    assert assigned[0]["text"] == "INC-2570-0001 มอบหมายให้ ธนา แล้ว (โดย กานดา)"
    assert line.messages_to(MALEE)[-1]["text"].startswith("INC-2570-0001 ธนา (ไอที) รับงานแล้ว")

    say(client, line, worker, THANA, "บันทึก INC-2570-0001 server log เต็ม ผู้ป่วย 1-2345-67890-12-3")
    say(client, line, worker, THANA, "ส่งผู้รับจ้าง INC-2570-0001")
    assert line.messages_to(MALEE)[-1]["text"] == "INC-2570-0001 อยู่ระหว่างส่งผู้รับจ้าง จะแจ้งเมื่อมีความคืบหน้าค่ะ"
    ticket = _ticket(db)
    assert (ticket.state, ticket.assignee_id is not None) == ("waiting", True)
    assert _history(db) == ["created", "assigned", "note", "waiting"]

    seen_by_reporter = say(client, line, worker, MALEE, "ติดตาม INC-2570-0001")[0]["text"]
    assert "server log" not in seen_by_reporter and "ส่งผู้รับจ้าง" in seen_by_reporter
    seen_by_it = say(client, line, worker, KANDA, "ติดตาม INC-2570-0001")[0]["text"]
    assert "server log เต็ม" in seen_by_it and "1-2345-67890-12-3" not in seen_by_it  # masked even inside

    say(client, line, worker, THANA, "ปิดงาน INC-2570-0001 ผู้รับจ้างเปลี่ยน harddisk")
    assert _ticket(db).state == "resolved"


def test_the_1_to_1_card_offers_every_it_action_within_line_limits(client, line, worker, db, clock):
    with db.transaction() as session:
        from models.org import set_setting

        set_setting(session, "notify.it_target", None)
    _report_hosxp(client, line, worker)
    labels = [a["label"] for a in _footer(line.messages_to(THANA)[-1])]
    assert labels == ["รับงาน", "มอบหมาย", "เพิ่มบันทึก", "รออะไหล่", "ส่งผู้รับจ้าง", "ปิดงาน"]
    wait = _footer(line.messages_to(THANA)[-1])[3]["data"]
    assert tap(client, line, worker, THANA, wait)[0]["text"] == "INC-2570-0001 สถานะ: รออะไหล่ แจ้งผู้แจ้งแล้วค่ะ"
    assert tap(client, line, worker, PITI, wait)[0]["text"] == texts.IT_ONLY


def test_a_new_report_typed_instead_of_a_rating_comment_is_not_lost(client, line, worker, db, clock):
    _report_hosxp(client, line, worker)
    say(client, line, worker, KANDA, "ปิดงาน INC-2570-0001 แก้แล้ว", group_id=IT_GROUP)
    tap(client, line, worker, MALEE, encode("inc_ok", n="INC-2570-0001"))
    tap(client, line, worker, MALEE, encode("inc_rate", n="INC-2570-0001", r=4))
    answer = say(client, line, worker, MALEE, "ปริ้นเตอร์ห้องยาเสีย")
    assert "กระทบการให้บริการผู้ป่วย" in answer[0]["text"]  # the report dialog started
    assert _ticket(db).rating_comment == ""


def test_normal_tickets_wait_for_the_digest_while_critical_ones_go_at_once(app, client, line, worker, db):
    from datetime import timedelta

    app.config["IT_DIGEST_TIMES"] = ("08:30",)
    with _at(MORNING - timedelta(minutes=4)):
        worker.ticket_deadlines()  # today's 08:30 digest has gone (with nothing in it)
    with _at(MORNING):
        first = say(client, line, worker, MALEE, "ปริ้นเตอร์ห้องยาเสีย")
        where = tap(client, line, worker, MALEE, _quick(first[0])["ยังไม่กระทบ"])
        photo = tap(client, line, worker, MALEE, next(iter(_quick(where[0]).values())))
        tap(client, line, worker, MALEE, _quick(photo[0])["ไม่มีรูป"])
        worker.ticket_deadlines()
        worker.relay_outbox()
        assert line.messages_to(IT_GROUP) == []  # normal priority: held for tomorrow's digest
    with _at(MORNING + timedelta(minutes=5)):
        _report_hosxp(client, line, worker)
        assert "INC-2570-0002" in line.messages_to(IT_GROUP)[-1]["altText"]  # critical: at once
    next_day = datetime(2026, 11, 23, 8, 31, tzinfo=BANGKOK)
    for moment in (next_day, next_day + timedelta(minutes=1)):
        with _at(moment):
            worker.ticket_deadlines()
            worker.relay_outbox()
    digests = [m for m in line.messages_to(IT_GROUP) if m.get("contents", {}).get("type") == "carousel"]
    assert len(digests) == 1
    assert [b["body"]["contents"][0]["text"] for b in digests[0]["contents"]["contents"]] == [
        "🟢 INC-2570-0001 เครื่องพิมพ์"]
