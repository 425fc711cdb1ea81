"""Website publication requests in LINE (announcement 003): the form's fields one step at a time,
approval by the head of the work group (or a verbal approval a webmaster records), a webmaster
publishes and posts the URL back, and takes the item down when its time is over."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from handlers import acl, approval_flow, texts
from handlers.context import Context, Settings
from handlers.conversation import END, Dialog, Route, any_text, message_type_is, postback_is
from handlers.messages import Message, bubble, postback_action, text
from models import approvals, web_requests
from models.approvals import Approval, Decision
from models.org import Staff, get_setting, set_setting, staff_with_role
from models.web_requests import CATEGORIES, WebRequest

DIALOG = "web"
URL_DIALOG = "web_url"
PICK = "web"
TAKE = "web_take"
DOWN = "web_down"
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
DAYS = {"30": "30 วัน", "90": "90 วัน", "365": "1 ปี", "0": "ไม่กำหนด"}
VERBAL = re.compile(r"^\s*อนุมัติวาจา\s+(WEB-\d{4}-\d{4,})\s+(?:โดย\s*)?(.+)$", re.IGNORECASE)
WARNING_SETTING = "web.webmaster_warning_on"


def start(ctx: Context) -> None:
    from handlers.dispatch import CONVERSATIONS

    data: dict[str, Any] = {"attachments": []}
    CONVERSATIONS.start(ctx, DIALOG, _next(ctx, data), data)


def _next(ctx: Context, data: dict[str, Any]) -> str:
    """Ask for the first field still empty; at the end, check §2.2 and show the summary."""
    if "title" not in data:
        ctx.reply(text(texts.WEB_ASK_TITLE))
        return "title"
    if "details" not in data:
        ctx.reply(text(texts.WEB_ASK_DETAILS, [postback_action("เสร็จ", PICK, k="details_done", v=1)]))
        return "details"
    if "link" not in data:
        ctx.reply(text(texts.WEB_ASK_LINK, [postback_action("ไม่มี", PICK, k="link", v="")]))
        return "link"
    if "source" not in data:
        ctx.reply(text(texts.WEB_ASK_SOURCE))
        return "source"
    if "category" not in data:
        ctx.reply(text(texts.WEB_ASK_CATEGORY,
                       [postback_action(name, PICK, k="category", v=key) for key, name in CATEGORIES.items()]))
        return "category"
    if "days" not in data:
        buttons = [postback_action(name, PICK, k="days", v=key) for key, name in DAYS.items()]
        ctx.reply(text(texts.WEB_ASK_DAYS, buttons))
        return "days"
    if "notes" not in data:
        ctx.reply(text(texts.WEB_ASK_NOTES, [postback_action("ไม่มี", PICK, k="notes", v="")]))
        return "notes"
    missing = web_requests.missing_fields(data)
    if missing:  # §2.2: complete, with its source named; ask again for what is missing
        ctx.reply(text(texts.WEB_MISSING.format(fields=", ".join(missing))))
        for field, name in (("title", "ชื่อเรื่อง"), ("details", "รายละเอียดหรือไฟล์แนบ"),
                            ("source", "ที่มาหรือเจ้าของข้อมูล"), ("category", "หมวดบนเว็บไซต์")):
            if name in missing:
                data.pop(field, None)
        return _next(ctx, data)
    lines = [f"หัวข้อ: {data['title']}", f"หมวด: {CATEGORIES[data['category']]}",
             f"รายละเอียด: {data.get('details') or '-'}", f"ไฟล์แนบ: {len(data['attachments'])} ไฟล์",
             f"Link ภายนอก: {data.get('link') or '-'}", f"ที่มา/เจ้าของข้อมูล: {data['source']}",
             f"ระยะเวลาเผยแพร่: {DAYS[data['days']]}", f"หมายเหตุ: {data.get('notes') or '-'}"]
    ctx.reply(text(texts.ACC_SUMMARY + "\n" + "\n".join(lines),
                   [postback_action("ยืนยันส่งคำขอ", PICK, k="confirm", v="yes"),
                    postback_action("เริ่มใหม่", PICK, k="confirm", v="again")]))
    return "confirm"


def _typed(ctx: Context, data: dict[str, Any]) -> str:
    state, words = ctx.dialog_state or "", (ctx.text or "").strip()
    if state == "title":
        data["title"] = words
    elif state == "details":
        data["details_text"] = f"{data.get('details_text', '')}\n{words}".strip()
        ctx.reply(text(texts.WEB_MORE_DETAILS, [postback_action("เสร็จ", PICK, k="details_done", v=1)]))
        return "details"
    elif state == "link":
        if not web_requests.valid_url(words):
            ctx.reply(text(texts.WEB_BAD_URL, [postback_action("ไม่มี", PICK, k="link", v="")]))
            return "link"
        data["link"] = words
    elif state == "source":
        data["source"] = words
    elif state == "notes":
        data["notes"] = words
    else:
        ctx.reply(text(texts.ACC_USE_BUTTONS))
        return state or END
    return _next(ctx, data)


def _attachment(ctx: Context, data: dict[str, Any]) -> str:
    message = ctx.message
    size = message.get("fileSize")
    if isinstance(size, int) and size > MAX_ATTACHMENT_BYTES:
        ctx.reply(text(texts.WEB_FILE_TOO_LARGE.format(mb=MAX_ATTACHMENT_BYTES // (1024 * 1024))))
        return "details"
    if isinstance(message.get("id"), str):
        data["attachments"].append(message["id"])
    ctx.reply(text(texts.WEB_GOT_FILE.format(count=len(data["attachments"])),
                   [postback_action("เสร็จ", PICK, k="details_done", v=1)]))
    return "details"


def _picked(ctx: Context, data: dict[str, Any]) -> str:
    pb = ctx.postback
    assert pb is not None
    field, value = pb.params.get("k", ""), pb.params.get("v", "")
    if field == "details_done":
        data["details"] = data.pop("details_text", "")
    elif field == "link":
        data["link"] = ""
    elif field == "category" and value in CATEGORIES:
        data["category"] = value
    elif field == "days" and value in DAYS:
        data["days"] = value
    elif field == "notes":
        data["notes"] = ""
    elif field == "confirm" and ctx.dialog_state != "confirm":
        pass  # the summary's button before the summary (an old message, or forged): ask what is missing
    elif field == "confirm" and value == "yes":
        return _submit(ctx, data)
    elif field == "confirm":  # start over: nothing of the old answers is kept
        data.clear()
        data["attachments"] = []
    return _next(ctx, data)


def _submit(ctx: Context, data: dict[str, Any]) -> str:
    assert ctx.staff is not None
    approver = approvals.group_head_for(ctx.session, ctx.staff, ctx.now)
    if approver is None:
        ctx.reply(text(texts.ACC_NO_APPROVER))
        return END
    fields = {**data, "days": int(data["days"]) or None}
    request = web_requests.create(ctx.session, ctx.staff, fields, ctx.now)
    approval = approvals.open_approval(ctx.session, request.number, ctx.staff, approver, ctx.now)
    request.approval_id = approval.id
    ctx.reply(text(texts.ACC_SENT.format(number=request.number, approver=approver.first_name)))
    if approver.line_user_id:
        ctx.push(approver.line_user_id, approval_card(request, approval))
    return END


def approval_card(request: WebRequest, approval: Approval, title: str = "") -> Message:
    lines = [f"ผู้ขอ: {request.requester.name}", f"หัวข้อ: {request.title}", f"หมวด: {request.category_name}",
             f"รายละเอียด: {request.details[:300] or '-'}", f"ที่มา: {request.source}"]
    if request.link:
        lines.append(f"Link: {request.link}")
    buttons = approval_flow.decision_buttons(request.number, approval.id)
    return bubble(f"{request.number} ขออนุมัติเผยแพร่เว็บไซต์", title or f"{request.number} ขอเผยแพร่บนเว็บไซต์",
                  lines, buttons)


def _card(session: Session, approval: Approval, title: str) -> Message | None:
    request = web_requests.by_number(session, approval.number)
    return approval_card(request, approval, title) if request else None


def on_decided(ctx: Context, approval: Approval, approve: bool) -> None:
    """After the head's decision (or a recorded verbal approval)."""
    request = web_requests.by_number(ctx.session, approval.number)
    if request is None:
        return
    web_requests.settle_decision(ctx.session, request, approve)
    requester = request.requester
    if not approve:
        if requester.line_user_id:
            ctx.push(requester.line_user_id, text(texts.ACC_REJECTED_REQUESTER.format(
                number=request.number, approver=approval.decided_by.first_name if approval.decided_by else "-",
                reason=approval.reason)))
        return
    if requester.line_user_id:
        ctx.push(requester.line_user_id, text(texts.WEB_APPROVED_REQUESTER.format(number=request.number)))
    card = bubble(f"{request.number} รอเผยแพร่", f"{request.number} อนุมัติแล้ว รอเผยแพร่",
                  [f"หัวข้อ: {request.title}", f"หมวด: {request.category_name}", f"ผู้ขอ: {requester.name}"],
                  [postback_action("รับเผยแพร่", TAKE, n=request.number)])
    for webmaster in web_requests.webmasters(ctx.session):
        if webmaster.line_user_id:
            ctx.push(webmaster.line_user_id, card)


