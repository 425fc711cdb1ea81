"""Outage and repair tickets (INC-…): every state change is one guarded UPDATE plus a history row,
so a double tap, a stale card or two officers at once can never move a ticket twice."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models import work_calendar
from models.base import Base, UTCDateTime
from models.numbering import next_number
from models.org import Staff

CATEGORIES: dict[str, str] = {
    "his": "HIS/HOSxP",
    "network": "เครือข่าย/อินเทอร์เน็ต",
    "computer": "คอมพิวเตอร์",
    "printer": "เครื่องพิมพ์",
    "email": "อีเมล/อินทราเน็ต/สารบรรณ",
    "website": "เว็บไซต์",
    "other": "อื่น ๆ",
}
# Systems whose outage stops patient services: with patients affected they are critical.
CRITICAL_CATEGORIES = frozenset({"his", "network"})
PRIORITIES: dict[str, str] = {"critical": "วิกฤต", "high": "สูง", "normal": "ปกติ"}

NEW, ACCEPTED, WAITING, RESOLVED, CLOSED = "new", "accepted", "waiting", "resolved", "closed"
OPEN_STATES = (NEW, ACCEPTED, WAITING)
STATE_NAMES = {NEW: "รอรับงาน", ACCEPTED: "กำลังดำเนินการ", WAITING: "รออะไหล่/ผู้รับจ้าง",
               RESOLVED: "แก้ไขแล้ว รอยืนยัน", CLOSED: "ปิดงานแล้ว"}
TEXT_MAX = 1000
BANGKOK = ZoneInfo("Asia/Bangkok")
# The service profile's KPI: critical systems down for more than 12 hours (goal: none).
LONG_OUTAGE = timedelta(hours=12)

# A Thai citizen ID (13 digits, often written 1-2345-67890-12-3) and Thai phone numbers.
CITIZEN_ID = re.compile(r"(?<!\d)\d[- ]?\d{4}[- ]?\d{5}[- ]?\d{2}[- ]?\d(?!\d)")
PHONE = re.compile(r"(?<!\d)0\d{1,2}[- ]?\d{3}[- ]?\d{3,4}(?!\d)")


def mask_personal_data(text: str) -> tuple[str, bool]:
    """Citizen ids and phone numbers replaced by x's but their last 2 digits; True if any was found."""

    def hide(match: re.Match[str]) -> str:
        found = match.group(0)
        digits = [i for i, ch in enumerate(found) if ch.isdigit()]
        keep = set(digits[-2:])
        return "".join(ch if (not ch.isdigit() or i in keep) else "x" for i, ch in enumerate(found))

    masked = CITIZEN_ID.sub(hide, text)
    masked = PHONE.sub(hide, masked)
    return masked, masked != text


def priority_for(category: str, affects_patients: bool) -> str:
    if affects_patients:
        return "critical" if category in CRITICAL_CATEGORIES else "high"
    return "normal"


class Ticket(Base):
    __tablename__ = "ticket"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    work_group_id: Mapped[int | None] = mapped_column(ForeignKey("work_group.id"), nullable=True)
    location: Mapped[str] = mapped_column(String(200), default="")
    asset_no: Mapped[str] = mapped_column(String(64), default="")
    category: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    affects_patients: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default=NEW)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    photo_message_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    kb_offered: Mapped[str | None] = mapped_column(String(64), nullable=True)  # passage offered first
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_how: Mapped[str | None] = mapped_column(String(16), nullable=True)  # confirmed | auto
    resolution: Mapped[str] = mapped_column(Text, default="")
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rating_comment: Mapped[str] = mapped_column(Text, default="")
    # Set once each, by the scheduler: the breach or KPI event is reported once, not every minute.
    accept_breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolve_breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    long_outage_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    major_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # many reported it
    it_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # None: in the digest

    reporter: Mapped[Staff] = relationship(foreign_keys=[reporter_id])
    assignee: Mapped[Staff | None] = relationship(foreign_keys=[assignee_id])

    @property
    def category_name(self) -> str:
        return CATEGORIES.get(self.category, self.category)

    @property
    def priority_name(self) -> str:
        return PRIORITIES.get(self.priority, self.priority)

    @property
    def state_name(self) -> str:
        return STATE_NAMES.get(self.state, self.state)


class TicketEvent(Base):
    """The ticket's history: who did what, when (the source of the KPI figures)."""

    __tablename__ = "ticket_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    action: Mapped[str] = mapped_column(String(24))
    note: Mapped[str] = mapped_column(Text, default="")


