"""Reporting an outage: one short step at a time, skipping what the first message already said,
offering the SOP answer first, then a ticket that IT gets at once."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from handlers import intents, sop, texts, ticket_cards
from handlers.context import Context
from handlers.conversation import END, Dialog, Route, any_text, message_type_is, postback_is
from handlers.messages import Message, postback_action, text
from knowledge.normalize import normalize
from models import groups, sop_answers, tickets
from models.org import staff_with_role
from models.tickets import CATEGORIES, Change, NewTicket

DIALOG = "incident"
PICK = "rep"  # postback: a choice inside the report dialog (k=field, v=value)
MAX_PHOTOS = 5

# Words in a first message that tell the category, so it is not asked again.
CATEGORY_WORDS: dict[str, re.Pattern[str]] = {
    "his": re.compile(r"hosxp|his\b|เวชระเบียน|โปรแกรมโรงพยาบาล"),
    "printer": re.compile(r"ปริ้น|ปริ๊น|พิมพ์|printer|หมึก"),
    "network": re.compile(r"เน็ต|เน็ท|internet|wifi|ไวไฟ|wi-fi|lan|เครือข่าย|สัญญาณ"),
    "email": re.compile(r"อีเมล|เมล์|e-?mail|intranet|อินทราเน็ต|สารบรรณ|e-?doc"),
    "website": re.compile(r"เว็บ|website"),
    "computer": re.compile(r"คอม|computer|\bpc\b|จอ|เมาส์|คีย์บอร์ด|keyboard|mouse|เปิดไม่ติด"),
}
ASSET = re.compile(r"(?:ครุภัณฑ์|เลขครุภัณฑ์|asset)\s*[:#]?\s*([0-9A-Za-z./-]{3,})")


def infer_category(words: str) -> str | None:
    said = normalize(words)
    for key, pattern in CATEGORY_WORDS.items():
        if pattern.search(said):
            return key
    return None


def start(ctx: Context) -> None:
    """From the menu, or from a free-text report ("HOSxP เข้าไม่ได้") whose words are kept."""
    from handlers.dispatch import CONVERSATIONS

    data: dict[str, Any] = {"photos": []}
    first = ctx.text if ctx.postback is None else None
    if first:
        data["what"] = first
        data["category"] = infer_category(first)
    CONVERSATIONS.start(ctx, DIALOG, _ask_next(ctx, data), data)


def _ask_next(ctx: Context, data: dict[str, Any]) -> str:
    """Ask for the first thing still missing; returns the state that waits for it."""
    if not data.get("category"):
        buttons = [postback_action(name, PICK, k="category", v=key) for key, name in CATEGORIES.items()]
        ctx.reply(text(texts.INC_ASK_CATEGORY, buttons))
        return "category"
    if "dup" not in data:
        data["dup"] = None
        existing = tickets.open_duplicate(ctx.session, data["category"], ctx.now, ctx.settings.major_window)
        if existing is not None:
            data["dup"] = existing.number
            buttons = [postback_action("เรื่องเดียวกัน", PICK, k="dup", v="same"),
                       postback_action("คนละเรื่อง", PICK, k="dup", v="other")]
            ctx.reply(text(texts.INC_SAME_AS.format(number=existing.number, category=existing.category_name,
                                                    what=existing.description[:120]), buttons))
            return "dup"
    if not data.get("what"):
        ctx.reply(text(texts.INC_ASK_WHAT))
        return "what"
    if "kb" not in data:
        data["kb"] = None
        result = sop.ask(data["what"])
        if result.found:
            data["kb"] = result.citations[0].passage_id
            buttons = [postback_action("แก้ได้แล้ว", PICK, k="kb", v="solved"),
                       postback_action("ยังต้องการแจ้ง", PICK, k="kb", v="report")]
            ctx.reply(text(texts.INC_KB_FIRST), text(result.text), text(texts.INC_KB_ASK, buttons))
            return "kb"
    if "patients" not in data:
        name = CATEGORIES[data["category"]]
        buttons = [postback_action("กระทบ ผู้ป่วยรอ", PICK, k="patients", v=1),
                   postback_action("ยังไม่กระทบ", PICK, k="patients", v=0)]
        ctx.reply(text(texts.INC_ASK_PATIENTS.format(category=name), buttons))
        return "patients"
    if "where" not in data:
        group = ctx.staff.work_group.name if ctx.staff and ctx.staff.work_group else "หน่วยงานของฉัน"
        ctx.reply(text(texts.INC_ASK_WHERE, [postback_action(group, PICK, k="where", v="")]))
        return "where"
    if not data.get("photos_done"):
        ctx.reply(text(texts.INC_ASK_PHOTO, [postback_action("ไม่มีรูป", PICK, k="photos_done", v=1)]))
        return "photo"
    return _create(ctx, data)


def _picked(ctx: Context, data: dict[str, Any]) -> str:
    pb = ctx.postback
    assert pb is not None
    field, value = pb.params.get("k", ""), pb.params.get("v", "")
    if field == "category" and value in CATEGORIES:
        data["category"] = value
    elif field == "patients":
        data["patients"] = value == "1"
    elif field == "where":
        data["where"] = value
    elif field == "photos_done":
        data["photos_done"] = True
    elif field == "dup" and value == "same" and data.get("dup"):
        _join(ctx, str(data["dup"]))
        return END
    elif field == "kb" and value == "solved":
        _record_kb(ctx, data, solved=True)
        ctx.reply(text(texts.INC_KB_SOLVED))
        return END
    elif field == "kb":
        _record_kb(ctx, data, solved=False)
    return _ask_next(ctx, data)


def _join(ctx: Context, number: str) -> None:
    """"Me too": no second ticket; this person hears when the first one is fixed."""
    assert ctx.staff is not None
    ticket = tickets.by_number(ctx.session, number)
    if ticket is None or ticket.state not in tickets.OPEN_STATES:
        ctx.reply(text(texts.INC_ALREADY.format(number=number, state=ticket.state_name if ticket else "-")))
        return
    if ticket.reporter_id == ctx.staff.id:
        ctx.reply(text(texts.INC_YOURS_ALREADY.format(number=number, state=ticket.state_name)))
        return
    _, became_major = tickets.join(ctx.session, ticket, ctx.staff, ctx.now, ctx.settings.major_after_reports)
    ctx.reply(text(texts.INC_JOINED.format(number=number)))
    if became_major:
        reports = 1 + len(tickets.watchers(ctx.session, ticket))
        alert = text(texts.INC_MAJOR.format(number=number, category=ticket.category_name, reports=reports))
        push_to_it(ctx, lambda _in_group: [alert])


def _record_kb(ctx: Context, data: dict[str, Any], solved: bool) -> None:
    """The SOP answer offered before a ticket counts as knowledge-base deflection when it solved it."""
    row = sop_answers.record_answer(ctx.session, ctx.now, ctx.staff.id if ctx.staff else None, data.get("what", ""),
                                    True, [data["kb"]] if data.get("kb") else [], 0.0)
    if ctx.staff:
        sop_answers.record_feedback(ctx.session, row.id, ctx.staff.id, solved, ctx.now)


def _typed(ctx: Context, data: dict[str, Any]) -> str:
    """Text typed while a step waits: it answers that step."""
    state, words = ctx.dialog_state or "", ctx.text or ""
    if state == "what":
        data["what"] = words
    elif state == "category":
        data["category"] = infer_category(words) or "other"
        data.setdefault("what", words)
    elif state == "where":
        data["where"] = words
        asset = ASSET.search(words)
        data["asset"] = asset.group(1) if asset else ""
    elif state == "patients":
        data["patients"] = bool(re.search(r"กระทบ|ผู้ป่วยรอ|ใช่|ด่วน", words)) and "ไม่กระทบ" not in words
    elif state in ("photo", "kb"):
        data["what"] = f"{data.get('what', '')}\n{words}".strip()  # more detail: kept with the report
        if state == "kb":
            _record_kb(ctx, data, solved=False)
            data["kb_done"] = True
        else:
            ctx.reply(text(texts.INC_NOTED, [postback_action("ส่งแจ้งเลย", PICK, k="photos_done", v=1)]))
            return "photo"
    return _ask_next(ctx, data)


def _photo(ctx: Context, data: dict[str, Any]) -> str:
    photos = data.setdefault("photos", [])
    message_id = ctx.message.get("id")
    if isinstance(message_id, str) and len(photos) < MAX_PHOTOS:
        photos.append(message_id)
    ctx.reply(text(texts.INC_GOT_PHOTO.format(count=len(photos), most=MAX_PHOTOS),
                   [postback_action("ส่งแจ้งเลย", PICK, k="photos_done", v=1)]))
    return "photo"


def _create(ctx: Context, data: dict[str, Any]) -> str:
    assert ctx.staff is not None
    fields = NewTicket(
        category=data["category"],
        description=data.get("what", ""),
        affects_patients=bool(data.get("patients")),
        location=data.get("where", ""),
        asset_no=data.get("asset", ""),
        photo_message_ids=tuple(data.get("photos", [])),
        kb_offered=data.get("kb"),
    )
    ticket = tickets.create(ctx.session, ctx.staff, fields, ctx.now)
    replies = [ticket_cards.reporter_card(ticket)]
    _, masked = tickets.mask_personal_data(f"{fields.description}\n{fields.location}")
    if masked:
        replies.append(text(texts.INC_MASKED))
    ctx.reply(*replies)
    notify_it(ctx, ticket)
    return END


def notify_it(ctx: Context, ticket: tickets.Ticket) -> None:
    """The IT group if one is set, else every IT officer in 1:1 (push: costs quota). With digest
    times set, a normal-priority ticket waits for the next digest instead."""
    if ticket.priority == "normal" and ctx.settings.it_digest_times and ticket.it_notified_at is None:
        return
    push_to_it(ctx, lambda in_group: [ticket_cards.it_card(ticket, in_group)])
    tickets.mark_notified(ctx.session, ticket, ctx.now)


def push_to_it(ctx: Context, build: Callable[[bool], list[Message]]) -> None:
    """Messages for the IT team: built for a group (typed commands) or for 1:1 chats (postbacks)."""
    group = groups.it_group_id(ctx.session)
    if group:
        ctx.push(group, *build(True))
        return
    for officer in staff_with_role(ctx.session, "it"):
        if officer.line_user_id:
            ctx.push(officer.line_user_id, *build(False))


def _unexpected(ctx: Context, data: dict[str, Any], state: str) -> None:
    ctx.reply(text(texts.INC_UNEXPECTED))


INCIDENT_DIALOG = Dialog(
    name=DIALOG,
    entry_points=[],  # the menu and free-text reports start it (handlers.intents)
    states={
        state: [Route(postback_is(PICK), _picked), Route(any_text(), _typed)]
        for state in ("category", "dup", "what", "kb", "patients", "where")
    } | {"photo": [Route(postback_is(PICK), _picked), Route(message_type_is("image"), _photo),
                   Route(any_text(), _typed)]},
    on_unexpected=_unexpected,
)


# The reporter's answers after IT resolved the ticket ----------------------------------------------


def on_confirm(ctx: Context) -> None:
    number = _number(ctx)
    if ctx.staff is None or number is None:
        return
    outcome = tickets.confirm(ctx.session, number, ctx.staff, ctx.now)
    if outcome.change is Change.DONE and outcome.ticket:
        ctx.reply(text(texts.INC_CLOSED_THANKS.format(number=number), ticket_cards.rating_buttons(outcome.ticket)))
    else:
        _refuse(ctx, number, outcome)


def on_reopen(ctx: Context) -> None:
    number = _number(ctx)
    if ctx.staff is None or number is None:
        return
    outcome = tickets.reopen(ctx.session, number, ctx.staff, "", ctx.now)
    if outcome.change is not Change.DONE or outcome.ticket is None:
        _refuse(ctx, number, outcome)
        return
    ticket = outcome.ticket
    ctx.reply(text(texts.INC_REOPENED.format(number=number)))
    officer = ticket.assignee
    if officer and officer.line_user_id:
        ctx.push(officer.line_user_id, ticket_cards.it_card(ticket, in_group=False),
                 text(texts.INC_REOPENED_IT.format(number=number, name=ticket.reporter.first_name)))
    else:
        notify_it(ctx, ticket)


def on_rate(ctx: Context) -> None:
    number = _number(ctx)
    pb = ctx.postback
    if ctx.staff is None or number is None or pb is None:
        return
    try:
        score = int(pb.params.get("r", ""))
    except ValueError:
        score = 0
    outcome = tickets.rate(ctx.session, number, ctx.staff, score, ctx.now)
    if outcome.change is Change.DONE:
        from handlers.dispatch import CONVERSATIONS

        ctx.reply(text(texts.INC_RATED.format(number=number, score=score),
                       [postback_action("ไม่มี", PICK, k="comment", v="none")]))
        CONVERSATIONS.start(ctx, COMMENT_DIALOG, "comment", {"number": number})
    else:
        _refuse(ctx, number, outcome)


def _commented(ctx: Context, data: dict[str, Any]) -> str:
    assert ctx.staff is not None
    if ctx.text and intents.requested_service(ctx.text) is not None:
        from handlers.dispatch import free_text

        free_text(ctx, ctx.text)  # a new request, not a comment: nothing is lost
        return END
    if ctx.text:
        tickets.comment(ctx.session, str(data.get("number", "")), ctx.staff, ctx.text, ctx.now)
    ctx.reply(text(texts.INC_COMMENT_THANKS))
    return END


COMMENT_DIALOG = "inc_comment"
RATING_COMMENT_DIALOG = Dialog(
    name=COMMENT_DIALOG,
    entry_points=[],
    timeout=timedelta(minutes=10),
    states={"comment": [Route(any_text(), _commented), Route(postback_is(PICK), _commented)]},
)


def _number(ctx: Context) -> str | None:
    pb = ctx.postback
    number = pb.params.get("n") if pb else None
    return number if number and re.fullmatch(r"INC-\d{4}-\d{4,}", number) else None


def _refuse(ctx: Context, number: str, outcome: tickets.Outcome) -> None:
    if outcome.change is Change.MOVED_ON and outcome.ticket is not None:
        ctx.reply(text(texts.INC_ALREADY.format(number=number, state=outcome.ticket.state_name)))
    else:
        ctx.reply(text(texts.INC_NOT_YOURS.format(number=number)))
