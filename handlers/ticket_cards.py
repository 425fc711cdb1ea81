"""How a ticket looks in LINE: the reporter's summary card, the IT card, one-line states."""

from __future__ import annotations

from typing import Any

from handlers.messages import Message, bubble, message_action, postback_action, text
from models.thai_dates import thai_datetime
from models.tickets import Ticket

CAROUSEL_MAX = 12
PRIORITY_MARK = {"critical": "🔴", "high": "🟠", "normal": "🟢"}

# Postback actions (1:1 chats, where LINE names who tapped).
ACCEPT = "inc_acc"
RESOLVE = "inc_res"
ASSIGN = "inc_asg"
NOTE = "inc_note"
WAIT = "inc_wait"
CONFIRM = "inc_ok"
REOPEN = "inc_again"
RATE = "inc_rate"
# Typed commands (group chats: LINE names who acted only on message events, so the IT group's
# buttons post these words into the group, where everyone also sees who took the ticket).
ACCEPT_WORD = "รับงาน"
RESOLVE_WORD = "ปิดงาน"


def _where(ticket: Ticket) -> str:
    group = ticket.reporter.work_group.name if ticket.reporter.work_group else ""
    place = f"{group} ({ticket.location})" if ticket.location and group else (ticket.location or group or "-")
    return place + (f" · ครุภัณฑ์ {ticket.asset_no}" if ticket.asset_no else "")


def reporter_card(ticket: Ticket) -> Message:
    lines = [
        f"ความเร่งด่วน: {ticket.priority_name}",
        f"{ticket.category_name} · {_where(ticket)} · {thai_datetime(ticket.created_at)}",
        f"อาการ: {ticket.description}",
        "ทีมไอทีได้รับแจ้งแล้ว จะแจ้งความคืบหน้าที่นี่ค่ะ",
    ]
    return bubble(f"{ticket.number} แจ้งแล้ว", f"✅ {ticket.number} แจ้งแล้ว", lines)


def it_card(ticket: Ticket, in_group: bool) -> Message:
    mark = PRIORITY_MARK.get(ticket.priority, "")
    patients = " (กระทบผู้ป่วย)" if ticket.affects_patients else ""
    title = f"{mark} {ticket.number} {ticket.category_name}{patients}"
    lines = [
        f"ความเร่งด่วน: {ticket.priority_name}",
        f"อาการ: {ticket.description}",
        f"ผู้แจ้ง: {ticket.reporter.first_name} · {_where(ticket)}",
        f"เวลา: {thai_datetime(ticket.created_at)}",
    ]
    if ticket.photo_message_ids:
        lines.append(f"แนบรูป {len(ticket.photo_message_ids)} รูป")
    buttons: list[dict[str, Any]]
    if in_group:
        buttons = [message_action(word, f"{word} {ticket.number}")
                   for word in (ACCEPT_WORD, "มอบหมาย", "เพิ่มบันทึก", "รออะไหล่", "ส่งผู้รับจ้าง", RESOLVE_WORD)]
    else:
        n = ticket.number
        buttons = [postback_action(ACCEPT_WORD, ACCEPT, n=n), postback_action("มอบหมาย", ASSIGN, n=n),
                   postback_action("เพิ่มบันทึก", NOTE, n=n), postback_action("รออะไหล่", WAIT, n=n, r="parts"),
                   postback_action("ส่งผู้รับจ้าง", WAIT, n=n, r="contractor"),
                   postback_action(RESOLVE_WORD, RESOLVE, n=n)]
    return bubble(f"{ticket.number} แจ้งปัญหาใหม่: {ticket.category_name}", title, lines, buttons)


def resolved_card(ticket: Ticket) -> Message:
    lines = [f"การแก้ไข: {ticket.resolution or '-'}", "ใช้งานได้ปกติแล้วหรือยังคะ"]
    buttons = [postback_action("ใช้งานได้แล้ว", CONFIRM, n=ticket.number),
               postback_action("ยังไม่หาย", REOPEN, n=ticket.number)]
    return bubble(f"{ticket.number} แก้ไขแล้ว", f"🛠 {ticket.number} แก้ไขแล้ว", lines, buttons)


def rating_buttons(ticket: Ticket) -> list[dict[str, Any]]:
    return [postback_action(f"{'⭐' * score}", RATE, display=f"ให้ {score} คะแนน", n=ticket.number, r=score)
            for score in (5, 4, 3, 2, 1)]


def one_line(ticket: Ticket) -> str:
    who = f" · {ticket.assignee.first_name}" if ticket.assignee else ""
    return f"{ticket.number} {ticket.category_name}: {ticket.state_name}{who} ({thai_datetime(ticket.created_at)})"


def digest(waiting: list[Ticket], in_group: bool) -> list[Message]:
    """The held normal-priority tickets as one carousel (LINE allows 12 bubbles), rest as a count."""
    shown = waiting[:CAROUSEL_MAX]
    cards = [it_card(t, in_group)["contents"] for t in shown]
    messages: list[Message] = [{
        "type": "flex",
        "altText": f"งานแจ้งปัญหาใหม่ {len(waiting)} รายการ",
        "contents": {"type": "carousel", "contents": cards},
    }]
    if len(waiting) > len(shown):
        messages.append(text(f"และอีก {len(waiting) - len(shown)} รายการ พิมพ์ \"งานของฉัน\" เพื่อดูทั้งหมดค่ะ"))
    return messages
