"""Pending approvals: reminded once after a while, then escalated to the approver's own
supervisor (who may decide instead), each step once and in the audit log. Leaver tasks still open
are reminded to their owners every week."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from handlers import approval_flow, texts
from handlers.context import Context, Settings
from handlers.messages import text
from models import accounts as account_requests
from models import approvals


def run(session: Session, now: datetime, settings: Settings) -> int:
    ctx = Context.for_job(session, now, settings)
    due = approvals.due_reminders(session, now, settings.approval_remind_after, settings.approval_escalate_after)
    for approval, kind in due:
        if kind == "remind" and approval.approver.line_user_id:
            card = approval_flow.card_for(session, approval)
            if card is not None:
                ctx.push(approval.approver.line_user_id, text(texts.APV_REMINDER.format(number=approval.number)),
                         card)
        elif kind == "escalate" and approval.escalated_to and approval.escalated_to.line_user_id:
            title = texts.APV_ESCALATED.format(number=approval.number, approver=approval.approver.first_name)
            card = approval_flow.card_for(session, approval, title)
            if card is not None:
                ctx.push(approval.escalated_to.line_user_id, card)
    cases = account_requests.cases_to_remind(session, now)
    for case in cases:  # leavers and movers: each owner whose task is still open, weekly
        for task in account_requests.open_tasks(session, case):
            owner = task.system.owner
            if owner is not None and owner.line_user_id:
                ctx.push(owner.line_user_id, text(texts.LEAVER_REMINDER.format(
                    number=task.number, system=task.system.name, name=case.staff.name, kind=case.kind_name)))
    ctx.flush()
    return len(due) + len(cases)

