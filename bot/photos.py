"""Fetches the photos attached to tickets from LINE's content API (LINE keeps them only for a
while), within a size limit. A photo that cannot be had leaves the ticket as it is and the reporter
is told."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from bot.database import Database
from bot.line_api import LineApi, Outcome
from handlers import texts
from handlers.messages import text
from models import outbox, tickets
from models.base import utcnow
from models.tickets import Ticket, TicketPhoto

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
                reason = texts.PHOTO_TOO_LARGE.format(mb=tickets.PHOTO_MAX_BYTES // (1024 * 1024))
            else:
                kept = False
                permanent = content.result.outcome is Outcome.REJECTED
                if not tickets.photo_attempt_failed(photo, content.result.error, permanent):
                    continue  # tried again on a later run
                reason = texts.PHOTO_UNAVAILABLE
            settled += 1
            if not kept:
                log.warning("ticket photo %d not kept: %s", photo.id, photo.error)
                ticket = session.get(Ticket, photo.ticket_id)
                if ticket is not None and photo.kind == "report" and ticket.reporter.line_user_id:
                    message = texts.PHOTO_NOT_KEPT.format(number=ticket.number, reason=reason)
                    outbox.enqueue(session, ticket.reporter.line_user_id, [text(message)], now())
    return settled
