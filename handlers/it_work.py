"""IT officers working tickets: accept and resolve, from their 1:1 chat (postbacks) or from the IT
group (typed commands, since LINE names who tapped a postback only in 1:1 chats)."""

from __future__ import annotations

import re
from typing import Any

from handlers import acl, texts, ticket_cards
from handlers.context import Context
from handlers.conversation import END, Dialog, Route, any_text, message_type_is
from handlers.messages import message_action, postback_action, text
from models import tickets
from models.org import staff_with_role
from models.thai_dates import thai_time
from models.tickets import Change

RESOLVE_DIALOG = "inc_resolve"
COMMAND = re.compile(r"^\s*(รับงาน|ปิดงาน|มอบหมาย|เพิ่มบันทึก|บันทึก|รออะไหล่|ส่งผู้รับจ้าง)\s*(INC-\d{4}-\d{4,})\s*(.*)$",
                     re.IGNORECASE | re.DOTALL)
WAIT_WORDS = {"รออะไหล่": "parts", "ส่งผู้รับจ้าง": "contractor"}


def _may_work(ctx: Context) -> bool:
    if ctx.staff is None:
        ctx.reply(text(texts.GROUP_UNKNOWN_USER if ctx.in_group else texts.REGISTER_ASK))
        return False
    if not acl.allowed(ctx.staff, "ticket.work"):
        ctx.reply(text(texts.IT_ONLY))
        return False
    return True


def _changed(ctx: Context, number: str, outcome: tickets.Outcome) -> tickets.Ticket | None:
    """The ticket if the change was made; otherwise the person is told why and None is returned."""
    ticket = outcome.ticket
    if outcome.change is Change.NOT_FOUND or ticket is None:
        ctx.reply(text(texts.INC_UNKNOWN.format(number=number)))
        return None
    if outcome.change is not Change.DONE:
        ctx.reply(text(texts.INC_ALREADY.format(number=number, state=ticket.state_name)))
        return None
    return ticket


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


def ask_text(ctx: Context, number: str, kind: str) -> None:
    """Resolving needs a short note of what was done (and a note needs its text): asked in the
    same chat, of the same person."""
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
    prompt = texts.IT_ASK_RESOLUTION if kind == "resolve" else texts.IT_ASK_NOTE
    ctx.reply(text(prompt.format(number=number)))
    CONVERSATIONS.start(ctx, RESOLVE_DIALOG, "note", {"number": number, "kind": kind})


def ask_resolution(ctx: Context, number: str) -> None:
    ask_text(ctx, number, "resolve")


def add_note(ctx: Context, number: str, note: str) -> None:
    if not _may_work(ctx):
        return
    assert ctx.staff is not None
    outcome = tickets.add_note(ctx.session, number, ctx.staff, note, ctx.now)
    if outcome.change is Change.NOT_FOUND:
        ctx.reply(text(texts.INC_UNKNOWN.format(number=number)))
    else:
        ctx.reply(text(texts.IT_NOTED.format(number=number)))


def wait(ctx: Context, number: str, reason: str) -> None:
    if not _may_work(ctx):
        return
    assert ctx.staff is not None
    outcome = tickets.wait(ctx.session, number, ctx.staff, reason, ctx.now)
    ticket = _changed(ctx, number, outcome)
    if ticket is None:
        return
    why = tickets.WAIT_REASONS[reason]
    ctx.reply(text(texts.IT_WAITING.format(number=number, reason=why)))
    if ticket.reporter.line_user_id:
        ctx.push(ticket.reporter.line_user_id, text(texts.INC_WAITING_REPORTER.format(number=number, reason=why)))


def assign(ctx: Context, number: str, to_name: str) -> None:
    """To a named IT officer; with no name, the officers are offered as buttons."""
    if not _may_work(ctx):
        return
    assert ctx.staff is not None
    officers = [o for o in staff_with_role(ctx.session, "it") if o.line_user_id]
    wanted = to_name.removeprefix("ให้").strip()
    target = next((o for o in officers if wanted and (o.code == wanted or o.first_name == wanted)), None)
    if target is None:
        if tickets.by_number(ctx.session, number) is None:  # never echo an unknown (forged) number into buttons
            ctx.reply(text(texts.INC_UNKNOWN.format(number=number)))
            return
        if ctx.in_group:  # a message action posts "มอบหมาย INC-… ให้ ธนา" as the person who tapped it
            buttons = [message_action(o.first_name, f"มอบหมาย {number} ให้ {o.first_name}") for o in officers]
        else:
            buttons = [postback_action(o.first_name, ticket_cards.ASSIGN, n=number, to=o.code) for o in officers]
        ctx.reply(text(texts.IT_ASK_ASSIGNEE.format(number=number), buttons))
        return
    outcome = tickets.assign(ctx.session, number, ctx.staff, target, ctx.now)
    ticket = _changed(ctx, number, outcome)
    if ticket is None:
        return
    ctx.reply(text(texts.IT_ASSIGNED.format(number=number, name=target.first_name, by=ctx.staff.first_name)))
    if target.line_user_id and target.id != ctx.staff.id and not ctx.in_group:
        ctx.push(target.line_user_id, ticket_cards.it_card(ticket, in_group=False),
                 text(texts.IT_ASSIGNED_TO_YOU.format(number=number, by=ctx.staff.first_name)))
    if ticket.reporter.line_user_id:
        ctx.push(ticket.reporter.line_user_id,
                 text(texts.INC_ACCEPTED_REPORTER.format(number=number, name=target.first_name,
                                                         time=thai_time(ctx.now))))


