"""Staff from a CSV file an admin exports from a spreadsheet: code,name,position,work_group,roles,
supervisor (roles separated by spaces or '|').

Like the organisation file (models.org_import, whose upsert steps this reuses), every row is checked
first and every mistake is reported with its line, in Thai for the admin; only a file without any
mistake changes the database. Unlike that file, a CSV lists only the people it changes: staff not in
it stay as they are (never deactivated), and work groups must already exist.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.org import ROLES, Staff, StaffRole, WorkGroup
from models.org_import import CODE_MAX, TEXT_MAX, ImportReport, StaffEntry, _assign, _replace_roles, _Tally, _touch

COLUMNS = ("code", "name", "position", "work_group", "roles", "supervisor")
REQUIRED = ("code", "name", "work_group", "roles")
ROLE_SPLIT = re.compile(r"[\s|]+")
MAX_ROWS = 5000


@dataclass(frozen=True)
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"บรรทัดที่ {self.line}: {self.message}"


class StaffCsvError(ValueError):
    """Every problem of the file, each with its line; nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def parse_roles(text: str) -> tuple[frozenset[str], list[str]]:
    """Known roles (everyone is staff) and the unknown words, from "it|admin" or "it admin"."""
    words = [w for w in ROLE_SPLIT.split(text.strip()) if w]
    unknown = [w for w in words if w not in ROLES]
    return frozenset({"staff", *(w for w in words if w in ROLES)}), unknown


def supervisor_loop(chain_of: dict[str, str | None], code: str) -> list[str] | None:
    """The loop of supervisors starting at code, if any: an approval would be passed round forever."""
    seen = [code]
    current = chain_of.get(code)
    while current is not None:
        if current == code:
            return [*seen, current]
        if current in seen:
            return None  # a loop further up, reported on the rows that are part of it
        seen.append(current)
        current = chain_of.get(current)
    return None


def supervisor_codes(session: Session) -> dict[str, str | None]:
    """Every staff code and the code of their named supervisor, as the database has them now."""
    by_id = {s.id: s for s in session.scalars(select(Staff))}
    return {s.code: by_id[s.supervisor_id].code if s.supervisor_id in by_id else None for s in by_id.values()}


def _text(row: dict[str, str], key: str) -> str:
    return (row.get(key) or "").strip()


def parse_staff_csv(session: Session, text: str, keep_admin: str | None = None) -> list[StaffEntry]:
    """Check the whole file against itself and the database. keep_admin: the code of the admin
    importing it, who must not take away their own admin role (they would be locked out)."""
    text = text.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise StaffCsvError([Problem(1, f"อ่านไฟล์ CSV ไม่ได้ ({exc})")]) from exc
    if header is None or not any(cell.strip() for cell in header):
        raise StaffCsvError([Problem(1, "ไฟล์ว่าง ต้องมีหัวตาราง " + ",".join(COLUMNS))])
    columns = [cell.strip().lower() for cell in header]
    missing = [c for c in COLUMNS if c not in columns]
    unknown = [c for c in columns if c not in COLUMNS]
    if missing or unknown or len(set(columns)) != len(columns):
        detail = []
        if missing:
            detail.append("ขาดคอลัมน์ " + ", ".join(missing))
        if unknown:
            detail.append("ไม่รู้จักคอลัมน์ " + ", ".join(repr(c) for c in unknown))
        if len(set(columns)) != len(columns):
            detail.append("มีชื่อคอลัมน์ซ้ำ")
        raise StaffCsvError([Problem(1, "หัวตารางไม่ถูกต้อง (" + "; ".join(detail) + ") ต้องเป็น " + ",".join(COLUMNS))])

    groups = {g.code for g in session.scalars(select(WorkGroup))}
    existing = {s.code: s for s in session.scalars(select(Staff))}
    problems: list[Problem] = []
    entries: list[tuple[int, StaffEntry]] = []
    first_line: dict[str, int] = {}
    line = reader.line_num
    try:
        for cells in reader:
            number, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(entries) + len(problems) >= MAX_ROWS:
                problems.append(Problem(number, f"ไฟล์ยาวเกินไป (ไม่เกิน {MAX_ROWS} แถวต่อครั้ง)"))
                break
            if len(cells) != len(columns):
                problems.append(Problem(number, f"มี {len(cells)} ช่อง แต่หัวตารางมี {len(columns)} ช่อง"))
                continue
            row = dict(zip(columns, cells, strict=True))
            found = _check_row(row, number, groups, first_line, keep_admin)
            if isinstance(found, StaffEntry):
                entries.append((number, found))
                first_line.setdefault(found.code, number)
            else:
                problems.extend(found)
    except csv.Error as exc:
        problems.append(Problem(line + 1, f"อ่านไฟล์ CSV ไม่ได้ ({exc})"))

    in_file = {entry.code for _, entry in entries}
    chain = supervisor_codes(session) | {entry.code: entry.supervisor for _, entry in entries}
    for number, entry in entries:
        sup = entry.supervisor
        if sup is not None and sup not in in_file:
            if sup not in existing:
                problems.append(Problem(number, f"ไม่พบผู้บังคับบัญชารหัส {sup} ในระบบหรือในไฟล์"))
                continue
            if not existing[sup].active:
                problems.append(Problem(number, f"ผู้บังคับบัญชารหัส {sup} ไม่ได้ปฏิบัติงานแล้ว"))
                continue
        loop = supervisor_loop(chain, entry.code)
        if loop:
            problems.append(Problem(number, "ผู้บังคับบัญชาวนกลับมาที่เดิม: " + " → ".join(loop)))
    if not entries and not problems:
        problems.append(Problem(2, "ไม่มีรายชื่อเจ้าหน้าที่ในไฟล์"))
    if problems:
        raise StaffCsvError(sorted(problems, key=lambda p: p.line))
    return [entry for _, entry in entries]


