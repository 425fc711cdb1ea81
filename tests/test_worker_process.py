"""The worker as a real process: exactly-once delivery across SIGKILL, and only one at a time."""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select

from handlers.messages import text
from models import outbox
from models.base import utcnow
from models.outbox import OutboxMessage
from tests.conftest import MALEE, process_env

ROOT = Path(__file__).resolve().parents[1]


def _worker_env(app, line, extra: dict[str, str] | None = None) -> dict[str, str]:
    return process_env(app.config["DATABASE_URL"], line, **(extra or {}))


def _start_worker(app, line, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    """Its output goes to a file: a pipe nobody reads fills up and blocks the worker's logging."""
    log = tempfile.NamedTemporaryFile(prefix="worker-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.worker"], cwd=ROOT, env=_worker_env(app, line, extra_env),
        stdout=log, stderr=subprocess.STDOUT, text=True,
    )
    _logs[proc.pid] = Path(log.name)
    log.close()
    return proc


def _wait_for(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def _pending(db) -> int:
    with db.transaction() as session:
        return session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == outbox.PENDING)
        )


def test_worker_killed_while_sending_delivers_every_message_exactly_once(app, db, line):
    with db.transaction() as session:
        for i in range(12):
            outbox.enqueue(session, MALEE, [text(f"ข้อความที่ {i}")], utcnow())
    with db.transaction() as session:
        keys = set(session.scalars(select(OutboxMessage.retry_key)))
    line.set_delay(30.0, path_prefix="/v2/bot/message/push")  # LINE takes the message, the answer hangs
    first = _start_worker(app, line)
    try:
        _wait_for(lambda: len(line.sent) >= 1)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        first.kill()
    assert _pending(db) == 12  # the accepted one was never recorded as sent
    line.set_delay(0)
    second = _start_worker(app, line)
    try:
        _wait_for(lambda: _pending(db) == 0)
    finally:
        second.terminate()
        second.wait(timeout=10)
    accepted = line.accepted_retry_keys()
    assert sorted(accepted) == sorted(keys)  # every message once, none twice
    conflicts = [r for r in line.requests if r.status == 409]
    assert len(conflicts) == 1  # the one in flight at the kill was retried and recognised


def test_a_second_worker_refuses_to_run(app, line):
    first = _start_worker(app, line)
    try:
        _wait_for(lambda: "worker started" in _peek(first) or first.poll() is not None, 30)
        assert first.poll() is None
        second = _start_worker(app, line)
        second.wait(timeout=30)
        assert second.returncode == 3
        assert "another worker is already running" in _peek(second)
    finally:
        first.terminate()
        first.wait(timeout=10)
    third = _start_worker(app, line)  # the lock went with the first worker
    try:
        _wait_for(lambda: "worker started" in _peek(third) or third.poll() is not None, 30)
        assert third.poll() is None
    finally:
        third.terminate()
        third.wait(timeout=10)


_logs: dict[int, Path] = {}


def _peek(proc: subprocess.Popen) -> str:
    """What the process logged so far."""
    return _logs[proc.pid].read_text(encoding="utf-8", errors="replace")


def test_sigterm_at_any_moment_of_start_up_stops_the_worker(app, line):
    """A stop signal that lands while the scheduler is starting must not leave a hung process."""
    for moment in ("at once", "knowledge base ready", "worker started"):
        proc = _start_worker(app, line)
        try:
            if moment != "at once":
                _wait_for(lambda p=proc, m=moment: m in _peek(p) or p.poll() is not None, 60)
            proc.terminate()
            proc.wait(timeout=20)
        finally:
            proc.kill()
            proc.wait(timeout=10)


def test_a_worker_lock_lost_with_its_connection_is_taken_back_or_given_up(database_url):
    """PostgreSQL frees an advisory lock when its connection dies (restart, network cut): the worker
    re-checks it, takes it back if free, and stops if another worker took it meanwhile."""
    import pytest
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from bot.worker_lock import WorkerAlreadyRunning, WorkerLock
    from tests.test_faults import DbProxy

    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("the SQLite file lock lives as long as the process")
    proxy = DbProxy(url.host or "127.0.0.1", url.port or 5432)
    via_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    first_engine, other_engine = create_engine(via_proxy), create_engine(database_url)
    first, other = WorkerLock(first_engine), WorkerLock(other_engine)
    try:
        first.acquire()
        proxy.cut()
        proxy.restore()
        assert first.still_held()  # the connection died, nobody else came: taken back
        with pytest.raises(WorkerAlreadyRunning):
            other.acquire()
        proxy.cut()
        other.acquire()  # a second worker starts while the first one's connection is gone
        proxy.restore()
        assert not first.still_held()  # so the first must stop
        first.release()  # on a dead or lockless connection: no error
    finally:
        other.release()
        first.release()
        proxy.close()
        first_engine.dispose()
        other_engine.dispose()
