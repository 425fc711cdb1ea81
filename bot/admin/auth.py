"""Login (staff code + password + one-time code), the signed session cookie, and who may see what.

Sessions end after ADMIN_IDLE_MINUTES without a request and when the password is reset; every
POST carries a CSRF token (Flask-WTF); failed logins are limited per account and per address in
the database (models.web_login), so all web processes share the limits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import abort, current_app, redirect, render_template, request, session, url_for

from bot.admin import bp
from bot.database import get_db
from models import audit, web_login
from models.base import utcnow
from models.org import Staff

F = TypeVar("F", bound=Callable[..., Any])
IT_PAGES = ("it", "admin")  # tickets, requests, dashboard, undelivered messages, quota
ADMIN_PAGES = ("admin",)  # staff, registration codes, knowledge base, reminders, resend


def _marker(row: web_login.WebCredential) -> str:
    """Changes when the password is reset, which ends every session of that person. A digest, not a
    piece of the hash: the session cookie is signed, not encrypted."""
    return hashlib.sha256(row.password_hash.encode()).hexdigest()[:16]


def current_staff() -> Staff | None:
    # Cached per request (not on g: tests and CLI may keep one app context across requests).
    cache = request.environ
    if "helpdesk.staff" in cache:
        return cache["helpdesk.staff"]
    cache["helpdesk.staff"] = None
    staff_id, seen = session.get("staff_id"), session.get("seen")
    if not isinstance(staff_id, int) or not isinstance(seen, (int, float)):
        return None
    idle = timedelta(minutes=current_app.config["ADMIN_IDLE_MINUTES"])
    if utcnow().timestamp() - seen > idle.total_seconds():
        session.clear()
        return None
    with get_db().transaction() as db_session:
        row = db_session.get(web_login.WebCredential, staff_id)
        staff = db_session.get(Staff, staff_id)
        marker = _marker(row) if row is not None else None
    if staff is None or not staff.active or marker is None or session.get("marker") != marker:
        session.clear()
        return None
    session["seen"] = utcnow().timestamp()
    cache["helpdesk.staff"] = staff
    return staff


def require(*roles: str) -> Callable[[F], F]:
    """Anonymous → the login page; logged in without one of the roles → 403."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            staff = current_staff()
            if staff is None:
                return redirect(url_for("admin.login", next=request.full_path if request.method == "GET" else None))
            if not staff.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapped.roles = roles  # type: ignore[attr-defined]  (tests check every admin route has some)
        return wrapped  # type: ignore[return-value]

    return decorator


def record(action: str, subject: str = "", **detail: Any) -> None:
    """Every admin action goes to the audit log, with who did it."""
    staff = current_staff()
    with get_db().transaction() as db_session:
        audit.record(db_session, utcnow(), action, subject=subject[:64], actor_id=staff.id if staff else None,
                     **detail)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/admin") and not target.startswith("//"):
        return target
    return url_for("admin.home")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error = ""
    if request.method == "POST":
        address = web_login.hash_address(request.remote_addr or "", current_app.config["SECRET_KEY"])
        with get_db().transaction() as db_session:
            result, staff = web_login.verify(db_session, request.form.get("code", ""),
                                             request.form.get("password", ""), request.form.get("otp", ""),
                                             address, utcnow())
            row = db_session.get(web_login.WebCredential, staff.id) if staff else None
            marker = _marker(row) if row else ""
        if result is web_login.Result.OK and staff is not None:
            session.clear()
            session.permanent = True
            session.update(staff_id=staff.id, seen=utcnow().timestamp(), marker=marker)
            return redirect(_safe_next(request.form.get("next")))
        error = {
            web_login.Result.LOCKED: "บัญชีนี้ถูกพักชั่วคราว 15 นาที เพราะใส่รหัสผิดหลายครั้ง",
            web_login.Result.TOO_MANY: "มีการลองเข้าสู่ระบบจากเครื่องนี้มากเกินไป โปรดรอ 15 นาที",
        }.get(result, "รหัสเจ้าหน้าที่ รหัสผ่าน หรือรหัสยืนยัน 6 หลักไม่ถูกต้อง")
        return render_template("admin/login.html", error=error, next=request.form.get("next", "")), 401
    return render_template("admin/login.html", error=error, next=request.args.get("next", ""))


@bp.post("/logout")
def logout() -> Any:
    if current_staff() is not None:
        record("web.logout")
    session.clear()
    return redirect(url_for("admin.login"))


@bp.app_errorhandler(403)
def forbidden(_error: Exception) -> Any:
    if request.path.startswith("/admin"):
        return render_template("admin/error.html", title="ไม่มีสิทธิ์เข้าถึง",
                               message="หน้านี้สำหรับผู้ดูแลระบบหรือเจ้าหน้าที่ไอทีเท่านั้นค่ะ"), 403
    return "forbidden", 403
