"""The SOP reminders in LINE: cards with the due date, what the SOP says and three buttons
(ดำเนินการแล้ว / เลื่อน / มอบหมาย); evidence asked for when the definition requires it; overdue
reminded once, then escalated to the supervisor. One push per person per run, however many are due.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from handlers import postback, texts
from handlers.context import Context, Settings
from handlers.conversation import END, Dialog, Route, any_text, message_type_is
from handlers.messages import Message, bubble, postback_action, text
from models import outbox, reminders, work_calendar
from models.numbering import BANGKOK
from models.org import Staff, active_staff, staff_by_code, staff_with_role
from models.reminders import Change, ReminderOccurrence
from models.thai_dates import thai_date, thai_datetime

DONE, SNOOZE, ASSIGN = "rmd", "rms", "rma"
DIALOG = "reminder"
CAROUSEL_MAX = 12
SOP_TEXT_MAX = 280


def card(occ: ReminderOccurrence, today: date, buttons: bool = True, note: str = "") -> dict[str, Any]:
    """One bubble (the contents of a flex message) for one occurrence."""
    defn = occ.definition
    lines = [texts.RMD_MOVED.format(due=thai_date(occ.due_on), nominal=thai_date(occ.nominal_on))
             if occ.due_on != occ.nominal_on else texts.RMD_DUE.format(due=thai_date(occ.due_on))]
    if occ.snoozed_until:
        lines.append(texts.RMD_POSTPONED.format(until=thai_date(occ.snoozed_until), reason=occ.snooze_reason or "-"))
    if occ.effective_due < today:
        lines.append(texts.RMD_OVERDUE.format(days=(today - occ.effective_due).days))
    if note:
        lines.append(note)
    if defn.source:
        lines.append(texts.RMD_SOURCE.format(source=defn.source, section=defn.section or "-"))
    if defn.sop_text:
        sop = defn.sop_text
        lines.append(sop if len(sop) <= SOP_TEXT_MAX else sop[: SOP_TEXT_MAX - 1] + "…")
    if texts.RMD_EVIDENCE.get(defn.evidence):
        lines.append(texts.RMD_EVIDENCE[defn.evidence])
    actions = [postback_action(texts.RMD_DONE_BUTTON, DONE, display=f"{texts.RMD_DONE_BUTTON}: {defn.title[:40]}",
                               o=occ.id),
               postback_action(texts.RMD_SNOOZE_BUTTON, SNOOZE, o=occ.id),
               postback_action(texts.RMD_ASSIGN_BUTTON, ASSIGN, o=occ.id)] if buttons else \
        [postback_action(texts.RMD_ASSIGN_BUTTON, ASSIGN, o=occ.id)]
    return bubble("", "⏰ " + defn.title, lines, actions)["contents"]


def carousels(bubbles: list[dict[str, Any]]) -> list[Message]:
    out: list[Message] = []
    for start in range(0, len(bubbles), CAROUSEL_MAX):
        chunk = bubbles[start : start + CAROUSEL_MAX]
        out.append({"type": "flex", "altText": texts.RMD_ALT.format(count=len(chunk)),
                    "contents": chunk[0] if len(chunk) == 1 else {"type": "carousel", "contents": chunk}})
    return out


# The worker's job ---------------------------------------------------------------------------------


def run(session: Session, now: datetime, settings: Settings) -> int:
    """Create what has come due, send new cards, remind the overdue once, escalate the late.
    Returns how many people were messaged."""
    local = now.astimezone(BANGKOK)
    if local.hour < settings.reminder_send_hour:
        return 0  # people are told in working hours; the rows wait
    today = local.date()
    cal = work_calendar.load(session)
    reminders.create_due(session, today, cal, now)
    to_person: dict[int, list[dict[str, Any]]] = defaultdict(list)
    people: dict[int, Staff] = {}
    to_boss: dict[int, list[ReminderOccurrence]] = defaultdict(list)
    notices: list[str] = []

    def tell(occ: ReminderOccurrence, note: str = "") -> None:
        targets = [p for p in reminders.responsible(session, occ) if p.line_user_id]
        if not targets:  # nobody responsible can be reached: the admins hear of it instead
            targets = [p for p in staff_with_role(session, "admin") if p.line_user_id]
        for person in targets:
            people[person.id] = person
            to_person[person.id].append(card(occ, today, note=note))

    for occ in reminders.open_occurrences(session):
        defn = occ.definition
        if defn.paused or defn.retired:
            continue
        if occ.announced_at is None and occ.announce_on <= today:
            occ.announced_at = now
            if occ.effective_due < today:
                occ.overdue_reminded_at = now  # the card already says it is late
            if defn.notice and occ.snoozed_until is None:
                notices.append(defn.notice)
            tell(occ)
        elif occ.announced_at is not None and occ.effective_due < today and occ.overdue_reminded_at is None:
            occ.overdue_reminded_at = now
            tell(occ)
        if occ.announced_at is None or occ.escalated_at is not None:
            continue
        announced = occ.announced_at.astimezone(BANGKOK).date()
        if today >= cal.add_working_days(max(occ.effective_due, announced), defn.escalate_after_days):
            occ.escalated_at = now
            for boss in reminders.escalation_targets(session, occ):
                occ.escalated_to_id = occ.escalated_to_id or boss.id
                to_boss[boss.id].append(occ)
                people[boss.id] = boss
    ctx = Context.for_job(session, now, settings)
    for person_id, bubbles in to_person.items():
        ctx.push(people[person_id].line_user_id or "", *carousels(bubbles))
    for boss_id, items in to_boss.items():
        boss = people[boss_id]
        if not boss.line_user_id:
            continue
        names = sorted({p.first_name for occ in items for p in reminders.responsible(session, occ)})
        ctx.push(boss.line_user_id, text(texts.RMD_ESCALATED.format(names=", ".join(names) or "-", count=len(items))),
                 *carousels([card(occ, today, buttons=False) for occ in items]))
    ctx.flush()
    if notices:
        everyone = [s.line_user_id for s in active_staff(session) if s.line_user_id]
        outbox.enqueue_multicast(session, everyone, [text(n) for n in dict.fromkeys(notices)], now)
    return len(to_person) + len(to_boss)


# Buttons ------------------------------------------------------------------------------------------


def _occurrence(ctx: Context) -> ReminderOccurrence | None:
    """The occurrence the button names, when the person may act on it (else they are told why)."""
    occ_id = postback.row_id(ctx.postback, "o") if ctx.postback else None
    occ = ctx.session.get(ReminderOccurrence, occ_id) if occ_id is not None else None
    if occ is None or occ.definition.retired:
        ctx.reply(text(texts.RMD_UNKNOWN))
        return None
    if not reminders.may_act(ctx.session, occ, ctx.staff):
        ctx.reply(text(texts.RMD_NOT_YOURS))
        return None
    if occ.state != reminders.OPEN:
        _say_already(ctx, occ)
        return None
    return occ


def _say_already(ctx: Context, occ: ReminderOccurrence) -> None:
    who = occ.done_by.first_name if occ.done_by else "-"
    when = thai_datetime(occ.done_at) if occ.done_at else "-"
    ctx.reply(text(texts.RMD_ALREADY_DONE.format(title=occ.definition.title, due=thai_date(occ.due_on), name=who,
                                                 when=when)))


def on_done(ctx: Context) -> None:
    from handlers.dispatch import CONVERSATIONS

    occ = _occurrence(ctx)
    if occ is None or ctx.staff is None:
        return
    required = occ.definition.evidence
    if required == "none":
        _complete(ctx, occ.id)
        return
    ctx.reply(text(texts.RMD_ASK_EVIDENCE[required].format(title=occ.definition.title)))
    CONVERSATIONS.start(ctx, DIALOG, "evidence", {"o": occ.id})


def _complete(ctx: Context, occ_id: int, kind: str = "", words: str = "", message_id: str = "") -> bool:
    assert ctx.staff is not None
    change, occ = reminders.complete(ctx.session, occ_id, ctx.staff, ctx.now, kind, words, message_id)
    if occ is None:
        ctx.reply(text(texts.RMD_UNKNOWN))
        return True
    if change is Change.EVIDENCE_MISSING:
        ctx.reply(text(texts.RMD_EVIDENCE_WRONG[occ.definition.evidence]))
        return False
    if change is Change.NOT_ALLOWED:
        ctx.reply(text(texts.RMD_NOT_YOURS))
        return True
    if change is Change.ALREADY:
        _say_already(ctx, occ)
        return True
    title, due = occ.definition.title, thai_date(occ.due_on)
    ctx.reply(text(texts.RMD_RECORDED.format(title=title, due=due, name=ctx.staff.first_name,
                                             when=thai_datetime(ctx.now))))
    # The others it went to need not do it again; a supervisor hears only if it was escalated to them.
    others = [p for p in reminders.responsible(ctx.session, occ) if p.id != ctx.staff.id]
    if occ.escalated_to is not None and occ.escalated_to.id != ctx.staff.id:
        others.append(occ.escalated_to)
    for person in {p.id: p for p in others if p.line_user_id}.values():
        ctx.push(person.line_user_id or "", text(texts.RMD_RECORDED_OTHERS.format(
            name=ctx.staff.first_name, title=title, due=due)))
    return True


def _evidence_text(ctx: Context, data: dict[str, Any]) -> str | None:
    return END if _complete(ctx, int(data.get("o", 0)), "text", ctx.text or "") else None


def _evidence_content(ctx: Context, data: dict[str, Any]) -> str | None:
    kind = "photo" if ctx.message.get("type") == "image" else "file"
    message_id = ctx.message.get("id")
    return END if _complete(ctx, int(data.get("o", 0)), kind, "", str(message_id or "")) else None


def _evidence_unexpected(ctx: Context, data: dict[str, Any], state: str) -> None:
    occ = ctx.session.get(ReminderOccurrence, int(data.get("o", 0)))
    if occ is None:
        return
    if state == "evidence":
        ctx.reply(text(texts.RMD_EVIDENCE_WRONG[occ.definition.evidence]))
    else:
        ctx.reply(text(texts.RMD_ASK_REASON.format(until=thai_date(date.fromisoformat(data["until"])))))


def on_snooze(ctx: Context) -> None:
    from handlers.dispatch import CONVERSATIONS

    occ = _occurrence(ctx)
    if occ is None or ctx.postback is None:
        return
    days = ctx.postback.params.get("d", "")
    if days not in texts.RMD_SNOOZE_CHOICES:
        buttons = [postback_action(label, SNOOZE, o=occ.id, d=key) for key, label in texts.RMD_SNOOZE_CHOICES.items()]
        ctx.reply(text(texts.RMD_ASK_SNOOZE.format(title=occ.definition.title), buttons))
        return
    today = ctx.now.astimezone(BANGKOK).date()
    cal = work_calendar.load(ctx.session)
    base = max(today, occ.effective_due)
    until = base + timedelta(days=7) if days == "7" else cal.add_working_days(base, int(days))
    ctx.reply(text(texts.RMD_ASK_REASON.format(until=thai_date(until))))
    CONVERSATIONS.start(ctx, DIALOG, "reason", {"o": occ.id, "until": until.isoformat()})


def _reason(ctx: Context, data: dict[str, Any]) -> str:
    assert ctx.staff is not None
    until = date.fromisoformat(str(data.get("until")))
    change, occ = reminders.snooze(ctx.session, int(data.get("o", 0)), ctx.staff, until, ctx.text or "", ctx.now)
    if occ is None:
        ctx.reply(text(texts.RMD_UNKNOWN))
    elif change is Change.DONE:
        ctx.reply(text(texts.RMD_SNOOZED.format(title=occ.definition.title, until=thai_date(until))))
    elif change is Change.BAD_DATE:
        ctx.reply(text(texts.RMD_BAD_SNOOZE))
    elif change is Change.NOT_ALLOWED:
        ctx.reply(text(texts.RMD_NOT_YOURS))
    else:
        _say_already(ctx, occ)
    return END


def on_assign(ctx: Context) -> None:
    occ = _occurrence(ctx)
    if occ is None or ctx.postback is None or ctx.staff is None:
        return
    title = occ.definition.title
    wanted = ctx.postback.params.get("to", "")
    choices = [c for c in reminders.colleagues(ctx.session, occ, ctx.staff) if c.line_user_id]
    if not wanted:
        if not choices:
            ctx.reply(text(texts.RMD_NO_COLLEAGUE))
            return
        ctx.reply(text(texts.RMD_ASK_ASSIGNEE.format(title=title),
                       [postback_action(c.first_name, ASSIGN, o=occ.id, to=c.code) for c in choices]))
        return
    target = staff_by_code(ctx.session, wanted[:32])
    if target is None or all(c.id != target.id for c in choices):
        ctx.reply(text(texts.RMD_NO_COLLEAGUE))
        return
    change, occ = reminders.assign(ctx.session, occ.id, ctx.staff, target, ctx.now)
    if occ is None or change is not Change.DONE:
        ctx.reply(text(texts.RMD_NOT_YOURS))
        return
    ctx.reply(text(texts.RMD_ASSIGNED.format(title=title, name=target.first_name)))
    today = ctx.now.astimezone(BANGKOK).date()
    ctx.push(target.line_user_id or "", text(texts.RMD_ASSIGNED_TO_YOU.format(by=ctx.staff.first_name)),
             *carousels([card(occ, today)]))


REMINDER_DIALOG = Dialog(
    name=DIALOG,
    entry_points=[],
    states={
        "evidence": [Route(any_text(), _evidence_text), Route(message_type_is("image", "file"), _evidence_content)],
        "reason": [Route(any_text(), _reason)],
    },
    on_unexpected=_evidence_unexpected,
    timeout=timedelta(hours=24),  # evidence may take a while to find
)
