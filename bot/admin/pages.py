"""Admin pages: what IT and admins look at and change. Each view reads or changes through models and
records every change in the audit log."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, has_request_context, redirect, render_template, request, url_for
from sqlalchemy import select

from bot.admin import NAV, bp
from bot.admin.auth import IT_PAGES, current_staff, require
from bot.database import get_db
from models import tickets
from models.org import Staff, staff_with_role
from models.thai_dates import thai_datetime
from models.tickets import Ticket, TicketEvent, TicketPhoto

PAGE_SIZE = 50
NAV.append(("admin.tickets_page", "งานแจ้งซ่อม", IT_PAGES))


@bp.app_template_filter("be")
def be_datetime(moment: Any) -> str:
    """Buddhist-Era date and time in Bangkok, as every page shows them."""
    return thai_datetime(moment) if moment else "-"


@bp.app_context_processor
def _layout() -> dict[str, Any]:
    in_admin = has_request_context() and request.path.startswith("/admin")  # CLI renders pages too
    return {"me": current_staff() if in_admin else None, "nav": NAV}


@bp.get("/")
@require(*IT_PAGES)
def home() -> Any:
    return redirect(url_for("admin.tickets_page"))


@bp.get("/tickets")
@require(*IT_PAGES)
def tickets_page() -> Any:
    wanted = {key: request.args.get(key, "") for key in ("state", "category", "priority", "officer")}
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    with get_db().transaction() as session:
        stmt = select(Ticket).order_by(Ticket.id.desc())
        if wanted["state"] == "open":
            stmt = stmt.where(Ticket.state.in_(tickets.OPEN_STATES))
        elif wanted["state"] in tickets.STATE_NAMES:
            stmt = stmt.where(Ticket.state == wanted["state"])
        if wanted["category"] in tickets.CATEGORIES:
            stmt = stmt.where(Ticket.category == wanted["category"])
        if wanted["priority"] in tickets.PRIORITIES:
            stmt = stmt.where(Ticket.priority == wanted["priority"])
        officers = staff_with_role(session, "it")
        officer = next((o for o in officers if o.code == wanted["officer"]), None)
        if officer is not None:
            stmt = stmt.where(Ticket.assignee_id == officer.id)
        rows = list(session.scalars(stmt.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
        for row in rows:
            _ = row.reporter, row.assignee  # loaded before the session closes
    return render_template("admin/tickets.html", rows=rows[:PAGE_SIZE], more=len(rows) > PAGE_SIZE, page=page,
                           wanted=wanted, officers=officers, states=tickets.STATE_NAMES,
                           categories=tickets.CATEGORIES, priorities=tickets.PRIORITIES)


@bp.get("/tickets/<number>")
@require(*IT_PAGES)
def ticket_page(number: str) -> Any:
    with get_db().transaction() as session:
        ticket = tickets.by_number(session, number)
        if ticket is None:
            abort(404)
        _ = ticket.reporter, ticket.assignee
        events = list(session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                                      .order_by(TicketEvent.at, TicketEvent.id)))
        names = {s.id: s.name for s in session.scalars(select(Staff))}
        photos = list(session.scalars(select(TicketPhoto).where(TicketPhoto.ticket_id == ticket.id)
                                      .order_by(TicketPhoto.id)))
    return render_template("admin/ticket.html", t=ticket, events=events, names=names, photos=photos)


@bp.get("/files/<int:file_id>")
@require(*IT_PAGES)
def stored_file(file_id: int) -> Any:
    """A photo or file kept with a ticket, a website request or a reminder's evidence."""
    with get_db().transaction() as session:
        row = session.get(TicketPhoto, file_id)
        if row is None or row.data is None:
            abort(404)
        data, content_type = row.data, row.content_type or "application/octet-stream"
    safe = content_type if content_type.startswith(("image/", "application/pdf")) else "application/octet-stream"
    response = Response(data, mimetype=safe)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    if safe == "application/octet-stream":
        response.headers["Content-Disposition"] = f"attachment; filename=file-{file_id}"
    return response
