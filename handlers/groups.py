"""Group chats: the bot speaks only when addressed, and one group can be bound as the IT group."""

from __future__ import annotations

from handlers import acl, texts
from handlers.context import Context
from handlers.messages import text
from models import audit, groups
from models.org import staff_with_role
from models.thai_dates import thai_datetime

BIND_COMMANDS = {"/itgroup", "/bind"}
HELP_COMMANDS = {"/help", "/เมนู", "/วิธีใช้"}


def is_addressed(ctx: Context) -> bool:
    """A command (starts with /) or a mention of the bot; ordinary chatter is not for us."""
    value = ctx.text
    return value is not None and (value.startswith("/") or ctx.mentions_bot)


def on_join(ctx: Context) -> None:
    if ctx.group_id:
        groups.joined(ctx.session, ctx.group_id, ctx.now)
    ctx.reply(text(texts.GROUP_JOINED))


def on_leave(ctx: Context) -> None:
    if not ctx.group_id:
        return
    was_it_group = groups.it_group_id(ctx.session) == ctx.group_id
    row = groups.left(ctx.session, ctx.group_id, ctx.now)
    if row is not None and row.purpose == groups.IT_GROUP:
        row.purpose = None
    if was_it_group:
        audit.record(ctx.session, ctx.now, "group.it_left")
        for admin in staff_with_role(ctx.session, "admin"):
            if admin.line_user_id:
                ctx.push(admin.line_user_id, text(texts.IT_GROUP_LEFT_ADMIN.format(when=thai_datetime(ctx.now))))


def on_group_message(ctx: Context) -> None:
    if not is_addressed(ctx):
        return
    command = (ctx.text or "").split()[0].casefold() if ctx.text else ""
    if command in BIND_COMMANDS:
        _bind(ctx)
    else:
        ctx.reply(text(texts.GROUP_HELP))


def _bind(ctx: Context) -> None:
    if ctx.user_id is None:
        ctx.reply(text(texts.GROUP_NO_USER_ID))
    elif ctx.staff is None:
        ctx.reply(text(texts.GROUP_UNKNOWN_USER))
    elif not acl.allowed(ctx.staff, "group.bind_it") or not ctx.group_id:
        ctx.reply(text(texts.GROUP_BIND_DENIED))
    else:
        groups.bind_it_group(ctx.session, ctx.group_id, ctx.staff.id, ctx.now)
        audit.record(ctx.session, ctx.now, "group.it_bound", actor_id=ctx.staff.id)
        ctx.reply(text(texts.GROUP_BOUND.format(name=ctx.staff.first_name, when=thai_datetime(ctx.now))))