def _check_row(row: dict[str, str], number: int, groups: set[str], first_line: dict[str, int],
               keep_admin: str | None) -> StaffEntry | list[Problem]:
    problems: list[str] = []
    for key in REQUIRED:
        if not _text(row, key):
            problems.append(f"ต้องกรอก {key}")
    code, name, position = _text(row, "code"), _text(row, "name"), _text(row, "position")
    work_group, supervisor = _text(row, "work_group"), _text(row, "supervisor") or None
    for key, value, limit in (("code", code, CODE_MAX), ("name", name, TEXT_MAX), ("position", position, TEXT_MAX),
                              ("work_group", work_group, CODE_MAX), ("supervisor", supervisor or "", CODE_MAX)):
        if len(value) > limit:
            problems.append(f"{key} ยาวเกิน {limit} ตัวอักษร")
    for key, value in (("code", code), ("supervisor", supervisor or "")):
        if any(ch.isspace() for ch in value):
            problems.append(f"{key} ต้องไม่มีช่องว่าง ({value!r})")
    if code and code in first_line:
        problems.append(f"รหัส {code} ซ้ำกับบรรทัดที่ {first_line[code]}")
    if work_group and work_group not in groups:
        problems.append(f"ไม่พบกลุ่มงานรหัส {work_group} (เพิ่มกลุ่มงานด้วยไฟล์โครงสร้างหน่วยงานก่อน)")
    roles, unknown = parse_roles(_text(row, "roles"))
    if unknown:
        problems.append(f"ไม่รู้จักบทบาท {', '.join(unknown)} (ใช้ได้: {' '.join(ROLES)})")
    if supervisor is not None and supervisor == code:
        problems.append("เป็นผู้บังคับบัญชาของตนเองไม่ได้")
    if keep_admin and code == keep_admin and "admin" not in roles:
        problems.append("ถอดบทบาท admin ของตนเองไม่ได้ (จะเข้าหน้าผู้ดูแลระบบไม่ได้อีก)")
    if problems:
        return [Problem(number, p) for p in problems]
    return StaffEntry(code, name, position, work_group, roles, supervisor, None, f"line {number}", {})


def import_staff_csv(session: Session, text: str, now: datetime, keep_admin: str | None = None) -> ImportReport:
    """Check the whole file, then create or update its people in the caller's transaction; the
    report counts people.

    A LINE account bound by registration code stays bound; listing an inactive person makes them
    active again (they are back on the staff list)."""
    entries = parse_staff_csv(session, text, keep_admin)
    groups = {g.code: g for g in session.scalars(select(WorkGroup))}
    existing = {s.code: s for s in session.scalars(select(Staff))}
    tally = _Tally()
    for entry in entries:
        key = ("staff", entry.code)
        staff = existing.get(entry.code)
        if staff is None:
            staff = Staff(code=entry.code, name=entry.name, position=entry.position,
                          work_group_id=groups[entry.work_group].id, active=True, created_at=now, updated_at=now,
                          role_rows=[StaffRole(role=role) for role in sorted(entry.roles)])
            session.add(staff)
            existing[entry.code] = staff
            tally.row(key, created=True)
            continue
        changed = _assign(staff, name=entry.name, position=entry.position, work_group_id=groups[entry.work_group].id,
                          active=True)
        changed = _replace_roles(staff, entry, _Tally()) or changed  # counted per person, not per role
        if changed:
            _touch(staff, now)
        tally.row(key, updated=changed)
    session.flush()  # ids of new staff, for supervisors
    for entry in entries:
        person = existing[entry.code]
        if _assign(person, supervisor_id=existing[entry.supervisor].id if entry.supervisor else None):
            _touch(person, now)
            tally.row(("staff", entry.code), updated=True)
    session.flush()
    return tally.report()
