"""`python -m bot demo`: the whole helpdesk in one process, with a fake LINE platform to chat through.

Web app, worker jobs and the fake platform share one process and one SQLite file, so anyone can
try the bot on a laptop without a LINE channel.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from flask import Flask
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from bot import create_app
from bot.config import DemoConfig
from bot.database import get_db
from models import migrate
from models.base import utcnow
from models.db import make_engine

if TYPE_CHECKING:
    from bot.fake_line import FakeLine

DEMO_DATABASE_URL = "sqlite:///instance/demo.db"
DEMO_ORG_FILE = Path(__file__).with_name("demo_org.yaml")
REGISTER_STAFF = "S022"  # the one demo staff member without a LINE account yet
DEMO_ADMIN = "S010"  # an IT officer and admin: logs in to the admin web in the demo
DEMO_ADMIN_PASSWORD = "demo-admin-password"  # the demo only, served on 127.0.0.1
FAKE_LINE_EXTENSION = "fake_line"


@dataclass(frozen=True)
class DemoStart:
    """What the demo prints for the person trying it."""

    staff_code: str
    staff_name: str
    registration_code: str | None  # None when that person already registered in an earlier run
    admin_totp_secret: str = ""  # the demo admin's authenticator secret (new each start)


def demo_config(line_base_url: str, database_url: str | None = None) -> DemoConfig:
    """Demo settings; DATABASE_URL from the environment still wins (tests point it into a tmp dir)."""
    config = DemoConfig()  # reads .env first, so its DATABASE_URL counts too
    config.DATABASE_URL = database_url or os.environ.get("DATABASE_URL") or DEMO_DATABASE_URL
    config.LINE_API_BASE_URL = line_base_url.rstrip("/")
    return config


def reset_database(database_url: str) -> bool:
    """Delete a SQLite demo database (and its WAL files). Other databases are never touched."""
    url = make_url(database_url)
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return False
    for suffix in ("", "-wal", "-shm"):
        Path(database + suffix).unlink(missing_ok=True)
    return True


def build_app(config: DemoConfig, fake: FakeLine) -> Flask:
    """Migrate, load the demo organisation and attach the fake platform for the simulator."""
    migrate.upgrade(config.DATABASE_URL)
    app = create_app(config)
    app.extensions[FAKE_LINE_EXTENSION] = fake
    load_demo_org(app)
    return app


def load_demo_org(app: Flask, path: Path = DEMO_ORG_FILE) -> None:
    from models.org_import import import_org_file
    from models.reminders import install_defaults_once

    with app.app_context(), get_db().transaction() as session:
        import_org_file(session, path, utcnow())
        install_defaults_once(session, utcnow())


def issue_demo_code(app: Flask, staff_code: str = REGISTER_STAFF) -> DemoStart:
    """A fresh registration code each start (earlier ones stop working), unless already bound."""
    from models.org import staff_by_code
    from models.registration import issue_code
    from models.web_login import set_password

    with app.app_context(), get_db().transaction() as session:
        staff = staff_by_code(session, staff_code)
        if staff is None:
            raise LookupError(f"demo organisation has no staff {staff_code}")
        admin = staff_by_code(session, DEMO_ADMIN)
        secret = set_password(session, admin, DEMO_ADMIN_PASSWORD, utcnow()).secret if admin else ""
        if staff.line_user_id:
            return DemoStart(staff.code, staff.name, None, secret)
        return DemoStart(staff.code, staff.name, issue_code(session, staff, utcnow()), secret)


def banner(url: str, start: DemoStart) -> str:
    lines = [
        "",
        "ผู้ช่วยงานไอที · โหมดสาธิต / IT helpdesk demo",
        f"  เปิดเครื่องจำลอง LINE ที่ / Open the LINE simulator at:  {url}",
    ]
    if start.registration_code:
        lines += [
            f"  รหัสลงทะเบียนของ {start.staff_code} {start.staff_name} / "
            f"Registration code for {start.staff_code}:  {start.registration_code}",
            "  (เลือก \"ผู้ใช้ใหม่\" ในเครื่องจำลองแล้วส่งรหัสนี้ / "
            "choose the new user in the simulator and send this code)",
        ]
    else:
        lines.append(
            f"  {start.staff_code} ลงทะเบียนแล้ว ใช้ --reset เพื่อเริ่มใหม่ / "
            f"{start.staff_code} is already registered; use --reset to start over"
        )
    if start.admin_totp_secret:
        admin_url = url.rsplit("/", 1)[0] + "/admin/"
        lines += [
            f"  หน้าผู้ดูแล / Admin web:  {admin_url}  ({DEMO_ADMIN} / {DEMO_ADMIN_PASSWORD})",
            "  รหัสยืนยัน 6 หลัก / one-time code:  "
            f".venv/bin/python -c \"import pyotp; print(pyotp.TOTP('{start.admin_totp_secret}').now())\"",
        ]
    lines += ["  กด Ctrl-C เพื่อหยุด / Press Ctrl-C to stop", ""]
    return "\n".join(lines)


def _connect_host(host: str) -> str:
    """Where the fake platform and the browser (same machine) reach the web server."""
    if host in ("", "0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _already_running(database_url: str) -> bool:
    """Probe the worker lock before touching the database (a reset would pull it from under them)."""
    from bot.worker_lock import WorkerAlreadyRunning, WorkerLock

    engine = make_engine(database_url)
    probe = WorkerLock(engine)
    try:
        probe.acquire()
    except WorkerAlreadyRunning:
        return True
    finally:
        engine.dispose()
    probe.release()
    return False


def _stop_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(host: str = "127.0.0.1", port: int = 8000, reset: bool = False) -> int:
    from bot.fake_line import FakeLine
    from bot.worker import start_background
    from bot.worker_lock import WorkerAlreadyRunning

    base = DemoConfig()
    fake = FakeLine(base.LINE_CHANNEL_SECRET, base.LINE_CHANNEL_ACCESS_TOKEN)
    line_base_url = fake.start(port=0)
    scheduler = lock = server = None
    try:
        config = demo_config(line_base_url)
        if _already_running(config.DATABASE_URL):
            print("มีการสาธิตอื่นใช้ฐานข้อมูลนี้อยู่ / another demo is using this database", file=sys.stderr)
            return 3
        if reset and not reset_database(config.DATABASE_URL):
            print("--reset ใช้ได้กับ SQLite เท่านั้น / --reset only deletes a SQLite database", file=sys.stderr)
        app = build_app(config, fake)
        start = issue_demo_code(app)
        try:
            server = make_server(host, port, app, threaded=True)
        except (OSError, SystemExit):  # werkzeug explains a busy port in English, then exits
            print(f"เปิดพอร์ต {port} ไม่ได้ ลองใช้ --port อื่น / cannot listen on {host}:{port}", file=sys.stderr)
            return 2
        fake.webhook_url = f"http://{_connect_host(host)}:{server.server_port}/callback"
        # Request lines and job runs would flood the console (the page polls, jobs run 4x a second).
        for noisy in ("werkzeug", "apscheduler"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        try:
            scheduler, lock = start_background(app)
        except WorkerAlreadyRunning:
            print("มีการสาธิตอื่นใช้ฐานข้อมูลนี้อยู่ / another demo is using this database", file=sys.stderr)
            return 3
        url = f"http://{_connect_host(host)}:{server.server_port}/simulator"
        print(banner(url, start), flush=True)
        signal.signal(signal.SIGTERM, _stop_on_sigterm)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
        print("หยุดการสาธิตแล้ว / demo stopped", flush=True)
        return 0
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=True)
        if lock is not None:
            lock.release()
        if server is not None:
            server.server_close()
        fake.stop()
