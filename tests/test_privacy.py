"""PDPA: retention per kind of data, export and erase of one person, traffic metadata kept 90 days."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine
from sqlalchemy import func, select

from models.audit import AuditEntry
from models.inbox import InboxEvent
from models.org import staff_by_code
from models.outbox import OutboxMessage
from models.privacy import ERASED, PURGED
from models.sop_answers import SopAnswer
from models.tickets import Ticket
from tests.conftest import IT_GROUP, KANDA, MALEE, say

BANGKOK = ZoneInfo("Asia/Bangkok")
START = datetime(2026, 11, 22, 9, 0, tzinfo=BANGKOK)


def _activity(client, line, worker) -> None:
    """Malee asks an SOP question and reports a printer fault, which IT fixes and she confirms."""
    say(client, line, worker, MALEE, "ต้องทบทวนสิทธิ์ผู้ใช้งานบ่อยแค่ไหน")
    first = say(client, line, worker, MALEE, "ปริ้นเตอร์ห้องยาเสีย กระดาษติด")
    quick = {i["action"]["label"]: i["action"]["data"] for i in first[0]["quickReply"]["items"]}
    from tests.conftest import tap

    where = tap(client, line, worker, MALEE, quick["ยังไม่กระทบ"])
    photo = tap(client, line, worker, MALEE, where[0]["quickReply"]["items"][0]["action"]["data"])
    tap(client, line, worker, MALEE, photo[0]["quickReply"]["items"][0]["action"]["data"])
    say(client, line, worker, KANDA, "ปิดงาน INC-2570-0001 เอากระดาษออก", group_id=IT_GROUP)
    tap(client, line, worker, MALEE, "a=inc_ok&n=INC-2570-0001")


def _counts(db) -> dict[str, object]:
    with db.transaction() as session:
        inbox = list(session.scalars(select(InboxEvent)))
        return {
            "inbox_rows": len(inbox),
            "inbox_with_content": sum(1 for e in inbox if e.payload),
            "outbox_with_bodies": session.scalar(select(func.count()).select_from(OutboxMessage)
                                                 .where(OutboxMessage.status == "sent")),
            "question": session.scalar(select(SopAnswer.question)),
            "ticket": session.scalar(select(Ticket.description)),
        }


def test_each_kind_of_data_goes_after_its_own_retention_and_traffic_metadata_stays_90_days(client, line, worker,
                                                                                          db):
    with time_machine.travel(START, tick=False):
        _activity(client, line, worker)
    before = _counts(db)
    assert before["inbox_rows"] > 0 and before["inbox_with_content"] == before["inbox_rows"]
    checks = [
        (29, lambda c: c["inbox_with_content"] == c["inbox_rows"] and c["outbox_with_bodies"] > 0),
        (31, lambda c: c["inbox_with_content"] == 0 and c["inbox_rows"] == before["inbox_rows"]
         and c["outbox_with_bodies"] == 0),  # content gone, who/when/what kind kept
        (89, lambda c: c["inbox_rows"] == before["inbox_rows"] and c["question"] != PURGED),
        (91, lambda c: c["inbox_rows"] == 0 and c["question"] == PURGED and c["ticket"] != PURGED),
        (366, lambda c: c["ticket"] == PURGED),
    ]
    for days, holds in checks:
        with time_machine.travel(START + timedelta(days=days), tick=False):
            worker.purge_personal_data()
        assert holds(_counts(db)), (days, _counts(db))
    with db.transaction() as session:
        ticket = session.scalar(select(Ticket))
        assert (ticket.number, ticket.category, ticket.closed_how) == ("INC-2570-0001", "printer", "confirmed")
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "privacy.purged"))


def test_export_and_erase_one_persons_data(app, client, line, worker, db):
    with time_machine.travel(START, tick=False):
        _activity(client, line, worker)
    runner = app.test_cli_runner()
    exported = json.loads(runner.invoke(args=["privacy", "export", "S021"]).output)
    assert exported["staff"]["name"] == "นางสาวมาลี ผู้ป่วยใน"
    assert exported["tickets"][0]["description"].startswith("ปริ้นเตอร์ห้องยาเสีย")
    assert exported["sop_questions"][0]["question"] == "ต้องทบทวนสิทธิ์ผู้ใช้งานบ่อยแค่ไหน"
    assert runner.invoke(args=["privacy", "erase", "S021"]).exit_code == 2  # asks for --yes
    assert runner.invoke(args=["privacy", "erase", "S021", "--yes"]).exit_code == 0
    with db.transaction() as session:
        malee = staff_by_code(session, "S021")
        assert (malee.name, malee.line_user_id, malee.active, malee.roles) == ("(S021)", None, False, set())
        assert session.scalar(select(Ticket.description)) == ERASED
        assert session.scalar(select(Ticket.number)) == "INC-2570-0001"  # the KPI figures still hold
        assert session.scalar(select(SopAnswer.question)) == ERASED
        assert all(not e.payload for e in session.scalars(select(InboxEvent).where(InboxEvent.chat_id == MALEE)))
        assert session.scalar(select(AuditEntry.subject).where(AuditEntry.action == "privacy.erased")) == "S021"
    assert "ลงทะเบียน" in say(client, line, worker, MALEE, "เมนู")[0]["text"]  # she is a stranger now


def test_purge_command_reports_what_it_removed(app):
    result = app.test_cli_runner().invoke(args=["privacy", "purge"])
    assert result.exit_code == 0 and "inbox_payloads: 0" in result.output
