"""Account requests: dialog, one-tap approval by the right person only, execution, register."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from handlers import texts
from handlers.dispatch import dispatch
from models import approvals
from models.accounts import AccountEntry, AccountRequest
from models.approvals import Approval
from models.audit import AuditEntry
from models.base import utcnow
from models.org import staff_by_code
from models.outbox import OutboxMessage
from tests.conftest import DIRECTOR, KANDA, say, tap
from tests.conftest import footer_data as _footer
from tests.conftest import quick_data as _quick

PITI = "U61f3dc0008d687ec55a5f933c163eb40"  # S031, pharmacy staff
WILAI = "U7b9bf267397923a877e2905d7a61df07"  # S030, head of pharmacy: Piti's approver
PORNTIP = "U2e7b46d7b1f1248f6af910b812a75904"  # S020, head of nursing: another supervisor
UNKNOWN = "U" + "cd" * 16
BANGKOK = ZoneInfo("Asia/Bangkok")
MORNING = datetime(2026, 11, 22, 9, 0, tzinfo=BANGKOK)




def _request(client, line, worker) -> dict[str, str]:
    """Piti asks for HOSxP rights, as in the example conversation; returns Wilai's card buttons."""
    asked = say(client, line, worker, PITI, "ขอสิทธิ์เข้า HOSxP หน่อยครับ เพิ่งย้ายมาห้องยา")
    assert asked[0]["text"] == "ขอสิทธิ์ระบบ HOSxP XE นะคะ ต้องการแบบไหน"
    whom = tap(client, line, worker, PITI, _quick(asked[0])["ปรับสิทธิ์"])
    tap(client, line, worker, PITI, _quick(whom[0])["ตัวเอง"])
    say(client, line, worker, PITI, "จ่ายยาผู้ป่วยนอก")
    summary = say(client, line, worker, PITI, "ย้ายจากคลังยามาห้องจ่ายยา")[0]
    assert "ปรับสิทธิ์" in summary["text"] and "จ่ายยาผู้ป่วยนอก" in summary["text"]
    sent = tap(client, line, worker, PITI, _quick(summary)["ยืนยันส่งคำขอ"])
    assert sent[0]["text"] == "ACC-2570-0001 ส่งให้ วิไล พิจารณาแล้วค่ะ"
    card = line.messages_to(WILAI)[-1]
    buttons = _footer(card)
    assert set(buttons) == {"อนุมัติ", "ไม่อนุมัติ"}
    return buttons


def _state(db, number: str = "ACC-2570-0001") -> tuple[str, str]:
    with db.transaction() as session:
        request = session.scalar(select(AccountRequest).where(AccountRequest.number == number))
        approval = session.get(Approval, request.approval_id)
        return request.state, approval.state


@pytest.fixture
def clock():
    with time_machine.travel(MORNING, tick=True):
        yield


def test_request_approval_execution_and_register(client, line, worker, db, clock):
    buttons = _request(client, line, worker)
    assert tap(client, line, worker, WILAI, buttons["อนุมัติ"])[0]["text"] == "อนุมัติ ACC-2570-0001 แล้วค่ะ"
    assert line.messages_to(PITI)[-1]["text"].startswith("ACC-2570-0001 วิไล อนุมัติแล้ว")
    task = line.messages_to(KANDA)[-1]  # S010 owns HOSXP in the organisation file
    assert "ACC-2570-0001" in task["altText"]
    done = tap(client, line, worker, KANDA, _footer(task)["ดำเนินการแล้ว"])
    assert done[0]["text"] == "บันทึกว่า ACC-2570-0001 ดำเนินการแล้วค่ะ"
    assert line.messages_to(PITI)[-1]["text"].startswith("ACC-2570-0001 ปรับสิทธิ์ ระบบ HOSxP XE เรียบร้อยแล้ว")
    with db.transaction() as session:
        entry = session.scalar(select(AccountEntry))
        assert (entry.rights, entry.active, entry.source) == ("จ่ายยาผู้ป่วยนอก", True, "ACC-2570-0001")
        actions = list(session.scalars(select(AuditEntry.action).where(AuditEntry.subject == "ACC-2570-0001")
                                       .order_by(AuditEntry.id)))
    assert actions == ["account.requested", "approval.requested", "approval.approved", "account.done"]
    assert _state(db) == ("done", "approved")
    again = tap(client, line, worker, KANDA, _footer(task)["ดำเนินการแล้ว"])[0]["text"]
    assert again.startswith("บันทึก ACC-2570-0001 ไม่ได้")