# Webmasters ---------------------------------------------------------------------------------------


def _is_webmaster(ctx: Context) -> bool:
    if acl.allowed(ctx.staff, "web.publish"):
        return True
    ctx.reply(text(texts.WEB_WEBMASTER_ONLY))
    return False


def on_take(ctx: Context) -> None:
    from handlers.dispatch import CONVERSATIONS

    number = (ctx.postback.params.get("n", "") if ctx.postback else "").upper()
    if not _is_webmaster(ctx):
        return
    assert ctx.staff is not None
    request = web_requests.take(ctx.session, number, ctx.staff, ctx.now)
    if request is None:
        existing = web_requests.by_number(ctx.session, number)
        who = existing.webmaster.first_name if existing and existing.webmaster else "-"
        ctx.reply(text(texts.WEB_ALREADY_TAKEN.format(number=number, name=who,
                                                      state=existing.state_name if existing else "-")))
        return
    ctx.reply(text(texts.WEB_TAKEN.format(number=number, category=request.category_name)))
    CONVERSATIONS.start(ctx, URL_DIALOG, "url", {"number": number})


def _url_given(ctx: Context, data: dict[str, Any]) -> str | None:
    assert ctx.staff is not None
    url, number = (ctx.text or "").strip(), str(data["number"])
    if not web_requests.valid_url(url):
        ctx.reply(text(texts.WEB_BAD_URL_PUBLISHED))
        return None  # stay: ask again
    request = web_requests.publish(ctx.session, number, ctx.staff, url, ctx.now)
    if request is None:
        ctx.reply(text(texts.STALE_BUTTON))
        return END
    ctx.reply(text(texts.WEB_PUBLISHED_WEBMASTER.format(number=number)))
    if request.requester.line_user_id:
        ctx.push(request.requester.line_user_id, text(texts.WEB_PUBLISHED_REQUESTER.format(number=number, url=url)))
    return END


