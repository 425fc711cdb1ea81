"""The approver's side of the approval engine, shared by every kind of request (ACC-, WEB-): the
อนุมัติ / ไม่อนุมัติ buttons, the reason asked before a rejection, the polite refusals, and a
registry where each kind says how its card looks and what follows a decision."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from handlers import postback, texts
from handlers.context import Context
from handlers.conversation import END, Dialog, Route, any_text
from handlers.messages import Message, postback_action, text
from handlers.registry import Registry
from models import approvals
from models.approvals import Approval, Decision

DECIDE = "apv"  # approver's buttons: i=approval id, d=1 approve / 0 reject
REASON_DIALOG = "approval_reason"


@dataclass(frozen=True)
class ApprovalKind:
    """What differs between kinds of request: their card (None if the request is gone) and what
    follows the decision once it is recorded."""

    card: Callable[[Session, Approval, str], Message | None]
    decided: Callable[[Context, Approval, bool], None]


KINDS: Registry[ApprovalKind] = Registry("approval kind")  # keyed by the number's prefix: ACC, WEB


def kind_of(approval: Approval) -> ApprovalKind | None:
    return KINDS.get(approval.number.split("-", 1)[0])


def card_for(session: Session, approval: Approval, title: str = "") -> Message | None:
    kind = kind_of(approval)
    return kind.card(session, approval, title) if kind else None


def decision_buttons(number: str, approval_id: int) -> list[dict[str, Any]]:
    return [postback_action("อนุมัติ", DECIDE, display=f"อนุมัติ {number}", i=approval_id, d=1),
            postback_action("ไม่อนุมัติ", DECIDE, display=f"ไม่อนุมัติ {number}", i=approval_id, d=0)]


def on_decide(ctx: Context) -> None:
    pb = ctx.postback
    if pb is None or ctx.staff is None:
        return
    approval_id = postback.row_id(pb)
    if approval_id is None:
        ctx.reply(text(texts.STALE_BUTTON))
        return
    if pb.params.get("d") == "1":
        decide(ctx, approval_id, approve=True, reason="")
        return
    # Rejecting needs a reason: check first that this person may decide, then ask for it.
    approval = ctx.session.get(Approval, approval_id)
    result = approvals.decide(ctx.session, approval_id, ctx.staff, False, "", ctx.now)
    if result.decision is not Decision.REASON_REQUIRED or approval is None:
        _refuse(ctx, result)
        return
    from handlers.dispatch import CONVERSATIONS

    ctx.reply(text(texts.APV_ASK_REASON.format(number=approval.number)))
    CONVERSATIONS.start(ctx, REASON_DIALOG, "reason", {"approval": approval_id})


def _reason_given(ctx: Context, data: dict[str, Any]) -> str:
    decide(ctx, int(data["approval"]), approve=False, reason=ctx.text or "")
    return END


def decide(ctx: Context, approval_id: int, approve: bool, reason: str) -> None:
    assert ctx.staff is not None
    result = approvals.decide(ctx.session, approval_id, ctx.staff, approve, reason, ctx.now)
    if result.decision is not Decision.DONE or result.approval is None:
        _refuse(ctx, result)
        return
    approval = result.approval
    ctx.reply(text((texts.APV_APPROVED if approve else texts.APV_REJECTED).format(number=approval.number)))
    kind = kind_of(approval)
    if kind is not None:
        kind.decided(ctx, approval, approve)


def _refuse(ctx: Context, result: approvals.DecisionResult) -> None:
    approval = result.approval
    number = approval.number if approval else ""
    if result.decision is Decision.ALREADY_DECIDED and approval is not None:
        verdict = "อนุมัติ" if approval.state == approvals.APPROVED else "ไม่อนุมัติ"
        who = approval.decided_by.first_name if approval.decided_by else "-"
        ctx.reply(text(texts.APV_ALREADY.format(number=number, verdict=verdict, name=who)))
    elif result.decision is Decision.OWN_REQUEST:
        ctx.reply(text(texts.APV_OWN.format(number=number)))
    elif result.decision is Decision.NOT_APPROVER:
        ctx.reply(text(texts.APV_NOT_YOURS.format(number=number)))
    else:
        ctx.reply(text(texts.STALE_BUTTON))


APPROVAL_REASON_DIALOG = Dialog(
    name=REASON_DIALOG,
    entry_points=[],
    states={"reason": [Route(any_text(), _reason_given)]},
    on_unexpected=lambda ctx, data, state: ctx.reply(text(texts.APV_REASON_TEXT)),
)
