"""The admin web under /admin: server-rendered pages for IT and admins, in Thai, usable on a phone."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

# The menu: (endpoint, Thai label, roles that see it), in order; page modules add their own.
NAV: list[tuple[str, str, tuple[str, ...]]] = []

# isort: off
from bot.admin import auth, dashboard, pages  # noqa: E402,F401  (routes register on bp)
# in menu order (NAV): IT pages, then admin pages
from bot.admin import requests, messages, quota, directory, knowledge, reminders, dates  # noqa: E402,F401
# isort: on