def on_take_down(ctx: Context) -> None:
    number = (ctx.postback.params.get("n", "") if ctx.postback else "").upper()
    if not _is_webmaster(ctx):
        return
    assert ctx.staff is not None
    request = web_requests.take_down(ctx.session, number, ctx.staff, ctx.now)
    if request is None:
        ctx.reply(text(texts.STALE_BUTTON))
        return
    ctx.reply(text(texts.WEB_TAKEN_DOWN.format(number=number)))


def verbal_command(ctx: Context) -> bool:
    """"อนุมัติวาจา WEB-… <head>": a webmaster records the head's verbal approval of an urgent request."""
    match = VERBAL.match(ctx.text or "")
    if match is None:
        return False
    if not _is_webmaster(ctx):
        return True
    assert ctx.staff is not None
    number, named = match.group(1).upper(), match.group(2).strip()
    request = web_requests.by_number(ctx.session, number)
    approval = ctx.session.get(Approval, request.approval_id) if request and request.approval_id else None
    if request is None or approval is None:
        ctx.reply(text(texts.INC_UNKNOWN.format(number=number)))
        return True
    head = approval.approver
    if named not in (head.code, head.name, head.first_name):
        ctx.reply(text(texts.WEB_VERBAL_WRONG_HEAD.format(number=number, head=head.name)))
        return True
    result = approvals.record_verbal(ctx.session, approval.id, ctx.staff, head, ctx.now)
    if result.decision is not Decision.DONE:
        ctx.reply(text(texts.APV_ALREADY.format(number=number, verdict=request.state_name, name="-")))
        return True
    ctx.reply(text(texts.WEB_VERBAL_RECORDED.format(number=number, head=head.first_name)))
    if head.line_user_id:
        ctx.push(head.line_user_id, text(texts.WEB_VERBAL_HEAD_TOLD.format(number=number, by=ctx.staff.name,
                                                                           title=request.title)))
    on_decided(ctx, result.approval or approval, True)
    return True


