"""Messages LINE never took (dead outbox rows): IT sees what and to whom, an admin can resend.

Only who it was for (by name) and the kinds of message are shown, never the text or a raw LINE id:
the text may hold what a person reported, and the page is open to every IT officer.
"""

from __future__ import annotations

import re
from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from sqlalchemy import select

from bot.admin import NAV, bp
from bot.admin.auth import ADMIN_PAGES, IT_PAGES, current_staff, record, require
from bot.database import get_db
from models import outbox
from models.base import utcnow
from models.org import Staff, get_setting
from models.org_import import IT_TARGET_SETTING
from models.outbox import OutboxMessage

PAGE_SIZE = 200
LINE_ID = re.compile(r"\b[UCR][0-9a-f]{32}\b")
NAV.append(("admin.outbox_page", "ข้อความที่ส่งไม่สำเร็จ", IT_PAGES))


def recipient(row: OutboxMessage, names: dict[str, str], it_target: str | None) -> str:
    """Who a row was for, in words an officer recognises."""
    if row.to_id == outbox.MULTICAST:
        return f"ประกาศถึงเจ้าหน้าที่ {len(row.recipients or [])} คน"
    if row.to_id in names:
        return names[row.to_id]
    if it_target and row.to_id == it_target:
        return "กลุ่ม LINE ของทีมไอที"
    if row.to_id[:1] in ("C", "R"):
        return "กลุ่ม LINE อื่น"
    return "ผู้ใช้ LINE ที่ไม่อยู่ในรายชื่อเจ้าหน้าที่"


@bp.get("/outbox")
@require(*IT_PAGES)
def outbox_page() -> Any:
    with get_db().transaction() as session:
        rows = list(session.scalars(select(OutboxMessage).where(OutboxMessage.status == outbox.DEAD)
                                    .order_by(OutboxMessage.id.desc()).limit(PAGE_SIZE)))
        wanted = {row.to_id for row in rows}
        names = {s.line_user_id: s.name for s in session.scalars(select(Staff).where(Staff.line_user_id.in_(wanted)))
                 if s.line_user_id} if wanted else {}
        it_target = get_setting(session, IT_TARGET_SETTING)
    items = [{
        "id": row.id, "created_at": row.created_at, "to": recipient(row, names, it_target),
        "types": ", ".join(str(m.get("type", "?")) for m in row.messages or []),
        "attempts": row.attempts, "status": row.last_status,
        "error": LINE_ID.sub("…", row.last_error or "")[:300],
    } for row in rows]
    me = current_staff()
    return render_template("admin/outbox.html", items=items, may_resend=bool(me and me.has_role(*ADMIN_PAGES)),
                           limit=PAGE_SIZE)


@bp.post("/outbox/<int:row_id>/resend")
@require(*ADMIN_PAGES)
def outbox_resend(row_id: int) -> Any:
    with get_db().transaction() as session:
        if session.get(OutboxMessage, row_id) is None:
            abort(404)
        done = outbox.resend(session, row_id, utcnow())
    if done:
        record("outbox.resend", str(row_id))
        flash(f"ส่งข้อความ #{row_id} ใหม่แล้ว ระบบจะส่งในรอบถัดไป")
    else:
        flash(f"ข้อความ #{row_id} ไม่อยู่ในสถานะส่งไม่สำเร็จแล้ว (อาจมีผู้กดส่งใหม่ไปก่อน)")
    return redirect(url_for("admin.outbox_page"))
