"""Tables and domain operations. Imports nothing from bot/ or handlers/."""

from models import (
    accounts,
    approvals,
    audit,
    dialogs,
    groups,
    inbox,
    message_quota,
    numbering,
    org,
    outbox,
    privacy,
    registration,
    reminders,
    reviews,
    sop_answers,
    tickets,
    web_login,
    web_requests,
    work_calendar,
)
from models.base import Base, utcnow

__all__ = [
    "Base", "accounts", "approvals", "audit", "dialogs", "groups", "inbox", "message_quota", "numbering", "org",
    "outbox", "privacy", "registration", "reminders", "reviews", "sop_answers", "tickets", "utcnow", "web_login",
    "web_requests", "work_calendar",
]