def run(session: Session, now: datetime, settings: Settings) -> int:
    """The worker's job: items whose end date has come go to their webmaster (or every webmaster)
    to be taken down; admins are warned once a day while fewer than two webmasters are registered
    (§3.1). Returns how many items expired."""
    ctx = Context.for_job(session, now, settings)
    expired = web_requests.expired(ctx.session, ctx.now)
    for request in expired:
        card = bubble(f"{request.number} ครบกำหนดเผยแพร่", f"{request.number} ครบกำหนดเผยแพร่แล้ว",
                      [f"หัวข้อ: {request.title}", f"URL: {request.published_url}", texts.WEB_TAKE_DOWN_ASK],
                      [postback_action("นำออกแล้ว", DOWN, n=request.number)])
        targets: list[Staff] = ([request.webmaster] if request.webmaster and request.webmaster.line_user_id
                                else web_requests.webmasters(ctx.session))
        for webmaster in targets:
            if webmaster.line_user_id:
                ctx.push(webmaster.line_user_id, card)
    today = ctx.now.date().isoformat()
    count = len(web_requests.webmasters(ctx.session))
    if count < web_requests.MIN_WEBMASTERS and get_setting(ctx.session, WARNING_SETTING) != today:
        set_setting(ctx.session, WARNING_SETTING, today)
        for admin in staff_with_role(ctx.session, "admin"):
            if admin.line_user_id:
                ctx.push(admin.line_user_id, text(texts.WEB_TOO_FEW_WEBMASTERS.format(count=count)))
    ctx.flush()
    return len(expired)


WEB_DIALOG = Dialog(
    name=DIALOG,
    entry_points=[],
    states={state: [Route(postback_is(PICK), _picked), Route(any_text(), _typed)]
            for state in ("title", "link", "source", "category", "days", "notes", "confirm")}
    | {"details": [Route(postback_is(PICK), _picked), Route(message_type_is("file", "image"), _attachment),
                   Route(any_text(), _typed)]},
    on_unexpected=lambda ctx, data, state: ctx.reply(text(texts.ACC_USE_BUTTONS)),
)
WEB_URL_DIALOG = Dialog(
    name=URL_DIALOG,
    entry_points=[],
    states={"url": [Route(any_text(), _url_given)]},
    on_unexpected=lambda ctx, data, state: ctx.reply(text(texts.WEB_BAD_URL_PUBLISHED)),
)
approval_flow.KINDS.register("WEB", approval_flow.ApprovalKind(card=_card, decided=on_decided))
