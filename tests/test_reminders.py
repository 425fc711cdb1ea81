"""Reminders the SOPs require: definitions as data, a schedule that survives restarts and downtime,
cards with done / snooze / assign in LINE, evidence, escalation, the quota and multicast budget."""

from __future__ import annotations

import csv
import io
import signal
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from bot.worker import Worker
from handlers.announcements import announce
from models import outbox, reminders, work_calendar
from models.base import utcnow
from models.message_quota import QuotaReading
from models.org import Staff
from models.reminders import DONE, MISSED, OPEN, ReminderDefinition, ReminderOccurrence
from models.tickets import TicketPhoto
from tests.conftest import DIRECTOR, KANDA, MALEE, footer_data, post_events, quick_data
from tests.test_worker_process import _peek, _start_worker, _wait_for

BKK = ZoneInfo("Asia/Bangkok")
THANA = "U518701e6fbbc3e88d29983006674e487"  # S011, it; his supervisor is S010 (Kanda), head of DIGI
DEFINED_ON = datetime(2027, 1, 4, 9, 0, tzinfo=BKK)  # a Monday


def at(day: date, hour: int = 8, minute: int = 30) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BKK)


def define(db, when: datetime = DEFINED_ON, **fields) -> None:
    raw = {"code": "T-1", "title": "ทดสอบการเตือน", "source": "SOP-TEST", "section": "1.1",
           "sop_text": "ทำอย่างน้อยปีละ 1 ครั้ง", "cadence": "yearly", "month": 3, "day": 10, "officer": "S011"}
    raw.update(fields)
    with db.transaction() as session:
        reminders.upsert_definitions(session, [raw], when)


def run(worker: Worker, moment: datetime) -> int:
    """One run of the reminders job and of the relay, with the clock frozen at `moment`."""
    with time_machine.travel(moment, tick=True):
        told = worker.sop_reminders()
        worker.relay_outbox()
    return told


def pushes_to(line, user_id: str) -> list:
    return [r for r in line.requests if r.path == "/v2/bot/message/push" and r.json["to"] == user_id
            and r.status == 200]


def bubbles(message: dict) -> list[dict]:
    contents = message["contents"]
    return contents["contents"] if contents["type"] == "carousel" else [contents]


def card_text(bubble: dict) -> str:
    return " ".join(c.get("text", "") for c in bubble["body"]["contents"])


def occurrences(db, code: str = "T-1") -> list[ReminderOccurrence]:
    with db.transaction() as session:
        rows = session.scalars(select(ReminderOccurrence).join(ReminderDefinition)
                               .where(ReminderDefinition.code == code).order_by(ReminderOccurrence.nominal_on))
        result = list(rows)
        session.expunge_all()
        return result


def tap_at(client, line, worker, user_id: str, data: str, moment: datetime) -> list[dict]:
    with time_machine.travel(moment, tick=True):
        before = len(line.messages_to(user_id))
        assert post_events(client, line, [line.make_event("postback", user_id, data=data)]).status_code == 200
        worker.tick()
        return line.messages_to(user_id)[before:]


def send_at(client, line, worker, user_id: str, moment: datetime, kind: str = "text", **kw) -> list[dict]:
    with time_machine.travel(moment, tick=True):
        before = len(line.messages_to(user_id))
        assert post_events(client, line, [line.make_event(kind, user_id, **kw)]).status_code == 200
        worker.tick()
        return line.messages_to(user_id)[before:]


# The schedule --------------------------------------------------------------------------------------


def test_a_yearly_reminder_fires_once_on_its_date(db, worker, line):
    define(db)
    assert run(worker, at(date(2027, 3, 9), 10)) == 0  # the day before
    assert run(worker, at(date(2027, 3, 10), 7, 59)) == 0  # before the send hour: nobody is woken
    assert run(worker, at(date(2027, 3, 10), 8, 1)) == 1
    for later in (at(date(2027, 3, 10), 8, 2), at(date(2027, 3, 10), 16)):
        assert run(worker, later) == 0
    sent = line.messages_to(THANA)
    assert len(sent) == 1
    (card,) = bubbles(sent[0])
    assert "10 มี.ค. 2570" in card_text(card) and "SOP-TEST ข้อ 1.1" in card_text(card)
    assert set(footer_data(sent[0] | {"contents": card})) == {"ดำเนินการแล้ว", "เลื่อน", "มอบหมาย"}
    assert len(occurrences(db)) == 1


