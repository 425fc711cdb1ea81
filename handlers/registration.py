"""Unknown LINE users: the only thing they can do is bind their account with a code."""

from __future__ import annotations

from handlers import menu, texts
from handlers.context import Context
from handlers.messages import text
from models import registration
from models.registration import Outcome
from models.thai_dates import thai_datetime


def handle_unknown(ctx: Context) -> None:
    """Anything from an unregistered person: try it as a code, else explain how to register."""
    if ctx.in_group or ctx.user_id is None:
        return
    if ctx.text is None or not registration.looks_like_code(ctx.text):
        ctx.reply(text(texts.REGISTER_ASK))
        return
    result = registration.redeem(ctx.session, ctx.user_id, ctx.text, ctx.now)
    if result.outcome is Outcome.BOUND and result.staff is not None:
        group = result.staff.work_group.name if result.staff.work_group else "-"
        ctx.reply(
            text(texts.REGISTER_OK.format(name=result.staff.first_name, work_group=group)),
            text(texts.PRIVACY_NOTICE.format(days=ctx.settings.retention_days), menu.quick_replies()),
        )
    elif result.outcome is Outcome.WRONG:
        ctx.reply(text(texts.REGISTER_WRONG.format(left=result.attempts_left)))
    elif result.outcome is Outcome.LOCKED and result.locked_until is not None:
        ctx.reply(text(texts.REGISTER_LOCKED.format(until=thai_datetime(result.locked_until))))
    elif result.outcome is Outcome.EXPIRED:
        ctx.reply(text(texts.REGISTER_EXPIRED))
    elif result.outcome is Outcome.USED:
        ctx.reply(text(texts.REGISTER_USED))
    else:
        ctx.reply(text(texts.REGISTER_ALREADY))
