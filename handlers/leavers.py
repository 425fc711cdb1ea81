"""HR reports a transfer, move, resignation or retirement; the bot opens one task per system
account of that person for the system's owner, and HR hears when all are done."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from handlers import acl, texts
from handlers.accounts import find_staff, task_to_owner
from handlers.context import Context
from handlers.conversation import END, Dialog, Route, any_text, postback_is
from handlers.messages import postback_action, text
from knowledge.normalize import normalize
from models import accounts
from models.accounts import LEAVER_KINDS
from models.org import staff_by_code
from models.thai_dates import BANGKOK, thai_date

DIALOG = "leaver"
PICK = "lv"
REPORT_WORDS = re.compile(r"แจ้ง\s*(ลาออก|ย้าย|โอน|เกษียณ|พ้นสภาพ)|บุคลากร\S*\s*(ลาออก|ย้าย|โอน|เกษียณ|พ้นสภาพ)")
DATE = re.compile(r"(\d{1,2})\s*/\s*(\d{1,2})\s*/\s*(\d{4})")


def is_report(words: str) -> bool:
    return bool(REPORT_WORDS.search(normalize(words)))


def parse_date(words: str) -> date | None:
    """"30/11/2569" (Buddhist Era) or "30/11/2026"."""
    found = DATE.search(normalize(words))
    if not found:
        return None
    day, month, year = (int(g) for g in found.groups())
    if year > 2400:
        year -= 543
    try:
        return date(year, month, day)
    except ValueError:
        return None


def start(ctx: Context) -> None:
    from handlers.dispatch import CONVERSATIONS

    if not acl.allowed(ctx.staff, "account.report_leaver"):
        ctx.reply(text(texts.LEAVER_HR_ONLY))
        return
    ctx.reply(text(texts.LEAVER_ASK_WHOM))
    CONVERSATIONS.start(ctx, DIALOG, "whom", {})


def _typed(ctx: Context, data: dict[str, Any]) -> str:
    state, words = ctx.dialog_state or "", ctx.text or ""
    if state == "whom":
        person = find_staff(ctx, words)
        if person is None:
            ctx.reply(text(texts.ACC_WHOM_UNKNOWN))
            return "whom"
        data["whom"] = person.code
        buttons = [postback_action(name, PICK, k="kind", v=key) for key, name in LEAVER_KINDS.items()]
        ctx.reply(text(texts.LEAVER_ASK_KIND.format(name=person.name), buttons))
        return "kind"
    if state == "date":
        when = parse_date(words)
        if when is None:
            ctx.reply(text(texts.LEAVER_BAD_DATE))
            return "date"
        data["date"] = when.isoformat()
        return _summary(ctx, data)
    ctx.reply(text(texts.ACC_USE_BUTTONS))
    return state or END


def _picked(ctx: Context, data: dict[str, Any]) -> str:
    pb = ctx.postback
    assert pb is not None
    field, value = pb.params.get("k", ""), pb.params.get("v", "")
    if field != ctx.dialog_state:  # another step's button (an old message, or forged): answers would be missing
        ctx.reply(text(texts.ACC_USE_BUTTONS))
        return ctx.dialog_state or END
    if field == "kind" and value in LEAVER_KINDS:
        data["kind"] = value
        ctx.reply(text(texts.LEAVER_ASK_DATE, [postback_action("วันนี้", PICK, k="date", v="today")]))
        return "date"
    if field == "date":
        data["date"] = ctx.now.astimezone(BANGKOK).date().isoformat()
        return _summary(ctx, data)
    if field == "confirm" and value == "yes":
        return _submit(ctx, data)
    data.clear()  # start over: nothing of the old answers is kept
    start(ctx)
    return "whom"


def _summary(ctx: Context, data: dict[str, Any]) -> str:
    person = staff_by_code(ctx.session, data["whom"])
    assert person is not None
    systems = [e.system_id for e in accounts.accounts_of(ctx.session, person)]
    when = thai_date_of(data["date"])
    ctx.reply(text(texts.LEAVER_SUMMARY.format(name=person.name, kind=LEAVER_KINDS[data["kind"]], date=when,
                                               count=len(systems)),
                   [postback_action("ยืนยัน", PICK, k="confirm", v="yes"),
                    postback_action("เริ่มใหม่", PICK, k="confirm", v="again")]))
    return "confirm"


def thai_date_of(iso: str) -> str:
    from datetime import datetime

    return thai_date(datetime.combine(date.fromisoformat(iso), datetime.min.time(), BANGKOK))


def _submit(ctx: Context, data: dict[str, Any]) -> str:
    assert ctx.staff is not None
    person = staff_by_code(ctx.session, data["whom"])
    if person is None:
        ctx.reply(text(texts.STALE_BUTTON))
        return END
    _case, tasks = accounts.report_leaver(ctx.session, ctx.staff, person, data["kind"],
                                          date.fromisoformat(data["date"]), ctx.now)
    if not tasks:
        ctx.reply(text(texts.LEAVER_NO_ACCOUNTS.format(name=person.name)))
        return END
    ctx.reply(text(texts.LEAVER_OPENED.format(count=len(tasks), numbers=", ".join(t.number for t in tasks))))
    for task in tasks:
        task_to_owner(ctx, task)
    return END


LEAVER_DIALOG = Dialog(
    name=DIALOG,
    entry_points=[],
    states={state: [Route(postback_is(PICK), _picked), Route(any_text(), _typed)]
            for state in ("whom", "kind", "date", "confirm")},
    on_unexpected=lambda ctx, data, state: ctx.reply(text(texts.ACC_USE_BUTTONS)),
)
