"""The announcement's request form for one WEB- request, as HTML to print on A4 (Buddhist-Era dates)."""

from __future__ import annotations

from datetime import datetime

from flask import render_template
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.approvals import Approval
from models.org import Organization
from models.thai_dates import thai_date
from models.web_requests import WebRequest


def render_form(session: Session, request: WebRequest) -> str:
    approval = session.get(Approval, request.approval_id) if request.approval_id else None
    approved = approval.decided_by if approval and approval.state == "approved" else None

    def day(moment: datetime | None) -> str:
        return thai_date(moment) if moment else ""

    org = session.scalar(select(Organization.name)) or "หน่วยงาน"
    return render_template(
        "web/form.html", r=request, org=org, approver=approved or (approval.approver if approval else None),
        request_date=day(request.created_at), approved_date=day(approval.decided_at if approved else None),
        published_date=day(request.published_at),
        days=f"{request.publish_days} วัน" if request.publish_days else "ไม่กำหนด",
    )
