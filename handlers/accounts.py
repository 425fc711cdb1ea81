"""Account requests: a short dialog, one-tap approval by the person's supervisor (or acting
head), then the system's owner does it and the register follows. Passwords never go through chat."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers import acl, approval_flow, texts
from handlers.context import Context
from handlers.conversation import END, Dialog, Route, any_text, postback_is
from handlers.messages import Message, bubble, postback_action, text
from models import accounts, approvals, groups
from models.accounts import ACTIONS, AccountRequest, NewAccountRequest
from models.approvals import Approval
from models.org import Staff, System, staff_with_role

DIALOG = "account"
PICK = "acc"  # a choice inside the dialog
DONE = "acc_done"  # the owner's button: n=request number


def start(ctx: Context) -> None:
    from handlers.dispatch import CONVERSATIONS

    systems = list(ctx.session.scalars(select(System).order_by(System.code)))
    if not systems:
        ctx.reply(text(texts.ACC_NO_SYSTEMS))
        return
    said = (ctx.text or "").casefold() if ctx.postback is None else ""
    named = [s for s in systems if said and (s.code.casefold() in said or s.name.casefold().split()[0] in said)]
    if len(named) == 1:  # "ขอสิทธิ์เข้า HOSxP หน่อย": the system is known, not asked again
        system = named[0]
        ctx.reply(text(texts.ACC_ASK_ACTION.format(system=system.name),
                       [postback_action(name, PICK, k="action", v=key) for key, name in ACTIONS.items()]))
        CONVERSATIONS.start(ctx, DIALOG, "action", {"system": system.code})
        return
    buttons = [postback_action(s.name, PICK, k="system", v=s.code) for s in systems[:12]]
    ctx.reply(text(texts.ACC_ASK_SYSTEM, buttons))
    CONVERSATIONS.start(ctx, DIALOG, "system", {})


def _picked(ctx: Context, data: dict[str, Any]) -> str:
    pb = ctx.postback
    assert pb is not None and ctx.staff is not None
    field, value = pb.params.get("k", ""), pb.params.get("v", "")
    if field != ctx.dialog_state:  # another step's button (an old message, or forged): answers would be missing
        ctx.reply(text(texts.ACC_USE_BUTTONS))
        return ctx.dialog_state or END
    if field == "system":
        system = ctx.session.scalar(select(System).where(System.code == value))
        if system is None:
            ctx.reply(text(texts.STALE_BUTTON))
            return END
        data["system"] = system.code
        ctx.reply(text(texts.ACC_ASK_ACTION.format(system=system.name),
                       [postback_action(name, PICK, k="action", v=key) for key, name in ACTIONS.items()]))
        return "action"
    if field == "action" and value in ACTIONS:
        data["action"] = value
        ctx.reply(text(texts.ACC_ASK_WHOM, [postback_action("ตัวเอง", PICK, k="whom", v=ctx.staff.code)]))
        return "whom"
    if field == "whom":
        return _whom(ctx, data, value)
    if field == "confirm" and value == "yes":
        return _submit(ctx, data)
    if field == "confirm":  # start over: nothing of the old answers is kept
        data.clear()
        start(ctx)
        return "system"
    ctx.reply(text(texts.STALE_BUTTON))
    return END


def find_staff(ctx: Context, words: str) -> Staff | None:
    words = words.strip()
    people = list(ctx.session.scalars(select(Staff).where(Staff.active.is_(True))))
    exact = [p for p in people if words in (p.code, p.name, p.first_name)]
    found = exact or [p for p in people if words and words in p.name]
    return found[0] if len(found) == 1 else None


def _whom(ctx: Context, data: dict[str, Any], words: str) -> str:
    assert ctx.staff is not None
    subject = find_staff(ctx, words)
    if subject is None:
        ctx.reply(text(texts.ACC_WHOM_UNKNOWN))
        return "whom"
    anyone = ctx.staff.has_role("hr", "admin")
    if subject.id != ctx.staff.id and not anyone and subject.work_group_id != ctx.staff.work_group_id:
        ctx.reply(text(texts.ACC_WHOM_OTHER_GROUP))
        return "whom"
    data["whom"] = subject.code
    if data["action"] in ("new", "change"):
        ctx.reply(text(texts.ACC_ASK_RIGHTS))
        return "rights"
    ctx.reply(text(texts.ACC_ASK_REASON))
    return "reason"


def _typed(ctx: Context, data: dict[str, Any]) -> str:
    state, words = ctx.dialog_state or "", ctx.text or ""
    if state == "whom":
        return _whom(ctx, data, words)
    if state == "rights":
        data["rights"] = words
        ctx.reply(text(texts.ACC_ASK_REASON))
        return "reason"
    if state == "reason":
        data["reason"] = words
        return _summary(ctx, data)
    ctx.reply(text(texts.ACC_USE_BUTTONS))
    return state or END


def _summary(ctx: Context, data: dict[str, Any]) -> str:
    system = ctx.session.scalar(select(System).where(System.code == data["system"]))
    subject = find_staff(ctx, data["whom"])
    lines = [
        f"ระบบ: {system.name if system else data['system']}",
        f"รายการ: {ACTIONS[data['action']]}",
        f"สำหรับ: {subject.name if subject else data['whom']}",
    ]
    if data.get("rights"):
        lines.append(f"สิทธิ์ที่ต้องการ: {data['rights']}")
    lines.append(f"เหตุผล: {data.get('reason', '')}")
    buttons = [postback_action("ยืนยันส่งคำขอ", PICK, k="confirm", v="yes"),
               postback_action("เริ่มใหม่", PICK, k="confirm", v="again")]
    ctx.reply(text(texts.ACC_SUMMARY + "\n" + "\n".join(lines), buttons))
    return "confirm"


def _submit(ctx: Context, data: dict[str, Any]) -> str:
    assert ctx.staff is not None
    system = ctx.session.scalar(select(System).where(System.code == data["system"]))
    subject = find_staff(ctx, data["whom"])
    if system is None or subject is None:
        ctx.reply(text(texts.STALE_BUTTON))
        return END
    approver = approvals.approver_for(ctx.session, ctx.staff, ctx.now) or _an_admin(ctx)
    if approver is None:
        ctx.reply(text(texts.ACC_NO_APPROVER))
        return END
    request = accounts.create_request(ctx.session, ctx.staff, NewAccountRequest(
        system_id=system.id, action=data["action"], subject_id=subject.id, rights=data.get("rights", ""),
        reason=data.get("reason", "")), ctx.now)
    approval = approvals.open_approval(ctx.session, request.number, ctx.staff, approver, ctx.now)
    request.approval_id = approval.id
    replies = [text(texts.ACC_SENT.format(number=request.number, approver=approver.first_name))]
    if request.action in ("new", "reset"):
        replies.append(text(texts.ACC_PASSWORD_NOTE))
    ctx.reply(*replies)
    if approver.line_user_id:
        ctx.push(approver.line_user_id, approval_card(request, approval))
    return END


def _an_admin(ctx: Context) -> Staff | None:
    assert ctx.staff is not None
    return next((a for a in staff_with_role(ctx.session, "admin") if a.id != ctx.staff.id), None)


def approval_card(request: AccountRequest, approval: Approval, title: str = "") -> Message:
    lines = [
        f"ผู้ขอ: {request.requester.name}",
        f"ระบบ: {request.system.name} · {request.action_name}",
        f"สำหรับ: {request.subject.name}",
    ]
    if request.rights:
        lines.append(f"สิทธิ์: {request.rights}")
    lines.append(f"เหตุผล: {request.reason or '-'}")
    buttons = approval_flow.decision_buttons(request.number, approval.id)
    heading = title or f"{request.number} ขออนุมัติ"
    return bubble(f"{request.number} ขออนุมัติ: {request.system.name}", heading, lines, buttons)


# After the decision ------------------------------------------------------------------------------


def _decided(ctx: Context, approval: Approval, approve: bool) -> None:
    assert ctx.staff is not None
    request = accounts.by_number(ctx.session, approval.number)
    if request is None:
        return
    accounts.settle_decision(ctx.session, request, approve)
    requester = request.requester
    if approve:
        if requester.line_user_id:
            ctx.push(requester.line_user_id, text(texts.ACC_APPROVED_REQUESTER.format(
                number=request.number, approver=ctx.staff.first_name, system=request.system.name)))
        task_to_owner(ctx, request)
    elif requester.line_user_id:
        ctx.push(requester.line_user_id, text(texts.ACC_REJECTED_REQUESTER.format(
            number=request.number, approver=ctx.staff.first_name, reason=approval.reason)))


def _card(session: Session, approval: Approval, title: str) -> Message | None:
    request = accounts.by_number(session, approval.number)
    return approval_card(request, approval, title) if request else None


def task_to_owner(ctx: Context, request: AccountRequest) -> None:
    lines = [f"สำหรับ: {request.subject.name}", f"ระบบ: {request.system.name} · {request.action_name}"]
    if request.rights:
        lines.append(f"สิทธิ์: {request.rights}")
    if request.action in ("new", "reset"):
        lines.append(texts.ACC_OWNER_PASSWORD_NOTE)
    card = bubble(f"{request.number} งานบัญชีผู้ใช้", f"{request.number} อนุมัติแล้ว โปรดดำเนินการ", lines,
                  [postback_action("ดำเนินการแล้ว", DONE, n=request.number)])
    owner = request.system.owner
    target = owner.line_user_id if owner and owner.line_user_id else groups.it_group_id(ctx.session)
    if target:
        ctx.push(target, card)


def on_done(ctx: Context) -> None:
    pb = ctx.postback
    if pb is None or ctx.staff is None:
        return
    number = pb.params.get("n", "")
    request = accounts.mark_done(ctx.session, number, ctx.staff, ctx.now)
    if request is None:
        existing = accounts.by_number(ctx.session, number)
        allowed = existing is not None and (existing.system.owner_id == ctx.staff.id
                                            or acl.allowed(ctx.staff, "ticket.view_all"))
        state = existing.state_name if existing and allowed else ""
        ctx.reply(text(texts.ACC_DONE_REFUSED.format(number=number, state=state or "-")))
        return
    ctx.reply(text(texts.ACC_DONE_OWNER.format(number=number)))
    case = accounts.close_case_if_done(ctx.session, request.case_id, ctx.now)
    if case is not None and case.reported_by.line_user_id:
        ctx.push(case.reported_by.line_user_id, text(texts.LEAVER_ALL_DONE.format(name=case.staff.name,
                                                                                  kind=case.kind_name)))
        return  # HR reported it: HR hears the end, the leaver is not messaged
    if request.requester.line_user_id:
        note = f"\n{texts.ACC_PASSWORD_NOTE}" if request.action in ("new", "reset") else ""
        ctx.push(request.requester.line_user_id, text(texts.ACC_DONE_REQUESTER.format(
            number=number, system=request.system.name, action=request.action_name, name=ctx.staff.first_name) + note))


ACCOUNT_DIALOG = Dialog(
    name=DIALOG,
    entry_points=[],
    states={state: [Route(postback_is(PICK), _picked), Route(any_text(), _typed)]
            for state in ("system", "action", "whom", "rights", "reason", "confirm")},
    on_unexpected=lambda ctx, data, state: ctx.reply(text(texts.ACC_USE_BUTTONS)),
)
approval_flow.KINDS.register("ACC", approval_flow.ApprovalKind(card=_card, decided=_decided))