# Outages of shared systems: later reports of the same one join the first ticket ("me too").
SHARED_CATEGORIES = frozenset({"his", "network", "email", "website"})


class TicketWatcher(Base):
    """Someone who reported the same outage after the first reporter: told when it is fixed."""

    __tablename__ = "ticket_watcher"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)

    staff: Mapped[Staff] = relationship()


PHOTO_PENDING, PHOTO_STORED, PHOTO_FAILED = "pending", "stored", "failed"
PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTO_MAX_ATTEMPTS = 5


class TicketPhoto(Base):
    """A photo the reporter sent: fetched from LINE's content API by the worker (LINE keeps it only
    for a while), stored here with its size checked."""

    __tablename__ = "ticket_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True,
                                                  nullable=True)
    # The same store keeps files and images attached to website requests (see models.web_requests).
    web_request_id: Mapped[int | None] = mapped_column(ForeignKey("web_request.id", ondelete="CASCADE"),
                                                       index=True, nullable=True)
    # ...and the evidence attached to a reminder marked done (see models.reminders).
    reminder_occurrence_id: Mapped[int | None] = mapped_column(
        ForeignKey("reminder_occurrence.id", ondelete="CASCADE"), index=True, nullable=True)
    message_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16), default="report")  # report | resolution | web | evidence
    status: Mapped[str] = mapped_column(String(16), default=PHOTO_PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    content_type: Mapped[str] = mapped_column(String(64), default="")
    size: Mapped[int] = mapped_column(Integer, default=0)
    data: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    error: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class NewTicket:
    category: str
    description: str
    affects_patients: bool
    location: str = ""
    asset_no: str = ""
    photo_message_ids: tuple[str, ...] = ()
    kb_offered: str | None = None


class Change(Enum):
    DONE = "done"
    NOT_FOUND = "not_found"
    MOVED_ON = "moved_on"  # the ticket is no longer in a state where this applies
    NOT_YOURS = "not_yours"


@dataclass(frozen=True)
class Outcome:
    change: Change
    ticket: Ticket | None = None


def create(session: Session, reporter: Staff, fields: NewTicket, now: datetime) -> Ticket:
    description, _ = mask_personal_data(fields.description[:TEXT_MAX])
    location, _ = mask_personal_data(fields.location[:200])
    ticket = Ticket(
        number=next_number(session, "INC", now),
        reporter_id=reporter.id,
        work_group_id=reporter.work_group_id,
        location=location,
        asset_no=fields.asset_no[:64],
        category=fields.category if fields.category in CATEGORIES else "other",
        description=description,
        affects_patients=fields.affects_patients,
        priority=priority_for(fields.category, fields.affects_patients),
        state=NEW,
        photo_message_ids=list(fields.photo_message_ids),
        kb_offered=fields.kb_offered,
        created_at=now,
    )
    session.add(ticket)
    session.flush()
    for message_id in fields.photo_message_ids:
        session.add(TicketPhoto(ticket_id=ticket.id, message_id=message_id, created_at=now))
    _history(session, ticket.id, now, reporter.id, "created")
    return ticket


def by_number(session: Session, number: str) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.number == number.upper()))


def _history(session: Session, ticket_id: int, now: datetime, actor_id: int | None, action: str,
             note: str = "") -> None:
    session.add(TicketEvent(ticket_id=ticket_id, at=now, actor_id=actor_id, action=action, note=note))


def _guarded(session: Session, ticket: Ticket | None, allowed_from: tuple[str, ...], values: dict,
             extra: tuple = ()) -> bool:
    if ticket is None:
        return False
    changed = session.execute(
        update(Ticket).where(Ticket.id == ticket.id, Ticket.state.in_(allowed_from), *extra).values(**values)
    ).rowcount
    session.refresh(ticket)
    return bool(changed)


def accept(session: Session, number: str, officer: Staff, now: datetime) -> Outcome:
    """The first officer to accept owns the ticket; everyone after is told who has it."""
    ticket = by_number(session, number)
    if ticket is None:
        return Outcome(Change.NOT_FOUND)
    if not _guarded(session, ticket, (NEW,), {"state": ACCEPTED, "assignee_id": officer.id, "accepted_at": now}):
        return Outcome(Change.MOVED_ON, ticket)
    _history(session, ticket.id, now, officer.id, "accepted")
    return Outcome(Change.DONE, ticket)


