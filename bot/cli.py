"""`flask --app bot ...` commands for admins and the release phase."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from bot.database import get_db
from models import migrate
from models.base import utcnow

db_cli = AppGroup("db", help="Database schema.")
org_cli = AppGroup("org", help="The organisation: work groups, staff, systems.")
staff_cli = AppGroup("staff", help="Staff accounts.")
richmenu_cli = AppGroup("richmenu", help="The LINE rich menu.")
kb_cli = AppGroup("kb", help="The SOP knowledge base.")
accounts_cli = AppGroup("accounts", help="The account register.")
web_cli = AppGroup("web", help="Website publication requests.")
privacy_cli = AppGroup("privacy", help="Personal data (PDPA): export, erase, purge.")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations (the Procfile's release phase)."""
    migrate.upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database at revision {revision}")


@org_cli.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def org_import(path: Path) -> None:
    """Load an organisation file (YAML); importing the same file again changes nothing."""
    from models.org_import import OrgFileError, import_org, load_org_file
    from models.reminders import install_defaults_once

    try:
        data = load_org_file(path)
    except OrgFileError as exc:
        click.echo(f"{path}: {exc}", err=True)
        sys.exit(1)
    try:
        with get_db().transaction() as session:
            report = import_org(session, data, utcnow())
            # The first organisation gets the reminders the SOPs require (admins edit them later).
            added = install_defaults_once(session, utcnow())
    except OrgFileError as exc:
        click.echo(f"{path}: {exc}", err=True)
        sys.exit(1)
    click.echo(report.summary())
    if added:
        click.echo(f"reminders: {added} default definitions added (flask --app bot reminders list)")


@staff_cli.command("code")
@click.argument("staff_code")
def staff_registration_code(staff_code: str) -> None:
    """Issue a one-time registration code for a staff member to send to the bot."""
    from models.org import staff_by_code
    from models.registration import CODE_TTL, issue_code

    with get_db().transaction() as session:
        staff = staff_by_code(session, staff_code.strip())
        if staff is None or not staff.active:
            click.echo(f"ไม่พบเจ้าหน้าที่รหัส {staff_code} / no active staff with code {staff_code}", err=True)
            sys.exit(1)
        code = issue_code(session, staff, utcnow())
        name = staff.name
    days = CODE_TTL.days
    click.echo(f"{code}")
    click.echo(
        f"ส่งรหัสนี้ให้ {name} พิมพ์ในแชตกับบอท ใช้ได้ครั้งเดียว ภายใน {days} วัน / "
        f"single use, valid {days} days",
        err=True,
    )


