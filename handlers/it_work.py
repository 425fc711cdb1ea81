"""IT officers working tickets: accept and resolve, from their 1:1 chat (postbacks) or from the IT
group (typed commands, since LINE names who tapped a postback only in 1:1 chats)."""

from __future__ import annotations

import re
from typing import Any

from handlers import acl, texts, ticket_cards
from handlers.context import Context
from handlers.conversation import END, Dialog, Route, any_text
from handlers.messages import text
from handlers.thai_dates import thai_time
from models import tickets
from models.tickets import Change

RESOLVE_DIALOG = "inc_resolve"
COMMAND = re.compile(r"^\s*(รับงาน|ปิดงาน)\s+(INC-\d{4}-\d{4,})\s*(.*)$", re.IGNORECASE | re.DOTALL)


def _may_work(ctx: Context) -> bool:
    if ctx.staff is None:
        ctx.reply(text(texts.GROUP_UNKNOWN_USER if ctx.in_group else texts.REGISTER_ASK))
        return False
    if not acl.allowed(ctx.staff, "ticket.work"):
        ctx.reply(text(texts.IT_ONLY))
        return False
    return True


def accept(ctx: Context, number: str) -> None:
    if not _may_work(ctx):
        return
    assert ctx.staff is not None
    outcome = tickets.accept(ctx.session, number, ctx.staff, ctx.now)
    ticket = outcome.ticket
    if outcome.change is Change.NOT_FOUND or ticket is None:
        ctx.reply(text(texts.INC_UNKNOWN.format(number=number)))
        return
    if outcome.change is not Change.DONE:
        holder = ticket.assignee.first_name if ticket.assignee else "-"
        ctx.reply(text(texts.IT_ALREADY_TAKEN.format(number=number, name=holder, state=ticket.state_name)))
        return
    when = thai_time(ctx.now)
    ctx.reply(text(texts.IT_ACCEPTED.format(number=number, name=ctx.staff.first_name, time=when)))
    reporter = ticket.reporter
    if reporter.line_user_id:
        ctx.push(reporter.line_user_id,
                 text(texts.INC_ACCEPTED_REPORTER.format(number=number, name=ctx.staff.first_name, time=when)))


def ask_resolution(ctx: Context, number: str) -> None:
    """Resolving needs a short note of what was done: asked in the same chat, by the same person."""
    from handlers.dispatch import CONVERSATIONS

    if not _may_work(ctx):
        return
    ticket = tickets.by_number(ctx.session, number)
    if ticket is None:
        ctx.reply(text(texts.INC_UNKNOWN.format(number=number)))
        return
    if ticket.state not in tickets.OPEN_STATES:
        ctx.reply(text(texts.INC_ALREADY.format(number=number, state=ticket.state_name)))
        return
    ctx.reply(text(texts.IT_ASK_RESOLUTION.format(number=number)))
    CONVERSATIONS.start(ctx, RESOLVE_DIALOG, "note", {"number": number})


def resolve(ctx: Context, number: str, note: str) -> None:
    if not _may_work(ctx):
        return
    assert ctx.staff is not None
    outcome = tickets.resolve(ctx.session, number, ctx.staff, note, ctx.now)
    ticket = outcome.ticket
    if outcome.change is Change.NOT_FOUND or ticket is None:
        ctx.reply(text(texts.INC_UNKNOWN.format(number=number)))
        return
    if outcome.change is not Change.DONE:
        ctx.reply(text(texts.INC_ALREADY.format(number=number, state=ticket.state_name)))
        return
    ctx.reply(text(texts.IT_RESOLVED.format(number=number, name=ctx.staff.first_name)))
    if ticket.reporter.line_user_id:
        ctx.push(ticket.reporter.line_user_id, ticket_cards.resolved_card(ticket))
    for watcher in tickets.watchers(ctx.session, ticket):  # the "me too" reporters
        if watcher.line_user_id:
            ctx.push(watcher.line_user_id, text(texts.INC_WATCHER_RESOLVED.format(
                number=number, resolution=ticket.resolution or "-")))


def _noted(ctx: Context, data: dict[str, Any]) -> str:
    resolve(ctx, str(data.get("number", "")), ctx.text or "")
    return END


RESOLUTION_DIALOG = Dialog(
    name=RESOLVE_DIALOG,
    entry_points=[],
    states={"note": [Route(any_text(), _noted)]},
    on_unexpected=lambda ctx, data, state: ctx.reply(text(texts.IT_ASK_RESOLUTION.format(number=data["number"]))),
)


# Entry points -------------------------------------------------------------------------------------


def on_accept_postback(ctx: Context) -> None:
    number = ctx.postback.params.get("n", "") if ctx.postback else ""
    accept(ctx, number.upper())


def on_resolve_postback(ctx: Context) -> None:
    number = ctx.postback.params.get("n", "") if ctx.postback else ""
    ask_resolution(ctx, number.upper())


def command(ctx: Context) -> bool:
    """"รับงาน INC-…" / "ปิดงาน INC-… วิธีแก้" typed (or posted by a card button). False if not one."""
    match = COMMAND.match(ctx.text or "")
    if match is None:
        return False
    verb, number, rest = match.group(1), match.group(2).upper(), match.group(3).strip()
    if verb == ticket_cards.ACCEPT_WORD:
        accept(ctx, number)
    elif rest:
        resolve(ctx, number, rest)
    else:
        ask_resolution(ctx, number)
    return True