def test_a_due_date_on_a_holiday_moves_to_the_next_working_day(db, worker, line):
    define(db, month=4, day=13)  # Songkran 2027: Tuesday 13 to Thursday 15 April
    for day in (13, 14, 15):
        assert run(worker, at(date(2027, 4, day), 9)) == 0
    assert run(worker, at(date(2027, 4, 16), 9)) == 1
    (card,) = bubbles(line.messages_to(THANA)[0])
    assert "16 เม.ย. 2570" in card_text(card) and "เลื่อนจาก 13 เม.ย. 2570" in card_text(card)
    (occ,) = occurrences(db)
    assert (occ.nominal_on, occ.due_on) == (date(2027, 4, 13), date(2027, 4, 16))


def test_an_agency_day_off_also_moves_it_and_a_definition_can_keep_its_date(db, worker, line):
    with db.transaction() as session:
        work_calendar.set_exception(session, date(2027, 3, 10), working=False, name="วันหยุดพิเศษ")
    define(db)
    define(db, code="T-2", working_day=False)
    run(worker, at(date(2027, 3, 10), 9))
    assert [o.due_on for o in occurrences(db, "T-2")] == [date(2027, 3, 10)]
    assert occurrences(db, "T-1") == []
    run(worker, at(date(2027, 3, 11), 9))
    assert [o.due_on for o in occurrences(db, "T-1")] == [date(2027, 3, 11)]


def test_overdue_is_reminded_once_then_escalated_to_the_supervisor_once(db, worker, line):
    define(db, escalate_after_days=2)
    run(worker, at(date(2027, 3, 10)))
    run(worker, at(date(2027, 3, 11)))  # one day late: reminded
    assert len(line.messages_to(THANA)) == 2
    assert "เลยกำหนดมา 1 วัน" in card_text(bubbles(line.messages_to(THANA)[1])[0])
    assert line.messages_to(KANDA) == []
    run(worker, at(date(2027, 3, 12)))  # two working days late: his supervisor hears of it
    to_boss = line.messages_to(KANDA)
    assert len(to_boss) == 2 and "ธนา" in to_boss[0]["text"] and "เลยกำหนด" in to_boss[0]["text"]
    for day in (12, 15, 16, 22):
        run(worker, at(date(2027, 3, day), 15))
    assert len(line.messages_to(THANA)) == 2 and len(line.messages_to(KANDA)) == 2
    (occ,) = occurrences(db)
    assert occ.escalated_to_id is not None and occ.state == OPEN


def test_not_sent_twice_after_a_restart_or_a_day_of_downtime(app, db, worker, line, client):
    define(db, cadence="weekly", weekday=0, month=None, day=None, officer=None, role="it")
    run(worker, at(date(2027, 1, 4)))
    assert len(pushes_to(line, THANA)) == 1 and len(pushes_to(line, KANDA)) == 1
    restarted = Worker(app, worker.line)  # a new process: nothing in memory
    run(restarted, at(date(2027, 1, 4), 8, 31))
    assert len(pushes_to(line, THANA)) == 1
    (first,) = occurrences(db)
    tap_at(client, line, worker, THANA, f"a=rmd&o={first.id}", at(date(2027, 1, 4), 10))
    worker.relay_outbox()
    assert "ธนา บันทึกว่า" in line.messages_to(KANDA)[-1]["text"]  # the other IT officer need not do it
    # Down from 5 to 19 January; back on Wednesday 20th: the week of the 11th was missed, the 18th is late.
    run(restarted, at(date(2027, 1, 20), 9))
    run(restarted, at(date(2027, 1, 20), 9, 1))
    states = {o.nominal_on: o.state for o in occurrences(db)}
    assert states == {date(2027, 1, 4): DONE, date(2027, 1, 11): MISSED, date(2027, 1, 18): OPEN}
    thana = pushes_to(line, THANA)
    assert len(thana) == 2  # the first card, and one for the latest missed week (not one per missed tick)
    (late,) = bubbles(thana[1].json["messages"][0])
    assert "18 ม.ค. 2570" in card_text(late) and "เลยกำหนดมา 2 วัน" in card_text(late)


