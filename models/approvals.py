"""The approval engine shared by account and website requests: the approver is fixed when the
request is made, and a decision is one guarded UPDATE (only that approver, only while pending,
only once), written to the append-only audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from sqlalchemy import Date, ForeignKey, String, Text, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models import audit
from models.base import Base, UTCDateTime
from models.org import Staff

BANGKOK = ZoneInfo("Asia/Bangkok")
PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"


class Delegation(Base):
    """An acting head: decides instead of `head` on the days from `starts_on` to `ends_on`."""

    __tablename__ = "delegation"

    id: Mapped[int] = mapped_column(primary_key=True)
    head_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    acting_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Approval(Base):
    __tablename__ = "approval"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), index=True)  # the request's ACC-/WEB- number
    requester_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    approver_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    escalated_to_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    requester: Mapped[Staff] = relationship(foreign_keys=[requester_id])
    approver: Mapped[Staff] = relationship(foreign_keys=[approver_id])
    escalated_to: Mapped[Staff | None] = relationship(foreign_keys=[escalated_to_id])
    decided_by: Mapped[Staff | None] = relationship(foreign_keys=[decided_by_id])


def supervisor_of(staff: Staff) -> Staff | None:
    """The supervisor named in the organisation file, else the head of the person's work group
    (for the head themself: the head's own supervisor)."""
    if staff.supervisor is not None:
        return staff.supervisor
    head = staff.work_group.head if staff.work_group else None
    if head is not None and head.id != staff.id:
        return head
    return head.supervisor if head is not None else None


def acting_for(session: Session, head: Staff, today: date) -> Staff | None:
    row = session.scalar(
        select(Delegation)
        .where(Delegation.head_id == head.id, Delegation.starts_on <= today, Delegation.ends_on >= today)
        .order_by(Delegation.id.desc())
        .limit(1)
    )
    return session.get(Staff, row.acting_id) if row else None


def approver_for(session: Session, requester: Staff, now: datetime) -> Staff | None:
    """Fixed when the request is created: the supervisor, or the acting head delegated for today."""
    supervisor = supervisor_of(requester)
    if supervisor is None:
        return None
    acting = acting_for(session, supervisor, now.astimezone(BANGKOK).date())
    if acting is not None and acting.active and acting.id != requester.id:
        return acting
    return supervisor


def group_head_for(session: Session, requester: Staff, now: datetime) -> Staff | None:
    """For website requests (announcement §2.2.1): the head of the requester's work group, or the
    acting head on this date; for the head themself, their own supervisor."""
    head = requester.work_group.head if requester.work_group else None
    if head is None or head.id == requester.id:
        return approver_for(session, requester, now)
    acting = acting_for(session, head, now.astimezone(BANGKOK).date())
    return acting if acting is not None and acting.active and acting.id != requester.id else head


def delegate(session: Session, head: Staff, acting: Staff, starts_on: date, ends_on: date, now: datetime,
             actor_id: int | None = None) -> Delegation:
    if ends_on < starts_on:
        raise ValueError("the delegation ends before it starts")
    row = Delegation(head_id=head.id, acting_id=acting.id, starts_on=starts_on, ends_on=ends_on, created_at=now)
    session.add(row)
    audit.record(session, now, "approval.delegated", subject=head.code, actor_id=actor_id, acting=acting.code,
                 starts_on=starts_on.isoformat(), ends_on=ends_on.isoformat())
    return row


def open_approval(session: Session, number: str, requester: Staff, approver: Staff, now: datetime) -> Approval:
    row = Approval(number=number, requester_id=requester.id, approver_id=approver.id, state=PENDING, created_at=now)
    session.add(row)
    session.flush()
    audit.record(session, now, "approval.requested", subject=number, actor_id=requester.id, approver=approver.code)
    return row


class Decision(Enum):
    DONE = "done"
    NOT_FOUND = "not_found"
    ALREADY_DECIDED = "already_decided"
    NOT_APPROVER = "not_approver"
    OWN_REQUEST = "own_request"
    REASON_REQUIRED = "reason_required"


@dataclass(frozen=True)
class DecisionResult:
    decision: Decision
    approval: Approval | None = None


def decide(session: Session, approval_id: int, staff: Staff, approve: bool, reason: str, now: datetime
           ) -> DecisionResult:
    """One guarded UPDATE: pending, by the designated approver (or the one it was escalated to),
    never by the requester. A double tap, a stale card or a replay changes nothing."""
    row = session.get(Approval, approval_id)
    if row is None:
        return DecisionResult(Decision.NOT_FOUND)
    if row.requester_id == staff.id:
        return DecisionResult(Decision.OWN_REQUEST, row)
    if staff.id not in (row.approver_id, row.escalated_to_id):
        return DecisionResult(Decision.NOT_APPROVER, row)
    if row.state != PENDING:
        return DecisionResult(Decision.ALREADY_DECIDED, row)
    if not approve and not reason.strip():
        return DecisionResult(Decision.REASON_REQUIRED, row)
    changed = session.execute(
        update(Approval)
        .where(Approval.id == row.id, Approval.state == PENDING, Approval.requester_id != staff.id,
               or_(Approval.approver_id == staff.id, Approval.escalated_to_id == staff.id))
        .values(state=APPROVED if approve else REJECTED, decided_at=now, decided_by_id=staff.id,
                reason=reason.strip()[:1000])
    ).rowcount
    session.refresh(row)
    if not changed:
        return DecisionResult(Decision.ALREADY_DECIDED, row)
    audit.record(session, now, "approval.approved" if approve else "approval.rejected", subject=row.number,
                 actor_id=staff.id, reason=row.reason)
    return DecisionResult(Decision.DONE, row)


def record_verbal(session: Session, approval_id: int, recorder: Staff, head: Staff, now: datetime
                  ) -> DecisionResult:
    """Urgent requests: the head approved by word of mouth (§2.2.1); a webmaster records it in the
    head's name. Only while pending, once."""
    row = session.get(Approval, approval_id)
    if row is None:
        return DecisionResult(Decision.NOT_FOUND)
    changed = session.execute(
        update(Approval).where(Approval.id == row.id, Approval.state == PENDING)
        .values(state=APPROVED, decided_at=now, decided_by_id=head.id,
                reason=f"อนุมัติด้วยวาจา บันทึกโดย {recorder.name}")
    ).rowcount
    session.refresh(row)
    if not changed:
        return DecisionResult(Decision.ALREADY_DECIDED, row)
    audit.record(session, now, "approval.verbal", subject=row.number, actor_id=recorder.id, head=head.code)
    return DecisionResult(Decision.DONE, row)


def due_reminders(session: Session, now: datetime, remind_after: timedelta, escalate_after: timedelta
                  ) -> list[tuple[Approval, str]]:
    """Pending approvals to remind ("remind") or escalate to the approver's supervisor
    ("escalate"), each once."""
    found: list[tuple[Approval, str]] = []
    for row in session.scalars(select(Approval).where(Approval.state == PENDING).order_by(Approval.id)):
        age = now - row.created_at
        if age >= escalate_after and row.escalated_at is None:
            boss = supervisor_of(row.approver)
            if boss is not None and boss.id != row.requester_id and _mark(session, row, "escalated_at", now,
                                                                          escalated_to_id=boss.id):
                audit.record(session, now, "approval.escalated", subject=row.number, to=boss.code)
                found.append((row, "escalate"))
                continue
        if age >= remind_after and row.reminded_at is None and _mark(session, row, "reminded_at", now):
            audit.record(session, now, "approval.reminded", subject=row.number)
            found.append((row, "remind"))
    for row, _ in found:
        session.refresh(row)
    return found


def _mark(session: Session, row: Approval, column: str, now: datetime, **extra: int) -> bool:
    return bool(session.execute(
        update(Approval).where(Approval.id == row.id, getattr(Approval, column).is_(None), Approval.state == PENDING)
        .values({column: now, **extra})
    ).rowcount)
