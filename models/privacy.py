"""Personal data kept only as long as configured (PDPA), and one person's data exported or erased
on request. Traffic metadata (who wrote to the bot, when, which kind of event — never the content)
is kept at least 90 days, as Thailand's Computer-Related Crime Act requires of service providers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from models import audit
from models.accounts import AccountEntry, AccountRequest
from models.dialogs import DialogState
from models.inbox import InboxEvent
from models.org import Staff, StaffRole
from models.outbox import OutboxMessage
from models.registration import RegistrationAttempt
from models.sop_answers import SopAnswer
from models.tickets import Ticket, TicketEvent, TicketPhoto
from models.web_login import LoginAttempt

TRAFFIC_LOG_MINIMUM = timedelta(days=90)
PURGED = "[ลบตามระยะเวลาการเก็บรักษาข้อมูล]"
ERASED = "[ลบตามคำขอของเจ้าของข้อมูล]"
PURGED_STATUS = "purged"


@dataclass(frozen=True)
class Retention:
    """How long each kind of personal data is kept."""

    tickets: timedelta  # texts and photos of closed tickets, after closing
    conversations: timedelta  # SOP questions as asked; dialog states end when they expire
    inbox: timedelta  # webhook payloads (message text); the row's metadata stays >= 90 days
    outbox: timedelta  # bodies of messages sent


def purge(session: Session, now: datetime, keep: Retention) -> dict[str, int]:
    """One pass of the retention rules; safe to run as often as wanted."""
    counts: dict[str, int] = {}
    # Content goes after its retention; the row stays as traffic metadata (status "purged").
    counts["inbox_payloads"] = session.execute(
        update(InboxEvent)
        .where(InboxEvent.received_at < now - keep.inbox, InboxEvent.status.in_(("done", "ignored", "failed")))
        .values(payload={}, status=PURGED_STATUS)
    ).rowcount
    traffic_until = now - max(keep.inbox, TRAFFIC_LOG_MINIMUM)
    old_events = select(InboxEvent.id).where(InboxEvent.received_at < traffic_until,
                                             InboxEvent.status == PURGED_STATUS)
    session.execute(update(OutboxMessage).where(OutboxMessage.inbox_event_id.in_(old_events))
                    .values(inbox_event_id=None))
    counts["inbox_rows"] = session.execute(delete(InboxEvent).where(InboxEvent.id.in_(old_events))).rowcount
    counts["outbox_bodies"] = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.created_at < now - keep.outbox, OutboxMessage.status.in_(("sent", "dead")))
        .values(messages=[], reply_token=None, status=PURGED_STATUS)
    ).rowcount
    counts["outbox_rows"] = session.execute(
        delete(OutboxMessage).where(OutboxMessage.created_at < now - max(keep.outbox, TRAFFIC_LOG_MINIMUM),
                                    OutboxMessage.status == PURGED_STATUS)
    ).rowcount
    # Admin-web login attempts are access-log metadata (hashed address, staff code): 90 days.
    counts["login_attempts"] = session.execute(
        delete(LoginAttempt).where(LoginAttempt.at < now - TRAFFIC_LOG_MINIMUM)).rowcount
    counts["dialogs"] = session.execute(delete(DialogState).where(DialogState.expires_at < now)).rowcount
    counts["questions"] = session.execute(
        update(SopAnswer).where(SopAnswer.asked_at < now - keep.conversations, SopAnswer.question != PURGED)
        .values(question=PURGED)
    ).rowcount
    old_tickets = select(Ticket.id).where(Ticket.state == "closed", Ticket.closed_at < now - keep.tickets,
                                          Ticket.description != PURGED)
    ids = list(session.scalars(old_tickets))
    if ids:
        session.execute(update(TicketEvent).where(TicketEvent.ticket_id.in_(ids)).values(note=""))
        session.execute(update(TicketPhoto).where(TicketPhoto.ticket_id.in_(ids))
                        .values(data=None, status="purged"))
        session.execute(update(Ticket).where(Ticket.id.in_(ids))
                        .values(description=PURGED, location="", resolution="", rating_comment=""))
    counts["tickets"] = len(ids)
    if any(counts.values()):
        audit.record(session, now, "privacy.purged", **counts)
    return counts


def export(session: Session, staff: Staff) -> dict[str, Any]:
    """Everything the helpdesk keeps about one person, for a data-subject request."""
    tickets = session.scalars(select(Ticket).where(Ticket.reporter_id == staff.id).order_by(Ticket.id))
    mine = or_(AccountRequest.requester_id == staff.id, AccountRequest.subject_id == staff.id)
    requests = session.scalars(select(AccountRequest).where(mine).order_by(AccountRequest.id))
    accounts = session.scalars(select(AccountEntry).where(AccountEntry.staff_id == staff.id))
    questions = session.scalars(select(SopAnswer).where(SopAnswer.staff_id == staff.id).order_by(SopAnswer.id))
    return {
        "staff": {"code": staff.code, "name": staff.name, "position": staff.position,
                  "work_group": staff.work_group.name if staff.work_group else None, "roles": sorted(staff.roles),
                  "line_account_linked": staff.line_user_id is not None, "active": staff.active},
        "tickets": [{"number": t.number, "created_at": t.created_at.isoformat(), "category": t.category,
                     "description": t.description, "location": t.location, "state": t.state,
                     "rating": t.rating, "rating_comment": t.rating_comment} for t in tickets],
        "account_requests": [{"number": r.number, "system": r.system.name, "action": r.action, "rights": r.rights,
                              "reason": r.reason, "state": r.state} for r in requests],
        "accounts": [{"system_id": a.system_id, "rights": a.rights, "active": a.active} for a in accounts],
        "sop_questions": [{"asked_at": q.asked_at.isoformat(), "question": q.question, "helpful": q.helpful}
                          for q in questions],
    }


def erase(session: Session, staff: Staff, now: datetime, actor_id: int | None = None) -> None:
    """Remove one person's personal data; numbers and times stay so the KPI figures hold."""
    line_id = staff.line_user_id
    session.execute(update(Ticket).where(Ticket.reporter_id == staff.id)
                    .values(description=ERASED, location="", rating_comment=""))
    ticket_ids = select(Ticket.id).where(Ticket.reporter_id == staff.id)
    session.execute(update(TicketPhoto).where(TicketPhoto.ticket_id.in_(ticket_ids)).values(data=None, status="erased"))
    session.execute(update(SopAnswer).where(SopAnswer.staff_id == staff.id).values(question=ERASED))
    session.execute(update(AccountRequest).where(AccountRequest.requester_id == staff.id).values(reason=ERASED))
    if line_id:
        session.execute(update(InboxEvent).where(InboxEvent.chat_id == line_id, InboxEvent.status != "pending")
                        .values(payload={}, status=PURGED_STATUS))
        session.execute(update(OutboxMessage).where(OutboxMessage.to_id == line_id).values(messages=[]))
        session.execute(delete(DialogState).where(DialogState.chat_key.like(f"%{line_id}%")))
        session.execute(delete(RegistrationAttempt).where(RegistrationAttempt.line_user_id == line_id))
    session.execute(delete(StaffRole).where(StaffRole.staff_id == staff.id))
    staff.name, staff.position, staff.line_user_id, staff.active = f"({staff.code})", "", None, False
    session.expire(staff, ["role_rows"])
    audit.record(session, now, "privacy.erased", subject=staff.code, actor_id=actor_id)