def test_several_reminders_for_one_person_on_one_day_go_in_one_message(db, worker, line):
    define(db)
    define(db, code="T-2", title="งานที่สอง")
    define(db, code="T-3", title="งานที่สาม", evidence="photo")
    run(worker, at(date(2027, 3, 10)))
    (push,) = pushes_to(line, THANA)
    assert len(push.json["messages"]) == 1
    assert len(bubbles(push.json["messages"][0])) == 3


def test_two_workers_started_at_once_run_one_scheduler(app, db, line):
    now = utcnow()
    today = now.astimezone(BKK).date()
    define(db, when=now, cadence="weekly", weekday=today.weekday(), month=None, day=None, working_day=False)
    line.reset()
    env_hour = {"REMINDER_SEND_HOUR": "0"}
    first, second = _start_worker(app, line, env_hour), _start_worker(app, line, env_hour)
    try:
        _wait_for(lambda: first.poll() is not None or second.poll() is not None, 60)
        loser, winner = (first, second) if first.poll() is not None else (second, first)
        assert loser.returncode == 3 and "another worker is already running" in _peek(loser)
        _wait_for(lambda: len(line.messages_to(THANA)) >= 1, 60)
        winner.send_signal(signal.SIGTERM)
        winner.wait(timeout=30)
        # A restart: a second due reminder shows that the new worker's job has run, and the first
        # is not sent again.
        define(db, when=now, code="T-2", cadence="weekly", weekday=today.weekday(), month=None, day=None,
               working_day=False)
        third = _start_worker(app, line, env_hour)
        try:
            _wait_for(lambda: len(line.messages_to(THANA)) >= 2, 60)
        finally:
            third.send_signal(signal.SIGTERM)
            third.wait(timeout=30)
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    sent = line.messages_to(THANA)
    assert len(sent) == 2
    assert [len(occurrences(db, code)) for code in ("T-1", "T-2")] == [1, 1]


# The buttons ---------------------------------------------------------------------------------------


def _card_buttons(line, user_id: str, index: int = -1) -> dict[str, str]:
    message = line.messages_to(user_id)[index]
    return footer_data(message | {"contents": bubbles(message)[0]})


def test_evidence_required_done_without_it_is_not_accepted(db, worker, line, client):
    define(db, evidence="photo")
    run(worker, at(date(2027, 3, 10)))
    done = _card_buttons(line, THANA)["ดำเนินการแล้ว"]
    moment = at(date(2027, 3, 10), 10)
    asked = tap_at(client, line, worker, THANA, done, moment)
    assert "รูปภาพ" in asked[-1]["text"]
    refused = send_at(client, line, worker, THANA, moment, text="ทำแล้วครับ")
    assert "ยังไม่ได้บันทึก" in refused[-1]["text"]
    send_at(client, line, worker, THANA, moment, kind="sticker")
    cancelled = send_at(client, line, worker, THANA, moment, text="ยกเลิก")
    assert cancelled
    assert [o.state for o in occurrences(db)] == [OPEN]
    # A postback forged to skip the question changes nothing either: it only asks again.
    tap_at(client, line, worker, THANA, done, moment)
    recorded = send_at(client, line, worker, THANA, moment, kind="image")
    assert "บันทึกแล้ว" in recorded[-1]["text"] and "ธนา" in recorded[-1]["text"]
    (occ,) = occurrences(db)
    assert occ.state == DONE and occ.evidence_kind == "photo"
    with db.transaction() as session:
        photo = session.scalar(select(TicketPhoto).where(TicketPhoto.reminder_occurrence_id == occ.id))
        assert photo is not None and photo.kind == "evidence"
        done_by = session.get(Staff, occ.done_by_id)
        assert done_by.code == "S011"
    again = tap_at(client, line, worker, THANA, done, moment)
    assert "ดำเนินการแล้วโดย ธนา" in again[-1]["text"]


