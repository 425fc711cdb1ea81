"""Ticket deadlines, run by the worker's fixed job: SLA breaches go to the IT head, a critical
system down for 12 hours is recorded as the service-profile KPI event, and resolved tickets the
reporter never answered close by themselves."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time, timedelta

from sqlalchemy.orm import Session

from handlers import texts, ticket_cards
from handlers.context import Context, Settings
from handlers.incidents import push_to_it
from handlers.messages import text
from models import audit, tickets
from models.org import Staff, get_setting, set_setting, staff_with_role
from models.thai_dates import thai_datetime
from models.tickets import BANGKOK

DIGEST_SETTING = "it_digest.last_sent"

BREACH_TEXTS = {"accept": texts.SLA_ACCEPT_BREACH, "resolve": texts.SLA_RESOLVE_BREACH, "long": texts.KPI_LONG_OUTAGE}


def it_head(session: Session) -> Staff | None:
    """The head of the work group most IT officers belong to."""
    officers = staff_with_role(session, "it")
    groups = Counter(o.work_group for o in officers if o.work_group is not None)
    for group, _ in groups.most_common():
        if group.head is not None and group.head.active:
            return group.head
    return None


def run(session: Session, now: datetime, settings: Settings) -> int:
    ctx = Context.for_job(session, now, settings)
    head = it_head(session)
    found = tickets.breaches(session, now, settings.service_level)
    for ticket, kind in found:
        if kind == "long":
            audit.record(session, now, "kpi.critical_outage_12h", subject=ticket.number)
        if head is not None and head.line_user_id:
            since = thai_datetime(ticket.created_at)
            ctx.push(head.line_user_id, text(BREACH_TEXTS[kind].format(
                number=ticket.number, category=ticket.category_name, priority=ticket.priority_name, since=since,
                state=ticket.state_name)))
    sent_digest = _digest(ctx, settings)
    closed = tickets.auto_close(session, now, settings.auto_close_working_days)
    for ticket in closed:
        if ticket.reporter.line_user_id:
            ctx.push(ticket.reporter.line_user_id, text(texts.INC_AUTO_CLOSED.format(
                number=ticket.number, days=settings.auto_close_working_days)))
    ctx.flush()
    return len(found) + len(closed) + sent_digest


def last_digest_time(now: datetime, times: tuple[str, ...]) -> datetime | None:
    """The latest configured digest moment at or before now (today's or yesterday's), in UTC."""
    local = now.astimezone(BANGKOK)
    moments = []
    for day in (local.date(), local.date() - timedelta(days=1)):
        for value in times:
            hour, _, minute = value.partition(":")
            moments.append(datetime.combine(day, time(int(hour), int(minute or 0)), BANGKOK))
    passed = [m for m in moments if m <= local]
    return max(passed).astimezone(UTC) if passed else None


def _digest(ctx: Context, settings: Settings) -> int:
    """At each digest time, once: every held ticket to IT in one message."""
    due = last_digest_time(ctx.now, settings.it_digest_times)
    if due is None:
        return 0
    last = get_setting(ctx.session, DIGEST_SETTING)
    if last is not None and datetime.fromisoformat(last) >= due:
        return 0
    set_setting(ctx.session, DIGEST_SETTING, due.isoformat())
    waiting = tickets.awaiting_digest(ctx.session)
    if waiting:
        push_to_it(ctx, lambda in_group: ticket_cards.digest(waiting, in_group))
        for ticket in waiting:
            tickets.mark_notified(ctx.session, ticket, ctx.now)
    return len(waiting)
