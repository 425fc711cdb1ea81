"""Where each chat is in a dialog: kept in the database so a restart loses nothing."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, UTCDateTime


class DialogState(Base):
    __tablename__ = "dialog_state"

    # "user:<line id>" in 1:1 chats, "group:<group id>:<line id>" for a person inside a group.
    chat_key: Mapped[str] = mapped_column(String(140), primary_key=True)
    dialog: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


def load(session: Session, chat_key: str) -> DialogState | None:
    return session.get(DialogState, chat_key)


def save(
    session: Session,
    chat_key: str,
    dialog: str,
    state: str,
    data: dict[str, Any],
    now: datetime,
    expires_at: datetime,
) -> DialogState:
    row = session.get(DialogState, chat_key)
    if row is None:
        row = DialogState(chat_key=chat_key, version=0)
        session.add(row)
    # A deep copy: a nested list changed in place would otherwise compare equal to the stored value
    # and never be written.
    row.dialog, row.state, row.data = dialog, state, copy.deepcopy(data)
    row.version += 1
    row.updated_at, row.expires_at = now, expires_at
    return row


def clear(session: Session, chat_key: str) -> None:
    row = session.get(DialogState, chat_key)
    if row is not None:
        session.delete(row)
