"""The staff directory for admins: who is who, roles and supervisors, acting heads, registration
codes, and a CSV import. Every change is a POST with the CSRF token and goes to the audit log."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from sqlalchemy import select

from bot.admin import NAV, bp
from bot.admin.auth import ADMIN_PAGES, current_staff, record, require
from bot.database import get_db
from models import approvals, registration, staff_csv
from models.approvals import BANGKOK, Delegation
from models.base import utcnow
from models.org import ROLES, Staff, StaffRole, WorkGroup, staff_by_code
from models.org_import import _touch

_THAI_ROLES = {"staff": "เจ้าหน้าที่", "supervisor": "หัวหน้า/ผู้อนุมัติ", "it": "ไอที", "webmaster": "ผู้ดูแลเว็บไซต์",
               "hr": "งานบุคคล", "admin": "ผู้ดูแลระบบ"}
ROLE_NAMES = {role: _THAI_ROLES.get(role, role) for role in ROLES}  # in the order of models.org.ROLES
NAV.append(("admin.staff_page", "รายชื่อเจ้าหน้าที่", ADMIN_PAGES))


def _today() -> date:
    return utcnow().astimezone(BANGKOK).date()


def _load(person: Staff) -> Staff:
    """Everything a page shows of a person, loaded before the session closes."""
    _ = person.work_group, person.supervisor, person.role_rows
    if person.work_group is not None:
        _ = person.work_group.head
    approvals.supervisor_of(person)
    return person


def _directory(**extra: Any) -> dict[str, Any]:
    with get_db().transaction() as session:
        people = [_load(p) for p in session.scalars(select(Staff).order_by(Staff.active.desc(), Staff.code))]
        delegations = list(session.scalars(select(Delegation).where(Delegation.ends_on >= _today())
                                           .order_by(Delegation.starts_on, Delegation.id)))
        groups = list(session.scalars(select(WorkGroup).order_by(WorkGroup.code)))
    names = {p.id: p for p in people}
    return {"people": people, "delegations": delegations, "names": names, "groups": groups,
            "role_names": ROLE_NAMES, "approver": approvals.supervisor_of, "today": _today(), **extra}


@bp.get("/staff")
@require(*ADMIN_PAGES)
def staff_page() -> Any:
    return render_template("admin/staff.html", **_directory())


@bp.get("/staff/<staff_code>")
@require(*ADMIN_PAGES)
def staff_person(staff_code: str) -> Any:
    return _person_page(staff_code)


def _person_page(staff_code: str, status: int = 200, **extra: Any) -> Any:
    with get_db().transaction() as session:
        person = staff_by_code(session, staff_code)
        if person is None:
            abort(404)
        _load(person)
        others = [p for p in session.scalars(select(Staff).where(Staff.active.is_(True)).order_by(Staff.code))
                  if p.id != person.id]
        delegations = list(session.scalars(select(Delegation).where(Delegation.head_id == person.id)
                                           .order_by(Delegation.starts_on.desc(), Delegation.id.desc()).limit(20)))
        names = {p.id: p.name for p in session.scalars(select(Staff))}
    response = make_response(render_template("admin/staff_person.html", person=person, others=others, roles=ROLES,
                                             role_names=ROLE_NAMES, delegations=delegations, names=names,
                                             approver=approvals.supervisor_of(person), today=_today(), **extra),
                             status)
    response.headers["Cache-Control"] = "no-store"  # a registration code is shown once
    return response


@bp.post("/staff/import")
@require(*ADMIN_PAGES)
def staff_import() -> Any:
    upload = request.files.get("file")
    text = request.form.get("text", "")
    name = ""
    if upload is not None and upload.filename:
        name = upload.filename
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            return render_template("admin/staff.html", **_directory(
                problems=["ไฟล์ไม่ใช่ข้อความ UTF-8 (ใน Excel ให้บันทึกเป็น CSV UTF-8)"])), 400
    me = current_staff()
    try:
        with get_db().transaction() as session:
            report = staff_csv.import_staff_csv(session, text, utcnow(), keep_admin=me.code if me else None)
    except staff_csv.StaffCsvError as exc:
        return render_template("admin/staff.html", **_directory(problems=[str(p) for p in exc.problems],
                                                                 csv_text=text)), 400
    record("staff.csv_import", name or "csv", created=report.created, updated=report.updated,
           unchanged=report.unchanged)
    flash(f"นำเข้าแล้ว: เพิ่ม {report.created} คน แก้ไข {report.updated} คน ไม่เปลี่ยน {report.unchanged} คน")
    return redirect(url_for("admin.staff_page"))


@bp.post("/staff/<staff_code>/roles")
@require(*ADMIN_PAGES)
def staff_roles(staff_code: str) -> Any:
    wanted = set(request.form.getlist("roles")) | {"staff"}
    supervisor_code = request.form.get("supervisor", "").strip() or None
    me = current_staff()
    error, before, old_supervisor = "", [], None
    with get_db().transaction() as session:
        person = staff_by_code(session, staff_code)
        if person is None:
            abort(404)
        supervisor = staff_by_code(session, supervisor_code) if supervisor_code else None
        chain = staff_csv.supervisor_codes(session) | {person.code: supervisor_code}
        if not wanted <= set(ROLES):
            error = "มีบทบาทที่ไม่รู้จัก"
        elif supervisor_code and (supervisor is None or not supervisor.active):
            error = "ไม่พบผู้บังคับบัญชาที่เลือก"
        elif supervisor is not None and supervisor.id == person.id:
            error = "เป็นผู้บังคับบัญชาของตนเองไม่ได้"
        elif loop := staff_csv.supervisor_loop(chain, person.code):
            error = "ผู้บังคับบัญชาวนกลับมาที่เดิม: " + " → ".join(loop)
        elif me is not None and me.id == person.id and "admin" not in wanted:
            error = "ถอดบทบาทผู้ดูแลระบบของตนเองไม่ได้"
        if not error:
            before = sorted(person.roles)
            for row in list(person.role_rows):
                if row.role not in wanted:
                    person.role_rows.remove(row)
            for role in sorted(wanted - person.roles):
                person.role_rows.append(StaffRole(role=role))
            old_supervisor = person.supervisor.code if person.supervisor else None
            person.supervisor_id = supervisor.id if supervisor else None
            _touch(person, utcnow())
    if error:
        return _person_page(staff_code, 400, error=error)
    record("staff.roles_changed", staff_code, roles_before=before, roles=sorted(wanted),
           supervisor_before=old_supervisor, supervisor=supervisor_code)
    flash("บันทึกบทบาทและผู้บังคับบัญชาแล้ว")
    return redirect(url_for("admin.staff_person", staff_code=staff_code))


@bp.post("/staff/<staff_code>/registration-code")
@require(*ADMIN_PAGES)
def staff_registration_code(staff_code: str) -> Any:
    """The code is shown on this one response only (never in a URL or the session cookie)."""
    with get_db().transaction() as session:
        person = staff_by_code(session, staff_code)
        if person is None:
            abort(404)
        code = registration.issue_code(session, person, utcnow()) if person.active else ""
    if not code:
        return _person_page(staff_code, 400, error="เจ้าหน้าที่คนนี้ไม่ได้ปฏิบัติงานแล้ว ออกรหัสลงทะเบียนไม่ได้")
    record("staff.registration_code", staff_code, valid_days=registration.CODE_TTL.days)
    return _person_page(staff_code, issued_code=code, code_days=registration.CODE_TTL.days)


def _parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


@bp.post("/staff/<staff_code>/delegations")
@require(*ADMIN_PAGES)
def staff_delegate(staff_code: str) -> Any:
    """An acting head for a date range: approvals of the head's people go to them meanwhile."""
    starts_on, ends_on = _parse_day(request.form.get("starts_on", "")), _parse_day(request.form.get("ends_on", ""))
    acting_code = request.form.get("acting", "").strip()
    me = current_staff()
    error = ""
    with get_db().transaction() as session:
        head = staff_by_code(session, staff_code)
        if head is None:
            abort(404)
        acting = staff_by_code(session, acting_code) if acting_code else None
        if acting is None or not acting.active:
            error = "โปรดเลือกผู้รักษาการที่ยังปฏิบัติงานอยู่"
        elif acting.id == head.id:
            error = "ผู้รักษาการต้องไม่ใช่หัวหน้าคนเดิม"
        elif starts_on is None or ends_on is None:
            error = "โปรดระบุวันเริ่มและวันสิ้นสุด"
        elif ends_on < starts_on:
            error = "วันสิ้นสุดต้องไม่ก่อนวันเริ่ม"
        elif ends_on < _today():
            error = "ช่วงวันที่นี้ผ่านไปแล้ว"
        else:
            approvals.delegate(session, head, acting, starts_on, ends_on, utcnow(), actor_id=me.id if me else None)
    if error:
        return _person_page(staff_code, 400, error=error)
    assert starts_on is not None and ends_on is not None
    record("staff.delegated", staff_code, acting=acting_code, starts_on=starts_on.isoformat(),
           ends_on=ends_on.isoformat())
    flash("บันทึกผู้รักษาการแทนแล้ว")
    return redirect(url_for("admin.staff_person", staff_code=staff_code))