def resolve(session: Session, number: str, officer: Staff, resolution: str, now: datetime) -> Outcome:
    ticket = by_number(session, number)
    if ticket is None:
        return Outcome(Change.NOT_FOUND)
    note, _ = mask_personal_data(resolution[:TEXT_MAX])
    values = {"state": RESOLVED, "resolved_at": now, "resolution": note,
              "assignee_id": ticket.assignee_id or officer.id, "accepted_at": ticket.accepted_at or now}
    if not _guarded(session, ticket, (NEW, ACCEPTED, WAITING), values):
        return Outcome(Change.MOVED_ON, ticket)
    _history(session, ticket.id, now, officer.id, "resolved", note)
    return Outcome(Change.DONE, ticket)


WAIT_REASONS = {"parts": "รออะไหล่", "contractor": "ส่งผู้รับจ้าง"}


def assign(session: Session, number: str, officer: Staff, to: Staff, now: datetime) -> Outcome:
    """Hand an open ticket to another IT officer (accepting it for them if nobody had)."""
    ticket = by_number(session, number)
    if ticket is None:
        return Outcome(Change.NOT_FOUND)
    values = {"assignee_id": to.id, "state": ACCEPTED if ticket.state == NEW else ticket.state,
              "accepted_at": ticket.accepted_at or now}
    if not _guarded(session, ticket, OPEN_STATES, values):
        return Outcome(Change.MOVED_ON, ticket)
    _history(session, ticket.id, now, officer.id, "assigned", to.code)
    return Outcome(Change.DONE, ticket)


def wait(session: Session, number: str, officer: Staff, reason: str, now: datetime) -> Outcome:
    """Waiting for parts or for the maintenance contractor (the work manual's two cases)."""
    ticket = by_number(session, number)
    if ticket is None or reason not in WAIT_REASONS:
        return Outcome(Change.NOT_FOUND)
    values = {"state": WAITING, "assignee_id": ticket.assignee_id or officer.id,
              "accepted_at": ticket.accepted_at or now}
    if not _guarded(session, ticket, (NEW, ACCEPTED), values):
        return Outcome(Change.MOVED_ON, ticket)
    _history(session, ticket.id, now, officer.id, "waiting", WAIT_REASONS[reason])
    return Outcome(Change.DONE, ticket)


def add_note(session: Session, number: str, officer: Staff, note: str, now: datetime) -> Outcome:
    """An internal note for the IT team: kept in the history, never shown to the reporter."""
    ticket = by_number(session, number)
    if ticket is None:
        return Outcome(Change.NOT_FOUND)
    masked, _ = mask_personal_data(note[:TEXT_MAX])
    _history(session, ticket.id, now, officer.id, "note", masked)
    return Outcome(Change.DONE, ticket)


def confirm(session: Session, number: str, reporter: Staff, now: datetime) -> Outcome:
    """The reporter says it works: the ticket closes."""
    ticket = by_number(session, number)
    if ticket is None:
        return Outcome(Change.NOT_FOUND)
    if ticket.reporter_id != reporter.id:
        return Outcome(Change.NOT_YOURS, ticket)
    if not _guarded(session, ticket, (RESOLVED,), {"state": CLOSED, "closed_at": now, "closed_how": "confirmed"}):
        return Outcome(Change.MOVED_ON, ticket)
    _history(session, ticket.id, now, reporter.id, "confirmed")
    return Outcome(Change.DONE, ticket)


def reopen(session: Session, number: str, reporter: Staff, reason: str, now: datetime) -> Outcome:
    """The reporter says it still fails: back to the officer who resolved it."""
    ticket = by_number(session, number)
    if ticket is None:
        return Outcome(Change.NOT_FOUND)
    if ticket.reporter_id != reporter.id:
        return Outcome(Change.NOT_YOURS, ticket)
    values = {"state": ACCEPTED, "resolved_at": None, "reopen_count": Ticket.reopen_count + 1}
    if not _guarded(session, ticket, (RESOLVED,), values):
        return Outcome(Change.MOVED_ON, ticket)
    note, _ = mask_personal_data(reason[:TEXT_MAX])
    _history(session, ticket.id, now, reporter.id, "reopened", note)
    return Outcome(Change.DONE, ticket)


def rate(session: Session, number: str, reporter: Staff, rating: int, now: datetime) -> Outcome:
    """Once, by the reporter, after the ticket closed."""
    ticket = by_number(session, number)
    if ticket is None or not 1 <= rating <= 5:
        return Outcome(Change.NOT_FOUND)
    if ticket.reporter_id != reporter.id:
        return Outcome(Change.NOT_YOURS, ticket)
    if not _guarded(session, ticket, (CLOSED,), {"rating": rating}, (Ticket.rating.is_(None),)):
        return Outcome(Change.MOVED_ON, ticket)
    _history(session, ticket.id, now, reporter.id, "rated", str(rating))
    return Outcome(Change.DONE, ticket)


