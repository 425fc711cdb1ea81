"""Faults (issue 9, point 2): the database away for a while, LINE down for minutes, and web and worker
SIGKILLed in the middle of a burst. Each ends with every event stored and handled once, and every
answer sent once (in order per chat where the relay held messages back).

The database outage is made the way it happens in production:
- PostgreSQL: the bot reaches the server through a TCP relay (`DbProxy`) that the test cuts: every
  open connection drops and new ones are refused, as during a server restart, a fail-over or a
  network failure. Nothing else on the server is touched (other sessions use it too).
- SQLite: another program holds the database's write lock (a backup, a migration, someone in the
  sqlite3 shell), so the bot's `BEGIN IMMEDIATE` waits its busy timeout and fails "database is locked".
"""

from __future__ import annotations

import contextlib
import copy
import os
import queue
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url

from bot import create_app
from bot.database import Database, get_db
from bot.fake_line import FakeLine
from bot.fake_line import events as webhook
from bot.line_api import LineApi
from bot.relay import relay_once
from handlers import texts
from handlers.messages import text
from models import inbox, outbox
from models.base import utcnow
from models.inbox import InboxEvent
from models.outbox import OutboxMessage
from tests.conftest import ACCESS_TOKEN, IT_GROUP, KANDA, MALEE, ORG_FILE, make_config, process_env

ROOT = Path(__file__).resolve().parents[1]
# Everyone in the example organisation who has LINE: they can all ask about a request number.
USERS = [s["line_user_id"] for s in yaml.safe_load(ORG_FILE.read_text(encoding="utf-8"))["staff"]
         if s.get("line_user_id")]


# What people say and what the bot answers ------------------------------------------------------


def _ask(n: int) -> str:
    """Tracking a number that does not exist: one reply that quotes the number, so every answer is unique."""
    return f"ติดตาม INC-2570-{n:04d}"


def _answer(n: int) -> str:
    return texts.TRACK_NOT_FOUND.format(number=f"INC-2570-{n:04d}")


def _tracking_answers(line: FakeLine) -> Counter[tuple[str | None, str]]:
    """(chat, text) of every tracking answer the platform accepted, counted."""
    return Counter((record.to, message.get("text", "")) for record in list(line.sent)
                   for message in record.messages if message.get("text", "").startswith("ไม่พบคำขอ INC-2570-"))


def _redelivered(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same events as LINE redelivers them: same webhookEventId, marked as a redelivery."""
    again = copy.deepcopy(events)
    for item in again:
        item["deliveryContext"]["isRedelivery"] = True
    return again


def _post(client: Any, line: FakeLine, events: list[dict[str, Any]]) -> int:
    body, signature = line.sign_events(events)
    return client.post("/callback", data=body, headers={"X-Line-Signature": signature,
                                                        "Content-Type": "application/json"}).status_code


# Looking at the database -----------------------------------------------------------------------


def _inbox(db: Database) -> list[tuple[str, str]]:
    with db.transaction() as session:
        found = session.execute(select(InboxEvent.webhook_event_id, InboxEvent.status))
        return [(key, status) for key, status in found]


def _outbox(db: Database) -> list[OutboxMessage]:
    with db.transaction() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def _drained(db: Database, expected_events: int) -> bool:
    """Every expected event handled and nothing left to send."""
    with db.transaction() as session:
        handled = session.scalar(select(func.count()).where(InboxEvent.status != inbox.PENDING))
        waiting = session.scalar(select(func.count()).where(OutboxMessage.status == outbox.PENDING))
    return handled >= expected_events and waiting == 0


# Real processes --------------------------------------------------------------------------------


def _wait_for(condition: Callable[[], bool], seconds: float, what: str, *logs: Service) -> None:
    """Poll a condition of real processes (no clock to inject there) until a generous deadline."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {s.name} log (tail) ---\n{s.log()[-3000:]}" for s in logs)
            raise AssertionError(f"not reached in {seconds:.0f} s: {what}\n{tails}")
        time.sleep(0.05)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Service:
    """A real process in its own process group (SIGKILL takes gunicorn's workers too), logging to a file
    (a pipe nobody reads would fill up and block it)."""

    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    _offset: int = 0

    def start(self) -> Service:
        with self.log_path.open("ab") as log:
            self._offset = log.tell()
            self.proc = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        return self

    def log(self) -> str:
        """What this run of the process logged (a restart starts a new run)."""
        with self.log_path.open("rb") as log:
            log.seek(self._offset)
            return log.read().decode("utf-8", "replace")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a lost host would: no cleanup of any kind."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()