def test_text_evidence_must_say_something_and_is_kept(db, worker, line, client):
    define(db, evidence="text")
    run(worker, at(date(2027, 3, 10)))
    moment = at(date(2027, 3, 10), 11)
    tap_at(client, line, worker, THANA, _card_buttons(line, THANA)["ดำเนินการแล้ว"], moment)
    assert "ยังไม่ได้บันทึก" in send_at(client, line, worker, THANA, moment, text="ok")[-1]["text"]
    send_at(client, line, worker, THANA, moment, text="ตรวจรายชื่อผู้ลาออก 2 คน ปิดบัญชีแล้ว")
    (occ,) = occurrences(db)
    assert occ.state == DONE and occ.evidence_text == "ตรวจรายชื่อผู้ลาออก 2 คน ปิดบัญชีแล้ว"


def test_snooze_asks_when_and_why_then_reminds_on_that_day(db, worker, line, client):
    define(db, escalate_after_days=2)
    run(worker, at(date(2027, 3, 10)))
    moment = at(date(2027, 3, 10), 10)
    choices = quick_data(tap_at(client, line, worker, THANA, _card_buttons(line, THANA)["เลื่อน"], moment)[-1])
    assert list(choices) == ["วันทำการถัดไป", "อีก 3 วันทำการ", "อีก 1 สัปดาห์"]
    asked = tap_at(client, line, worker, THANA, choices["อีก 3 วันทำการ"], moment)
    assert "15 มี.ค. 2570" in asked[-1]["text"]  # Wednesday + 3 working days, over the weekend
    send_at(client, line, worker, THANA, moment, text="รอผู้อำนวยการลงนาม")
    (occ,) = occurrences(db)
    assert occ.snoozed_until == date(2027, 3, 15) and occ.snooze_reason == "รอผู้อำนวยการลงนาม"
    before = len(line.messages_to(THANA))
    for day in (11, 12):  # no overdue reminder, no escalation while postponed
        run(worker, at(date(2027, 3, day)))
    assert len(line.messages_to(THANA)) == before and line.messages_to(KANDA) == []
    run(worker, at(date(2027, 3, 15)))
    reminded = line.messages_to(THANA)[before:]
    assert len(reminded) == 1 and "รอผู้อำนวยการลงนาม" in card_text(bubbles(reminded[0])[0])
    run(worker, at(date(2027, 3, 17)))  # two working days after the postponed date: escalated
    assert len(line.messages_to(KANDA)) == 2


def test_assign_hands_it_to_a_colleague_with_the_same_role(db, worker, line, client):
    define(db, officer=None, role="it")
    run(worker, at(date(2027, 3, 10)))
    moment = at(date(2027, 3, 10), 10)
    choices = quick_data(tap_at(client, line, worker, THANA, _card_buttons(line, THANA)["มอบหมาย"], moment)[-1])
    assert list(choices) == ["กานดา"]  # the other IT officer; not himself, not a nurse
    kanda_before = len(line.messages_to(KANDA))
    answer = tap_at(client, line, worker, THANA, choices["กานดา"], moment)
    assert "มอบหมาย" in answer[-1]["text"] and "กานดา" in answer[-1]["text"]
    handed = line.messages_to(KANDA)[kanda_before:]
    assert "ธนา มอบหมาย" in handed[0]["text"] and bubbles(handed[1])
    (occ,) = occurrences(db)
    with db.transaction() as session:
        assert session.get(Staff, occ.assignee_id).code == "S010"
    thana_before = len(line.messages_to(THANA))
    run(worker, at(date(2027, 3, 11)))  # the overdue reminder goes to the assignee only
    assert len(line.messages_to(THANA)) == thana_before
    assert len(line.messages_to(KANDA)) == kanda_before + 3


def test_people_without_the_role_cannot_close_snooze_or_assign(db, worker, line, client):
    define(db, evidence="none")
    run(worker, at(date(2027, 3, 10)))
    (occ,) = occurrences(db)
    moment = at(date(2027, 3, 10), 10)
    for data in (f"a=rmd&o={occ.id}", f"a=rms&o={occ.id}&d=3", f"a=rma&o={occ.id}&to=S021",
                 "a=rmd&o=999999", "a=rmd&o=abc"):
        answer = tap_at(client, line, worker, MALEE, data, moment)
        assert answer and ("ไม่ได้อยู่ในความรับผิดชอบ" in answer[-1]["text"] or "ไม่พบงานนี้" in answer[-1]["text"])
    (occ,) = occurrences(db)
    assert occ.state == OPEN and occ.snoozed_until is None and occ.assignee_id is None
    # Assigning to someone outside the role is refused even for the officer himself.
    refused = tap_at(client, line, worker, THANA, f"a=rma&o={occ.id}&to=S021", moment)
    assert "ไม่มีเจ้าหน้าที่" in refused[-1]["text"]
    done = tap_at(client, line, worker, THANA, f"a=rmd&o={occ.id}", moment)
    assert "บันทึกแล้ว" in done[-1]["text"]


