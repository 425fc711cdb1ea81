"""Logins to the admin web: a hashed password plus a time-based one-time code (TOTP), and limits on
failed attempts per account and per address, kept in the database so every web process sees them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

import pyotp
from sqlalchemy import Boolean, ForeignKey, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from models import audit
from models.base import Base, UTCDateTime
from models.org import Staff, staff_by_code

MIN_PASSWORD = 10
ACCOUNT_FAILURES = 5  # then the account waits LOCK_FOR
LOCK_FOR = timedelta(minutes=15)
ADDRESS_FAILURES = 20  # per address per ADDRESS_WINDOW, whatever the account
ADDRESS_WINDOW = timedelta(minutes=15)
ISSUER = "Helpdesk LINE"


class WebCredential(Base):
    __tablename__ = "web_credential"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    totp_secret: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_totp_step: Mapped[int] = mapped_column(Integer, default=0)  # a code is accepted once
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    staff: Mapped[Staff] = relationship()


class LoginAttempt(Base):
    """Traffic metadata for the limits and the audit: no password, the address only as a hash."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    staff_code: Mapped[str] = mapped_column(String(32), default="")
    ok: Mapped[bool] = mapped_column(Boolean, default=False)


class Result(Enum):
    OK = "ok"
    WRONG = "wrong"  # unknown account, wrong password or wrong code: one answer for all
    LOCKED = "locked"
    TOO_MANY = "too_many"  # from this address


@dataclass
class Enrolment:
    secret: str
    uri: str  # otpauth:// for an authenticator app


def hash_address(address: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{address}".encode()).hexdigest()[:32]


def set_password(session: Session, staff: Staff, password: str, now: datetime, new_totp: bool = True) -> Enrolment:
    """Create or reset a person's login; a new TOTP secret unless asked to keep it."""
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"รหัสผ่านต้องยาวอย่างน้อย {MIN_PASSWORD} ตัวอักษร / at least {MIN_PASSWORD} characters")
    row = session.get(WebCredential, staff.id)
    if row is None:
        row = WebCredential(staff_id=staff.id, password_hash="", totp_secret=pyotp.random_base32(), created_at=now,
                            failures=0, last_totp_step=0)
        session.add(row)
    elif new_totp:
        row.totp_secret, row.last_totp_step = pyotp.random_base32(), 0
    row.password_hash = generate_password_hash(password)
    row.failures, row.locked_until = 0, None
    session.flush()
    audit.record(session, now, "web.credential_set", subject=staff.code)
    return Enrolment(row.totp_secret, pyotp.TOTP(row.totp_secret).provisioning_uri(name=staff.code, issuer_name=ISSUER))


def verify(session: Session, staff_code: str, password: str, code: str, address_hash: str, now: datetime
           ) -> tuple[Result, Staff | None]:
    """One login attempt. Every outcome is recorded; limits are checked before the password."""
    recent = session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.address == address_hash, LoginAttempt.ok.is_(False), LoginAttempt.at > now - ADDRESS_WINDOW))
    staff = staff_by_code(session, staff_code.strip()[:32]) if staff_code.strip() else None
    row = session.get(WebCredential, staff.id) if staff is not None else None
    result = Result.WRONG
    if recent >= ADDRESS_FAILURES:
        result = Result.TOO_MANY
    elif row is not None and row.locked_until is not None and row.locked_until > now:
        result = Result.LOCKED
    elif row is not None and staff is not None and staff.active and check_password_hash(row.password_hash, password):
        totp = pyotp.TOTP(row.totp_secret)
        step = int(now.timestamp()) // totp.interval
        clean = "".join(ch for ch in code if ch.isdigit())
        # The code of this 30-second step or the one before (clocks drift), each used only once.
        for candidate in (step, step - 1):
            if candidate > row.last_totp_step and totp.at(candidate * totp.interval) == clean:
                row.last_totp_step = candidate
                result = Result.OK
                break
    if row is not None and result is Result.WRONG:
        row.failures += 1
        if row.failures >= ACCOUNT_FAILURES:
            row.failures, row.locked_until = 0, now + LOCK_FOR
            audit.record(session, now, "web.login_locked", subject=staff.code if staff else "")
    elif row is not None and result is Result.OK:
        row.failures, row.locked_until, row.last_login_at = 0, None, now
    session.add(LoginAttempt(at=now, address=address_hash, staff_code=staff_code.strip()[:32],
                             ok=result is Result.OK))
    audit.record(session, now, "web.login" if result is Result.OK else "web.login_failed",
                 subject=staff_code.strip()[:32], actor_id=staff.id if staff and result is Result.OK else None,
                 result=result.value)
    return result, staff if result is Result.OK else None


def has_login(session: Session, staff: Staff) -> bool:
    return session.get(WebCredential, staff.id) is not None


def remove(session: Session, staff: Staff, now: datetime) -> bool:
    row = session.get(WebCredential, staff.id)
    if row is None:
        return False
    session.delete(row)
    audit.record(session, now, "web.credential_removed", subject=staff.code)
    return True