def _env(database_url: str, line: FakeLine) -> dict[str, str]:
    return process_env(database_url, line)


def _worker(database_url: str, line: FakeLine, tmp_path: Path) -> Service:
    return Service("worker", [sys.executable, "-m", "bot.worker"], _env(database_url, line),
                   tmp_path / "worker.log")


def _web(database_url: str, line: FakeLine, tmp_path: Path, port: int) -> Service:
    """gunicorn as the Procfile runs it: two workers."""
    args = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--timeout", "30",
            "bot:create_app()"]
    return Service("web", args, _env(database_url, line), tmp_path / "web.log")


def _healthy(port: int) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1, never a proxy
    try:
        with opener.open(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            return int(answer.status) == 200
    except OSError:
        return False


# Database outages ------------------------------------------------------------------------------


class DbProxy:
    """A TCP relay between the bot and PostgreSQL. `cut()` drops every connection and refuses new ones,
    as a server restart or a network failure does; `restore()` lets connections through again."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._down = False
        threading.Thread(target=self._accept, name="db-proxy", daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            self._down = True
            doomed = list(self._open)
        for sock in doomed:
            self._drop(sock)

    def restore(self) -> None:
        with self._lock:
            self._down = False

    def close(self) -> None:
        self.cut()
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                down = self._down
            if down:  # accepted, then closed at once: the client sees the server go away
                client.close()
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=10)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._down:  # cut while we were connecting
                    client.close()
                    upstream.close()
                    continue
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self._drop(source)
            self._drop(sink)

    def _drop(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)  # wakes the pump blocked in recv() on it
        sock.close()


class SqliteWriteLock:
    """Another program holding SQLite's write lock: every `BEGIN IMMEDIATE` of the bot waits its busy
    timeout (10 s) and fails with "database is locked" (OperationalError)."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None

    def cut(self) -> None:
        self._conn = sqlite3.connect(self._path, timeout=60, isolation_level=None)
        self._conn.execute("BEGIN EXCLUSIVE")

    def restore(self) -> None:
        if self._conn is not None:
            self._conn.execute("ROLLBACK")
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        self.restore()


@dataclass
class Outage:
    """The database as the bot under test reaches it (`url`), and a way to take it away for a while."""

    url: str
    backend: str
    cause: DbProxy | SqliteWriteLock
    seen_by_worker: str  # what the worker logs when its jobs hit the outage

    def begin(self) -> None:
        self.cause.cut()

    def end(self) -> None:
        self.cause.restore()


@pytest.fixture
def outage(app: Any, database_url: str) -> Iterator[Outage]:
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        proxy = DbProxy(url.host or "127.0.0.1", url.port or 5432)
        via_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        found = Outage(via_proxy, "postgresql", proxy, "OperationalError")
    else:
        found = Outage(database_url, "sqlite", SqliteWriteLock(url.database or ""), "database is locked")
    yield found
    found.cause.close()


# 1. The database unavailable for a while ------------------------------------------------------


def test_database_outage_gets_503_then_redeliveries_are_stored_once_and_the_worker_resumes(
    app, db, line, outage, tmp_path
):
    """LINE gets 503 (and redelivers) while the database is away; nothing of those requests is written;
    the redeliveries are stored once each and answered once each by the same worker process, which
    rode out its own failed jobs without a restart. The outage: PostgreSQL's connections cut and
    refused at a relay (a restart or network failure); SQLite's write lock held by another program for
    longer than the 10 s busy timeout."""
    web = create_app(make_config(outage.url, line))  # the web side, reaching the database as the worker does
    client = web.test_client()
    worker = _worker(outage.url, line, tmp_path).start()
    try:
        _wait_for(lambda: "worker started" in worker.log(), 60, "worker start-up", worker)
        pid = worker.proc.pid
        assert _post(client, line, [line.make_event("text", MALEE, text=_ask(1))]) == 200
        _wait_for(lambda: _tracking_answers(line) == Counter({(MALEE, _answer(1)): 1}), 60, "first answer", worker)

        asked = {user: n for n, user in enumerate(USERS[1:4], start=2)}
        events = [line.make_event("text", user, text=_ask(n)) for user, n in asked.items()]
        logged_before = len(worker.log())
        outage.begin()
        try:
            # One POST with all three events, one with the last only, and a health check, at the same time.
            with ThreadPoolExecutor(3) as pool:
                posts = [pool.submit(_post, web.test_client(), line, batch) for batch in (events, events[2:])]
                health = pool.submit(lambda: web.test_client().get("/healthz").status_code)
                assert [p.result() for p in posts] == [503, 503]
                assert health.result() == 503
            _wait_for(lambda: outage.seen_by_worker in worker.log()[logged_before:], 60,
                      "the worker's jobs hitting the outage", worker)
            assert worker.alive()
        finally:
            outage.end()

        assert len(_inbox(db)) == 1  # nothing of the refused requests was written
        for _ in range(2):  # LINE redelivers; a second redelivery (or a repeated one) is a no-op
            assert _post(client, line, _redelivered(events)) == 200
        _wait_for(lambda: _drained(db, 4), 60, "redelivered events handled and answered", worker)
    finally:
        worker.stop()
        with web.app_context():
            get_db().engine.dispose()

    assert worker.proc.pid == pid  # the same process throughout: it resumed by itself
    rows = _inbox(db)
    assert len(rows) == 4 and {status for _, status in rows} == {inbox.DONE}
    assert {key for key, _ in rows} >= {e["webhookEventId"] for e in events}
    sent = _outbox(db)
    assert len(sent) == 4 and {row.status for row in sent} == {outbox.SENT}
    expected = {(MALEE, _answer(1))} | {(user, _answer(n)) for user, n in asked.items()}
    assert _tracking_answers(line) == Counter(expected)  # each answered once


def test_connection_lost_in_the_middle_of_a_webhook_stores_none_of_its_events(app, db, line, outage):
    """The server goes away between two inserts of one POST: the transaction is gone with it, LINE gets
    503 and its redelivery stores all the events."""
    if outage.backend == "sqlite":
        pytest.skip("SQLite takes its write lock before the first insert (BEGIN IMMEDIATE): a lock can only "
                    "refuse a whole request, which the test above covers")
    web = create_app(make_config(outage.url, line))
    client = web.test_client()
    with web.app_context():
        engine = get_db().engine
    inserts = 0

    def cut_at_the_second_insert(_conn, _cursor, statement, *_args: Any) -> None:
        nonlocal inserts
        if statement.lstrip().upper().startswith("INSERT INTO INBOX_EVENT"):
            inserts += 1
            if inserts == 2:
                outage.begin()

    event.listen(engine, "before_cursor_execute", cut_at_the_second_insert)
    events = [line.make_event("text", user, text=_ask(n)) for n, user in enumerate(USERS[:3], start=1)]
    try:
        assert _post(client, line, events) == 503
        assert inserts == 2
    finally:
        outage.end()
        event.remove(engine, "before_cursor_execute", cut_at_the_second_insert)
    assert _inbox(db) == []  # not even the first insert survived
    assert _post(client, line, _redelivered(events)) == 200
    assert len(_inbox(db)) == 3
    engine.dispose()


# 2. The LINE platform down for minutes ---------------------------------------------------------


def test_line_down_for_minutes_then_every_message_is_delivered_once_in_order(db, line):
    """The relay's clock is injected: ten minutes of downtime take no time. While LINE is down only the
    head of each chat's queue is tried; when it is back (and still losing some answers after taking
    the message) everything goes out once, in order, each push under its own retry key."""
    api = LineApi(line.base_url, ACCESS_TOKEN, timeout=2)
    start = utcnow()
    chats = [MALEE, KANDA, IT_GROUP]
    expected: dict[str, list[str]] = {chat: [f"ข้อความที่ {i} ถึง {chat[-4:]}" for i in range(5)] for chat in chats}
    with db.transaction() as session:
        for i in range(5):
            for chat in chats:
                token = line.issue_reply_token(chat) if i == 0 else None  # the first answers an event
                outbox.enqueue(session, chat, [text(expected[chat][i])], start, reply_token=token,
                               reply_expires_at=start + timedelta(seconds=50) if token else None)
    keys = {row.retry_key for row in _outbox(db)}
    assert len(keys) == 15

    line.set_down(True)
    for seconds in range(0, 10 * 60, 20):
        relay_once(db, api, now=lambda s=seconds: start + timedelta(seconds=s))
    assert line.sent == []
    tried = {(r.json or {}).get("to") for r in line.requests if r.path.endswith("/push")}
    first_rows = {row.to_id: row for row in reversed(_outbox(db))}  # the oldest row of each chat
    attempted = {row.id for row in _outbox(db) if row.attempts > 0}
    assert attempted == {row.id for row in first_rows.values()}  # later messages waited behind the first
    assert tried == set(chats)  # the reply tokens ran out, so pushes were tried

    line.set_down(False)
    line.set_failure_rate(0.4, status=500, after_accept=1.0, seed=9)  # back, but losing some answers
    clock = start + timedelta(minutes=10)
    for _ in range(60):
        if not any(row.status == outbox.PENDING for row in _outbox(db)):
            break
        clock += timedelta(minutes=6)  # past the longest backoff (5 min)
        relay_once(db, api, now=lambda c=clock: c)
    line.set_failure_rate(0)
    api.close()

    rows = _outbox(db)
    assert {row.status for row in rows} == {outbox.SENT}
    accepted = line.accepted_retry_keys()
    assert len(accepted) == len(set(accepted)) == 15  # none twice
    assert set(accepted) == keys  # every row, each under its own key
    assert any(r.status == 409 for r in line.requests)  # a lost answer was retried and recognised
    for chat in chats:
        assert [m["text"] for m in line.messages_to(chat)] == expected[chat]  # once each, in order


# 3. SIGKILL of web and worker during a burst ---------------------------------------------------


class LineWebhookSide:
    """LINE delivering a burst: every event POSTed signed until it gets a 200; a failed delivery is
    redelivered (isRedelivery) a moment later, and every `twice_every`-th event is delivered twice anyway.
    An event (and its reply token) is made when it is first sent, as LINE makes it when the person writes."""

    def __init__(self, line: FakeLine, url: str, said: list[tuple[str, str]], twice_every: int = 20) -> None:
        self.line, self.url, self.said, self.twice_every = line, url, said, twice_every
        self.events: list[dict[str, Any] | None] = [None] * len(said)
        self.stored: set[int] = set()
        self.failed_deliveries = 0
        self._lock = threading.Lock()
        self._todo: queue.Queue[tuple[int, bool]] = queue.Queue()
        self._outstanding = 0
        self._done = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self, threads: int = 6) -> None:
        for i in range(len(self.said)):
            self._todo.put((i, False))
            self._outstanding += 1
            if i % self.twice_every == 0:
                self._todo.put((i, True))
                self._outstanding += 1
        for n in range(threads):
            thread = threading.Thread(target=self._run, name=f"line-webhook-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def acknowledged(self) -> int:
        with self._lock:
            return len(self.stored)

    def finished(self) -> bool:
        return self._done.is_set()

    def stop(self) -> None:
        self._done.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _event(self, index: int) -> dict[str, Any]:
        with self._lock:
            made = self.events[index]
            if made is None:
                user, words = self.said[index]
                made = self.events[index] = self.line.make_event("text", user, text=words)
            return made

    def _run(self) -> None:
        while not self._done.is_set():
            try:
                index, again = self._todo.get(timeout=0.2)
            except queue.Empty:
                continue
            item = self._event(index)
            body, signature = self.line.sign_events(_redelivered([item]) if again else [item])
            try:
                status = webhook.post(self.url, body, signature, timeout=10)
            except OSError:
                status = 0
            with self._lock:
                if status == 200:
                    self.stored.add(index)
                    self._outstanding -= 1
                    if self._outstanding == 0:
                        self._done.set()
                    continue
                self.failed_deliveries += 1
            self._done.wait(0.2)  # LINE waits a little before it redelivers
            self._todo.put((index, True))


def test_web_and_worker_killed_during_a_burst_of_1000_events_lose_and_repeat_nothing(app, db, line, tmp_path):
    """gunicorn and the worker are SIGKILLed together while 1,000 events arrive and answers go out; LINE
    redelivers what got no 200. After both restart, each event is stored and handled once and each
    answer reaches its person once."""
    line.set_quota(None)  # answers whose reply token ran out are pushed
    url = app.config["DATABASE_URL"]
    port = _free_port()
    web, worker = _web(url, line, tmp_path, port), _worker(url, line, tmp_path)
    total = 1000
    said = [(USERS[n % len(USERS)], _ask(n)) for n in range(1, total + 1)]
    sender = LineWebhookSide(line, f"http://127.0.0.1:{port}/callback", said)
    try:
        web.start()
        worker.start()
        _wait_for(lambda: _healthy(port), 60, "web start-up", web)
        _wait_for(lambda: "worker started" in worker.log(), 60, "worker start-up", worker)
        sender.start()
        _wait_for(lambda: sender.acknowledged() >= 300 and len(line.sent) >= 30, 60, "the burst under way",
                  web, worker)
        web.kill()
        worker.kill()
        acknowledged_at_kill = sender.acknowledged()
        # Down long enough for LINE to see refused connections and queue redeliveries.
        _wait_for(lambda: sender.failed_deliveries >= 30, 60, "deliveries refused while the web is down")
        web.start()
        worker.start()
        _wait_for(sender.finished, 90, "every event acknowledged with a 200", web, worker)
        _wait_for(lambda: _drained(db, total), 90, "inbox drained and outbox empty", web, worker)
    finally:
        sender.stop()
        web.stop()
        worker.stop()

    assert acknowledged_at_kill < total and sender.failed_deliveries > 0  # the kill was mid-burst
    rows = _inbox(db)
    assert len(rows) == total  # one row per distinct event
    assert {key for key, _ in rows} == {e["webhookEventId"] for e in sender.events if e is not None}
    assert Counter(status for _, status in rows) == Counter({inbox.DONE: total})
    sent = _outbox(db)
    assert len(sent) == total and {row.status for row in sent} == {outbox.SENT}
    assert len({row.inbox_event_id for row in sent}) == total  # one answer per event
    expected = Counter({(USERS[n % len(USERS)], _answer(n)): 1 for n in range(1, total + 1)})
    assert _tracking_answers(line) == expected  # every answer reached its person exactly once
    accepted = line.accepted_retry_keys()
    assert len(accepted) == len(set(accepted))
    assert set(accepted) <= {row.retry_key for row in sent}
