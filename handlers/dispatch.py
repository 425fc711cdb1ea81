"""One event in, state changes and outbox rows out: who is this → ACL → dialog → answer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from handlers import (
    accounts,
    approval_flow,
    groups,
    incidents,
    intents,
    it_work,
    leavers,
    menu,
    registration,
    reminders,
    reviews,
    sop,
    texts,
    ticket_cards,
    tracking,
    website,
)
from handlers.context import Context, Settings
from handlers.conversation import Conversations
from handlers.messages import text
from handlers.registry import Registry
from models import dialogs
from models.org import staff_by_line_id

EventHandler = Callable[[Context], None]

EVENTS: Registry[EventHandler] = Registry("event type")
# Postback actions answered whatever dialog the person is in (they leave its state alone).
POSTBACKS: Registry[EventHandler] = Registry("postback action")
CONVERSATIONS = Conversations()

CANCEL_WORDS = {"ยกเลิก", "cancel", "/cancel"}
MENU_WORDS = {"เมนู", "menu", "สวัสดี", "หวัดดี", "hello", "hi", "เริ่ม", "start"}
HELP_WORDS = {"help", "วิธีใช้", "ช่วยเหลือ", "/help"}


def dispatch(
    session: Session,
    event: dict[str, Any],
    now: datetime,
    settings: Settings | None = None,
    inbox_event_id: int | None = None,
    received_at: datetime | None = None,
) -> bool:
    """Handle one stored event inside the caller's transaction. Returns False if ignored."""
    if event.get("mode") == "standby":
        return False  # another channel owns the chat; LINE expects no answer
    handler = EVENTS.get(str(event.get("type")))
    if handler is None:
        return False  # unknown or future event types are accepted and ignored
    source = event.get("source") if isinstance(event.get("source"), dict) else {}
    ctx = Context(
        session=session,
        event=event,
        now=now,
        staff=staff_by_line_id(session, source.get("userId")),
        settings=settings or Settings(),
        inbox_event_id=inbox_event_id,
        received_at=received_at,
    )
    handler(ctx)
    ctx.flush()
    return True


def on_message(ctx: Context) -> None:
    if ctx.in_group:
        # A person the bot is asking something in this group (e.g. a resolution note) is addressed.
        if CONVERSATIONS.active(ctx) is not None and CONVERSATIONS.handle(ctx):
            return
        if not it_work.command(ctx):
            groups.on_group_message(ctx)
    elif ctx.staff is None:
        registration.handle_unknown(ctx)
    else:
        _converse(ctx)


def on_postback(ctx: Context) -> None:
    if ctx.in_group:
        return  # group cards carry their own actions (feature modules register them)
    if ctx.staff is None:
        registration.handle_unknown(ctx)
    else:
        _converse(ctx)


def _converse(ctx: Context) -> None:
    """A registered person in 1:1 chat."""
    word = (ctx.text or "").casefold()
    if word in CANCEL_WORDS:
        had = CONVERSATIONS.cancel(ctx)
        menu.show(ctx, texts.CANCELLED if had else texts.NOTHING_TO_CANCEL)
        return
    pb = ctx.postback
    if pb is not None and pb.action == menu.MENU_ACTION:
        CONVERSATIONS.cancel(ctx)  # a menu choice starts afresh
        menu.choose(ctx, pb.params.get("i", ""))
        return
    side_action = POSTBACKS.get(pb.action) if pb is not None else None
    if side_action is not None:
        side_action(ctx)
        return
    if pb is None and (it_work.command(ctx) or website.verbal_command(ctx)):
        return
    if CONVERSATIONS.handle(ctx):
        return
    if word in MENU_WORDS:
        menu.show(ctx)
    elif word in HELP_WORDS:
        menu.show_help(ctx)
    elif pb is not None:
        menu.show(ctx, texts.STALE_BUTTON)
    elif ctx.text is None:
        menu.show(ctx, texts.UNSUPPORTED_MESSAGE)
    else:
        free_text(ctx, ctx.text)