def test_reject_asks_for_a_reason_and_the_requester_gets_it(client, line, worker, db, clock):
    buttons = _request(client, line, worker)
    asked = tap(client, line, worker, WILAI, buttons["ไม่อนุมัติ"])
    assert asked[0]["text"] == "โปรดระบุเหตุผลสั้น ๆ ที่ไม่อนุมัติ ACC-2570-0001"
    assert _state(db) == ("awaiting_approval", "pending")  # nothing decided without a reason
    say(client, line, worker, WILAI, "ยังไม่ได้รับคำสั่งย้ายอย่างเป็นทางการ")
    assert line.messages_to(PITI)[-1]["text"] == (
        "ACC-2570-0001 วิไล ไม่อนุมัติค่ะ เหตุผล: ยังไม่ได้รับคำสั่งย้ายอย่างเป็นทางการ")
    assert _state(db) == ("rejected", "rejected")
    stale = tap(client, line, worker, WILAI, buttons["อนุมัติ"])[0]["text"]
    assert stale == "ACC-2570-0001 พิจารณาไปแล้วค่ะ (ไม่อนุมัติ โดย วิไล)"
    assert _state(db) == ("rejected", "rejected")


@pytest.mark.parametrize(
    ("who", "answer"),
    [
        (PORNTIP, "ท่านไม่ใช่ผู้อนุมัติคำขอ ACC-2570-0001 ค่ะ"),  # another supervisor
        (KANDA, "ท่านไม่ใช่ผู้อนุมัติคำขอ ACC-2570-0001 ค่ะ"),  # IT
        (DIRECTOR, "ท่านไม่ใช่ผู้อนุมัติคำขอ ACC-2570-0001 ค่ะ"),  # the approver's boss, before escalation
        (PITI, "ไม่สามารถอนุมัติคำขอของตนเองได้ค่ะ (ACC-2570-0001)"),  # the requester replaying the card
        (UNKNOWN, texts.REGISTER_ASK),  # not registered
    ],
)
def test_only_the_designated_approver_decides(client, line, worker, db, clock, who, answer):
    buttons = _request(client, line, worker)
    assert tap(client, line, worker, who, buttons["อนุมัติ"])[0]["text"] == answer
    assert _state(db) == ("awaiting_approval", "pending")


def test_an_acting_head_decides_only_inside_the_delegation_dates(client, line, worker, db):
    with db.transaction() as session:
        head, acting = staff_by_code(session, "S030"), staff_by_code(session, "S040")
        approvals.delegate(session, head, acting, date(2026, 11, 20), date(2026, 11, 25), utcnow())
    with time_machine.travel(MORNING, tick=True):  # inside: the acting head is the approver
        asked = say(client, line, worker, PITI, "ขอสิทธิ์เข้า HOSxP หน่อยครับ")
        whom = tap(client, line, worker, PITI, _quick(asked[0])["รีเซ็ตรหัสผ่าน"])
        tap(client, line, worker, PITI, _quick(whom[0])["ตัวเอง"])
        summary = say(client, line, worker, PITI, "ลืมรหัสผ่าน")[0]
        sent = tap(client, line, worker, PITI, _quick(summary)["ยืนยันส่งคำขอ"])
        assert sent[0]["text"] == "ACC-2570-0001 ส่งให้ สุดา พิจารณาแล้วค่ะ"
        assert texts.ACC_PASSWORD_NOTE in [m["text"] for m in sent]
        suda = "Uc19480b00f6828547ac1cafac6b86397"
        card = _footer(line.messages_to(suda)[-1])
        assert tap(client, line, worker, WILAI, card["อนุมัติ"])[0]["text"] == (
            "ท่านไม่ใช่ผู้อนุมัติคำขอ ACC-2570-0001 ค่ะ")  # the head, while an acting head holds it
        assert tap(client, line, worker, suda, card["อนุมัติ"])[0]["text"] == "อนุมัติ ACC-2570-0001 แล้วค่ะ"
    after = datetime(2026, 11, 26, 9, 0, tzinfo=BANGKOK)  # after the delegation: the head again
    with time_machine.travel(after, tick=True), db.transaction() as session:
        piti = staff_by_code(session, "S031")
        assert approvals.approver_for(session, piti, utcnow()).code == "S030"


