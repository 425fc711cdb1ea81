"""The app's database handle: one engine and session factory per app (and per worker)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask, current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from models.db import make_engine, make_session_factory, transaction

EXTENSION_KEY = "helpdesk.db"


@dataclass
class Database:
    engine: Engine
    sessions: sessionmaker[Session]

    @classmethod
    def from_url(cls, url: str) -> Database:
        engine = make_engine(url)
        return cls(engine=engine, sessions=make_session_factory(engine))

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with transaction(self.sessions) as session:
            yield session


def init_app(app: Flask) -> Database:
    db = Database.from_url(app.config["DATABASE_URL"])
    app.extensions[EXTENSION_KEY] = db
    return db


def get_db() -> Database:
    return current_app.extensions[EXTENSION_KEY]