def resolve(ctx: Context, number: str, note: str) -> None:
    if not _may_work(ctx):
        return
    assert ctx.staff is not None
    outcome = tickets.resolve(ctx.session, number, ctx.staff, note, ctx.now)
    ticket = _changed(ctx, number, outcome)
    if ticket is None:
        return
    ctx.reply(text(texts.IT_RESOLVED.format(number=number, name=ctx.staff.first_name)))
    if ticket.reporter.line_user_id:
        ctx.push(ticket.reporter.line_user_id, ticket_cards.resolved_card(ticket))
    for watcher in tickets.watchers(ctx.session, ticket):  # the "me too" reporters
        if watcher.line_user_id:
            ctx.push(watcher.line_user_id, text(texts.INC_WATCHER_RESOLVED.format(
                number=number, resolution=ticket.resolution or "-")))


def _noted(ctx: Context, data: dict[str, Any]) -> str:
    number, words = str(data.get("number", "")), ctx.text or ""
    if data.get("kind") == "note":
        add_note(ctx, number, words)
    else:
        resolve(ctx, number, words)
    return END


def _photo(ctx: Context, data: dict[str, Any]) -> None:
    """A photo of the fix, sent before the resolution note."""
    number = str(data.get("number", ""))
    message_id = ctx.message.get("id")
    if data.get("kind") == "resolve" and isinstance(message_id, str):
        tickets.add_resolution_photo(ctx.session, number, message_id, ctx.now)
        ctx.reply(text(texts.IT_GOT_PHOTO.format(number=number)))
    else:
        ctx.reply(text(texts.IT_ASK_NOTE.format(number=number)))


RESOLUTION_DIALOG = Dialog(
    name=RESOLVE_DIALOG,
    entry_points=[],
    states={"note": [Route(any_text(), _noted), Route(message_type_is("image"), _photo)]},
    on_unexpected=lambda ctx, data, state: ctx.reply(text(texts.IT_ASK_RESOLUTION.format(number=data["number"]))),
    timeout=None,
)


# Entry points -------------------------------------------------------------------------------------


def _postback_number(ctx: Context) -> str:
    return (ctx.postback.params.get("n", "") if ctx.postback else "").upper()


def on_accept_postback(ctx: Context) -> None:
    accept(ctx, _postback_number(ctx))


def on_resolve_postback(ctx: Context) -> None:
    ask_resolution(ctx, _postback_number(ctx))


def on_assign_postback(ctx: Context) -> None:
    assign(ctx, _postback_number(ctx), ctx.postback.params.get("to", "") if ctx.postback else "")


def on_note_postback(ctx: Context) -> None:
    ask_text(ctx, _postback_number(ctx), "note")


def on_wait_postback(ctx: Context) -> None:
    wait(ctx, _postback_number(ctx), ctx.postback.params.get("r", "") if ctx.postback else "")


def command(ctx: Context) -> bool:
    """A typed IT command ("รับงาน INC-…", "ปิดงาน INC-… วิธีแก้", "มอบหมาย INC-… ให้ ธนา",
    "บันทึก INC-… ข้อความ", "รออะไหล่ INC-…", "ส่งผู้รับจ้าง INC-…"), also what the IT group's card
    buttons post. False if the text is not one."""
    match = COMMAND.match(ctx.text or "")
    if match is None:
        return False
    verb, number, rest = match.group(1), match.group(2).upper(), match.group(3).strip()
    if verb == ticket_cards.ACCEPT_WORD:
        accept(ctx, number)
    elif verb == ticket_cards.RESOLVE_WORD:
        resolve(ctx, number, rest) if rest else ask_resolution(ctx, number)
    elif verb == "มอบหมาย":
        assign(ctx, number, rest)
    elif verb in WAIT_WORDS:
        wait(ctx, number, WAIT_WORDS[verb])
    elif rest:
        add_note(ctx, number, rest)
    else:
        ask_text(ctx, number, "note")
    return True
