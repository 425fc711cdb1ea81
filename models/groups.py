"""LINE group chats the bot is in, and which one is bound as the IT group."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, UTCDateTime
from models.org import get_setting

IT_GROUP = "it"


class ChatGroup(Base):
    __tablename__ = "chat_group"

    group_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str | None] = mapped_column(String(16), nullable=True)
    bound_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    bound_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # People in the chat (the bot not counted), as LINE last said: a push here costs this many messages.
    member_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    member_count_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


def joined(session: Session, group_id: str, now: datetime) -> ChatGroup:
    row = session.get(ChatGroup, group_id)
    if row is None:
        row = ChatGroup(group_id=group_id, joined_at=now)
        session.add(row)
    row.left_at = None
    return row


def left(session: Session, group_id: str, now: datetime) -> ChatGroup | None:
    row = session.get(ChatGroup, group_id)
    if row is not None:
        row.left_at = now
    return row


def bind_it_group(session: Session, group_id: str, staff_id: int, now: datetime) -> None:
    """One IT group at a time: binding a new one unbinds the previous."""
    for other in session.scalars(select(ChatGroup).where(ChatGroup.purpose == IT_GROUP)):
        other.purpose = None
    row = joined(session, group_id, now)
    row.purpose, row.bound_by_id, row.bound_at = IT_GROUP, staff_id, now


def it_group_id(session: Session) -> str | None:
    """The bound IT group, else notify.it_target from the organisation file."""
    bound = session.scalar(
        select(ChatGroup.group_id).where(ChatGroup.purpose == IT_GROUP, ChatGroup.left_at.is_(None))
    )
    return bound or get_setting(session, "notify.it_target")


def is_group_chat(chat_id: str) -> bool:
    """Group (C…) and room (R…) ids; a push there is charged once per member."""
    return chat_id[:1] in ("C", "R")


def member_count(session: Session, chat_id: str) -> int | None:
    row = session.get(ChatGroup, chat_id)
    return row.member_count if row is not None else None


def set_member_count(session: Session, chat_id: str, count: int, now: datetime) -> None:
    row = session.get(ChatGroup, chat_id) or joined(session, chat_id, now)
    row.member_count, row.member_count_at = count, now


def active_chat_ids(session: Session) -> list[str]:
    """Chats the bot may push to: bound or joined groups not left, and the organisation's IT target."""
    ids = list(session.scalars(select(ChatGroup.group_id).where(ChatGroup.left_at.is_(None))))
    target = get_setting(session, "notify.it_target")
    if target and target not in ids:
        ids.append(target)
    return ids


def chats_of_unknown_size(session: Session) -> list[str]:
    return [chat for chat in active_chat_ids(session) if member_count(session, chat) is None]
