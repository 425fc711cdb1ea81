"""The SOP reminders for admins: definitions (pause, resume, delete) and each fiscal year's
occurrences with their evidence, the pack an internal-control review asks for (also as CSV)."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for

from bot.admin import NAV, bp
from bot.admin.auth import ADMIN_PAGES, record, require
from bot.database import get_db
from models import reminders
from models.base import utcnow
from models.numbering import BANGKOK

ROLE_NAMES = {"staff": "เจ้าหน้าที่ทุกคน", "supervisor": "หัวหน้า", "it": "ไอที", "webmaster": "ผู้ดูแลเว็บไซต์",
              "hr": "งานบุคคล", "admin": "ผู้ดูแลระบบ"}
EVIDENCE_NAMES = {"none": "ไม่ต้องมี", "text": "ข้อความ", "photo": "รูปถ่าย", "file": "ไฟล์"}
NAV.append(("admin.reminders_page", "งานตามรอบ SOP", ADMIN_PAGES))


def _year() -> int:
    """The fiscal year asked for (Buddhist Era), else the current one."""
    current = reminders.fiscal_year_of(utcnow().astimezone(BANGKOK).date())
    year = request.args.get("year", current, type=int) or current
    return year if current - 20 <= year <= current + 5 else current


@bp.get("/reminders")
@require(*ADMIN_PAGES)
def reminders_page() -> Any:
    year = _year()
    today = utcnow().astimezone(BANGKOK).date()
    current = reminders.fiscal_year_of(today)
    with get_db().transaction() as session:
        definitions = reminders.active_definitions(session)
        cadences = {d.code: reminders.describe_cadence(d) for d in definitions}
        for definition in definitions:
            _ = definition.officer
        rows = reminders.audit_rows(session, year, today)
        files = [[(f.id, f.data is not None) for f in reminders.evidence_files(session, occ)]
                 for occ in reminders.occurrences_in_fiscal_year(session, year)]
    return render_template("admin/reminders.html", definitions=definitions, cadences=cadences, year=year,
                           years=range(current + 1, current - 4, -1), header=reminders.AUDIT_HEADER,
                           occurrences=list(zip(rows, files, strict=True)), role_names=ROLE_NAMES,
                           evidence_names=EVIDENCE_NAMES)


@bp.get("/reminders/audit.csv")
@require(*ADMIN_PAGES)
def reminders_csv() -> Any:
    year = _year()
    with get_db().transaction() as session:
        text = reminders.audit_csv(session, year, utcnow().astimezone(BANGKOK).date())
    # A byte-order mark, so Excel opens the Thai text as UTF-8.
    return Response("\ufeff" + text, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename=reminders-audit-{year}.csv"})


def _change(reminder_code: str, action: str) -> Any:
    now = utcnow()
    with get_db().transaction() as session:
        if action == "delete":
            found = reminders.delete_definition(session, reminder_code, now)
        else:
            found = reminders.set_paused(session, reminder_code, action == "pause", now) is not None
    if not found:
        abort(404)
    record(f"reminder.{action}", reminder_code)
    flash({"pause": "หยุดการแจ้งเตือนชั่วคราว", "resume": "เปิดการแจ้งเตือนอีกครั้ง",
           "delete": "ลบรายการแจ้งเตือน (ประวัติเดิมยังเก็บไว้)"}[action] + f": {reminder_code}")
    return redirect(url_for("admin.reminders_page"))


@bp.post("/reminders/<reminder_code>/pause")
@require(*ADMIN_PAGES)
def reminder_pause(reminder_code: str) -> Any:
    return _change(reminder_code, "pause")


@bp.post("/reminders/<reminder_code>/resume")
@require(*ADMIN_PAGES)
def reminder_resume(reminder_code: str) -> Any:
    return _change(reminder_code, "resume")


@bp.post("/reminders/<reminder_code>/delete")
@require(*ADMIN_PAGES)
def reminder_delete(reminder_code: str) -> Any:
    return _change(reminder_code, "delete")
