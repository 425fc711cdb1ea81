"""Reminders the SOPs require, as data: a definition says what, from which SOP, how often, to whom
and what evidence closes it; each due date becomes one occurrence row, created once.

Rows, not scheduler jobs: the worker's fixed job compares them with the clock, so a restart or a
day of downtime changes nothing but when the next run happens (the unique definition/date pair
makes each occurrence exist once).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models import audit
from models.approvals import supervisor_of
from models.base import Base, UTCDateTime
from models.numbering import BANGKOK
from models.org import ROLES, Staff, staff_by_code, staff_with_role
from models.thai_dates import thai_date, thai_datetime
from models.tickets import TicketPhoto
from models.work_calendar import WorkCalendar

DEFAULTS_FILE = Path(__file__).with_name("data") / "reminders.yaml"

# Month-based cadences reduce to "every N months from an anchor month, on a day"; quarters and
# fiscal-year months follow the Thai government year that starts on 1 October.
CADENCES = ("weekly", "monthly", "quarterly", "yearly", "every_n_months", "fiscal_year")
EVIDENCE = ("none", "text", "photo", "file")
OPEN, DONE, MISSED = "open", "done", "missed"
FIELDS = ("code", "title", "source", "section", "sop_text", "cadence", "interval", "month", "day", "weekday",
          "lead_days", "role", "officer", "evidence", "working_day", "escalate_after_days", "notice", "paused")
MIN_TEXT_EVIDENCE = 3


class ReminderDefinition(Base):
    __tablename__ = "reminder_definition"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(200), default="")  # the SOP's document code
    section: Mapped[str] = mapped_column(String(100), default="")
    sop_text: Mapped[str] = mapped_column(Text, default="")  # what the SOP says, shown on the card
    cadence: Mapped[str] = mapped_column(String(20))
    interval: Mapped[int] = mapped_column(Integer, default=1)
    month: Mapped[int | None] = mapped_column(Integer, nullable=True)
    day: Mapped[int | None] = mapped_column(Integer, nullable=True)
    weekday: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 0 = Monday
    lead_days: Mapped[int] = mapped_column(Integer, default=0)
    role: Mapped[str | None] = mapped_column(String(20), nullable=True)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    evidence: Mapped[str] = mapped_column(String(10), default="none")
    working_day: Mapped[bool] = mapped_column(Boolean, default=True)  # a weekend/holiday due date moves on
    escalate_after_days: Mapped[int] = mapped_column(Integer, default=3)  # working days overdue
    notice: Mapped[str] = mapped_column(Text, default="")  # optional text multicast to all staff
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)  # deleted, kept for its occurrences
    starts_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    officer: Mapped[Staff | None] = relationship()


class ReminderOccurrence(Base):
    __tablename__ = "reminder_occurrence"
    __table_args__ = (UniqueConstraint("definition_id", "nominal_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("reminder_definition.id"), index=True)
    nominal_on: Mapped[date] = mapped_column(Date)  # the date the cadence gives
    due_on: Mapped[date] = mapped_column(Date)  # moved to a working day where the definition says so
    state: Mapped[str] = mapped_column(String(10), default=OPEN, index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    announce_on: Mapped[date] = mapped_column(Date)
    announced_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    snoozed_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    snooze_reason: Mapped[str] = mapped_column(Text, default="")
    overdue_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    escalated_to_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    evidence_kind: Mapped[str] = mapped_column(String(10), default="")
    evidence_text: Mapped[str] = mapped_column(Text, default="")

    definition: Mapped[ReminderDefinition] = relationship()
    assignee: Mapped[Staff | None] = relationship(foreign_keys=[assignee_id])
    escalated_to: Mapped[Staff | None] = relationship(foreign_keys=[escalated_to_id])
    done_by: Mapped[Staff | None] = relationship(foreign_keys=[done_by_id])

    @property
    def effective_due(self) -> date:
        """The due date, or the later date it was postponed to."""
        return max(self.due_on, self.snoozed_until) if self.snoozed_until else self.due_on


# Cadence ----------------------------------------------------------------------------------------


def fiscal_year_of(day: date) -> int:
    """Buddhist-Era fiscal year: 1 October 2026 starts 2570."""
    return day.year + 543 + (1 if day.month >= 10 else 0)


def _month_rule(defn: ReminderDefinition) -> tuple[int, int]:
    """(every N months, anchor calendar month) of a month-based cadence."""
    month = defn.month or 1
    if defn.cadence == "monthly":
        return max(defn.interval, 1), month if defn.month else 1
    if defn.cadence == "quarterly":  # month 1..3 within each fiscal quarter (Oct, Jan, Apr, Jul)
        return 3, 10 + (month - 1)
    if defn.cadence == "yearly":
        return 12, month
    if defn.cadence == "fiscal_year":  # fiscal month 1 = October ... 12 = September
        return 12, (month + 8) % 12 + 1
    return max(defn.interval, 1), month  # every_n_months


def nominal_dates(defn: ReminderDefinition, start: date, end: date) -> list[date]:
    """The cadence's dates from start to end, both included."""
    if end < start:
        return []
    if defn.cadence == "weekly":
        weekday, every = defn.weekday or 0, max(defn.interval, 1)
        first = start + timedelta(days=(weekday - start.weekday()) % 7)
        anchor = defn.starts_on + timedelta(days=(weekday - defn.starts_on.weekday()) % 7)
        found = []
        day = first
        while day <= end:
            if ((day - anchor).days // 7) % every == 0:
                found.append(day)
            day += timedelta(days=7)
        return found
    every, anchor = _month_rule(defn)
    found = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        if (month - anchor) % every == 0:
            last = calendar.monthrange(year, month)[1]
            day = date(year, month, min(defn.day or 1, last))
            if start <= day <= end:
                found.append(day)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def due_date(defn: ReminderDefinition, nominal: date, cal: WorkCalendar) -> date:
    return cal.on_or_after(nominal) if defn.working_day else nominal


def announce_date(defn: ReminderDefinition, due: date, cal: WorkCalendar) -> date:
    """The lead time before the due date, landing on a working day (never after the due date)."""
    day = due - timedelta(days=defn.lead_days)
    return min(cal.on_or_after(day), due) if defn.working_day else day


def describe_cadence(defn: ReminderDefinition) -> str:
    """The cadence in Thai, for cards and listings."""
    from pythainlp.util import thai_strftime

    day = defn.day or 1
    if defn.cadence == "weekly":
        name = thai_strftime(datetime(2024, 1, 1 + (defn.weekday or 0)), "%A")
        return f"ทุก{name}" + (f" (ทุก {defn.interval} สัปดาห์)" if defn.interval > 1 else "")
    if defn.cadence == "monthly":
        return f"ทุกเดือน วันที่ {day}" if defn.interval <= 1 else f"ทุก {defn.interval} เดือน วันที่ {day}"
    if defn.cadence == "quarterly":
        return f"ทุกไตรมาส (เดือนที่ {defn.month or 1} ของไตรมาส) วันที่ {day}"
    every, anchor = _month_rule(defn)
    month_name = thai_strftime(datetime(2024, anchor, 1), "%B")
    if defn.cadence in ("yearly", "fiscal_year"):
        return f"ทุกปี วันที่ {day} {month_name}"
    return f"ทุก {every} เดือน วันที่ {day} (เริ่มเดือน{month_name})"


# Definitions ------------------------------------------------------------------------------------


class DefinitionError(ValueError):
    pass


def _int(value: Any, name: str, low: int, high: int, default: int | None) -> int | None:
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip().lstrip("-").isdigit():
        raise DefinitionError(f"{name}: ต้องเป็นตัวเลข {low}–{high}")
    number = int(value)
    if not low <= number <= high:
        raise DefinitionError(f"{name}: ต้องเป็นตัวเลข {low}–{high}")
    return number


def _bool(value: Any, name: str, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "yes", "1", "ใช่"):
        return True
    if str(value).lower() in ("false", "no", "0", "ไม่"):
        return False
    raise DefinitionError(f"{name}: ต้องเป็น true หรือ false")


def clean_definition(session: Session, raw: dict[str, Any]) -> dict[str, Any]:
    """Check one definition as an admin wrote it (YAML or CLI); returns column values."""
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise DefinitionError(f"ไม่รู้จักช่อง {', '.join(unknown)} / unknown fields")
    code = str(raw.get("code") or "").strip().upper()
    if not code or len(code) > 40 or not all(ch.isalnum() or ch in "-_" for ch in code):
        raise DefinitionError("code: ต้องมี ใช้ A–Z 0–9 - _ ไม่เกิน 40 ตัว")
    title = str(raw.get("title") or "").strip()
    if not title or len(title) > 300:
        raise DefinitionError(f"{code}: title ต้องมี ไม่เกิน 300 ตัวอักษร")
    cadence = str(raw.get("cadence") or "")
    if cadence not in CADENCES:
        raise DefinitionError(f"{code}: cadence ต้องเป็น {' | '.join(CADENCES)}")
    values: dict[str, Any] = {
        "code": code, "title": title, "cadence": cadence,
        "source": str(raw.get("source") or "")[:200], "section": str(raw.get("section") or "")[:100],
        "sop_text": str(raw.get("sop_text") or "").strip(), "notice": str(raw.get("notice") or "").strip(),
        "interval": _int(raw.get("interval"), f"{code}: interval", 1, 60, 1),
        "month": _int(raw.get("month"), f"{code}: month", 1, 12, None),
        "day": _int(raw.get("day"), f"{code}: day", 1, 31, None),
        "weekday": _int(raw.get("weekday"), f"{code}: weekday", 0, 6, None),
        "lead_days": _int(raw.get("lead_days"), f"{code}: lead_days", 0, 120, 0),
        "escalate_after_days": _int(raw.get("escalate_after_days"), f"{code}: escalate_after_days", 1, 60, 3),
        "working_day": _bool(raw.get("working_day"), f"{code}: working_day", True),
        "paused": _bool(raw.get("paused"), f"{code}: paused", False),
    }
    if cadence == "weekly" and values["weekday"] is None:
        raise DefinitionError(f"{code}: weekly ต้องระบุ weekday (0 = จันทร์ … 6 = อาทิตย์)")
    if cadence in ("yearly", "fiscal_year", "every_n_months") and values["month"] is None:
        raise DefinitionError(f"{code}: {cadence} ต้องระบุ month")
    if cadence == "quarterly" and (values["month"] or 1) > 3:
        raise DefinitionError(f"{code}: quarterly ใช้ month 1–3 (เดือนที่เท่าไรของไตรมาส)")
    if cadence != "weekly" and values["day"] is None:
        values["day"] = 1
    evidence = str(raw.get("evidence") or "none")
    if evidence not in EVIDENCE:
        raise DefinitionError(f"{code}: evidence ต้องเป็น {' | '.join(EVIDENCE)}")
    values["evidence"] = evidence
    role = raw.get("role")
    officer_code = raw.get("officer")
    if role is not None and str(role) not in ROLES:
        raise DefinitionError(f"{code}: role ต้องเป็น {' | '.join(sorted(ROLES))}")
    values["role"] = str(role) if role else None
    values["officer_id"] = None
    if officer_code:
        officer = staff_by_code(session, str(officer_code))
        if officer is None:
            raise DefinitionError(f"{code}: ไม่พบเจ้าหน้าที่รหัส {officer_code}")
        values["officer_id"] = officer.id
    if values["role"] is None and values["officer_id"] is None:
        raise DefinitionError(f"{code}: ต้องระบุ role หรือ officer ผู้รับผิดชอบ")
    return values


@dataclass
class ImportResult:
    added: int = 0
    changed: int = 0
    unchanged: int = 0


def upsert_definitions(session: Session, raws: list[dict[str, Any]], now: datetime) -> ImportResult:
    """Add or change definitions by code (all checked first: one bad entry changes nothing)."""
    cleaned = [clean_definition(session, raw) for raw in raws]
    codes = [c["code"] for c in cleaned]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        raise DefinitionError(f"code ซ้ำ: {', '.join(duplicates)}")
    result = ImportResult()
    today = now.astimezone(BANGKOK).date()
    for values in cleaned:
        row = session.scalar(select(ReminderDefinition).where(ReminderDefinition.code == values["code"]))
        if row is None:
            session.add(ReminderDefinition(**values, starts_on=today, created_at=now, updated_at=now))
            result.added += 1
            continue
        values["retired"] = False
        if all(getattr(row, key) == value for key, value in values.items()):
            result.unchanged += 1
            continue
        for key, value in values.items():
            setattr(row, key, value)
        row.updated_at = now
        result.changed += 1
    session.flush()
    if result.added or result.changed:
        audit.record(session, now, "reminder.definitions_imported", added=result.added, changed=result.changed)
    return result


def load_definitions_file(path: Path = DEFAULTS_FILE) -> list[dict[str, Any]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    items = data.get("reminders") if isinstance(data, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise DefinitionError(f"{path}: ต้องมีรายการ reminders: / a 'reminders:' list is required")
    return items


def install_defaults_once(session: Session, now: datetime) -> int:
    """The shipped set, the first time an organisation is loaded; later imports leave admins' edits be."""
    if session.scalar(select(func.count()).select_from(ReminderDefinition)):
        return 0
    return upsert_definitions(session, load_definitions_file(), now).added


def definition_by_code(session: Session, code: str) -> ReminderDefinition | None:
    return session.scalar(select(ReminderDefinition).where(ReminderDefinition.code == code.strip().upper(),
                                                           ReminderDefinition.retired.is_(False)))


def active_definitions(session: Session) -> list[ReminderDefinition]:
    return list(session.scalars(select(ReminderDefinition).where(
        ReminderDefinition.retired.is_(False)).order_by(ReminderDefinition.code)))


def set_paused(session: Session, code: str, paused: bool, now: datetime) -> ReminderDefinition | None:
    row = definition_by_code(session, code)
    if row is not None and row.paused != paused:
        row.paused, row.updated_at = paused, now
        audit.record(session, now, "reminder.paused" if paused else "reminder.resumed", subject=row.code)
    return row


def delete_definition(session: Session, code: str, now: datetime) -> bool:
    """Gone from schedules and lists; its past occurrences stay for the audit pack."""
    row = definition_by_code(session, code)
    if row is None:
        return False
    row.retired, row.updated_at = True, now
    session.execute(update(ReminderOccurrence).where(ReminderOccurrence.definition_id == row.id,
                                                     ReminderOccurrence.state == OPEN,
                                                     ReminderOccurrence.announced_at.is_(None))
                    .values(state=MISSED))
    audit.record(session, now, "reminder.deleted", subject=row.code)
    return True


# Occurrences ------------------------------------------------------------------------------------

LOOKAHEAD = timedelta(days=20)  # a due date can move this far onto a working day (Songkran + weekend)


def create_due(session: Session, today: date, cal: WorkCalendar, now: datetime) -> list[ReminderOccurrence]:
    """Occurrences whose announce day has come, each created once. After downtime only the latest
    missed one per definition is announced; earlier ones are recorded as missed (the audit pack
    shows them), not sent."""
    created: list[ReminderOccurrence] = []
    for defn in session.scalars(select(ReminderDefinition).where(ReminderDefinition.retired.is_(False),
                                                                 ReminderDefinition.paused.is_(False))):
        latest = session.scalar(select(func.max(ReminderOccurrence.nominal_on))
                                .where(ReminderOccurrence.definition_id == defn.id))
        start = max(defn.starts_on, latest + timedelta(days=1)) if latest else defn.starts_on
        pending: list[tuple[date, date, date]] = []
        for nominal in nominal_dates(defn, start, today + timedelta(days=defn.lead_days) + LOOKAHEAD):
            due = due_date(defn, nominal, cal)
            announce = announce_date(defn, due, cal)
            if announce > today:
                break
            pending.append((nominal, due, announce))
        for index, (nominal, due, announce) in enumerate(pending):
            superseded = index < len(pending) - 1 and due < today
            row = ReminderOccurrence(definition_id=defn.id, nominal_on=nominal, due_on=due, announce_on=announce,
                                     state=MISSED if superseded else OPEN, created_at=now)
            session.add(row)
            created.append(row)
    session.flush()
    return created


def open_occurrences(session: Session) -> list[ReminderOccurrence]:
    return list(session.scalars(select(ReminderOccurrence).where(ReminderOccurrence.state == OPEN)
                                .order_by(ReminderOccurrence.due_on, ReminderOccurrence.id)))


def responsible(session: Session, occ: ReminderOccurrence) -> list[Staff]:
    """Who the reminder goes to: the assignee, else the named officer, else everyone with the role."""
    if occ.assignee is not None and occ.assignee.active:
        return [occ.assignee]
    defn = occ.definition
    if defn.officer is not None and defn.officer.active:
        return [defn.officer]
    return staff_with_role(session, defn.role) if defn.role else []


def colleagues(session: Session, occ: ReminderOccurrence, staff: Staff) -> list[Staff]:
    """People the reminder can be handed to: the same role (or the named officer's own roles)."""
    defn = occ.definition
    roles = {defn.role} if defn.role else (defn.officer.roles - {"staff"} if defn.officer else set())
    found: dict[int, Staff] = {}
    for role in sorted(roles):
        for person in staff_with_role(session, role):
            if person.id != staff.id and person.active:
                found[person.id] = person
    return sorted(found.values(), key=lambda s: s.code)


def may_act(session: Session, occ: ReminderOccurrence, staff: Staff | None) -> bool:
    """The people it goes to, their colleagues in the role, the supervisor it was escalated to, admins."""
    if staff is None or not staff.active:
        return False
    defn = occ.definition
    return (any(p.id == staff.id for p in responsible(session, occ))
            or (defn.role is not None and staff.has_role(defn.role))
            or occ.escalated_to_id == staff.id or staff.has_role("admin"))


def escalation_targets(session: Session, occ: ReminderOccurrence) -> list[Staff]:
    """The supervisors of those responsible who are not responsible themselves."""
    people = responsible(session, occ)
    ids = {p.id for p in people}
    found: dict[int, Staff] = {}
    for person in people:
        boss = supervisor_of(person)
        if boss is not None and boss.id not in ids and boss.active:
            found[boss.id] = boss
    return list(found.values())


class Change(Enum):
    DONE = "done"
    NOT_FOUND = "not_found"
    NOT_ALLOWED = "not_allowed"
    ALREADY = "already"
    EVIDENCE_MISSING = "evidence_missing"
    BAD_DATE = "bad_date"


def _actable(session: Session, occ_id: int, staff: Staff) -> tuple[Change | None, ReminderOccurrence | None]:
    """The occurrence, and why this person may not act on it (None when they may)."""
    occ = session.get(ReminderOccurrence, occ_id)
    if occ is None:
        return Change.NOT_FOUND, None
    return (None if may_act(session, occ, staff) else Change.NOT_ALLOWED), occ


def evidence_accepted(required: str, kind: str, words: str = "") -> bool:
    """A photo proves a photo; a file or a photo of a document proves a file; text must say something."""
    if required == "none":
        return True
    if required == "text":
        return kind == "text" and len(words.strip()) >= MIN_TEXT_EVIDENCE
    if required == "photo":
        return kind == "photo"
    return kind in ("file", "photo")


def complete(session: Session, occ_id: int, staff: Staff, now: datetime, kind: str = "", words: str = "",
             message_id: str = "") -> tuple[Change, ReminderOccurrence | None]:
    """Done once, by someone entitled, with the evidence the definition requires."""
    refused, occ = _actable(session, occ_id, staff)
    if refused is not None:
        return refused, occ
    if occ.state != OPEN:
        return Change.ALREADY, occ
    if not evidence_accepted(occ.definition.evidence, kind, words):
        return Change.EVIDENCE_MISSING, occ
    changed = session.execute(
        update(ReminderOccurrence).where(ReminderOccurrence.id == occ_id, ReminderOccurrence.state == OPEN)
        .values(state=DONE, done_at=now, done_by_id=staff.id, evidence_kind=kind if kind else "",
                evidence_text=words.strip()[:2000])
    ).rowcount
    if not changed:
        session.refresh(occ)
        return Change.ALREADY, occ
    if message_id and kind in ("photo", "file"):
        session.add(TicketPhoto(reminder_occurrence_id=occ_id, message_id=message_id[:32], kind="evidence",
                                created_at=now))
    session.refresh(occ)
    audit.record(session, now, "reminder.done", subject=f"{occ.definition.code}/{occ.due_on.isoformat()}",
                 actor_id=staff.id, evidence=kind or "none")
    return Change.DONE, occ


def snooze(session: Session, occ_id: int, staff: Staff, until: date, reason: str, now: datetime
           ) -> tuple[Change, ReminderOccurrence | None]:
    """Postponed to a later day with a reason: reminded again that day; overdue and escalation count
    from then."""
    refused, occ = _actable(session, occ_id, staff)
    if refused is not None:
        return refused, occ
    today = now.astimezone(BANGKOK).date()
    if until <= today or until > today + timedelta(days=90):
        return Change.BAD_DATE, occ
    changed = session.execute(
        update(ReminderOccurrence).where(ReminderOccurrence.id == occ_id, ReminderOccurrence.state == OPEN)
        .values(snoozed_until=until, snooze_reason=reason.strip()[:1000], announce_on=until, announced_at=None,
                overdue_reminded_at=None, escalated_at=None)
    ).rowcount
    session.refresh(occ)
    if not changed:
        return Change.ALREADY, occ
    audit.record(session, now, "reminder.snoozed", subject=f"{occ.definition.code}/{occ.due_on.isoformat()}",
                 actor_id=staff.id, until=until.isoformat())
    return Change.DONE, occ


def assign(session: Session, occ_id: int, staff: Staff, to: Staff, now: datetime
           ) -> tuple[Change, ReminderOccurrence | None]:
    refused, occ = _actable(session, occ_id, staff)
    if refused is not None:
        return refused, occ
    if all(c.id != to.id for c in colleagues(session, occ, staff)):
        return Change.NOT_ALLOWED, occ
    changed = session.execute(
        update(ReminderOccurrence).where(ReminderOccurrence.id == occ_id, ReminderOccurrence.state == OPEN)
        .values(assignee_id=to.id)
    ).rowcount
    session.refresh(occ)
    if not changed:
        return Change.ALREADY, occ
    audit.record(session, now, "reminder.assigned", subject=f"{occ.definition.code}/{occ.due_on.isoformat()}",
                 actor_id=staff.id, to=to.code)
    return Change.DONE, occ


def evidence_files(session: Session, occ: ReminderOccurrence) -> list[TicketPhoto]:
    return list(session.scalars(select(TicketPhoto).where(TicketPhoto.reminder_occurrence_id == occ.id)
                                .order_by(TicketPhoto.id)))


def occurrences_in_fiscal_year(session: Session, year: int) -> list[ReminderOccurrence]:
    start, end = date(year - 544, 10, 1), date(year - 543, 9, 30)
    return list(session.scalars(select(ReminderOccurrence).where(ReminderOccurrence.due_on >= start,
                                                                 ReminderOccurrence.due_on <= end)
                                .order_by(ReminderOccurrence.due_on, ReminderOccurrence.id)))


# Audit pack -------------------------------------------------------------------------------------

AUDIT_HEADER = ["รหัส", "งาน", "ตามเอกสาร", "ข้อ", "ปีงบประมาณ", "กำหนด", "กำหนดหลังเลื่อนวันหยุด", "เลื่อนเป็น",
                "เหตุผลที่เลื่อน", "ผู้รับผิดชอบ", "สถานะ", "ดำเนินการเมื่อ", "ดำเนินการโดย", "หลักฐาน", "ตรงเวลา",
                "แจ้งผู้บังคับบัญชา"]


def audit_rows(session: Session, year: int, today: date) -> list[list[str]]:
    """One row per occurrence due in the fiscal year: what an internal-control review asks for.
    Dates are Buddhist Era; 'late' compares the day it was done with the due date (a postponement
    is shown, not excused)."""
    def day(d: date | None) -> str:
        return thai_date(d) if d else ""

    rows = []
    for occ in occurrences_in_fiscal_year(session, year):
        defn = occ.definition
        people = ", ".join(p.name for p in responsible(session, occ)) or (defn.role or "")
        done_day = occ.done_at.astimezone(BANGKOK).date() if occ.done_at else None
        if occ.state == DONE and done_day is not None:
            late = "ตรงเวลา" if done_day <= occ.due_on else f"ล่าช้า {(done_day - occ.due_on).days} วัน"
            state = "ดำเนินการแล้ว"
        elif occ.state == MISSED:
            late, state = "ไม่ได้ดำเนินการ", "ไม่ได้แจ้ง (ระบบหยุดทำงาน/ลบรายการ)"
        elif occ.due_on < today:
            late, state = f"เลยกำหนด {(today - occ.due_on).days} วัน", "ยังไม่ดำเนินการ"
        else:
            late, state = "", "ยังไม่ถึงกำหนด"
        files = evidence_files(session, occ)
        evidence = occ.evidence_text or ""
        if files:
            kept = sum(1 for f in files if f.data is not None)
            ids = ", ".join(f"#{f.id}" for f in files)
            evidence = (evidence + " " if evidence else "") + f"ไฟล์แนบ {kept}/{len(files)} ({ids})"
        rows.append([
            defn.code, defn.title, defn.source, defn.section, str(fiscal_year_of(occ.due_on)), day(occ.nominal_on),
            day(occ.due_on) if occ.due_on != occ.nominal_on else "", day(occ.snoozed_until), occ.snooze_reason,
            people, state,
            thai_datetime(occ.done_at) if occ.done_at else "",
            occ.done_by.name if occ.done_by else "", evidence, late,
            occ.escalated_to.name if occ.escalated_to else "",
        ])
    return rows


def audit_csv(session: Session, year: int, today: date) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(AUDIT_HEADER)
    writer.writerows(audit_rows(session, year, today))
    return out.getvalue()
