"""Tables and domain operations. Imports nothing from bot/ or handlers/."""

from models import audit, dialogs, groups, inbox, org, outbox, registration, sop_answers
from models.base import Base, utcnow

__all__ = ["Base", "audit", "dialogs", "groups", "inbox", "org", "outbox", "registration", "sop_answers", "utcnow"]