# Definitions as data ----------------------------------------------------------------------------


def test_the_default_set_loads_once_and_is_valid(db):
    with db.transaction() as session:
        added = reminders.install_defaults_once(session, utcnow())
        again = reminders.install_defaults_once(session, utcnow())
        result = reminders.upsert_definitions(session, reminders.load_definitions_file(), utcnow())
        codes = {d.code for d in reminders.active_definitions(session)}
    assert added >= 12 and again == 0 and (result.added, result.changed) == (0, 0)
    assert {"ACCOUNT-REVIEW", "BACKUP-CHECK", "CTAM", "AWARENESS", "LEAVER-REVIEW", "MAINT-REPORT",
            "ASSET-ORDER", "STRATEGY-SUMMARY", "COMMITTEE-MEETING", "ANNUAL-REPORT"} <= codes


@pytest.mark.parametrize(("fields", "message"), [
    ({"cadence": "daily"}, "cadence"),
    ({"cadence": "weekly", "weekday": None}, "weekday"),
    ({"month": 13}, "month"),
    ({"evidence": "video"}, "evidence"),
    ({"officer": "S999"}, "S999"),
    ({"officer": None, "role": None}, "role"),
    ({"role": "boss"}, "role"),
    ({"colour": "red"}, "colour"),
])
def test_a_bad_definition_is_refused_with_a_reason(db, fields, message):
    raw = {"code": "X", "title": "t", "cadence": "yearly", "month": 3, "day": 1, "officer": "S011"} | fields
    with db.transaction() as session, pytest.raises(reminders.DefinitionError, match=message):
        reminders.upsert_definitions(session, [{k: v for k, v in raw.items() if v is not None}], utcnow())


def test_admins_change_pause_and_delete_without_code(app, db, worker, line):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["reminders", "import"])
    assert result.exit_code == 0 and "added" in result.output
    listing = runner.invoke(args=["reminders", "list"]).output
    assert "LEAVER-REVIEW" in listing and "ทุกวันจันทร์" in listing
    define(db)
    assert runner.invoke(args=["reminders", "pause", "T-1"]).exit_code == 0
    run(worker, at(date(2027, 3, 10)))
    assert occurrences(db) == []
    assert runner.invoke(args=["reminders", "resume", "t-1"]).exit_code == 0
    define(db, title="ชื่อใหม่")  # changed by code
    run(worker, at(date(2027, 3, 10), 9))
    assert "ชื่อใหม่" in card_text(bubbles(line.messages_to(THANA)[-1])[0])
    assert runner.invoke(args=["reminders", "delete", "T-1"]).exit_code == 0
    assert "T-1" not in runner.invoke(args=["reminders", "list"]).output
    assert len(occurrences(db)) == 1  # kept for the audit pack
    assert runner.invoke(args=["reminders", "pause", "NOPE"]).exit_code == 1


def test_org_import_installs_the_default_set_the_first_time(app, tmp_path):
    from tests.conftest import ORG_FILE

    runner = app.test_cli_runner()
    first = runner.invoke(args=["org", "import", str(ORG_FILE)])
    second = runner.invoke(args=["org", "import", str(ORG_FILE)])
    assert "default definitions added" in first.output and "reminders" not in second.output