def open_tickets_of(session: Session, reporter: Staff, limit: int = 5) -> list[Ticket]:
    stmt = (select(Ticket).where(Ticket.reporter_id == reporter.id, Ticket.state != CLOSED)
            .order_by(Ticket.id.desc()).limit(limit))
    return list(session.scalars(stmt))


def it_queue(session: Session, limit: int = 10) -> list[Ticket]:
    """Open tickets, most urgent first, oldest first within a priority."""
    order = {"critical": 0, "high": 1, "normal": 2}
    rows = list(session.scalars(select(Ticket).where(Ticket.state.in_(OPEN_STATES)).order_by(Ticket.id)))
    rows.sort(key=lambda t: (order.get(t.priority, 9), t.id))
    return rows[:limit]


def history(session: Session, ticket: Ticket) -> list[TicketEvent]:
    return list(session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                                .order_by(TicketEvent.id)))


# Service levels ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceLevel:
    """Targets per priority: time to accept and time to resolve, from the ticket's creation."""

    accept: dict[str, timedelta]
    resolve: dict[str, timedelta]

    @classmethod
    def parse(cls, spec: str) -> ServiceLevel:
        """"critical=15/240,high=30/480,normal=240/4320": minutes to accept / to resolve."""
        accept, resolve = {}, {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            name, _, minutes = part.partition("=")
            to_accept, _, to_resolve = minutes.partition("/")
            if name.strip() not in PRIORITIES:
                raise ValueError(f"unknown priority {name!r} in SLA targets")
            accept[name.strip()] = timedelta(minutes=int(to_accept))
            resolve[name.strip()] = timedelta(minutes=int(to_resolve))
        return cls(accept, resolve)


DEFAULT_SERVICE_LEVEL = "critical=15/240,high=30/480,normal=240/4320"


def _flag_once(session: Session, ticket: Ticket, column: str, now: datetime, states: tuple[str, ...]) -> bool:
    changed = session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, getattr(Ticket, column).is_(None), Ticket.state.in_(states))
        .values({column: now})
    ).rowcount
    return bool(changed)


def breaches(session: Session, now: datetime, level: ServiceLevel) -> list[tuple[Ticket, str]]:
    """Tickets that just missed a target, each reported once: (ticket, "accept" | "resolve" | "long")."""
    found: list[tuple[Ticket, str]] = []
    for ticket in session.scalars(select(Ticket).where(Ticket.state.in_(OPEN_STATES)).order_by(Ticket.id)):
        age = now - ticket.created_at
        accept_target = level.accept.get(ticket.priority)
        if (ticket.state == NEW and accept_target is not None and age >= accept_target
                and _flag_once(session, ticket, "accept_breached_at", now, (NEW,))):
            found.append((ticket, "accept"))
            _history(session, ticket.id, now, None, "sla_accept")
        resolve_target = level.resolve.get(ticket.priority)
        if (resolve_target is not None and age >= resolve_target
                and _flag_once(session, ticket, "resolve_breached_at", now, OPEN_STATES)):
            found.append((ticket, "resolve"))
            _history(session, ticket.id, now, None, "sla_resolve")
        if (ticket.priority == "critical" and ticket.category in CRITICAL_CATEGORIES and age > LONG_OUTAGE
                and _flag_once(session, ticket, "long_outage_at", now, OPEN_STATES)):
            found.append((ticket, "long"))
            _history(session, ticket.id, now, None, "kpi_12h")
    for ticket, _ in found:
        session.refresh(ticket)
    return found


def auto_close(session: Session, now: datetime, working_days: int) -> list[Ticket]:
    """Resolved tickets the reporter left unanswered for `working_days` (weekends and Thai holidays
    not counted): closed, recorded as automatic."""
    calendar = work_calendar.load(session)
    today = now.astimezone(BANGKOK).date()
    closed = []
    for ticket in session.scalars(select(Ticket).where(Ticket.state == RESOLVED).order_by(Ticket.id)):
        if ticket.resolved_at is None:
            continue
        if calendar.working_days_between(ticket.resolved_at.astimezone(BANGKOK).date(), today) < working_days:
            continue
        if _guarded(session, ticket, (RESOLVED,), {"state": CLOSED, "closed_at": now, "closed_how": "auto"}):
            _history(session, ticket.id, now, None, "auto_closed")
            closed.append(ticket)
    return closed


