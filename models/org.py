"""The organisation: work groups, staff with roles, managed systems, settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.base import Base, UTCDateTime, utcnow

ROLES = ("staff", "supervisor", "it", "webmaster", "hr", "admin")


class Organization(Base):
    __tablename__ = "organization"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class WorkGroup(Base):
    __tablename__ = "work_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    head_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", use_alter=True, ondelete="SET NULL"), nullable=True
    )

    head: Mapped[Staff | None] = relationship(foreign_keys=[head_id], post_update=True)


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[str] = mapped_column(String(200), default="")
    work_group_id: Mapped[int | None] = mapped_column(ForeignKey("work_group.id"), nullable=True)
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    line_user_id: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    work_group: Mapped[WorkGroup | None] = relationship(foreign_keys=[work_group_id])
    supervisor: Mapped[Staff | None] = relationship(remote_side=[id], foreign_keys=[supervisor_id])
    role_rows: Mapped[list[StaffRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="StaffRole.role"
    )

    @property
    def roles(self) -> set[str]:
        return {row.role for row in self.role_rows}

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def first_name(self) -> str:
        """The given name, as Thai colleagues address each other (title prefix dropped)."""
        parts = self.name.split()
        return _strip_title(parts[0]) if parts else self.name


class StaffRole(Base):
    __tablename__ = "staff_role"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)


class System(Base):
    __tablename__ = "system"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)

    owner: Mapped[Staff | None] = relationship()


class Setting(Base):
    """Small key/value settings that admins change at run time (e.g. the bound IT group)."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


_TITLES = ("นายแพทย์", "แพทย์หญิง", "นางสาว", "นาย", "นาง", "ดร.", "ทพ.", "ทพญ.", "ภก.", "ภญ.")


def _strip_title(word: str) -> str:
    for title in _TITLES:
        if word.startswith(title) and len(word) > len(title):
            return word[len(title) :]
    return word


def staff_by_line_id(session: Session, line_user_id: str | None) -> Staff | None:
    if not line_user_id:
        return None
    return session.scalar(select(Staff).where(Staff.line_user_id == line_user_id, Staff.active.is_(True)))


def staff_by_code(session: Session, code: str) -> Staff | None:
    return session.scalar(select(Staff).where(Staff.code == code))


def active_staff(session: Session) -> list[Staff]:
    return list(session.scalars(select(Staff).where(Staff.active.is_(True)).order_by(Staff.code)))


def staff_with_role(session: Session, role: str) -> list[Staff]:
    stmt = (
        select(Staff)
        .join(StaffRole)
        .where(StaffRole.role == role, Staff.active.is_(True))
        .order_by(Staff.code)
    )
    return list(session.scalars(stmt))


def get_setting(session: Session, key: str, default: Any = None) -> Any:
    row = session.get(Setting, key)
    return default if row is None else row.value


def set_setting(session: Session, key: str, value: Any) -> None:
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value))
    else:
        row.value = value