@pytest.mark.parametrize(("fields", "start", "end", "expected"), [
    ({"cadence": "weekly", "weekday": 4}, date(2027, 1, 4), date(2027, 1, 20), [date(2027, 1, 8), date(2027, 1, 15)]),
    ({"cadence": "weekly", "weekday": 0, "interval": 2}, date(2027, 1, 4), date(2027, 2, 1),
     [date(2027, 1, 4), date(2027, 1, 18), date(2027, 2, 1)]),
    ({"cadence": "monthly", "day": 31}, date(2027, 1, 1), date(2027, 4, 30),
     [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]),
    ({"cadence": "quarterly", "month": 1, "day": 15}, date(2026, 10, 1), date(2027, 9, 30),
     [date(2026, 10, 15), date(2027, 1, 15), date(2027, 4, 15), date(2027, 7, 15)]),
    ({"cadence": "every_n_months", "interval": 6, "month": 12, "day": 15}, date(2026, 10, 1), date(2027, 12, 31),
     [date(2026, 12, 15), date(2027, 6, 15), date(2027, 12, 15)]),
    ({"cadence": "fiscal_year", "month": 1, "day": 31}, date(2026, 10, 1), date(2028, 9, 30),
     [date(2026, 10, 31), date(2027, 10, 31)]),
    ({"cadence": "fiscal_year", "month": 12, "day": 30}, date(2026, 10, 1), date(2027, 9, 30), [date(2027, 9, 30)]),
    ({"cadence": "yearly", "month": 2, "day": 29}, date(2027, 1, 1), date(2028, 12, 31),
     [date(2027, 2, 28), date(2028, 2, 29)]),
])
def test_cadences(fields, start, end, expected):
    defn = ReminderDefinition(cadence="yearly", interval=1, month=None, day=None, weekday=None, starts_on=start)
    for key, value in fields.items():
        setattr(defn, key, value)
    assert reminders.nominal_dates(defn, start, end) == expected


def test_the_work_calendar_knows_thai_holidays_and_the_agency_s_own(db, app):
    with db.transaction() as session:
        cal = work_calendar.load(session)
        assert not cal.is_working(date(2027, 4, 13))  # Songkran
        assert not cal.is_working(date(2026, 12, 7))  # substitution for 5 December (a Saturday)
        assert cal.is_working(date(2027, 4, 16))
        assert cal.working_days_between(date(2027, 4, 9), date(2027, 4, 19)) == 3  # Mon 12, Fri 16, Mon 19
        work_calendar.set_exception(session, date(2027, 4, 16), working=False, name="วันหยุดพิเศษ")
        work_calendar.set_exception(session, date(2027, 4, 15), working=True)
    with db.transaction() as session:
        cal = work_calendar.load(session)
        assert cal.on_or_after(date(2027, 4, 13)) == date(2027, 4, 15)
        assert cal.holiday_name(date(2027, 4, 16)) == "วันหยุดพิเศษ"
    listed = app.test_cli_runner().invoke(args=["holidays", "list", "2570"]).output
    assert "2027-04-13" in listed and "2027-04-16\tหน่วยงาน\tวันหยุดพิเศษ" in listed and "2027-04-15" not in listed


# Budget ----------------------------------------------------------------------------------------------


def test_the_admins_are_warned_once_a_month_at_80_percent_of_the_quota(db, worker, line):
    line.set_quota(10)
    with db.transaction() as session:
        for i in range(7):
            outbox.enqueue(session, MALEE, [{"type": "text", "text": f"ข้อความ {i}"}], utcnow())
    worker.relay_outbox()
    day1 = datetime(2027, 3, 1, 9, tzinfo=BKK)
    with time_machine.travel(day1, tick=True):
        assert worker.check_quota() is False  # 7 of 10: below 80 %
    with db.transaction() as session:
        outbox.enqueue(session, MALEE, [{"type": "text", "text": "อีกข้อความ"}], utcnow())
    worker.relay_outbox()
    with time_machine.travel(day1 + timedelta(hours=1), tick=True):
        assert worker.check_quota() is False  # read once a day: already read today
    with time_machine.travel(day1 + timedelta(days=1), tick=True):
        assert worker.check_quota() is True  # 8 of 10
        worker.relay_outbox()
    warnings = [m for m in line.messages_to(DIRECTOR) + line.messages_to(KANDA) if "โควตา" in m.get("text", "")]
    assert len(warnings) == 2 and "80%" in warnings[0]["text"]  # each admin, once
    with time_machine.travel(day1 + timedelta(days=2), tick=True):
        assert worker.check_quota() is False  # still over, same month: not again
    with time_machine.travel(datetime(2027, 4, 1, 9, tzinfo=BKK), tick=True):
        assert worker.check_quota() is True  # a new month
    with db.transaction() as session:
        readings = session.scalars(select(QuotaReading).order_by(QuotaReading.id)).all()
        assert [(r.limit, r.used) for r in readings][:2] == [(10, 7), (10, 8)]
        assert [r.warned for r in readings] == [False, True, False, True]
    quota_calls = [r for r in line.requests if r.path.startswith("/v2/bot/message/quota")]
    assert len(quota_calls) == 2 * 4  # limit and consumption, once per reading


