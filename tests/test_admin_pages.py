"""The admin pages beyond tickets: requests, staff directory, FAQ, reminders, undelivered messages and
the message quota. Every change is a POST with the CSRF token, done by an admin only, and audited.

Like tests/test_admin_web.py, nothing here holds an app context across requests (no `db` fixture):
Flask-WTF keeps the CSRF token on `g`, which would leak from one client to the next.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import yaml
from sqlalchemy import func, select

from models import accounts, approvals, message_quota, outbox, registration, reminders, web_requests
from models.approvals import Delegation
from models.audit import AuditEntry
from models.base import utcnow
from models.numbering import BANGKOK
from models.org import Staff, System, staff_by_code
from models.outbox import OutboxMessage
from models.tickets import TicketPhoto
from tests.conftest import MALEE
from tests.test_admin_web import csrf_of, enrol, login, transaction


def _client(app, code: str):
    client = app.test_client()
    assert login(client, code, enrol(app, code)).status_code == 302
    return client


@pytest.fixture
def admin(app):
    """S001, the director: admin."""
    return _client(app, "S001")


@pytest.fixture
def it(app):
    """S011: an IT officer, not an admin."""
    return _client(app, "S011")


def _audited(app, action: str, subject: str | None = None) -> list[AuditEntry]:
    with transaction(app) as session:
        stmt = select(AuditEntry).where(AuditEntry.action == action)
        if subject is not None:
            stmt = stmt.where(AuditEntry.subject == subject)
        return list(session.scalars(stmt))


def _staff(app, code: str) -> Staff | None:
    with transaction(app) as session:
        person = staff_by_code(session, code)
        if person is not None:
            _ = person.role_rows, person.supervisor, person.work_group
        return person


# --- account and website requests -------------------------------------------------------------


def test_requests_page_lists_both_kinds_with_the_approvers_decision(app, it):
    now = utcnow()
    with transaction(app) as session:
        malee, head = staff_by_code(session, "S021"), staff_by_code(session, "S020")
        system = session.scalar(select(System).where(System.code == "HOSXP"))
        acc = accounts.create_request(session, malee, accounts.NewAccountRequest(system.id, "new", malee.id), now)
        approval = approvals.open_approval(session, acc.number, malee, head, now)
        acc.approval_id = approval.id
        approvals.decide(session, approval.id, head, False, "ยังไม่ผ่านการอบรม", now)
        accounts.settle_decision(session, acc, approved=False)
        web = web_requests.create(session, malee, {"title": "ประกาศรับสมัครพยาบาล", "details": "x" * 30,
                                                   "source": "กลุ่มงานการพยาบาล", "category": "news"}, now)
        acc_number, web_number = acc.number, web.number

    page = it.get("/admin/requests").get_data(as_text=True)
    assert acc_number in page and web_number in page
    assert "ไม่อนุมัติ" in page and "ยังไม่ผ่านการอบรม" in page and "นางพรทิพย์ หัวหน้าพยาบาล" in page
    assert "HOSxP XE" in page and "เปิดบัญชีใหม่" in page and "ประกาศรับสมัครพยาบาล" in page

    rejected = it.get("/admin/requests?state=rejected").get_data(as_text=True)
    assert acc_number in rejected and web_number not in rejected
    waiting = it.get("/admin/requests?state=awaiting_approval&kind=web").get_data(as_text=True)
    assert web_number in waiting and acc_number not in waiting
    assert "ไม่พบคำขอเผยแพร่ตามเงื่อนไขนี้" in it.get("/admin/requests?state=published").get_data(as_text=True)


# --- staff directory --------------------------------------------------------------------------


def test_the_directory_shows_groups_roles_supervisors_and_line_binding_not_ids(app, admin):
    page = admin.get("/admin/staff").get_data(as_text=True)
    assert "นางสาวมาลี ผู้ป่วยใน" in page and "กลุ่มงานการพยาบาล" in page and "ผู้ดูแลระบบ" in page
    assert "ยังไม่ผูก" in page and "ผูกแล้ว" in page  # S022 has no LINE account yet
    assert MALEE not in page
    person = admin.get("/admin/staff/S021").get_data(as_text=True)
    assert "นางพรทิพย์ หัวหน้าพยาบาล" in person  # her approver: the head of her work group
    assert admin.get("/admin/staff/S999").status_code == 404


CSV_GOOD = """code,name,position,work_group,roles,supervisor
S050,นายใหม่ ไอที,นักวิชาการคอมพิวเตอร์,DIGI,staff|it,S010
S022,นายสมศักดิ์ ห้องฉุกเฉิน,พยาบาลวิชาชีพชำนาญการ,NURS,staff supervisor,
"""


def test_a_csv_adds_and_updates_staff_and_is_audited(app, admin):
    token = csrf_of(admin, "/admin/staff")
    answer = admin.post("/admin/staff/import", data={"csrf_token": token, "text": CSV_GOOD})
    assert answer.status_code == 302
    assert "เพิ่ม 1 คน แก้ไข 1 คน" in admin.get("/admin/staff").get_data(as_text=True)
    new = _staff(app, "S050")
    assert new is not None and new.roles == {"staff", "it"} and new.supervisor.code == "S010"
    assert new.work_group.code == "DIGI" and new.line_user_id is None
    assert _staff(app, "S022").roles == {"staff", "supervisor"}
    assert _staff(app, "S022").position == "พยาบาลวิชาชีพชำนาญการ"
    assert _staff(app, "S021").active  # not in the file: left alone
    [entry] = _audited(app, "staff.csv_import")
    assert entry.detail["created"] == 1 and entry.detail["updated"] == 1 and entry.actor_id is not None
    # the same file again changes nothing
    admin.post("/admin/staff/import", data={"csrf_token": token, "text": CSV_GOOD})
    assert "เพิ่ม 0 คน แก้ไข 0 คน" in admin.get("/admin/staff").get_data(as_text=True)


def test_a_bad_csv_changes_nothing_and_names_every_bad_line(app, admin):
    bad = ("code,name,position,work_group,roles,supervisor\n"
           "S050,นายใหม่ ไอที,,DIGI,staff|it,S010\n"  # fine on its own
           "S051,นางสาวผิด กลุ่ม,,NOPE,staff,\n"  # line 3: unknown work group
           "S052,นายบทบาท ผิด,,DIGI,staff|wizard,\n"  # line 4: unknown role
           "S050,ซ้ำ,,DIGI,staff,\n"  # line 5: duplicate code
           "S053,นายวน,,DIGI,staff,S054\nS054,นายวน สอง,,DIGI,staff,S053\n")  # lines 6-7: a loop
    token = csrf_of(admin, "/admin/staff")
    answer = admin.post("/admin/staff/import", data={"csrf_token": token, "text": bad})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert "ยังไม่ได้นำเข้าข้อมูลใด ๆ" in page
    assert "บรรทัดที่ 3: ไม่พบกลุ่มงานรหัส NOPE" in page
    assert "บรรทัดที่ 4: ไม่รู้จักบทบาท wizard" in page
    assert "บรรทัดที่ 5: รหัส S050 ซ้ำกับบรรทัดที่ 2" in page
    assert "บรรทัดที่ 6: ผู้บังคับบัญชาวนกลับมาที่เดิม" in page
    assert "บรรทัดที่ 2" not in page.split("บรรทัดที่ 5")[0]  # the good line is not reported
    assert _staff(app, "S050") is None
    assert _audited(app, "staff.csv_import") == []
    # a file upload, with a header that does not fit
    from io import BytesIO

    answer = admin.post("/admin/staff/import", data={
        "csrf_token": token, "file": (BytesIO(b"code,name,group\nS050,x,DIGI\n"), "staff.csv")},
        content_type="multipart/form-data")
    assert answer.status_code == 400 and "บรรทัดที่ 1: หัวตารางไม่ถูกต้อง" in answer.get_data(as_text=True)


def test_changing_roles_and_supervisor(app, admin):
    token = csrf_of(admin, "/admin/staff/S022")
    answer = admin.post("/admin/staff/S022/roles", data={"csrf_token": token, "roles": ["it", "webmaster"],
                                                          "supervisor": "S010"})
    assert answer.status_code == 302
    person = _staff(app, "S022")
    assert person.roles == {"staff", "it", "webmaster"} and person.supervisor.code == "S010"
    [entry] = _audited(app, "staff.roles_changed", "S022")
    assert entry.detail["roles"] == ["it", "staff", "webmaster"] and entry.detail["supervisor"] == "S010"
    # a loop of supervisors, and an admin removing their own admin role, are refused
    loop = admin.post("/admin/staff/S010/roles", data={"csrf_token": token, "roles": ["it", "admin"],
                                                        "supervisor": "S022"})
    assert loop.status_code == 400 and "วนกลับ" in loop.get_data(as_text=True)
    assert _staff(app, "S010").supervisor.code == "S001"
    own = admin.post("/admin/staff/S001/roles", data={"csrf_token": token, "roles": ["supervisor"]})
    assert own.status_code == 400 and "admin" in _staff(app, "S001").roles


def test_an_acting_head_is_delegated_for_dates(app, admin):
    today = utcnow().astimezone(BANGKOK).date()
    token = csrf_of(admin, "/admin/staff/S020")
    answer = admin.post("/admin/staff/S020/delegations", data={
        "csrf_token": token, "acting": "S022", "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=7)).isoformat()})
    assert answer.status_code == 302
    with transaction(app) as session:
        head = staff_by_code(session, "S020")
        assert approvals.acting_for(session, head, today).code == "S022"
        assert approvals.acting_for(session, head, today + timedelta(days=8)) is None
    assert len(_audited(app, "staff.delegated", "S020")) == 1
    page = admin.get("/admin/staff").get_data(as_text=True)
    assert "นายสมศักดิ์ ห้องฉุกเฉิน" in page.split('id="delegations"')[1] and "มีผลวันนี้" in page
    backwards = admin.post("/admin/staff/S020/delegations", data={
        "csrf_token": token, "acting": "S022", "starts_on": today.isoformat(),
        "ends_on": (today - timedelta(days=1)).isoformat()})
    assert backwards.status_code == 400 and "วันสิ้นสุดต้องไม่ก่อนวันเริ่ม" in backwards.get_data(as_text=True)
    with transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(Delegation)) == 1


def test_a_registration_code_is_shown_once_and_works(app, admin):
    token = csrf_of(admin, "/admin/staff/S022")
    answer = admin.post("/admin/staff/S022/registration-code", data={"csrf_token": token})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    code = page.split('class="big"')[1].split(">")[1].split("<")[0].strip()
    assert registration.looks_like_code(code)
    assert code not in admin.get("/admin/staff/S022").get_data(as_text=True)
    assert len(_audited(app, "staff.registration_code", "S022")) == 1
    with transaction(app) as session:
        result = registration.redeem(session, "U" + "ab" * 16, code, utcnow())
    assert result.outcome is registration.Outcome.BOUND and _staff(app, "S022").line_user_id == "U" + "ab" * 16


# --- knowledge-base FAQ -----------------------------------------------------------------------


@pytest.fixture
def faq_file(app, tmp_path):
    path = tmp_path / "faq.yaml"
    path.write_text("[]\n", encoding="utf-8")
    app.config["FAQ_FILE"] = str(path)
    return path


def test_faq_entries_are_added_edited_and_deleted_through_a_checked_file(app, admin, faq_file):
    from knowledge.corpus import load_faq_file

    token = csrf_of(admin, "/admin/faq")
    form = {"csrf_token": token, "original": "", "id": "faq-vpn", "questions": "ตั้งค่า VPN ยังไง\nต่อ VPN จากบ้าน",
            "answer": "ติดต่อกลุ่มงานสุขภาพดิจิทัล โทร 1234", "source": "ประกาศกลุ่มงานสุขภาพดิจิทัล 2569",
            "keywords": "vpn, remote"}
    answer = admin.post("/admin/faq/save", data=form)
    assert answer.status_code == 302
    [entry] = load_faq_file(faq_file)
    assert entry.id == "faq-vpn" and entry.questions == ("ตั้งค่า VPN ยังไง", "ต่อ VPN จากบ้าน")
    assert faq_file.with_name("faq.yaml.bak").read_text(encoding="utf-8") == "[]\n"
    page = admin.get("/admin/faq").get_data(as_text=True)
    assert "ตั้งค่า VPN ยังไง" in page and "restart" in page
    assert "ต่อ VPN จากบ้าน" in admin.get("/admin/faq/faq-vpn").get_data(as_text=True)
    assert len(_audited(app, "faq.added", "faq-vpn")) == 1

    assert admin.post("/admin/faq/save", data={**form, "original": "faq-vpn", "answer": "โทร 5678"}).status_code == 302
    assert load_faq_file(faq_file)[0].text == "โทร 5678"
    assert len(_audited(app, "faq.updated", "faq-vpn")) == 1

    # what kb check refuses is not written: an id the SOP corpus already uses, a missing answer
    before = faq_file.read_text(encoding="utf-8")
    clash = admin.post("/admin/faq/save", data={**form, "id": "000-6.6"})
    assert clash.status_code == 400 and "kb check" in clash.get_data(as_text=True)
    empty = admin.post("/admin/faq/save", data={**form, "id": "faq-new", "answer": ""})
    assert empty.status_code == 400 and "ต้องกรอกคำตอบ" in empty.get_data(as_text=True)
    duplicate = admin.post("/admin/faq/save", data=form)
    assert duplicate.status_code == 400 and "มีอยู่แล้ว" in duplicate.get_data(as_text=True)
    assert faq_file.read_text(encoding="utf-8") == before

    assert admin.post("/admin/faq/faq-vpn/delete", data={"csrf_token": token}).status_code == 302
    assert yaml.safe_load(faq_file.read_text(encoding="utf-8")) == []
    assert len(_audited(app, "faq.deleted", "faq-vpn")) == 1
    assert admin.post("/admin/faq/faq-vpn/delete", data={"csrf_token": token}).status_code == 404


# --- reminders --------------------------------------------------------------------------------


def _reminder_with_evidence(app) -> tuple[str, int, int]:
    """A definition, one done occurrence this fiscal year with a stored evidence file."""
    now = utcnow()
    today = now.astimezone(BANGKOK).date()
    with transaction(app) as session:
        reminders.install_defaults_once(session, now)
        reminders.upsert_definitions(session, [{"code": "BACKUP-TEST", "title": "ทดสอบกู้คืนข้อมูลสำรอง",
                                                "source": "SOP-TEST", "section": "6.4", "cadence": "monthly",
                                                "day": 1, "role": "it", "evidence": "file"}], now)
        definition = reminders.definition_by_code(session, "BACKUP-TEST")
        occ = reminders.ReminderOccurrence(definition_id=definition.id, nominal_on=today, due_on=today,
                                           announce_on=today, state=reminders.DONE, created_at=now, done_at=now,
                                           done_by_id=staff_by_code(session, "S011").id, evidence_kind="file")
        session.add(occ)
        session.flush()
        photo = TicketPhoto(reminder_occurrence_id=occ.id, message_id="m-evidence", kind="evidence",
                            created_at=now, data=b"%PDF-1.4 evidence", content_type="application/pdf", size=17)
        session.add(photo)
        session.flush()
        return "BACKUP-TEST", reminders.fiscal_year_of(today), photo.id


def test_reminder_definitions_and_this_years_occurrences_with_evidence(app, admin):
    _code, year, file_id = _reminder_with_evidence(app)
    page = admin.get("/admin/reminders").get_data(as_text=True)
    assert "ทดสอบกู้คืนข้อมูลสำรอง" in page and "ทุกเดือน วันที่ 1" in page
    assert f"ปีงบประมาณ {year}" in page and f'href="/admin/files/{file_id}"' in page
    assert admin.get(f"/admin/files/{file_id}").data == b"%PDF-1.4 evidence"
    csv_answer = admin.get(f"/admin/reminders/audit.csv?year={year}")
    text = csv_answer.data.decode("utf-8-sig")
    assert csv_answer.mimetype == "text/csv" and "attachment" in csv_answer.headers["Content-Disposition"]
    assert text.splitlines()[0].startswith("รหัส,งาน") and "BACKUP-TEST" in text and f"#{file_id}" in text
    assert "ไม่มีงานที่ครบกำหนด" in admin.get(f"/admin/reminders?year={year - 3}").get_data(as_text=True)


def test_reminders_are_paused_resumed_and_deleted(app, admin):
    code, _year, _file = _reminder_with_evidence(app)
    token = csrf_of(admin, "/admin/reminders")

    def definition():
        with transaction(app) as session:
            return reminders.definition_by_code(session, code)

    assert admin.post(f"/admin/reminders/{code}/pause", data={"csrf_token": token}).status_code == 302
    assert definition().paused and "หยุดชั่วคราว" in admin.get("/admin/reminders").get_data(as_text=True)
    assert admin.post(f"/admin/reminders/{code}/resume", data={"csrf_token": token}).status_code == 302
    assert not definition().paused
    assert admin.post(f"/admin/reminders/{code}/delete", data={"csrf_token": token}).status_code == 302
    assert definition() is None
    assert admin.post(f"/admin/reminders/{code}/pause", data={"csrf_token": token}).status_code == 404
    assert [len(_audited(app, f"reminder.{a}", code)) for a in ("pause", "resume", "delete")] == [1, 1, 1]
    # the occurrence it had stays in the audit pack
    assert code in admin.get("/admin/reminders").get_data(as_text=True).split('id="occurrences"')[1]


# --- undelivered messages ---------------------------------------------------------------------


def _dead_message(app, line, worker) -> int:
    with transaction(app) as session:
        [row] = outbox.enqueue(session, MALEE, [{"type": "text", "text": "ข้อความลับของผู้ป่วย"}], utcnow())
        session.flush()
        row_id = row.id
    line.fail_next(1, status=400)
    worker.relay_outbox()
    with transaction(app) as session:
        assert session.get(OutboxMessage, row_id).status == outbox.DEAD
    return row_id


def test_it_sees_dead_messages_by_name_without_text_and_an_admin_resends(app, admin, it, line, worker):
    row_id = _dead_message(app, line, worker)
    page = it.get("/admin/outbox").get_data(as_text=True)
    assert "นางสาวมาลี ผู้ป่วยใน" in page and "text" in page and "400" in page
    assert MALEE not in page and "ข้อความลับ" not in page
    assert f"/admin/outbox/{row_id}/resend" not in page  # IT may look, not resend
    assert it.post(f"/admin/outbox/{row_id}/resend", data={"csrf_token": csrf_of(it)}).status_code == 403

    with transaction(app) as session:
        old_key = session.get(OutboxMessage, row_id).retry_key
    assert f"/admin/outbox/{row_id}/resend" in admin.get("/admin/outbox").get_data(as_text=True)
    assert admin.post(f"/admin/outbox/{row_id}/resend", data={"csrf_token": csrf_of(admin)}).status_code == 302
    with transaction(app) as session:
        row = session.get(OutboxMessage, row_id)
        assert row.status == outbox.PENDING and row.attempts == 0 and row.retry_key != old_key
        new_key = row.retry_key
    assert len(_audited(app, "outbox.resend", str(row_id))) == 1
    assert "ไม่มีข้อความที่ส่งไม่สำเร็จ" in admin.get("/admin/outbox").get_data(as_text=True)

    worker.relay_outbox()
    with transaction(app) as session:
        assert session.get(OutboxMessage, row_id).status == outbox.SENT
    assert line.messages_to(MALEE)[-1]["text"] == "ข้อความลับของผู้ป่วย"
    assert new_key in line.accepted_retry_keys() and old_key not in line.accepted_retry_keys()
    # a second press (a stale page) changes nothing
    admin.post(f"/admin/outbox/{row_id}/resend", data={"csrf_token": csrf_of(admin)})
    with transaction(app) as session:
        assert session.get(OutboxMessage, row_id).status == outbox.SENT


def test_resend_only_touches_dead_rows(app):
    now = utcnow()
    with transaction(app) as session:
        [row] = outbox.enqueue(session, MALEE, [{"type": "text", "text": "x"}], now)
        session.flush()
        assert outbox.resend(session, row.id, now) is False
        assert outbox.resend(session, row.id + 1000, now) is False


# --- message quota ----------------------------------------------------------------------------


def test_the_quota_page_shows_the_latest_reading_and_the_warning(app, it):
    assert "ยังไม่มีข้อมูลโควตา" in it.get("/admin/quota").get_data(as_text=True)
    now = utcnow()
    with transaction(app) as session:
        message_quota.record(session, now - timedelta(days=1), 1000, 500, 0.8)
        message_quota.record(session, now, 1000, 850, 0.8)
    page = it.get("/admin/quota").get_data(as_text=True)
    assert "850 / 1,000" in page and "85.0%" in page and "ใช้เกิน 80%" in page and "แจ้งแล้ว" in page
    assert "แจ้งเตือนผู้ดูแลระบบแล้วเดือนนี้" in page
    year = now.astimezone(BANGKOK).year + 543
    assert str(year) in page  # months in the Buddhist Era


def test_the_quota_page_says_when_the_month_is_used_up_and_estimates_group_pushes(app, it):
    now = utcnow()
    with transaction(app) as session:
        message_quota.record(session, now - timedelta(hours=2), 1000, 500, 0.8)
        (row,) = outbox.enqueue(session, "C" + "1" * 32, [{"type": "text", "text": "x"}], now - timedelta(hours=1))
        outbox.mark_sent(row, now - timedelta(hours=1), "push", 200, charged=12)
        message_quota.mark_exhausted(session, now)
    page = it.get("/admin/quota").get_data(as_text=True)
    assert 'id="exhausted"' in page and "โควตาข้อความของเดือนนี้หมดแล้ว" in page
    assert "512" in page.split('id="estimate"')[1]


# --- who may change what ----------------------------------------------------------------------

ADMIN_POSTS = [
    ("/admin/staff/import", {"text": CSV_GOOD}),
    ("/admin/staff/S022/roles", {"roles": ["it"]}),
    ("/admin/staff/S022/registration-code", {}),
    ("/admin/staff/S020/delegations", {"acting": "S022", "starts_on": date.today().isoformat(),
                                       "ends_on": date.today().isoformat()}),
    ("/admin/faq/save", {"id": "faq-x", "questions": "ถาม", "answer": "ตอบ", "source": "ที่มา"}),
    ("/admin/faq/faq-x/delete", {}),
    ("/admin/reminders/BACKUP-TEST/pause", {}),
    ("/admin/reminders/BACKUP-TEST/delete", {}),
    ("/admin/outbox/1/resend", {}),
]


def test_admin_changes_need_the_csrf_token_and_an_admin(app, admin, it, faq_file):
    _reminder_with_evidence(app)
    with transaction(app) as session:
        audits = session.scalar(select(func.count()).select_from(AuditEntry))
    for path, data in ADMIN_POSTS:
        assert admin.post(path, data=data).status_code == 400, path  # no token
        assert it.post(path, data={**data, "csrf_token": csrf_of(it)}).status_code == 403, path
        assert app.test_client().post(path, data=data).status_code in (302, 400), path
    with transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == audits
    assert _staff(app, "S050") is None and _staff(app, "S022").roles == {"staff"}
    assert yaml.safe_load(faq_file.read_text(encoding="utf-8")) == []
    with transaction(app) as session:
        assert not reminders.definition_by_code(session, "BACKUP-TEST").paused


def test_the_menu_shows_each_person_their_pages(app, admin, it):
    it_page = it.get("/admin/requests").get_data(as_text=True)
    for label in ("คำขอบัญชี/เว็บไซต์", "ข้อความที่ส่งไม่สำเร็จ", "โควตาข้อความ"):
        assert label in it_page
    for label in ("รายชื่อเจ้าหน้าที่", "คำถามที่พบบ่อย", "งานตามรอบ SOP"):
        assert label not in it_page
        assert label in admin.get("/admin/requests").get_data(as_text=True)
    for path in ("/admin/staff", "/admin/faq", "/admin/reminders", "/admin/reminders/audit.csv"):
        assert it.get(path).status_code == 403, path


# --- reminder definitions through the form ----------------------------------------------------


def _definition(app, code: str) -> reminders.ReminderDefinition | None:
    with transaction(app) as session:
        row = reminders.definition_by_code(session, code)
        if row is not None:
            _ = row.officer
        return row


UPS = {"code": "ups-check", "title": "ตรวจเครื่องสำรองไฟห้องเซิร์ฟเวอร์", "source": "SOP-TEST", "section": "7.1",
       "sop_text": "ตรวจสถานะแบตเตอรี่ UPS", "cadence": "weekly", "interval": "2", "month": "", "day": "",
       "weekday": "4", "lead_days": "1", "role": "it", "officer": "S011", "evidence": "photo",
       "escalate_after_days": "2", "notice": ""}


def test_an_admin_adds_a_reminder_definition_through_the_form(app, admin):
    page = admin.get("/admin/reminders").get_data(as_text=True)
    assert 'href="/admin/reminders/new"' in page
    form = admin.get("/admin/reminders/new")
    text = form.get_data(as_text=True)
    assert form.status_code == 200 and "1 = ตุลาคม" in text and "0 = จันทร์" in text and "S011" in text
    assert 'name="paused"' not in text
    token = csrf_of(admin, "/admin/reminders/new")
    answer = admin.post("/admin/reminders/save", data={**UPS, "csrf_token": token})  # working_day unticked
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/admin/reminders")
    row = _definition(app, "UPS-CHECK")
    assert row is not None and row.title == UPS["title"] and row.cadence == "weekly" and row.weekday == 4
    assert row.interval == 2 and row.lead_days == 1 and row.escalate_after_days == 2 and row.evidence == "photo"
    assert row.role == "it" and row.officer.code == "S011" and not row.working_day and not row.paused
    assert row.day is None and row.month is None and row.sop_text == "ตรวจสถานะแบตเตอรี่ UPS"
    listed = admin.get("/admin/reminders").get_data(as_text=True)
    assert "บันทึกรายการแจ้งเตือน UPS-CHECK แล้ว" in listed
    assert UPS["title"] in listed and reminders.describe_cadence(row) in listed
    assert 'href="/admin/reminders/UPS-CHECK/edit"' in listed
    [entry] = _audited(app, "web.reminder_saved", "UPS-CHECK")
    assert entry.actor_id is not None
    # the same code again is refused, not merged into the existing one
    again = admin.post("/admin/reminders/save", data={**UPS, "title": "ซ้ำ", "csrf_token": token})
    assert again.status_code == 400 and "รหัส UPS-CHECK มีอยู่แล้ว" in again.get_data(as_text=True)
    assert _definition(app, "UPS-CHECK").title == UPS["title"]


def test_editing_a_definition_keeps_its_code_and_its_pause(app, admin):
    code, _year, _file = _reminder_with_evidence(app)
    token = csrf_of(admin, "/admin/reminders")
    admin.post(f"/admin/reminders/{code}/pause", data={"csrf_token": token})
    form = admin.get(f"/admin/reminders/{code}/edit").get_data(as_text=True)
    assert 'value="ทดสอบกู้คืนข้อมูลสำรอง"' in form and '<option value="monthly" selected>' in form
    assert f'name="original" value="{code}"' in form and 'name="code"' not in form
    assert admin.get("/admin/reminders/NO-SUCH/edit").status_code == 404

    answer = admin.post("/admin/reminders/save", data={
        "csrf_token": token, "original": code, "code": "RENAMED", "title": "ทดสอบกู้คืนข้อมูลสำรองประจำปี",
        "source": "SOP-TEST", "section": "6.4", "cadence": "yearly", "month": "3", "day": "15", "interval": "1",
        "lead_days": "7", "escalate_after_days": "3", "role": "it", "officer": "", "evidence": "file",
        "working_day": "1"})
    assert answer.status_code == 302
    row = _definition(app, code)
    assert row.title == "ทดสอบกู้คืนข้อมูลสำรองประจำปี" and row.cadence == "yearly"
    assert (row.month, row.day, row.lead_days) == (3, 15, 7) and row.working_day and row.paused
    assert _definition(app, "RENAMED") is None
    assert len(_audited(app, "web.reminder_saved", code)) == 1
    assert "ทุกปี วันที่ 15 มีนาคม" in admin.get("/admin/reminders").get_data(as_text=True)


def test_a_bad_definition_is_shown_in_thai_with_what_was_entered_and_changes_nothing(app, admin):
    code, _year, _file = _reminder_with_evidence(app)
    token = csrf_of(admin, "/admin/reminders")
    answer = admin.post("/admin/reminders/save", data={
        "csrf_token": token, "original": code, "title": "ชื่อที่พิมพ์ไว้", "cadence": "weekly", "weekday": "",
        "interval": "1", "role": "it", "evidence": "file", "notice": "ข้อความประกาศที่พิมพ์ไว้"})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert "weekly ต้องระบุ weekday (0 = จันทร์ … 6 = อาทิตย์)" in page
    assert 'value="ชื่อที่พิมพ์ไว้"' in page and "ข้อความประกาศที่พิมพ์ไว้</textarea>" in page
    assert '<option value="weekly" selected>' in page
    row = _definition(app, code)
    assert row.title == "ทดสอบกู้คืนข้อมูลสำรอง" and row.cadence == "monthly"
    # a new one naming nobody, or someone unknown, is refused too
    for officer, reason in (("", "ต้องระบุ role หรือ officer"), ("S999", "ไม่พบเจ้าหน้าที่รหัส S999")):
        answer = admin.post("/admin/reminders/save", data={**UPS, "role": "", "officer": officer,
                                                           "csrf_token": token})
        assert answer.status_code == 400 and reason in answer.get_data(as_text=True)
    assert _definition(app, "UPS-CHECK") is None
    assert _audited(app, "web.reminder_saved") == []


def test_saving_a_definition_needs_an_admin_and_the_csrf_token(app, admin, it):
    code, _year, _file = _reminder_with_evidence(app)
    edit = {"original": code, "title": "เปลี่ยนโดยไม่มีสิทธิ์", "cadence": "monthly", "day": "1", "role": "it",
            "evidence": "file"}
    for data in (UPS, edit):
        assert admin.post("/admin/reminders/save", data=data).status_code == 400  # no token
        assert it.post("/admin/reminders/save", data={**data, "csrf_token": csrf_of(it)}).status_code == 403
    assert it.get("/admin/reminders/new").status_code == 403
    assert it.get(f"/admin/reminders/{code}/edit").status_code == 403
    assert _definition(app, "UPS-CHECK") is None
    assert _definition(app, code).title == "ทดสอบกู้คืนข้อมูลสำรอง"
    assert _audited(app, "web.reminder_saved") == []


# --- website-request attachments --------------------------------------------------------------


def test_a_website_requests_attachments_are_links_on_the_requests_page(app, it):
    now = utcnow()
    with transaction(app) as session:
        malee = staff_by_code(session, "S021")
        web = web_requests.create(session, malee, {"title": "ประกาศรับสมัครพยาบาล", "details": "x" * 30,
                                                   "source": "กลุ่มงานการพยาบาล", "category": "news",
                                                   "attachments": ["m-web-1", "m-web-2", "m-web-3"]}, now)
        stored, failed, pending = session.scalars(select(TicketPhoto).where(TicketPhoto.web_request_id == web.id)
                                                  .order_by(TicketPhoto.id))
        stored.status, stored.data, stored.content_type, stored.size = "stored", b"%PDF-1.4 poster", \
            "application/pdf", 15
        failed.status, failed.error = "failed", "too large"
        ids = stored.id, failed.id, pending.id

    page = it.get("/admin/requests?kind=web").get_data(as_text=True)
    row = page.split('id="web-requests"')[1]
    assert f'href="/admin/files/{ids[0]}"' in row and f"ไฟล์ #{ids[0]}" in row
    assert f'href="/admin/files/{ids[1]}"' not in row and f'href="/admin/files/{ids[2]}"' not in row
    assert f"#{ids[1]}" in row and "รับไฟล์ไม่สำเร็จ" in row
    assert f"#{ids[2]}" in row and "ยังไม่ได้รับไฟล์จาก LINE" in row
    assert it.get(f"/admin/files/{ids[0]}").data == b"%PDF-1.4 poster"
