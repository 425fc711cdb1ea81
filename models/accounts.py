"""Account requests (ACC-…) and the account register: who has an account on which system, with
what rights, kept current by completed requests (SOP 000 §6.6, service profile scope 16)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Boolean, Date, ForeignKey, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models import audit
from models.base import Base, UTCDateTime
from models.numbering import next_number
from models.org import Staff, System, staff_by_code
from models.tickets import mask_personal_data

ACTIONS: dict[str, str] = {
    "new": "เปิดบัญชีใหม่",
    "change": "ปรับสิทธิ์",
    "revoke": "ยกเลิกสิทธิ์",
    "reset": "รีเซ็ตรหัสผ่าน",
}
AWAITING_APPROVAL, APPROVED, REJECTED, DONE = "awaiting_approval", "approved", "rejected", "done"
STATE_NAMES = {AWAITING_APPROVAL: "รออนุมัติ", APPROVED: "อนุมัติแล้ว รอดำเนินการ", REJECTED: "ไม่อนุมัติ",
               DONE: "ดำเนินการแล้ว"}


class AccountRequest(Base):
    __tablename__ = "account_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))  # whose account
    system_id: Mapped[int] = mapped_column(ForeignKey("system.id"))
    action: Mapped[str] = mapped_column(String(16))
    rights: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(24), default=AWAITING_APPROVAL)
    approval_id: Mapped[int | None] = mapped_column(ForeignKey("approval.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("leaver_case.id"), nullable=True)  # HR-reported

    requester: Mapped[Staff] = relationship(foreign_keys=[requester_id])
    subject: Mapped[Staff] = relationship(foreign_keys=[subject_id])
    system: Mapped[System] = relationship()
    done_by: Mapped[Staff | None] = relationship(foreign_keys=[done_by_id])

    @property
    def action_name(self) -> str:
        return ACTIONS.get(self.action, self.action)

    @property
    def state_name(self) -> str:
        return STATE_NAMES.get(self.state, self.state)


class AccountEntry(Base):
    """The register: one row per staff member and system."""

    __tablename__ = "account_entry"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("system.id", ondelete="CASCADE"), primary_key=True)
    rights: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(40), default="")  # the request number, or "csv"


LEAVER_KINDS: dict[str, str] = {"transfer": "โอนย้ายหน่วยงาน", "move": "ย้ายกลุ่มงาน", "resign": "ลาออก",
                                "retire": "เกษียณอายุราชการ"}


class LeaverCase(Base):
    """A transfer, move, resignation or retirement reported by HR: one task per system account,
    reminded weekly until all are done (intranet SOP 004 §6.4)."""

    __tablename__ = "leaver_case"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    kind: Mapped[str] = mapped_column(String(16))
    effective_on: Mapped[date] = mapped_column(Date)
    reported_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    staff: Mapped[Staff] = relationship(foreign_keys=[staff_id])
    reported_by: Mapped[Staff] = relationship(foreign_keys=[reported_by_id])

    @property
    def kind_name(self) -> str:
        return LEAVER_KINDS.get(self.kind, self.kind)


@dataclass(frozen=True)
class NewAccountRequest:
    system_id: int
    action: str
    subject_id: int
    rights: str = ""
    reason: str = ""


def create_request(session: Session, requester: Staff, fields: NewAccountRequest, now: datetime) -> AccountRequest:
    if fields.action not in ACTIONS:
        raise ValueError(f"unknown account action {fields.action!r}")
    row = AccountRequest(
        number=next_number(session, "ACC", now), requester_id=requester.id, subject_id=fields.subject_id,
        system_id=fields.system_id, action=fields.action, rights=mask_personal_data(fields.rights[:500])[0],
        reason=mask_personal_data(fields.reason[:1000])[0], state=AWAITING_APPROVAL, created_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(session, now, "account.requested", subject=row.number, actor_id=requester.id)
    return row


def by_number(session: Session, number: str) -> AccountRequest | None:
    return session.scalar(select(AccountRequest).where(AccountRequest.number == number.upper()))


def settle_decision(session: Session, request: AccountRequest, approved: bool) -> bool:
    """Follow the approval's decision, once."""
    return bool(session.execute(
        update(AccountRequest).where(AccountRequest.id == request.id, AccountRequest.state == AWAITING_APPROVAL)
        .values(state=APPROVED if approved else REJECTED)
    ).rowcount)


def mark_done(session: Session, number: str, owner: Staff, now: datetime) -> AccountRequest | None:
    """The system's owner did it: recorded once, and the register follows. None if not possible."""
    request = by_number(session, number)
    if request is None or request.system.owner_id != owner.id:
        return None
    changed = session.execute(
        update(AccountRequest).where(AccountRequest.id == request.id, AccountRequest.state == APPROVED)
        .values(state=DONE, done_at=now, done_by_id=owner.id)
    ).rowcount
    session.refresh(request)
    if not changed:
        return None
    _apply(session, request, now)
    audit.record(session, now, "account.done", subject=request.number, actor_id=owner.id)
    return request


