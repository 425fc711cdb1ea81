"""Shared fixtures: a database per test (SQLite, and PostgreSQL when TEST_DATABASE_URL is set),
the app, the fake LINE platform, and a worker that runs one tick at a time."""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot import create_app
from bot.config import TestConfig
from bot.database import get_db
from bot.fake_line import FakeLine
from bot.line_api import LineApi
from bot.worker import Worker
from models.base import Base, utcnow

CHANNEL_SECRET = "test-channel-secret"
ACCESS_TOKEN = "test-access-token"
DATA = Path(__file__).with_name("data")
ORG_FILE = DATA / "org.example.yaml"
POSTGRES_SKIP_REASON = "PostgreSQL variant skipped: TEST_DATABASE_URL is not set"

# LINE ids of the example organisation (tests/data/org.example.yaml)
MALEE = "U531af49b0dccf1bfeb9c3b46d1d4f42e"  # S021, staff
KANDA = "Uc1228799e3f80e9005ab7f04af628b10"  # S010, it + admin
DIRECTOR = "U798df8d1c24a97ced3d593b243e34e2e"  # S001, admin
IT_GROUP = "Cd6bf1887c21e694656297a89590734c2"


class _Everything(logging.Handler):
    """Keeps every log record of the run, for tests/test_zz_logs.py to scan for personal data."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


EVERYTHING_LOGGED = _Everything()

# CI explores the same examples on every run (a landing is never blocked by a lucky draw); local runs
# explore new ones and keep what they find in .hypothesis/.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


def pytest_configure(config: pytest.Config) -> None:
    logging.getLogger().addHandler(EVERYTHING_LOGGED)


def pytest_report_header(config: pytest.Config) -> str:
    if os.environ.get("TEST_DATABASE_URL"):
        return "databases: SQLite and PostgreSQL (TEST_DATABASE_URL)"
    return f"databases: SQLite only ({POSTGRES_SKIP_REASON})"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/helpdesk.db"
        return
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip(POSTGRES_SKIP_REASON)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def fake_line_server() -> Iterator[FakeLine]:
    fake = FakeLine(channel_secret=CHANNEL_SECRET, access_token=ACCESS_TOKEN)
    fake.start(port=0)
    yield fake
    fake.stop()


@pytest.fixture
def line(fake_line_server: FakeLine) -> Iterator[FakeLine]:
    """The fake platform; a test fails if the bot sent anything LINE would reject."""
    fake_line_server.reset()
    yield fake_line_server
    assert fake_line_server.violations == [], "requests LINE would reject"


def process_env(database_url: str, line: FakeLine, **extra: str) -> dict[str, str]:
    """The environment of a bot process (worker, gunicorn) started by a test: this test's database and
    fake LINE, production settings otherwise (no demo mode), a fast poll."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "FLASK_"))}
    env.update(DATABASE_URL=database_url, LINE_API_BASE_URL=line.base_url, LINE_CHANNEL_SECRET=CHANNEL_SECRET,
               LINE_CHANNEL_ACCESS_TOKEN=ACCESS_TOKEN, SECRET_KEY="test", LINE_TIMEOUT_SECONDS="10",
               WORKER_POLL_SECONDS="0.05", HELPDESK_MODE="")
    env.update(extra)
    return env


def make_config(database_url: str, line: FakeLine, **overrides: Any) -> TestConfig:
    return TestConfig(
        DATABASE_URL=database_url,
        LINE_API_BASE_URL=line.base_url,
        LINE_CHANNEL_SECRET=CHANNEL_SECRET,
        LINE_CHANNEL_ACCESS_TOKEN=ACCESS_TOKEN,
        **overrides,
    )


@pytest.fixture
def bare_app(database_url: str, line: FakeLine) -> Iterator[Any]:
    """The app on an empty schema."""
    app = create_app(make_config(database_url, line))
    with app.app_context():
        Base.metadata.create_all(get_db().engine)
    yield app
    with app.app_context():
        get_db().engine.dispose()


@pytest.fixture
def app(bare_app: Any) -> Any:
    """The app with the example organisation loaded."""
    from models.org_import import import_org_file

    with bare_app.app_context(), get_db().transaction() as session:
        import_org_file(session, ORG_FILE, utcnow())
    return bare_app


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def db(app: Any) -> Any:
    with app.app_context():
        yield get_db()


@pytest.fixture
def worker(app: Any, line: FakeLine) -> Iterator[Worker]:
    # Generous: on a loaded machine a first large Flex validation can take seconds, and a timed-out
    # reply under a frozen clock would never be retried within the test.
    api = LineApi(line.base_url, ACCESS_TOKEN, timeout=10.0)
    yield Worker(app, api)
    api.close()


def post_events(client: Any, line: FakeLine, events: list[dict[str, Any]]) -> Any:
    """POST events to /callback signed as LINE signs them."""
    body, signature = line.sign_events(events)
    return client.post("/callback", data=body, headers={"X-Line-Signature": signature,
                                                        "Content-Type": "application/json"})


def say(client: Any, line: FakeLine, worker: Worker, user_id: str, words: str, **kw: Any) -> list[dict]:
    """A person sends text; the worker runs; returns what the bot sent that person (new only)."""
    before = len(line.messages_to(kw.get("group_id") or user_id))
    assert post_events(client, line, [line.make_event("text", user_id, text=words, **kw)]).status_code == 200
    worker.tick()
    return line.messages_to(kw.get("group_id") or user_id)[before:]


def tap(client: Any, line: FakeLine, worker: Worker, user_id: str, data: str) -> list[dict]:
    before = len(line.messages_to(user_id))
    assert post_events(client, line, [line.make_event("postback", user_id, data=data)]).status_code == 200
    worker.tick()
    return line.messages_to(user_id)[before:]


def load_fixture_events() -> list[dict[str, Any]]:
    return json.loads((DATA / "webhook-events.json").read_text(encoding="utf-8"))["events"]


def quick_data(message: dict) -> dict[str, str]:
    """A message's quick-reply buttons: label → postback data (or the text a message action sends)."""
    return {item["action"]["label"]: item["action"].get("data", item["action"].get("text", ""))
            for item in message.get("quickReply", {}).get("items", [])}


def footer_data(message: dict) -> dict[str, str]:
    """A Flex card's footer buttons: label → postback data."""
    return {c["action"]["label"]: c["action"]["data"] for c in message["contents"]["footer"]["contents"]}