# Photos --------------------------------------------------------------------------------------------


def add_resolution_photo(session: Session, number: str, message_id: str, now: datetime) -> bool:
    """The officer's photo of the fix, kept with the ticket (fetched like the reporter's)."""
    ticket = by_number(session, number)
    if ticket is None or not message_id:
        return False
    session.add(TicketPhoto(ticket_id=ticket.id, message_id=message_id[:32], kind="resolution", created_at=now))
    return True


def comment(session: Session, number: str, reporter: Staff, words: str, now: datetime) -> Outcome:
    """The reporter's comment with their rating: once, after rating."""
    ticket = by_number(session, number)
    if ticket is None:
        return Outcome(Change.NOT_FOUND)
    masked, _ = mask_personal_data(words[:TEXT_MAX])
    if ticket.reporter_id != reporter.id or ticket.rating is None or ticket.rating_comment:
        return Outcome(Change.MOVED_ON, ticket)
    ticket.rating_comment = masked
    _history(session, ticket.id, now, reporter.id, "commented")
    return Outcome(Change.DONE, ticket)


def pending_photos(session: Session, limit: int = 10) -> list[TicketPhoto]:
    return list(session.scalars(select(TicketPhoto).where(TicketPhoto.status == PHOTO_PENDING)
                                .order_by(TicketPhoto.id).limit(limit)))


WEB_ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024


def max_bytes(photo: TicketPhoto) -> int:
    return WEB_ATTACHMENT_MAX_BYTES if photo.kind in ("web", "evidence") else PHOTO_MAX_BYTES


def store_photo(photo: TicketPhoto, data: bytes, content_type: str) -> bool:
    """Keep the photo if it is within the size limit; False (and failed) when it is too large."""
    photo.attempts += 1
    photo.size = len(data)
    if len(data) > max_bytes(photo):
        photo.status, photo.error = PHOTO_FAILED, f"too large ({len(data)} bytes)"
        return False
    photo.status, photo.data, photo.content_type, photo.error = PHOTO_STORED, data, content_type[:64], ""
    return True


def photo_attempt_failed(photo: TicketPhoto, error: str, permanent: bool) -> bool:
    """Count a failed download; True when it is given up (LINE refused it, or too many tries)."""
    photo.attempts += 1
    photo.error = error[:200]
    if permanent or photo.attempts >= PHOTO_MAX_ATTEMPTS:
        photo.status = PHOTO_FAILED
        return True
    return False


# Several reports of one outage --------------------------------------------------------------------


def open_duplicate(session: Session, category: str, now: datetime, window: timedelta) -> Ticket | None:
    """An open ticket about the same shared system reported within the window, if any."""
    if category not in SHARED_CATEGORIES:
        return None
    return session.scalar(
        select(Ticket)
        .where(Ticket.category == category, Ticket.state.in_(OPEN_STATES), Ticket.created_at >= now - window)
        .order_by(Ticket.id)
        .limit(1)
    )


def watchers(session: Session, ticket: Ticket) -> list[Staff]:
    return [w.staff for w in session.scalars(select(TicketWatcher).where(TicketWatcher.ticket_id == ticket.id)
                                             .order_by(TicketWatcher.joined_at))]


def join(session: Session, ticket: Ticket, staff: Staff, now: datetime, major_after: int) -> tuple[bool, bool]:
    """Link `staff` to the ticket. Returns (newly joined, just became a major incident)."""
    if ticket.reporter_id == staff.id or session.get(TicketWatcher, (ticket.id, staff.id)) is not None:
        return False, False
    session.add(TicketWatcher(ticket_id=ticket.id, staff_id=staff.id, joined_at=now))
    session.flush()
    _history(session, ticket.id, now, staff.id, "me_too")
    reports = 1 + len(watchers(session, ticket))
    became_major = reports >= major_after and _flag_once(session, ticket, "major_at", now, OPEN_STATES)
    if became_major:
        _history(session, ticket.id, now, None, "major", str(reports))
        session.refresh(ticket)
    return True, became_major


def awaiting_digest(session: Session) -> list[Ticket]:
    """Open tickets IT has not been told about yet (normal priority, held for the digest)."""
    return list(session.scalars(select(Ticket).where(Ticket.it_notified_at.is_(None), Ticket.state.in_(OPEN_STATES))
                                .order_by(Ticket.id)))


def mark_notified(session: Session, ticket: Ticket, now: datetime) -> None:
    ticket.it_notified_at = now