def _apply(session: Session, request: AccountRequest, now: datetime) -> None:
    entry = session.get(AccountEntry, (request.subject_id, request.system_id))
    if request.action == "reset":
        return  # a new password changes nothing in the register
    if entry is None:
        entry = AccountEntry(staff_id=request.subject_id, system_id=request.system_id, updated_at=now)
        session.add(entry)
    entry.active = request.action != "revoke"
    if request.action in ("new", "change") and request.rights:
        entry.rights = request.rights
    entry.updated_at, entry.source = now, request.number


def accounts_of(session: Session, staff: Staff) -> list[AccountEntry]:
    return list(session.scalars(select(AccountEntry).where(AccountEntry.staff_id == staff.id,
                                                           AccountEntry.active.is_(True))))


class RegisterFileError(ValueError):
    """A CSV the register cannot take; the message names the line."""


def import_register_csv(session: Session, text: str, now: datetime) -> int:
    """Columns staff_code, system_code, rights. All rows or none. Returns rows written."""
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"staff_code", "system_code"} <= set(reader.fieldnames):
        raise RegisterFileError("the first line must name the columns staff_code, system_code, rights")
    systems = {s.code: s for s in session.scalars(select(System))}
    written = 0
    for line, row in enumerate(reader, start=2):
        staff = staff_by_code(session, (row.get("staff_code") or "").strip())
        system = systems.get((row.get("system_code") or "").strip())
        if staff is None or system is None:
            what = "staff_code" if staff is None else "system_code"
            raise RegisterFileError(f"line {line}: unknown {what}")
        entry = session.get(AccountEntry, (staff.id, system.id))
        if entry is None:
            entry = AccountEntry(staff_id=staff.id, system_id=system.id, updated_at=now)
            session.add(entry)
            session.flush()  # a repeated line updates this row instead of inserting a second
        entry.rights, entry.active, entry.updated_at, entry.source = (row.get("rights") or "").strip(), True, now, "csv"
        written += 1
    audit.record(session, now, "account.register_imported", rows=written)
    return written


# Leavers and movers ---------------------------------------------------------------------------------


def report_leaver(session: Session, hr: Staff, staff: Staff, kind: str, effective_on: date, now: datetime
                  ) -> tuple[LeaverCase, list[AccountRequest]]:
    """One revoke (leaving) or change (moving) task per system the person has an account on,
    already approved: HR's report is the authority, as the SOP has it."""
    if kind not in LEAVER_KINDS:
        raise ValueError(f"unknown leaver kind {kind!r}")
    case = LeaverCase(staff_id=staff.id, kind=kind, effective_on=effective_on, reported_by_id=hr.id, created_at=now)
    session.add(case)
    session.flush()
    action = "change" if kind == "move" else "revoke"
    tasks = []
    for entry in accounts_of(session, staff):
        request = AccountRequest(
            number=next_number(session, "ACC", now), requester_id=hr.id, subject_id=staff.id,
            system_id=entry.system_id, action=action, reason=f"{LEAVER_KINDS[kind]} {effective_on.isoformat()}",
            state=APPROVED, created_at=now, case_id=case.id,
        )
        session.add(request)
        tasks.append(request)
    session.flush()
    if not tasks:
        case.closed_at = now
    audit.record(session, now, "account.leaver_reported", subject=staff.code, actor_id=hr.id, kind=kind,
                 tasks=[t.number for t in tasks])
    return case, tasks


def open_tasks(session: Session, case: LeaverCase) -> list[AccountRequest]:
    return list(session.scalars(select(AccountRequest).where(AccountRequest.case_id == case.id,
                                                             AccountRequest.state != DONE)))


def close_case_if_done(session: Session, case_id: int | None, now: datetime) -> LeaverCase | None:
    """The case, if its last task was just done (closed once)."""
    if case_id is None:
        return None
    case = session.get(LeaverCase, case_id)
    if case is None or case.closed_at is not None or open_tasks(session, case):
        return None
    changed = session.execute(update(LeaverCase).where(LeaverCase.id == case.id, LeaverCase.closed_at.is_(None))
                              .values(closed_at=now)).rowcount
    session.refresh(case)
    return case if changed else None


def cases_to_remind(session: Session, now: datetime, every: timedelta = timedelta(days=7)) -> list[LeaverCase]:
    """Open cases whose last reminder (or report) is a week old; marked reminded now."""
    due = []
    for case in session.scalars(select(LeaverCase).where(LeaverCase.closed_at.is_(None)).order_by(LeaverCase.id)):
        if (case.reminded_at or case.created_at) + every <= now:
            case.reminded_at = now
            due.append(case)
    return due
