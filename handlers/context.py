"""What a handler sees of one event, and the only way it can answer (through the outbox)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from handlers import postback
from handlers.messages import Message
from models import outbox
from models.org import Staff
from models.tickets import DEFAULT_SERVICE_LEVEL, ServiceLevel

# LINE accepts a redelivered event's reply token until 20 minutes after the original event; a minute
# is kept back for clocks and the time a reply takes to reach LINE.
REDELIVERY_TOKEN_LIMIT = timedelta(minutes=19)


@dataclass
class Settings:
    """The few knobs handlers need; the worker fills them from the app config."""

    reply_token_ttl: timedelta = timedelta(seconds=50)
    dialog_timeout: timedelta = timedelta(minutes=30)
    retention_days: int = 365
    service_level: ServiceLevel = field(default_factory=lambda: ServiceLevel.parse(DEFAULT_SERVICE_LEVEL))
    auto_close_working_days: int = 3
    major_window: timedelta = timedelta(minutes=30)  # reports of one shared system this close are one outage
    major_after_reports: int = 3
    # Bangkok times ("08:30") at which normal-priority tickets are sent to IT together; empty: at once.
    it_digest_times: tuple[str, ...] = ()
    approval_remind_after: timedelta = timedelta(hours=24)
    approval_escalate_after: timedelta = timedelta(hours=72)
    account_review_date: str = "10-01"  # month-day the yearly account review starts (Bangkok)
    account_review_days: timedelta = timedelta(days=30)  # then overdue: escalated
    reminder_send_hour: int = 8  # SOP reminders go out from this Bangkok hour
    quota_warn_share: float = 0.8  # of LINE's monthly message quota


@dataclass
class Context:
    session: Session
    event: dict[str, Any]
    now: datetime
    staff: Staff | None
    settings: Settings = field(default_factory=Settings)
    inbox_event_id: int | None = None
    # When LINE handed us the event: the reply token's clock starts there, not at processing.
    received_at: datetime | None = None
    dialog_state: str | None = None  # the state of the dialog handling this event, if any
    _replies: list[Message] = field(default_factory=list)
    _pushes: list[tuple[str, list[Message]]] = field(default_factory=list)

    @classmethod
    def for_job(cls, session: Session, now: datetime, settings: Settings) -> Context:
        """For the worker's scheduled jobs: no event, nobody acting; they only push (then flush)."""
        return cls(session=session, event={}, now=now, staff=None, settings=settings)

    @property
    def source(self) -> dict[str, Any]:
        src = self.event.get("source")
        return src if isinstance(src, dict) else {}

    @property
    def source_type(self) -> str:
        return str(self.source.get("type") or "")

    @property
    def in_group(self) -> bool:
        return self.source_type in ("group", "room")

    @property
    def user_id(self) -> str | None:
        uid = self.source.get("userId")
        return uid if isinstance(uid, str) and uid else None

    @property
    def group_id(self) -> str | None:
        gid = self.source.get("groupId") or self.source.get("roomId")
        return gid if isinstance(gid, str) and gid else None

    @property
    def chat_id(self) -> str | None:
        """Where an answer goes: the group in a group chat, else the person."""
        return self.group_id if self.in_group else self.user_id

    @property
    def chat_key(self) -> str:
        if self.in_group:
            return f"group:{self.group_id}:{self.user_id or '-'}"
        return f"user:{self.user_id or '-'}"

    @property
    def message(self) -> dict[str, Any]:
        msg = self.event.get("message")
        return msg if isinstance(msg, dict) else {}

    @property
    def text(self) -> str | None:
        if self.event.get("type") != "message" or self.message.get("type") != "text":
            return None
        value = self.message.get("text")
        return value.strip() if isinstance(value, str) else None

    @property
    def postback(self) -> postback.Postback | None:
        if self.event.get("type") != "postback":
            return None
        data = self.event.get("postback")
        return postback.decode(data.get("data") if isinstance(data, dict) else None)

    @property
    def mentions_bot(self) -> bool:
        mention = self.message.get("mention")
        mentionees = mention.get("mentionees") if isinstance(mention, dict) else None
        return isinstance(mentionees, list) and any(
            isinstance(m, dict) and m.get("isSelf") is True for m in mentionees
        )

    def reply(self, *messages: Message) -> None:
        """Answer in this chat: free through the reply token while it is fresh."""
        self._replies.extend(messages)

    def push(self, to: str, *messages: Message) -> None:
        """Tell someone else (costs quota): written to the outbox with the replies, after them, so the
        person who acted reads the answer to what they did before anything else."""
        self._pushes.append((to, list(messages)))

    def flush(self) -> None:
        self._flush_replies()
        # One push call per chat, five messages each: LINE charges a push per recipient (per member in
        # a group), not per message, so two cards for the IT group cost one push, not two.
        by_chat: dict[str, list[Message]] = {}
        for to, messages in self._pushes:
            by_chat.setdefault(to, []).extend(messages)
        for to, messages in by_chat.items():
            outbox.enqueue(self.session, to, messages, self.now, inbox_event_id=self.inbox_event_id)
        self._pushes = []

    def _reply_expiry(self) -> datetime:
        """Until when the event's reply token may be used. LINE issues it with the event: a late
        delivery's token is as old as the event. A redelivered event's token works again for a while
        from its redelivery, but never later than REDELIVERY_TOKEN_LIMIT after the original event."""
        arrived = self.received_at or self.now
        stamp = self.event.get("timestamp")
        happened = (datetime.fromtimestamp(stamp / 1000, tz=UTC)
                    if isinstance(stamp, int) and not isinstance(stamp, bool) and 0 < stamp < 2**53 else arrived)
        delivery = self.event.get("deliveryContext")
        if isinstance(delivery, dict) and delivery.get("isRedelivery") is True:
            return min(arrived + self.settings.reply_token_ttl, happened + REDELIVERY_TOKEN_LIMIT)
        return min(arrived, happened) + self.settings.reply_token_ttl

    def _flush_replies(self) -> None:
        if not self._replies or not self.chat_id:
            return
        token = self.event.get("replyToken")
        token = token if isinstance(token, str) and token else None
        outbox.enqueue(
            self.session,
            self.chat_id,
            self._replies,
            self.now,
            reply_token=token,
            reply_expires_at=self._reply_expiry() if token else None,
            inbox_event_id=self.inbox_event_id,
        )
        self._replies = []
