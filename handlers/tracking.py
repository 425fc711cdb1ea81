"""Tracking: "ติดตาม INC-2570-0001", "งานของฉัน" or the menu. People see their own tickets; IT
officers also see the open queue. Nobody learns anything about a ticket that is not theirs."""

from __future__ import annotations

import re

from handlers import acl, texts, ticket_cards
from handlers.context import Context
from handlers.messages import text
from models import tickets
from models.thai_dates import thai_datetime

NUMBER = re.compile(r"\b(INC-\d{4}-\d{4,})\b", re.IGNORECASE)


def start(ctx: Context) -> None:
    if ctx.staff is None:
        return
    asked = NUMBER.search(ctx.text or "") if ctx.postback is None else None
    if asked:
        show_one(ctx, asked.group(1).upper())
        return
    own = tickets.open_tickets_of(ctx.session, ctx.staff)
    lines = [ticket_cards.one_line(t) for t in own] or [texts.TRACK_NONE]
    body = texts.TRACK_MINE + "\n" + "\n".join(f"• {line}" for line in lines)
    if acl.allowed(ctx.staff, "ticket.work"):
        queue = tickets.it_queue(ctx.session)
        body += "\n\n" + texts.TRACK_QUEUE + "\n" + (
            "\n".join(f"• {ticket_cards.one_line(t)}" for t in queue) if queue else texts.TRACK_QUEUE_EMPTY
        )
    ctx.reply(text(body))


def show_one(ctx: Context, number: str) -> None:
    assert ctx.staff is not None
    ticket = tickets.by_number(ctx.session, number)
    mine = ticket is not None and (ticket.reporter_id == ctx.staff.id or acl.allowed(ctx.staff, "ticket.view_all"))
    if ticket is None or not mine:
        ctx.reply(text(texts.TRACK_NOT_FOUND.format(number=number)))  # the same words: no leak
        return
    insider = acl.allowed(ctx.staff, "ticket.view_all")
    lines = [ticket_cards.one_line(ticket)]
    for event in tickets.history(ctx.session, ticket):
        if event.action in texts.TICKET_INTERNAL_ACTIONS and not insider:
            continue  # internal notes stay inside the IT team
        what = texts.TICKET_ACTIONS.get(event.action, event.action)
        detail = f": {event.note}" if event.note and (insider or event.action == "waiting") else ""
        lines.append(f"• {thai_datetime(event.at)} {what}{detail}")
    if ticket.resolution:
        lines.append(f"การแก้ไข: {ticket.resolution}")
    ctx.reply(text("\n".join(lines)))
