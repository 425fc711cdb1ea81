"""The SOP reminders for admins: definitions (add, edit, pause, resume, delete) and each fiscal year's
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
from models.org import active_staff

ROLE_NAMES = {"staff": "เจ้าหน้าที่ทุกคน", "supervisor": "หัวหน้า", "it": "ไอที", "webmaster": "ผู้ดูแลเว็บไซต์",
              "hr": "งานบุคคล", "admin": "ผู้ดูแลระบบ"}
EVIDENCE_NAMES = {"none": "ไม่ต้องมี", "text": "ข้อความ", "photo": "รูปถ่าย", "file": "ไฟล์"}
NAV.append(("admin.reminders_page", "งานตามรอบ SOP", ADMIN_PAGES))
# The form: every field of reminders.FIELDS but `paused` (pause/resume are their own buttons).
FORM_FIELDS = tuple(f for f in reminders.FIELDS if f != "paused")
NUMBER_FIELDS = ("interval", "month", "day", "weekday", "lead_days", "escalate_after_days")
CADENCE_NAMES = {
    "weekly": "ทุกสัปดาห์", "monthly": "ทุกเดือน", "quarterly": "ทุกไตรมาส", "yearly": "ทุกปี (ตามเดือนปฏิทิน)",
    "every_n_months": "ทุก N เดือน", "fiscal_year": "ทุกปีงบประมาณ",
}
CADENCE_HELP = {  # as the header of models/data/reminders.yaml explains them
    "weekly": "ระบุวันในสัปดาห์ (weekday: 0 = จันทร์ … 6 = อาทิตย์); ทุกกี่รอบ (interval) = ทุก N สัปดาห์",
    "monthly": "ระบุวันที่ (day); ทุกกี่รอบ (interval) = ทุก N เดือน",
    "quarterly": "เดือน (month) 1–3 = เดือนที่เท่าไรของไตรมาส (ไตรมาสเริ่ม ต.ค. ม.ค. เม.ย. ก.ค.) และวันที่ (day)",
    "yearly": "ระบุเดือน (month: 1 = มกราคม … 12 = ธันวาคม) และวันที่ (day)",
    "every_n_months": "ทุกกี่รอบ (interval) = ทุก N เดือน, เดือน (month) = เดือนแรกที่เริ่ม และวันที่ (day)",
    "fiscal_year": "เดือนของปีงบประมาณ (month: 1 = ตุลาคม … 12 = กันยายน) และวันที่ (day)",
}


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


def _values_of(definition: reminders.ReminderDefinition) -> dict[str, Any]:
    """A definition as the form shows it: text for every field, a bool for the checkbox."""
    values: dict[str, Any] = {}
    for field in FORM_FIELDS:
        if field == "officer":
            value = definition.officer.code if definition.officer else None
        else:
            value = getattr(definition, field)
        values[field] = value if field == "working_day" else ("" if value is None else str(value))
    return values


def _form(values: dict[str, Any], original: str, status: int = 200, error: str = "") -> Any:
    with get_db().transaction() as session:
        officers = [(s.code, s.name) for s in active_staff(session)]
    if values.get("officer") and values["officer"] not in {code for code, _name in officers}:
        officers.append((values["officer"], values["officer"]))  # keep a code that is no longer active
    return render_template("admin/reminder_form.html", values=values, original=original, error=error,
                           officers=officers, cadences=reminders.CADENCES, cadence_names=CADENCE_NAMES,
                           cadence_help=CADENCE_HELP, evidence=reminders.EVIDENCE, evidence_names=EVIDENCE_NAMES,
                           role_names=ROLE_NAMES, number_fields=NUMBER_FIELDS), status


@bp.get("/reminders/new")
@require(*ADMIN_PAGES)
def reminder_new() -> Any:
    return _form({"cadence": "monthly", "evidence": "none", "interval": "1", "lead_days": "0",
                  "escalate_after_days": "3", "working_day": True}, "")


@bp.get("/reminders/<reminder_code>/edit")
@require(*ADMIN_PAGES)
def reminder_edit(reminder_code: str) -> Any:
    with get_db().transaction() as session:
        definition = reminders.definition_by_code(session, reminder_code)
        values = _values_of(definition) if definition is not None else None
    if values is None:
        abort(404)
    return _form(values, values["code"])


@bp.post("/reminders/save")
@require(*ADMIN_PAGES)
def reminder_save() -> Any:
    original = request.form.get("original", "").strip().upper()
    values: dict[str, Any] = {field: request.form.get(field, "").strip() for field in FORM_FIELDS}
    values["working_day"] = bool(request.form.get("working_day"))
    if original:
        values["code"] = original  # editing keeps the code
    raw: dict[str, Any] = {key: (value if value != "" else None) for key, value in values.items()}
    now = utcnow()
    try:
        with get_db().transaction() as session:
            existing = reminders.definition_by_code(session, original or values["code"] or "-")
            if original and existing is None:
                raise reminders.DefinitionError(f"ไม่พบรายการแจ้งเตือนรหัส {original} แล้ว (อาจถูกลบไปก่อน)")
            if not original and existing is not None:
                raise reminders.DefinitionError(f"รหัส {existing.code} มีอยู่แล้ว — แก้ไขจากรายการแทน")
            raw["paused"] = existing.paused if existing is not None else False  # saving does not resume it
            reminders.upsert_definitions(session, [raw], now)
    except reminders.DefinitionError as exc:
        return _form(values, original, 400, f"บันทึกไม่ได้: {exc}")
    code = str(raw["code"]).strip().upper()  # as clean_definition stored it
    record("web.reminder_saved", code, added=not original)
    flash(f"บันทึกรายการแจ้งเตือน {code} แล้ว")
    return redirect(url_for("admin.reminders_page"))


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