EIGHT_PEOPLE = [DIRECTOR, KANDA, "U518701e6fbbc3e88d29983006674e487", PORNTIP, WILAI, PITI,
                "Uc19480b00f6828547ac1cafac6b86397", "Uc28418c70f8afddddfe1fca78a5d0ba0"]


@pytest.mark.parametrize("pressers", [[WILAI] * 8, EIGHT_PEOPLE], ids=["one-approver-8-taps", "eight-people"])
def test_eight_taps_at_the_same_instant_make_one_decision_and_one_message(app, client, line, worker, db, clock,
                                                                          pressers):
    buttons = _request(client, line, worker)
    def told_approved() -> int:
        with db.transaction() as session:
            rows = session.scalars(select(OutboxMessage.messages).where(OutboxMessage.to_id == PITI))
            return sum(1 for messages in rows for m in messages if "อนุมัติแล้ว" in m.get("text", ""))

    before = told_approved()
    events = [line.make_event("postback", who, data=buttons["อนุมัติ"]) for who in pressers]
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def press(event: dict) -> None:
        try:
            barrier.wait(timeout=10)
            with app.app_context(), db.transaction() as session:
                dispatch(session, event, utcnow())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=press, args=(event,)) for event in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with db.transaction() as session:
        decisions = session.scalar(select(func.count()).select_from(AuditEntry)
                                   .where(AuditEntry.action == "approval.approved"))
    assert (told_approved() - before, decisions) == (1, 1)
    assert _state(db) == ("approved", "approved")


def test_a_pending_approval_is_reminded_then_escalated(client, line, worker, db):
    with time_machine.travel(MORNING, tick=False):
        _request(client, line, worker)
    for hours, reminded, escalated in ((23, 0, 0), (25, 1, 0), (26, 1, 0), (73, 1, 1), (80, 1, 1)):
        with time_machine.travel(MORNING + timedelta(hours=hours), tick=False):
            worker.approval_deadlines()
            worker.relay_outbox()
        reminders = [m for m in line.messages_to(WILAI) if m.get("text", "").startswith("⏰ ACC-2570-0001")]
        escalations = [m for m in line.messages_to(DIRECTOR) if "ACC-2570-0001" in m.get("altText", "")]
        assert (len(reminders), len(escalations)) == (reminded, escalated), hours
    with time_machine.travel(MORNING + timedelta(hours=81), tick=False):
        approved = tap(client, line, worker, DIRECTOR, _footer(escalations[0])["อนุมัติ"])
    assert approved[0]["text"] == "อนุมัติ ACC-2570-0001 แล้วค่ะ"
    with db.transaction() as session:
        actions = list(session.scalars(select(AuditEntry.action).where(AuditEntry.subject == "ACC-2570-0001")))
    assert {"approval.reminded", "approval.escalated", "approval.approved"} <= set(actions)


def test_staff_of_another_group_cannot_be_named_but_hr_may_name_anyone(client, line, worker, db, clock):
    asked = say(client, line, worker, PITI, "ขอสิทธิ์เข้า HOSxP หน่อยครับ")
    whom = tap(client, line, worker, PITI, _quick(asked[0])["เปิดบัญชีใหม่"])
    assert whom[0]["text"] == texts.ACC_ASK_WHOM
    assert say(client, line, worker, PITI, "นางสาวมาลี ผู้ป่วยใน")[0]["text"] == texts.ACC_WHOM_OTHER_GROUP
    say(client, line, worker, PITI, "ยกเลิก")
    aruni = "Uc28418c70f8afddddfe1fca78a5d0ba0"  # S041, hr
    asked = say(client, line, worker, aruni, "ขอเปิด user HOSxP ให้พนักงานใหม่")
    whom = tap(client, line, worker, aruni, _quick(asked[0])["เปิดบัญชีใหม่"])
    assert whom[0]["text"] == texts.ACC_ASK_WHOM
    assert say(client, line, worker, aruni, "S021")[0]["text"] == texts.ACC_ASK_RIGHTS  # Malee, nursing


