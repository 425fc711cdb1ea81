"""Fetches the photos attached to tickets and the files attached to website requests from LINE's
content API (LINE keeps them only for a while), within a size limit. Content that cannot be had
leaves the request as it is and its sender is told."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from bot.database import Database
from bot.line_api import LineApi, Outcome
from handlers import texts
from handlers.messages import text
from models import outbox, tickets
from models.base import utcnow
from models.reminders import ReminderOccurrence
from models.tickets import Ticket, TicketPhoto
from models.web_requests import WebRequest

log = logging.getLogger(__name__)


def fetch_once(db: Database, line: LineApi, now: Callable[[], datetime] = utcnow, limit: int = 5) -> int:
    """Download pending photos; returns how many were settled (stored or given up)."""
    with db.transaction() as session:
        ids = [photo.id for photo in tickets.pending_photos(session, limit)]
    settled = 0
    for photo_id in ids:
        with db.transaction() as session:
            message_id = session.get(TicketPhoto, photo_id).message_id
        content = line.message_content(message_id)  # outside any transaction: it may take seconds
        with db.transaction() as session:
            photo = session.get(TicketPhoto, photo_id)
            if photo is None or photo.status != tickets.PHOTO_PENDING:
                continue
            if content.result.outcome is Outcome.SENT:
                kept = tickets.store_photo(photo, content.data, content.content_type)
                reason = texts.PHOTO_TOO_LARGE.format(mb=tickets.max_bytes(photo) // (1024 * 1024))
            else:
                kept = False
                permanent = content.result.outcome is Outcome.REJECTED
                if not tickets.photo_attempt_failed(photo, content.result.error, permanent):
                    continue  # tried again on a later run
                reason = texts.PHOTO_UNAVAILABLE
            settled += 1
            if not kept:
                log.warning("content %d not kept: %s", photo.id, photo.error)
                _tell_owner(session, photo, reason, now())
    return settled


def _tell_owner(session: Session, photo: TicketPhoto, reason: str, now: datetime) -> None:
    """The person who sent it hears that it could not be kept (their request stays as it is)."""
    if photo.ticket_id is not None and photo.kind == "report":
        ticket = session.get(Ticket, photo.ticket_id)
        person, number = (ticket.reporter, ticket.number) if ticket else (None, "")
    elif photo.web_request_id is not None:
        request = session.get(WebRequest, photo.web_request_id)
        person, number = (request.requester, request.number) if request else (None, "")
    elif photo.reminder_occurrence_id is not None:
        occ = session.get(ReminderOccurrence, photo.reminder_occurrence_id)
        if occ is not None and occ.done_by is not None and occ.done_by.line_user_id:
            outbox.enqueue(session, occ.done_by.line_user_id, [text(texts.RMD_EVIDENCE_NOT_KEPT.format(
                title=occ.definition.title, reason=reason))], now)
        return
    else:
        return
    if person is not None and person.line_user_id:
        message = texts.PHOTO_NOT_KEPT.format(number=number, reason=reason)
        outbox.enqueue(session, person.line_user_id, [text(message)], now)
