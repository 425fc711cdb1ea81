"""Who may do what: one declarative table, checked in one place (Errbot's ACL habit)."""

from __future__ import annotations

from models.org import Staff

ACTIONS: dict[str, frozenset[str]] = {
    "menu": frozenset({"staff", "supervisor", "it", "webmaster", "hr", "admin"}),
    "group.bind_it": frozenset({"admin"}),
    "ticket.work": frozenset({"it"}),  # accept, resolve
    "ticket.view_all": frozenset({"it", "admin"}),
    "account.report_leaver": frozenset({"hr", "admin"}),
    "web.publish": frozenset({"webmaster"}),
}


def allowed(staff: Staff | None, action: str) -> bool:
    """Unknown people and unknown actions are refused."""
    if staff is None or not staff.active:
        return False
    roles = ACTIONS.get(action)
    return roles is not None and staff.has_role(*roles)
