"""Tables and domain operations. Imports nothing from bot/ or handlers/."""

from models import (
    accounts,
    approvals,
    audit,
    dialogs,
    groups,
    inbox,
    numbering,
    org,
    outbox,
    privacy,
    registration,
    reviews,
    sop_answers,
    tickets,
    web_requests,
)
from models.base import Base, utcnow

__all__ = [
    "Base", "accounts", "approvals", "audit", "dialogs", "groups", "inbox", "numbering", "org", "outbox",
    "privacy", "registration", "reviews", "sop_answers", "tickets", "utcnow", "web_requests",
]