def test_register_imports_from_csv_all_or_nothing(app, db, tmp_path):
    good = tmp_path / "register.csv"
    good.write_text("staff_code,system_code,rights\nS021,HOSXP,พยาบาล IPD\nS031,EDOC,ผู้ใช้ทั่วไป\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["accounts", "import", str(good)])
    assert result.exit_code == 0, result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("staff_code,system_code,rights\nS021,EMAIL,x\nS999,HOSXP,x\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["accounts", "import", str(bad)])
    assert result.exit_code == 1 and "line 3" in result.output
    with db.transaction() as session:
        rows = {(e.staff_id, e.rights) for e in session.scalars(select(AccountEntry))}
    assert len(rows) == 2  # the broken file changed nothing


ARUNI = "Uc28418c70f8afddddfe1fca78a5d0ba0"  # S041, hr
THANA = "U518701e6fbbc3e88d29983006674e487"  # S011, it: owns EDOC, EMAIL, AD and WIFI


def test_a_leaver_across_three_systems_is_tracked_to_completion(app, client, line, worker, db):
    from models.accounts import import_register_csv

    with db.transaction() as session:
        import_register_csv(session, "staff_code,system_code,rights\nS031,HOSXP,จ่ายยา\nS031,EDOC,ผู้ใช้\n"
                                     "S031,EMAIL,ผู้ใช้\nS021,HOSXP,พยาบาล\n", utcnow())
    with time_machine.travel(MORNING, tick=False):
        assert say(client, line, worker, PITI, "แจ้งลาออก ปิติ")[0]["text"] == texts.LEAVER_HR_ONLY
        assert say(client, line, worker, ARUNI, "แจ้งบุคลากรลาออกค่ะ")[0]["text"] == texts.LEAVER_ASK_WHOM
        kinds = say(client, line, worker, ARUNI, "นายปิติ จ่ายยา")[0]
        date_prompt = tap(client, line, worker, ARUNI, _quick(kinds)["ลาออก"])[0]
        assert date_prompt["text"] == texts.LEAVER_ASK_DATE
        summary = say(client, line, worker, ARUNI, "30/11/2569")[0]
        assert "30 พ.ย. 2569" in summary["text"] and "3 ระบบ" in summary["text"]
        opened = tap(client, line, worker, ARUNI, _quick(summary)["ยืนยัน"])[0]["text"]
        assert opened.startswith("รับแจ้งแล้วค่ะ สร้างงาน 3 รายการ")
    tasks = {m["altText"].split()[0]: _footer(m)["ดำเนินการแล้ว"]
             for who in (KANDA, THANA) for m in line.messages_to(who) if "งานบัญชีผู้ใช้" in m.get("altText", "")}
    assert len(tasks) == 3

    first = sorted(tasks)[0]
    with time_machine.travel(MORNING + timedelta(days=1), tick=False):
        owner = KANDA if any(first in m.get("altText", "") for m in line.messages_to(KANDA)) else THANA
        tap(client, line, worker, owner, tasks[first])
    for days, reminders in ((6, 0), (7, 2), (8, 2), (14, 4)):  # weekly, for the two tasks still open
        with time_machine.travel(MORNING + timedelta(days=days), tick=False):
            worker.approval_deadlines()
            worker.relay_outbox()
        sent = [m for who in (KANDA, THANA) for m in line.messages_to(who) if m.get("text", "").startswith("⏰ ACC-")]
        assert len(sent) == reminders, days
    with time_machine.travel(MORNING + timedelta(days=15), tick=False):
        for number in sorted(tasks)[1:]:
            owner = KANDA if any(number in m.get("altText", "") for m in line.messages_to(KANDA)) else THANA
            tap(client, line, worker, owner, tasks[number])
    assert line.messages_to(ARUNI)[-1]["text"] == "บัญชีของ นายปิติ จ่ายยา (ลาออก) ดำเนินการครบทุกระบบแล้วค่ะ"
    with db.transaction() as session:
        piti = staff_by_code(session, "S031")
        active = session.scalar(select(func.count()).select_from(AccountEntry)
                                .where(AccountEntry.staff_id == piti.id, AccountEntry.active.is_(True)))
        others = session.scalar(select(func.count()).select_from(AccountEntry).where(AccountEntry.staff_id != piti.id))
    assert (active, others) == (0, 1)


def test_the_yearly_review_campaign_through_to_its_csv(app, client, line, worker, db):
    from models.accounts import import_register_csv

    with db.transaction() as session:
        import_register_csv(session, "staff_code,system_code,rights\nS031,HOSXP,จ่ายยา\nS031,EDOC,ผู้ใช้\n"
                                     "S021,HOSXP,พยาบาล IPD\n", utcnow())
    start = datetime(2026, 10, 1, 9, 0, tzinfo=BANGKOK)
    with time_machine.travel(start - timedelta(days=1), tick=False):
        worker.approval_deadlines()
    assert line.messages_to(WILAI) == []  # not before its date
    with time_machine.travel(start, tick=False):
        worker.approval_deadlines()
        worker.approval_deadlines()  # once a year, not once a run
        worker.relay_outbox()
    intro, cards = line.messages_to(WILAI)
    assert intro["text"].startswith("ทบทวนบัญชีและสิทธิ์ผู้ใช้งานประจำปี 2569") and "2 รายการ" in intro["text"]
    bubbles = cards["contents"]["contents"]
    assert [b["body"]["contents"][1]["text"] for b in bubbles] == ["ระบบ: HOSxP XE", "ระบบ: ระบบงานสารบรรณอิเล็กทรอนิกส์"]
    buttons = [{c["action"]["label"]: c["action"]["data"] for c in b["footer"]["contents"]} for b in bubbles]
    with time_machine.travel(start + timedelta(hours=2), tick=False):
        assert tap(client, line, worker, PORNTIP, buttons[0]["คงไว้"])[0]["text"] == texts.REVIEW_REFUSED
        kept = tap(client, line, worker, WILAI, buttons[0]["คงไว้"])[0]["text"]
        assert kept == "บันทึกแล้ว: นายปิติ จ่ายยา · HOSxP XE: คงไว้"
        tap(client, line, worker, WILAI, buttons[1]["ยกเลิก"])
        assert tap(client, line, worker, WILAI, buttons[1]["คงไว้"])[0]["text"] == texts.REVIEW_REFUSED
    assert any("ACC-2570-0001" in m.get("altText", "") for m in line.messages_to(THANA))  # EDOC's owner

    for days, porntip_reminders, director_cards in ((6, 0, 0), (7, 1, 0), (14, 2, 0), (30, 2, 1), (37, 2, 2)):
        with time_machine.travel(start + timedelta(days=days, minutes=1), tick=False):
            worker.approval_deadlines()
            worker.relay_outbox()
        reminders = [m for m in line.messages_to(PORNTIP) if m.get("text", "").startswith("⏰ ทบทวนบัญชี")]
        escalated = [m for m in line.messages_to(DIRECTOR) if m.get("text", "").startswith("⏰ ทบทวนบัญชี")]
        assert (len(reminders), len(escalated)) == (porntip_reminders, director_cards), days
    director_card = line.messages_to(DIRECTOR)[-1]["contents"]["contents"][0]
    keep = {c["action"]["label"]: c["action"]["data"] for c in director_card["footer"]["contents"]}["คงไว้"]
    with time_machine.travel(start + timedelta(days=38), tick=False):
        tap(client, line, worker, DIRECTOR, keep)

    result = app.test_cli_runner().invoke(args=["accounts", "review-csv", "2569"])
    rows = [line.split(",") for line in result.output.strip().splitlines()]
    assert rows[0][:3] == ["ปี", "รหัสเจ้าหน้าที่", "ชื่อ"] and len(rows) == 4
    by_account = {(r[1], r[3]): r for r in rows[1:]}
    assert by_account[("S031", "HOSxP XE")][6:8] == ["คงไว้", "นางวิไล เภสัชกร"]
    assert by_account[("S031", "ระบบงานสารบรรณอิเล็กทรอนิกส์")][9] == "ACC-2570-0001"
    assert by_account[("S021", "HOSxP XE")][6:8] == ["คงไว้", "นายแพทย์สมชาย ตัวอย่าง"]  # decided on escalation
    assert "1 ต.ค. 2569" in by_account[("S031", "HOSxP XE")][8]