def free_text(ctx: Context, words: str) -> None:
    """Outside any dialog: a request starts its service; anything else is taken as an SOP question."""
    if leavers.is_report(words):
        leavers.start(ctx)
        return
    service = intents.requested_service(words)
    if service is not None:
        menu.choose(ctx, service)
    else:
        sop.answer_question(ctx, words)


def on_follow(ctx: Context) -> None:
    privacy = texts.PRIVACY_NOTICE.format(days=ctx.settings.retention_days)
    if ctx.staff is None:
        ctx.reply(text(texts.WELCOME_UNKNOWN), text(privacy))
    else:
        ctx.reply(text(texts.WELCOME_KNOWN.format(name=ctx.staff.first_name)), text(privacy, menu.quick_replies()))


def on_unfollow(ctx: Context) -> None:
    dialogs.clear(ctx.session, ctx.chat_key)  # blocked: nothing will reach them anyway


def ignore(_ctx: Context) -> None:
    """Known event types the helpdesk has no use for (beacons, stickers read, unsend...)."""


CONVERSATIONS.add(sop.SOP_DIALOG)
CONVERSATIONS.add(incidents.INCIDENT_DIALOG)
CONVERSATIONS.add(it_work.RESOLUTION_DIALOG)
CONVERSATIONS.add(incidents.RATING_COMMENT_DIALOG)
CONVERSATIONS.add(accounts.ACCOUNT_DIALOG)
CONVERSATIONS.add(approval_flow.APPROVAL_REASON_DIALOG)
CONVERSATIONS.add(leavers.LEAVER_DIALOG)
CONVERSATIONS.add(website.WEB_DIALOG)
CONVERSATIONS.add(website.WEB_URL_DIALOG)
CONVERSATIONS.add(reminders.REMINDER_DIALOG)
menu.replace_start("ask", sop.start)
menu.replace_start("report", incidents.start)
menu.replace_start("track", tracking.start)
menu.replace_start("account", accounts.start)
menu.replace_start("website", website.start)
POSTBACKS.register(sop.FEEDBACK_ACTION, sop.on_feedback)
POSTBACKS.register(ticket_cards.ACCEPT, it_work.on_accept_postback)
POSTBACKS.register(ticket_cards.RESOLVE, it_work.on_resolve_postback)
POSTBACKS.register(ticket_cards.ASSIGN, it_work.on_assign_postback)
POSTBACKS.register(ticket_cards.NOTE, it_work.on_note_postback)
POSTBACKS.register(ticket_cards.WAIT, it_work.on_wait_postback)
POSTBACKS.register(ticket_cards.CONFIRM, incidents.on_confirm)
POSTBACKS.register(ticket_cards.REOPEN, incidents.on_reopen)
POSTBACKS.register(ticket_cards.RATE, incidents.on_rate)
POSTBACKS.register(approval_flow.DECIDE, approval_flow.on_decide)
POSTBACKS.register(accounts.DONE, accounts.on_done)
POSTBACKS.register(reviews.DECIDE, reviews.on_decide)
POSTBACKS.register(website.TAKE, website.on_take)
POSTBACKS.register(website.DOWN, website.on_take_down)
POSTBACKS.register(reminders.DONE, reminders.on_done)
POSTBACKS.register(reminders.SNOOZE, reminders.on_snooze)
POSTBACKS.register(reminders.ASSIGN, reminders.on_assign)

EVENTS.register("message", on_message)
EVENTS.register("postback", on_postback)
EVENTS.register("follow", on_follow)
EVENTS.register("unfollow", on_unfollow)
EVENTS.register("join", groups.on_join)
EVENTS.register("leave", groups.on_leave)
for _kind in ("memberJoined", "memberLeft", "unsend", "videoPlayComplete", "beacon", "accountLink",
              "things", "membership", "messageEdited", "activated", "deactivated", "botSuspended",
              "botResumed", "module", "delivery"):
    EVENTS.register(_kind, ignore)
