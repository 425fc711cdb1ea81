"""One-time registration codes that bind a LINE account to a staff record."""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.audit import record
from models.base import Base, UTCDateTime
from models.org import Staff

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed on phones
CODE_LENGTH = 8
CODE_TTL = timedelta(days=7)
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=30)


class RegistrationCode(Base):
    __tablename__ = "registration_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RegistrationAttempt(Base):
    """Failed tries per LINE account: a wrong code cannot be guessed at chat speed."""

    __tablename__ = "registration_attempt"

    line_user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Outcome(enum.Enum):
    BOUND = "bound"
    WRONG = "wrong"
    EXPIRED = "expired"
    USED = "used"
    LOCKED = "locked"
    ALREADY_BOUND = "already_bound"


@dataclass(frozen=True)
class Redemption:
    outcome: Outcome
    staff: Staff | None = None
    attempts_left: int = 0
    locked_until: datetime | None = None


def normalise_code(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


def hash_code(code: str) -> str:
    # Codes are random and short-lived, so a fast digest suffices; lookups stay indexed.
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def looks_like_code(text: str) -> bool:
    code = normalise_code(text)
    return len(code) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in code)


def issue_code(session: Session, staff: Staff, now: datetime, ttl: timedelta = CODE_TTL) -> str:
    """A fresh code for staff; earlier unused codes of that person stop working."""
    session.execute(
        update(RegistrationCode)
        .where(RegistrationCode.staff_id == staff.id, RegistrationCode.used_at.is_(None))
        .values(expires_at=now)
    )
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    session.add(
        RegistrationCode(staff_id=staff.id, code_hash=hash_code(code), created_at=now, expires_at=now + ttl)
    )
    record(session, now, "registration.code_issued", subject=staff.code)
    return code


def redeem(session: Session, line_user_id: str, text: str, now: datetime) -> Redemption:
    attempt = session.get(RegistrationAttempt, line_user_id)
    if attempt and attempt.locked_until and attempt.locked_until > now:
        return Redemption(Outcome.LOCKED, locked_until=attempt.locked_until)
    if session.scalar(select(Staff.id).where(Staff.line_user_id == line_user_id)) is not None:
        return Redemption(Outcome.ALREADY_BOUND)
    code = session.scalar(select(RegistrationCode).where(RegistrationCode.code_hash == hash_code(text)))
    if code is None:
        return _fail(session, attempt, line_user_id, now)
    if code.used_at is not None:
        return Redemption(Outcome.USED)
    if code.expires_at <= now:
        return Redemption(Outcome.EXPIRED)
    # Guarded update: of two accounts racing with one code, only one wins.
    won = session.execute(
        update(RegistrationCode)
        .where(RegistrationCode.id == code.id, RegistrationCode.used_at.is_(None))
        .values(used_at=now)
    ).rowcount
    staff = session.get(Staff, code.staff_id)
    if not won or staff is None:
        return Redemption(Outcome.USED)
    staff.line_user_id = line_user_id
    if attempt:
        session.delete(attempt)
    record(session, now, "registration.bound", subject=staff.code, actor_id=staff.id)
    return Redemption(Outcome.BOUND, staff=staff)


def _fail(session: Session, attempt: RegistrationAttempt | None, line_user_id: str, now: datetime) -> Redemption:
    if attempt is None:
        attempt = RegistrationAttempt(line_user_id=line_user_id, failures=0)
        session.add(attempt)
    if attempt.locked_until and attempt.locked_until <= now:
        attempt.failures, attempt.locked_until = 0, None
    attempt.failures += 1
    if attempt.failures >= MAX_FAILURES:
        attempt.locked_until = now + LOCKOUT
        return Redemption(Outcome.LOCKED, locked_until=attempt.locked_until)
    return Redemption(Outcome.WRONG, attempts_left=MAX_FAILURES - attempt.failures)
