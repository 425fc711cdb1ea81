"""Account (ACC-…) and website (WEB-…) requests for IT: where each one stands and who decided it."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import render_template, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.admin import NAV, bp
from bot.admin.auth import IT_PAGES, require
from bot.database import get_db
from models import accounts, web_requests
from models.accounts import AccountRequest
from models.approvals import Approval
from models.tickets import PHOTO_FAILED, PHOTO_PENDING, PHOTO_STORED, TicketPhoto
from models.web_requests import WebRequest

PAGE_SIZE = 100
R = TypeVar("R", AccountRequest, WebRequest)
KINDS = {"acc": "คำขอบัญชีผู้ใช้ (ACC)", "web": "คำขอเผยแพร่เว็บไซต์ (WEB)"}
DECISIONS = {"pending": "รอพิจารณา", "approved": "อนุมัติ", "rejected": "ไม่อนุมัติ"}
FILE_STATES = {PHOTO_PENDING: "ยังไม่ได้รับไฟล์จาก LINE", PHOTO_FAILED: "รับไฟล์ไม่สำเร็จ",
               PHOTO_STORED: "ไม่มีข้อมูลไฟล์"}
NAV.append(("admin.requests_page", "คำขอบัญชี/เว็บไซต์", IT_PAGES))


def _attachments(session: Any, ids: set[int]) -> dict[int, list[tuple[int, str, str, bool]]]:
    """The files each website request came with: (id, status, content type, kept), without their bytes."""
    found: dict[int, list[tuple[int, str, str, bool]]] = {}
    if not ids:
        return found
    rows = session.execute(select(TicketPhoto.id, TicketPhoto.web_request_id, TicketPhoto.status,
                                  TicketPhoto.content_type, TicketPhoto.data.is_not(None))
                           .where(TicketPhoto.web_request_id.in_(ids)).order_by(TicketPhoto.id))
    for file_id, request_id, status, content_type, kept in rows:
        found.setdefault(request_id, []).append((file_id, status, content_type or "", bool(kept)))
    return found


def _approvals(session: Any, ids: set[int]) -> dict[int, Approval]:
    """The approval of each request, with its people loaded before the session closes."""
    if not ids:
        return {}
    rows = {a.id: a for a in session.scalars(select(Approval).where(Approval.id.in_(ids)))}
    for row in rows.values():
        _ = row.approver, row.decided_by, row.escalated_to
    return rows


def _latest(session: Session, model: type[R], state: str, shown: tuple[str, ...]) -> list[R]:
    """The newest requests of one kind (in one state), with the people shown loaded before the
    session closes."""
    stmt = select(model).order_by(model.id.desc()).limit(PAGE_SIZE)
    if state:
        stmt = stmt.where(model.state == state)
    rows = list(session.scalars(stmt))
    for row in rows:
        for name in shown:
            getattr(row, name)
    return rows


@bp.get("/requests")
@require(*IT_PAGES)
def requests_page() -> Any:
    states = {**accounts.STATE_NAMES, **web_requests.STATE_NAMES, "approved": "อนุมัติแล้ว (ยังไม่ดำเนินการ)"}
    wanted = {"kind": request.args.get("kind", ""), "state": request.args.get("state", "")}
    if wanted["kind"] not in KINDS:
        wanted["kind"] = ""
    if wanted["state"] not in states:
        wanted["state"] = ""
    account_rows: list[AccountRequest] = []
    web_rows: list[WebRequest] = []
    with get_db().transaction() as session:
        if wanted["kind"] in ("", "acc") and (not wanted["state"] or wanted["state"] in accounts.STATE_NAMES):
            account_rows = _latest(session, AccountRequest, wanted["state"],
                                   ("requester", "subject", "system", "done_by"))
        if wanted["kind"] in ("", "web") and (not wanted["state"] or wanted["state"] in web_requests.STATE_NAMES):
            web_rows = _latest(session, WebRequest, wanted["state"],
                               ("requester", "work_group", "webmaster", "taken_down_by"))
        attachments = _attachments(session, {web.id for web in web_rows})
        approvals = _approvals(session, {r.approval_id for r in [*account_rows, *web_rows] if r.approval_id})
    return render_template("admin/requests.html", account_rows=account_rows, web_rows=web_rows, approvals=approvals,
                           wanted=wanted, states=states, kinds=KINDS, decisions=DECISIONS, limit=PAGE_SIZE,
                           attachments=attachments, file_states=FILE_STATES)
