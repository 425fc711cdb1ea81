"""Configuration from the environment (a .env file is read when present)."""

from __future__ import annotations

import os
from datetime import timedelta

from dotenv import load_dotenv

DEFAULT_DATABASE_URL = "sqlite:///instance/helpdesk.db"
DEFAULT_LINE_API_BASE_URL = "https://api.line.me"
REQUIRED_IN_PRODUCTION = ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN", "SECRET_KEY")


class ConfigError(RuntimeError):
    """Start-up refused: the message is one line, in Thai and English."""


class Config:
    """Production settings. Every value can be overridden through the environment."""

    TESTING = False
    DEMO = False

    def __init__(self) -> None:
        load_dotenv(override=False)
        env = os.environ
        self.LINE_CHANNEL_SECRET = env.get("LINE_CHANNEL_SECRET", "")
        self.LINE_CHANNEL_ACCESS_TOKEN = env.get("LINE_CHANNEL_ACCESS_TOKEN", "")
        self.LINE_API_BASE_URL = env.get("LINE_API_BASE_URL", DEFAULT_LINE_API_BASE_URL).rstrip("/")
        self.DATABASE_URL = env.get("DATABASE_URL", DEFAULT_DATABASE_URL)
        self.SECRET_KEY = env.get("SECRET_KEY", "")
        self.PORT = int(env.get("PORT", "8000"))
        # LINE's webhook bodies are small; anything larger is not LINE.
        self.MAX_CONTENT_LENGTH = int(env.get("WEBHOOK_MAX_BYTES", str(1024 * 1024)))
        self.LINE_TIMEOUT_SECONDS = float(env.get("LINE_TIMEOUT_SECONDS", "10"))
        # LINE documents no exact reply-token lifetime; stay well inside the observed minute.
        self.REPLY_TOKEN_TTL_SECONDS = float(env.get("REPLY_TOKEN_TTL_SECONDS", "50"))
        self.WORKER_POLL_SECONDS = float(env.get("WORKER_POLL_SECONDS", "0.25"))
        self.DIALOG_TIMEOUT_MINUTES = int(env.get("DIALOG_TIMEOUT_MINUTES", "30"))
        self.PRIVACY_RETENTION_DAYS = int(env.get("PRIVACY_RETENTION_DAYS", "365"))
        # Per kind of personal data (PDPA); the privacy notice quotes the longest, PRIVACY_RETENTION_DAYS.
        self.RETENTION_TICKET_DAYS = int(env.get("RETENTION_TICKET_DAYS", str(self.PRIVACY_RETENTION_DAYS)))
        self.RETENTION_CONVERSATION_DAYS = int(env.get("RETENTION_CONVERSATION_DAYS", "90"))
        self.RETENTION_INBOX_DAYS = int(env.get("RETENTION_INBOX_DAYS", "30"))
        self.RETENTION_OUTBOX_DAYS = int(env.get("RETENTION_OUTBOX_DAYS", "30"))
        # Minutes to accept / to resolve per priority, and how long a resolved ticket waits for the
        # reporter's answer before it closes by itself.
        self.SLA_TARGETS = env.get("SLA_TARGETS", "critical=15/240,high=30/480,normal=240/4320")
        self.AUTO_CLOSE_WORKING_DAYS = int(env.get("AUTO_CLOSE_WORKING_DAYS", "3"))
        # Reports of the same shared system within this window join the first ticket; this many
        # reports make it a major incident.
        self.MAJOR_WINDOW_MINUTES = int(env.get("MAJOR_WINDOW_MINUTES", "30"))
        self.MAJOR_AFTER_REPORTS = int(env.get("MAJOR_AFTER_REPORTS", "3"))
        # Reverse proxies in front of gunicorn that set X-Forwarded-For/-Proto (0: none, trust nothing):
        # the login limits count the real client address, not the proxy's.
        self.TRUST_PROXY_HOPS = int(env.get("TRUST_PROXY_HOPS", "0"))
        # Admin web: sessions end after this many idle minutes; the cookie is HTTPS-only outside demo/tests.
        self.ADMIN_IDLE_MINUTES = int(env.get("ADMIN_IDLE_MINUTES", "30"))
        self.PERMANENT_SESSION_LIFETIME = timedelta(minutes=self.ADMIN_IDLE_MINUTES)
        self.SESSION_COOKIE_SECURE = env.get("SESSION_COOKIE_SECURE", "true").lower() != "false"
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_NAME = "helpdesk_admin"
        # SOP reminders are sent from this Bangkok hour on (rows created earlier wait for it); the
        # admins are warned when this share of LINE's monthly message quota is used.
        self.REMINDER_SEND_HOUR = int(env.get("REMINDER_SEND_HOUR", "8"))
        self.QUOTA_WARN_PERCENT = float(env.get("QUOTA_WARN_PERCENT", "80"))
        # A pending approval is reminded after this many hours, and escalated to the approver's
        # own supervisor after that many.
        self.APPROVAL_REMIND_HOURS = float(env.get("APPROVAL_REMIND_HOURS", "24"))
        self.APPROVAL_ESCALATE_HOURS = float(env.get("APPROVAL_ESCALATE_HOURS", "72"))
        # The yearly account review (SOP 000 §6.6) starts on this month-day and is due this many days later.
        self.ACCOUNT_REVIEW_DATE = env.get("ACCOUNT_REVIEW_DATE", "10-01")
        self.ACCOUNT_REVIEW_DAYS = int(env.get("ACCOUNT_REVIEW_DAYS", "30"))
        # Push quota: normal-priority tickets reach IT in one digest at these Bangkok times
        # ("08:30,13:00"); empty sends every ticket at once. Critical and high always go at once.
        self.IT_DIGEST_TIMES = tuple(t.strip() for t in env.get("IT_DIGEST_TIMES", "").split(",") if t.strip())

    def check(self) -> None:
        missing = [name for name in REQUIRED_IN_PRODUCTION if not getattr(self, name)]
        if missing:
            names = ", ".join(missing)
            raise ConfigError(f"ยังไม่ได้ตั้งค่า {names} / missing required setting(s): {names}")


class DemoConfig(Config):
    """One process on SQLite with the fake LINE platform: no real secrets needed."""

    DEMO = True

    def __init__(self) -> None:
        super().__init__()
        self.LINE_CHANNEL_SECRET = self.LINE_CHANNEL_SECRET or "demo-channel-secret"
        self.LINE_CHANNEL_ACCESS_TOKEN = self.LINE_CHANNEL_ACCESS_TOKEN or "demo-access-token"
        self.SECRET_KEY = self.SECRET_KEY or "demo-secret-key"
        self.SESSION_COOKIE_SECURE = False  # served over plain http on 127.0.0.1


class TestConfig(DemoConfig):
    """Demo's placeholder secrets, without the simulator unless a test asks for it."""

    TESTING = True
    DEMO = False

    def __init__(self, **overrides: object) -> None:
        super().__init__()
        self.LINE_TIMEOUT_SECONDS = 2.0
        for key, value in overrides.items():
            setattr(self, key, value)


def config_from_environment() -> Config:
    """HELPDESK_MODE=demo selects the demo settings; anything else is production."""
    if os.environ.get("HELPDESK_MODE", "").lower() == "demo":
        return DemoConfig()
    return Config()
