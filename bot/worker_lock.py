"""Only one worker per database: a PostgreSQL advisory lock or a file lock beside the SQLite file.

Both are released by the operating system or the server when the process dies, so a worker
restarted after a crash starts at once, while a second live worker is refused.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

ADVISORY_LOCK_KEY = 0x48454C50  # "HELP"


class WorkerAlreadyRunning(RuntimeError):
    pass


class WorkerLock:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Connection | None = None
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        url = make_url(str(self.engine.url))
        if url.get_backend_name() == "postgresql":
            conn = self.engine.connect()
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY}).scalar()
            conn.commit()
            if not got:
                conn.close()
                raise WorkerAlreadyRunning("another worker holds the database lock")
            self._conn = conn
            return
        database = url.database or ""
        if not database or database == ":memory:":
            return  # a private in-memory database cannot be shared anyway
        path = Path(database).with_name(Path(database).name + ".worker.lock")
        handle = open(path, "a+")  # noqa: SIM115 - held for the life of the process
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise WorkerAlreadyRunning(f"another worker holds {path.name}") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def still_held(self) -> bool:
        """PostgreSQL drops an advisory lock with its connection (server restart, network cut) and
        nobody tells us: check it, and take it again if no other worker did meanwhile."""
        if self._conn is None:
            return True  # the file lock (or none) cannot be lost while the process lives
        try:
            held = self._conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
                " AND granted AND ((classid::bigint << 32) | objid::bigint) = :k"), {"k": ADVISORY_LOCK_KEY}).scalar()
            self._conn.commit()
            if held:
                return True
        except SQLAlchemyError:
            pass
        self._forget_connection()
        try:
            self.acquire()
        except (WorkerAlreadyRunning, SQLAlchemyError):
            return False
        return True

    def _forget_connection(self) -> None:
        if self._conn is not None:
            try:
                self._conn.invalidate()  # a dead connection must not go back to the pool
                self._conn.close()
            except SQLAlchemyError:
                pass
            self._conn = None

    def release(self) -> None:
        if self._conn is not None:
            # Pooled connections outlive close(), so unlock explicitly; a dead one unlocked itself.
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
                self._conn.commit()
                self._conn.close()
            except SQLAlchemyError:
                self._forget_connection()
            self._conn = None
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