def test_a_broadcast_to_1200_people_is_three_multicast_calls(db, worker, line):
    line.set_quota(None)  # this many exceed the fake's default monthly quota
    people = [f"U{i:032x}" for i in range(1200)]
    with db.transaction() as session:
        rows = outbox.enqueue_multicast(session, people + people[:10], [{"type": "text", "text": "ประกาศ"}],
                                        utcnow())
    assert [len(r.recipients) for r in rows] == [500, 500, 200]
    worker.relay_outbox()
    calls = [r for r in line.requests if r.path == "/v2/bot/message/multicast"]
    assert len(calls) == 3 and all(c.status == 200 for c in calls)
    assert len({c.headers["x-line-retry-key"] for c in calls}) == 3
    delivered = [s.to for s in line.sent if s.kind == "multicast"]
    assert sorted(delivered) == sorted(people)


def test_announce_command_and_a_definition_notice_use_multicast(app, db, worker, line):
    result = app.test_cli_runner().invoke(args=["announce", "ปิดปรับปรุงระบบ HOSxP คืนนี้ 22.00–23.00 น."])
    assert result.exit_code == 0 and "queued for" in result.output
    define(db, officer=None, role="it", notice="ขอเชิญทุกคนทบทวนความรู้ PDPA")
    run(worker, at(date(2027, 3, 10)))
    worker.relay_outbox()
    calls = [r for r in line.requests if r.path == "/v2/bot/message/multicast"]
    assert len(calls) == 2
    assert "PDPA" in calls[1].json["messages"][0]["text"] and MALEE in calls[1].json["to"]
    with db.transaction() as session:
        assert announce(session, utcnow(), "   ") == 0


# Audit pack ----------------------------------------------------------------------------------------


def test_the_audit_pack_lists_every_occurrence_of_the_fiscal_year(app, db, worker, line, client):
    define(db, evidence="text")
    define(db, code="T-2", title="งานรายสัปดาห์", cadence="weekly", weekday=0, month=None, day=None)
    run(worker, at(date(2027, 3, 10)))
    occ = occurrences(db)[0]
    tap_at(client, line, worker, THANA, f"a=rmd&o={occ.id}", at(date(2027, 3, 12), 9))
    send_at(client, line, worker, THANA, at(date(2027, 3, 12), 9), text="สรุปแล้ว ส่งผู้อำนวยการ")
    with time_machine.travel(at(date(2027, 3, 12), 10), tick=True):
        output = app.test_cli_runner().invoke(args=["reminders", "audit", "2570"]).output
        page = app.test_cli_runner().invoke(args=["reminders", "audit", "2570", "--html"]).output
    rows = list(csv.DictReader(io.StringIO(output)))
    yearly = next(r for r in rows if r["รหัส"] == "T-1")
    assert yearly["กำหนด"] == "10 มี.ค. 2570" and yearly["สถานะ"] == "ดำเนินการแล้ว"
    assert yearly["ดำเนินการโดย"] == "นายธนา เครือข่าย" and yearly["หลักฐาน"] == "สรุปแล้ว ส่งผู้อำนวยการ"
    assert yearly["ตรงเวลา"] == "ล่าช้า 2 วัน" and yearly["ปีงบประมาณ"] == "2570"
    weekly = [r for r in rows if r["รหัส"] == "T-2"]
    assert weekly and {r["สถานะ"] for r in weekly} <= {"ไม่ได้แจ้ง (ระบบหยุดทำงาน/ลบรายการ)", "ยังไม่ดำเนินการ"}
    assert "ทะเบียนการดำเนินงานตามคู่มือ" in page and "ล่าช้า 2 วัน" in page
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(ReminderOccurrence)) == len(rows)

