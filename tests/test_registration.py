"""Binding a LINE account to a staff record with a one-time code."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import select

from models.org import Staff, staff_by_code
from models.registration import issue_code
from tests.conftest import MALEE, say

NEWCOMER = "U0123456789abcdef0123456789abcdef"
STRANGER = "Ufedcba9876543210fedcba9876543210"


def _code_for(db, staff_code: str, **kw) -> str:
    from models.base import utcnow

    with db.transaction() as session:
        return issue_code(session, staff_by_code(session, staff_code), utcnow(), **kw)


def _bound_id(db, staff_code: str) -> str | None:
    with db.transaction() as session:
        return session.scalar(select(Staff.line_user_id).where(Staff.code == staff_code))


def test_right_code_binds_the_account(client, line, worker, db):
    code = _code_for(db, "S022")
    answer = say(client, line, worker, NEWCOMER, code.lower())
    assert _bound_id(db, "S022") == NEWCOMER
    assert "ลงทะเบียนเรียบร้อย" in answer[0]["text"]
    assert "ข้อมูลส่วนบุคคล" in answer[1]["text"]  # privacy notice on binding


def test_a_code_binds_only_once(client, line, worker, db):
    code = _code_for(db, "S022")
    say(client, line, worker, NEWCOMER, code)
    answer = say(client, line, worker, STRANGER, code)
    assert "ถูกใช้ไปแล้ว" in answer[0]["text"]
    assert _bound_id(db, "S022") == NEWCOMER


def test_expired_code_is_refused(client, line, worker, db):
    code = _code_for(db, "S022", ttl=timedelta(hours=1))
    with time_machine.travel(timedelta(hours=2)):
        answer = say(client, line, worker, NEWCOMER, code)
    assert "หมดอายุ" in answer[0]["text"]
    assert _bound_id(db, "S022") is None


def test_five_wrong_codes_lock_the_account_even_for_the_right_code(client, line, worker, db):
    code = _code_for(db, "S022")
    answers = [say(client, line, worker, NEWCOMER, "WRNGCD2" + str(i + 2))[0]["text"] for i in range(5)]
    assert "ลองได้อีก 4 ครั้ง" in answers[0]
    assert "ระงับ" in answers[4]
    answer = say(client, line, worker, NEWCOMER, code)
    assert "ระงับ" in answer[0]["text"]
    assert _bound_id(db, "S022") is None


def test_lock_ends_after_the_lockout(client, line, worker, db):
    code = _code_for(db, "S022")
    for i in range(5):
        say(client, line, worker, NEWCOMER, "WRNGCD2" + str(i + 2))
    with time_machine.travel(timedelta(minutes=31)):
        say(client, line, worker, NEWCOMER, code)
    assert _bound_id(db, "S022") == NEWCOMER


def test_codes_are_stored_hashed(db):
    code = _code_for(db, "S022")
    from models.registration import RegistrationCode

    with db.transaction() as session:
        stored = session.scalar(select(RegistrationCode.code_hash))
    assert code not in stored and len(stored) == 64


def test_a_new_code_replaces_the_previous_one(client, line, worker, db):
    first = _code_for(db, "S022")
    _code_for(db, "S022")
    answer = say(client, line, worker, NEWCOMER, first)
    assert "หมดอายุ" in answer[0]["text"]


def test_unknown_user_can_only_register(client, line, worker):
    for words in ("เมนู", "HOSxP เข้าไม่ได้", "ยกเลิก"):
        answer = say(client, line, worker, STRANGER, words)
        assert len(answer) == 1
        assert "รหัสลงทะเบียน" in answer[0]["text"]
        assert "quickReply" not in answer[0]


def test_known_user_sees_the_menu(client, line, worker):
    answer = say(client, line, worker, MALEE, "เมนู")
    assert answer[0]["quickReply"]["items"]


def test_staff_code_command_prints_a_working_code(app, client, line, worker, db):
    result = app.test_cli_runner().invoke(args=["staff", "code", "S022"])
    assert result.exit_code == 0, result.output
    code = result.stdout.strip().splitlines()[0]
    say(client, line, worker, NEWCOMER, code)
    assert _bound_id(db, "S022") == NEWCOMER


def test_staff_code_command_refuses_unknown_staff(app):
    result = app.test_cli_runner().invoke(args=["staff", "code", "S999"])
    assert result.exit_code == 1
    assert "S999" in result.output