@staff_cli.command("delegate")
@click.argument("head_code")
@click.argument("acting_code")
@click.argument("starts_on", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.argument("ends_on", type=click.DateTime(formats=["%Y-%m-%d"]))
def staff_delegate(head_code: str, acting_code: str, starts_on, ends_on) -> None:  # type: ignore[no-untyped-def]
    """Make ACTING_CODE the acting head for HEAD_CODE's approvals from STARTS_ON to ENDS_ON (YYYY-MM-DD)."""
    from models.approvals import delegate
    from models.org import staff_by_code

    with get_db().transaction() as session:
        head, acting = staff_by_code(session, head_code), staff_by_code(session, acting_code)
        if head is None or acting is None or not acting.active:
            click.echo(f"ไม่พบเจ้าหน้าที่ / unknown staff: {head_code if head is None else acting_code}", err=True)
            sys.exit(1)
        try:
            delegate(session, head, acting, starts_on.date(), ends_on.date(), utcnow())
        except ValueError as exc:
            click.echo(f"{exc}", err=True)
            sys.exit(1)
    click.echo(f"{acting_code} acts for {head_code} from {starts_on.date()} to {ends_on.date()}")


@accounts_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def accounts_import(path: Path) -> None:
    """Load the account register from CSV (staff_code, system_code, rights); all rows or none."""
    from models.accounts import RegisterFileError, import_register_csv

    try:
        with get_db().transaction() as session:
            count = import_register_csv(session, path.read_text(encoding="utf-8-sig"), utcnow())
    except (RegisterFileError, UnicodeDecodeError) as exc:
        click.echo(f"{path}: {exc}", err=True)
        sys.exit(1)
    click.echo(f"{count} accounts in the register")


@accounts_cli.command("review-csv")
@click.argument("year", type=int)
def accounts_review_csv(year: int) -> None:
    """Print the yearly account review of YEAR (Buddhist Era, e.g. 2570) as CSV."""
    from models.reviews import to_csv

    with get_db().transaction() as session:
        click.echo(to_csv(session, year), nl=False)


@web_cli.command("form")
@click.argument("number")
def web_form(number: str) -> None:
    """Print the announcement's request form of NUMBER (WEB-2570-0001) as HTML for A4 printing."""
    from bot.web_form import render_form
    from models.web_requests import by_number

    with get_db().transaction() as session:
        request = by_number(session, number.strip())
        if request is None:
            click.echo(f"ไม่พบคำขอ / no request {number}", err=True)
            sys.exit(1)
        click.echo(render_form(session, request))


@web_cli.command("list")
@click.argument("fiscal_year", type=int)
def web_list(fiscal_year: int) -> None:
    """Print every website request of FISCAL_YEAR (Buddhist Era, e.g. 2570) with its outcome, as CSV."""
    from models.web_requests import yearly_csv

    with get_db().transaction() as session:
        click.echo(yearly_csv(session, fiscal_year), nl=False)


@privacy_cli.command("export")
@click.argument("staff_code")
def privacy_export(staff_code: str) -> None:
    """Print, as JSON, everything kept about one staff member (a data-subject access request)."""
    from models.org import staff_by_code
    from models.privacy import export

    with get_db().transaction() as session:
        staff = staff_by_code(session, staff_code.strip())
        if staff is None:
            click.echo(f"ไม่พบเจ้าหน้าที่ / unknown staff {staff_code}", err=True)
            sys.exit(1)
        click.echo(json.dumps(export(session, staff), ensure_ascii=False, indent=2))


@privacy_cli.command("erase")
@click.argument("staff_code")
@click.option("--yes", is_flag=True, help="confirm: this cannot be undone")
def privacy_erase(staff_code: str, yes: bool) -> None:
    """Erase one staff member's personal data (request numbers and times stay for the KPI figures)."""
    from models.org import staff_by_code
    from models.privacy import erase

    if not yes:
        click.echo("ลบแล้วกู้คืนไม่ได้ เพิ่ม --yes เพื่อยืนยัน / this cannot be undone: add --yes", err=True)
        sys.exit(2)
    with get_db().transaction() as session:
        staff = staff_by_code(session, staff_code.strip())
        if staff is None:
            click.echo(f"ไม่พบเจ้าหน้าที่ / unknown staff {staff_code}", err=True)
            sys.exit(1)
        erase(session, staff, utcnow())
    click.echo(f"{staff_code}: personal data erased")


@privacy_cli.command("purge")
def privacy_purge() -> None:
    """Apply the retention settings now (the worker also does it every hour)."""
    from bot.worker import retention
    from models.privacy import purge

    with get_db().transaction() as session:
        counts = purge(session, utcnow(), retention(current_app))
    click.echo(", ".join(f"{name}: {count}" for name, count in counts.items()))


@richmenu_cli.command("deploy")
def richmenu_deploy() -> None:
    """Create the rich menu on LINE, upload its image and make it the default."""
    from bot.config import ConfigError
    from bot.richmenu import definition, image_bytes
    from bot.worker import line_api_for

    try:
        current_app.extensions["helpdesk.config"].check()
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    line = line_api_for(current_app)
    try:
        menu_id = line.deploy_rich_menu(definition(), image_bytes())
    finally:
        line.close()
    click.echo(f"rich menu {menu_id} is now the default")


@kb_cli.command("ask")
@click.argument("question", required=False)
def kb_ask(question: str | None) -> None:
    """Answer QUESTION, or each line of standard input, as one JSON object per line."""
    from handlers import sop

    sop.warm_up()  # the index is built once, before any latency is measured
    questions = [question] if question is not None else (line.rstrip("\n") for line in sys.stdin)
    for asked in questions:
        if not asked.strip():
            continue
        started = time.perf_counter()
        result = sop.ask(asked)
        latency_ms = (time.perf_counter() - started) * 1000
        click.echo(json.dumps({
            "question": asked,
            "found": result.found,
            "answer": result.text,
            "citations": [c.as_json() for c in result.citations],
            "score": result.score,
            "latency_ms": round(latency_ms, 3),
        }, ensure_ascii=False))


@kb_cli.command("check")
def kb_check() -> None:
    """Load the corpus and the FAQ file and say what is wrong, if anything (after editing them)."""
    from handlers import sop
    from knowledge.corpus import CorpusError

    try:
        count = sop.warm_up()
    except CorpusError as exc:
        click.echo(f"ไฟล์คลังความรู้มีปัญหา / knowledge base error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"{count} passages")


reminders_cli = AppGroup("reminders", help="Reminders the SOPs require: definitions and the audit pack.")
holidays_cli = AppGroup("holidays", help="Days off that move reminder due dates (Thai holidays built in).")


@reminders_cli.command("import")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
def reminders_import(path: Path | None) -> None:
    """Add or update reminder definitions from a YAML file (default: the set shipped with the product)."""
    from models import reminders

    try:
        raws = reminders.load_definitions_file(path) if path else reminders.load_definitions_file()
        with get_db().transaction() as session:
            result = reminders.upsert_definitions(session, raws, utcnow())
    except (reminders.DefinitionError, OSError, ValueError) as exc:
        click.echo(f"{path or 'reminders'}: {exc}", err=True)
        sys.exit(1)
    click.echo(f"reminders: {result.added} added, {result.changed} changed, {result.unchanged} unchanged")


@reminders_cli.command("list")
def reminders_list() -> None:
    """Every definition with its cadence, who is responsible and its next state."""
    from models import reminders

    with get_db().transaction() as session:
        for d in reminders.active_definitions(session):
            who = d.officer.code if d.officer else f"role:{d.role}"
            state = "paused" if d.paused else "active"
            click.echo(f"{d.code}\t{state}\t{reminders.describe_cadence(d)}\t{who}\tevidence:{d.evidence}\t{d.title}")


def _set_paused(code: str, paused: bool) -> None:
    from models import reminders

    with get_db().transaction() as session:
        row = reminders.set_paused(session, code, paused, utcnow())
    if row is None:
        click.echo(f"ไม่พบรายการ / no reminder {code}", err=True)
        sys.exit(1)
    click.echo(f"{row.code}: {'paused' if paused else 'active'}")


@reminders_cli.command("pause")
@click.argument("code")
def reminders_pause(code: str) -> None:
    """Stop creating occurrences of CODE (open ones stay)."""
    _set_paused(code, True)


@reminders_cli.command("resume")
@click.argument("code")
def reminders_resume(code: str) -> None:
    _set_paused(code, False)


@reminders_cli.command("delete")
@click.argument("code")
def reminders_delete(code: str) -> None:
    """Remove CODE from the schedule; what already happened stays in the audit pack."""
    from models import reminders

    with get_db().transaction() as session:
        if not reminders.delete_definition(session, code, utcnow()):
            click.echo(f"ไม่พบรายการ / no reminder {code}", err=True)
            sys.exit(1)
    click.echo(f"{code.upper()}: deleted")


@reminders_cli.command("audit")
@click.argument("fiscal_year", type=int)
@click.option("--html", "as_html", is_flag=True, help="A printable page instead of CSV.")
def reminders_audit(fiscal_year: int, as_html: bool) -> None:
    """Every occurrence due in FISCAL_YEAR (Buddhist Era, e.g. 2570): due, done, by whom, evidence, late."""
    from flask import render_template
    from sqlalchemy import select

    from models import reminders
    from models.numbering import BANGKOK
    from models.org import Organization
    from models.thai_dates import thai_datetime

    now = utcnow()
    today = now.astimezone(BANGKOK).date()
    with get_db().transaction() as session:
        if not as_html:
            click.echo(reminders.audit_csv(session, fiscal_year, today), nl=False)
            return
        rows = reminders.audit_rows(session, fiscal_year, today)
        header = reminders.AUDIT_HEADER
        org = session.scalar(select(Organization.name)) or ""
    state_col, late_col = header.index("สถานะ"), header.index("ตรงเวลา")
    click.echo(render_template(
        "reminders/audit.html", year=fiscal_year, org=org, printed=thai_datetime(now), header=header, rows=rows,
        shown={0, 1, 3, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15}, late_col=late_col,
        done=sum(1 for r in rows if r[state_col] == "ดำเนินการแล้ว"),
        on_time=sum(1 for r in rows if r[late_col] == "ตรงเวลา"),
    ))


@holidays_cli.command("list")
@click.argument("year", type=int)
def holidays_list(year: int) -> None:
    """Days off in calendar YEAR (Buddhist Era or Christian Era), official and the agency's own."""
    from models import work_calendar

    with get_db().transaction() as session:
        for day, name, source in work_calendar.holidays_in(session, year - 543 if year > 2400 else year):
            click.echo(f"{day.isoformat()}\t{source}\t{name}")


@holidays_cli.command("add")
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.argument("name")
def holidays_add(day, name: str) -> None:  # type: ignore[no-untyped-def]
    """A day off announced for the agency (e.g. a special cabinet holiday): YYYY-MM-DD NAME."""
    from models import work_calendar

    with get_db().transaction() as session:
        work_calendar.set_exception(session, day.date(), working=False, name=name)
    click.echo(f"{day.date().isoformat()}: day off")


@holidays_cli.command("work")
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
def holidays_work(day) -> None:  # type: ignore[no-untyped-def]
    """A listed holiday the agency works: YYYY-MM-DD."""
    from models import work_calendar

    with get_db().transaction() as session:
        work_calendar.set_exception(session, day.date(), working=True, name="วันทำการ")
    click.echo(f"{day.date().isoformat()}: working day")


@holidays_cli.command("reset")
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
def holidays_reset(day) -> None:  # type: ignore[no-untyped-def]
    """Forget the agency's own setting for a day (back to the official calendar)."""
    from models import work_calendar

    with get_db().transaction() as session:
        work_calendar.remove_exception(session, day.date())
    click.echo(f"{day.date().isoformat()}: official calendar")


@click.command("announce")
@click.argument("words")
@click.option("--role", default=None, help="Only people with this role (default: everyone).")
def announce_command(words: str, role: str | None) -> None:
    """Send WORDS to every registered person (multicast, 500 per call), e.g. a planned downtime."""
    from handlers.announcements import announce

    with get_db().transaction() as session:
        count = announce(session, utcnow(), words, role)
    click.echo(f"queued for {count} people")


admin_cli = AppGroup("admin", help="Logins to the admin web (password + one-time code).")


@admin_cli.command("password")
@click.argument("staff_code")
@click.option("--keep-totp", is_flag=True, help="Keep the existing authenticator enrolment.")
@click.password_option(prompt="รหัสผ่านใหม่ / new password", confirmation_prompt=True)
def admin_password(staff_code: str, keep_totp: bool, password: str) -> None:
    """Set STAFF_CODE's admin-web password and print the authenticator enrolment (otpauth URI)."""
    from models import web_login
    from models.org import staff_by_code

    with get_db().transaction() as session:
        staff = staff_by_code(session, staff_code.strip())
        if staff is None or not staff.has_role("it", "admin"):
            click.echo(f"ไม่พบเจ้าหน้าที่ไอที/ผู้ดูแล {staff_code} / no IT or admin staff {staff_code}", err=True)
            sys.exit(1)
        try:
            enrolment = web_login.set_password(session, staff, password, utcnow(), new_totp=not keep_totp)
        except ValueError as exc:
            click.echo(str(exc), err=True)
            sys.exit(1)
    click.echo(f"{staff.code}: password set")
    if not keep_totp:
        click.echo("Add this to an authenticator app (Google Authenticator, Microsoft Authenticator, ...):")
        click.echo(f"  secret: {enrolment.secret}")
        click.echo(f"  {enrolment.uri}")


@admin_cli.command("remove")
@click.argument("staff_code")
def admin_remove(staff_code: str) -> None:
    """Take away STAFF_CODE's admin-web login (their sessions end at their next request)."""
    from models import web_login
    from models.org import staff_by_code

    with get_db().transaction() as session:
        staff = staff_by_code(session, staff_code.strip())
        if staff is None or not web_login.remove(session, staff, utcnow()):
            click.echo(f"ไม่มีรหัสผ่านของ {staff_code} / no login for {staff_code}", err=True)
            sys.exit(1)
    click.echo(f"{staff_code}: login removed")


def init_app(app: Flask) -> None:
    for group in (db_cli, org_cli, staff_cli, richmenu_cli, kb_cli, accounts_cli, web_cli, privacy_cli, reminders_cli,
                  holidays_cli, announce_command, admin_cli):
        app.cli.add_command(group)
