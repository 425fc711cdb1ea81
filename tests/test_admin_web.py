"""The admin web: who may open which page, login with password and one-time code, CSRF, limits."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pyotp
import pytest
import time_machine
from sqlalchemy import select

from bot.database import get_db
from models import web_login
from models.audit import AuditEntry
from models.base import utcnow
from models.org import staff_by_code

PASSWORD = "correct horse battery"
# S021 is plain staff: given a login and then losing the role is the realistic way to get here.
PEOPLE = {"staff": "S021", "it": "S011", "admin": "S001"}


# No test here holds an app context across requests (the `db` fixture does): Flask-WTF keeps the
# CSRF token on `g`, which would then leak from one test client to the next.


@contextmanager
def transaction(app):
    with app.app_context(), get_db().transaction() as session:
        yield session


def enrol(app, code: str) -> str:
    with transaction(app) as session:
        return web_login.set_password(session, staff_by_code(session, code), PASSWORD, utcnow()).secret


def login(client, code: str, secret: str, password: str = PASSWORD, otp: str | None = None):
    page = client.get("/admin/login")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    return client.post("/admin/login", data={"csrf_token": token, "code": code, "password": password,
                                             "otp": otp if otp is not None else pyotp.TOTP(secret).now()})


def csrf_of(client, path: str = "/admin/tickets") -> str:
    return client.get(path).get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]


def admin_routes(app) -> list[tuple[str, str, tuple[str, ...]]]:
    """Every GET route under /admin but the login page, with sample arguments, and who may see it."""
    samples = {"number": "INC-2570-0001", "file_id": "1", "staff_code": "S021", "faq_id": "faq-vpn",
               "reminder_code": "BACKUP-TEST"}
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.endpoint in ("admin.login", "admin.logout"):
            continue
        view = app.view_functions[rule.endpoint]
        assert getattr(view, "roles", None), f"{rule.endpoint} is not protected"
        if "GET" in rule.methods:
            path = rule.rule
            for arg in rule.arguments:
                path = path.replace(f"<{arg}>", samples[arg]).replace(f"<int:{arg}>", samples[arg])
            found.append((rule.endpoint, path, view.roles))
    return found


def test_every_admin_route_is_protected_for_each_kind_of_person(app):
    routes = admin_routes(app)
    assert len(routes) >= 3
    anonymous = app.test_client()
    for _endpoint, path, _roles in routes:
        answer = anonymous.get(path)
        assert answer.status_code == 302 and "/admin/login" in answer.headers["Location"], path
    for role, code in PEOPLE.items():
        client = app.test_client()
        secret = enrol(app, code)
        assert login(client, code, secret).status_code == 302
        for _endpoint, path, roles in routes:
            answer = client.get(path)
            status = answer.status_code
            allowed = role in roles or (role == "admin" and "it" in roles)
            if allowed:
                # 404: the sample number does not exist; 302: a page that forwards (not to the login)
                assert status in (200, 404) or (status == 302 and "login" not in answer.headers["Location"]), \
                    (role, path, status)
            else:
                assert status == 403, (role, path, status)


def test_it_sees_tickets_and_filters_them(app, client, line, worker):
    from tests.test_incidents import _report_hosxp  # a real ticket, reported through LINE

    _report_hosxp(app.test_client(), line, worker)
    secret = enrol(app, "S011")
    login(client, "S011", secret)
    page = client.get("/admin/tickets?state=open&category=his").get_data(as_text=True)
    assert "INC-" in page and "HIS/HOSxP" in page
    empty = client.get("/admin/tickets?category=printer").get_data(as_text=True)
    assert "ไม่พบงานตามเงื่อนไขนี้" in empty
    number = page.split('/admin/tickets/')[1].split('"')[0]
    detail = client.get(f"/admin/tickets/{number}").get_data(as_text=True)
    assert "ประวัติ" in detail and "created" in detail


def test_a_post_without_the_csrf_token_is_refused(app, client):
    secret = enrol(app, "S001")
    page = client.get("/admin/login")
    assert page.status_code == 200
    refused = client.post("/admin/login", data={"code": "S001", "password": PASSWORD,
                                                "otp": pyotp.TOTP(secret).now()})
    assert refused.status_code == 400
    assert login(client, "S001", secret).status_code == 302
    assert client.post("/admin/logout").status_code == 400  # logged in, still no token: refused
    assert client.get("/admin/tickets").status_code == 200
    assert client.post("/admin/logout", data={"csrf_token": csrf_of(client)}).status_code == 302
    assert client.get("/admin/tickets").status_code == 302


def test_the_one_time_code_is_required_and_used_once(app):
    secret = enrol(app, "S001")
    totp = pyotp.TOTP(secret)
    assert login(app.test_client(), "S001", secret, otp="000000" if totp.now() != "000000" else "111111"
                 ).status_code == 401
    assert login(app.test_client(), "S001", secret, otp="").status_code == 401
    assert login(app.test_client(), "S001", secret, password="wrong password!").status_code == 401
    code = totp.now()
    assert login(app.test_client(), "S001", secret, otp=code).status_code == 302
    assert login(app.test_client(), "S001", secret, otp=code).status_code == 401  # replayed
    with time_machine.travel(utcnow() + timedelta(seconds=30), tick=False):
        previous = totp.at(utcnow() - timedelta(seconds=30))
        fresh = totp.now()
        # the code of the step before is still accepted once (clock drift), unless already used
        assert login(app.test_client(), "S001", secret, otp=fresh).status_code == 302
        assert login(app.test_client(), "S001", secret, otp=previous).status_code == 401


def test_failed_logins_lock_the_account_then_the_address(app):
    secret = enrol(app, "S001")
    for _ in range(web_login.ACCOUNT_FAILURES):
        assert login(app.test_client(), "S001", secret, password="not the password").status_code == 401
    locked = login(app.test_client(), "S001", secret)
    assert locked.status_code == 401 and "15 นาที" in locked.get_data(as_text=True)
    with time_machine.travel(utcnow() + web_login.LOCK_FOR + timedelta(seconds=31), tick=False):
        assert login(app.test_client(), "S001", secret).status_code == 302
    for i in range(web_login.ADDRESS_FAILURES):
        login(app.test_client(), f"S9{i:02d}", secret)  # unknown accounts from one address
    refused = login(app.test_client(), "S011", enrol(app, "S011"))
    assert refused.status_code == 401 and "มากเกินไป" in refused.get_data(as_text=True)
    with transaction(app) as session:
        actions = [a.action for a in session.scalars(select(AuditEntry).where(AuditEntry.action.like("web.%")))]
    assert "web.login_locked" in actions and actions.count("web.login") >= 1


def test_a_password_reset_or_idle_time_ends_the_session(app, client):
    secret = enrol(app, "S001")
    login(client, "S001", secret)
    assert client.get("/admin/tickets").status_code == 200
    with time_machine.travel(utcnow() + timedelta(minutes=31), tick=False):
        assert client.get("/admin/tickets").status_code == 302
    login(client, "S001", secret, otp=pyotp.TOTP(secret).at(utcnow() + timedelta(seconds=30)))
    with time_machine.travel(utcnow() + timedelta(seconds=30), tick=False):
        assert client.get("/admin/tickets").status_code == 200
        enrol(app, "S001")
        assert client.get("/admin/tickets").status_code == 302


def test_the_session_cookie_is_http_only_and_secure_outside_tests(app, client):
    from bot.config import Config

    assert Config().SESSION_COOKIE_SECURE is True and Config().SESSION_COOKIE_HTTPONLY is True
    secret = enrol(app, "S001")
    answer = login(client, "S001", secret)
    cookie = answer.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_passwords_are_hashed_and_short_ones_refused(app):
    with transaction(app) as session:
        staff = staff_by_code(session, "S001")
        with pytest.raises(ValueError):
            web_login.set_password(session, staff, "short", utcnow())
        web_login.set_password(session, staff, PASSWORD, utcnow())
        row = session.get(web_login.WebCredential, staff.id)
        assert PASSWORD not in row.password_hash and row.password_hash.startswith(("scrypt:", "pbkdf2:"))


def test_login_attempts_are_access_log_metadata_kept_90_days(app):
    from models import privacy

    secret = enrol(app, "S001")
    login(app.test_client(), "S001", secret, password="not the password")
    keep = privacy.Retention(tickets=timedelta(days=1), conversations=timedelta(days=1), inbox=timedelta(days=1),
                             outbox=timedelta(days=1))
    with transaction(app) as session:
        assert privacy.purge(session, utcnow() + timedelta(days=89), keep)["login_attempts"] == 0
        row = session.scalar(select(web_login.LoginAttempt))
        assert row.staff_code == "S001" and "127.0.0.1" not in row.address  # the address only as a hash
    with transaction(app) as session:
        assert privacy.purge(session, utcnow() + timedelta(days=91), keep)["login_attempts"] == 1


def test_behind_a_trusted_proxy_the_limits_count_the_client_address(app):
    """Otherwise every login would come from the proxy and twenty failures would lock everyone out."""
    from bot import create_app
    from tests.conftest import make_config

    proxied = create_app(make_config(app.config["DATABASE_URL"], type("L", (), {"base_url": "http://x"})(),
                                     TRUST_PROXY_HOPS=1))
    secret = enrol(app, "S001")
    for i in range(web_login.ADDRESS_FAILURES):
        client = proxied.test_client()
        client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.7"
        login(client, f"S9{i:02d}", secret)
    elsewhere = proxied.test_client()
    elsewhere.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.9"
    assert login(elsewhere, "S001", secret).status_code == 302
    attacker = proxied.test_client()
    attacker.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.7"
    refused = login(attacker, "S011", enrol(app, "S011"))
    assert refused.status_code == 401 and "มากเกินไป" in refused.get_data(as_text=True)
