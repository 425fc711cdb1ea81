"""What the fake platform remembers and the rules LINE applies to it: reply tokens (once, for a
while), retry keys (accepted once), the monthly quota, and the faults a test asks for.

Everything here is shared between the server's request threads and the test or simulator that
inspects it, so every change goes through one lock.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

DEFAULT_QUOTA = 500
REDELIVERY_TOKEN_LIMIT = 20 * 60.0  # seconds after the original event: a redelivered token is dead then


@dataclass
class RecordedRequest:
    """One request as it reached the platform, and what the platform answered."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    json: Any  # the parsed JSON body, or None
    status: int = 0
    errors: list[str] = field(default_factory=list)  # why LINE would refuse it (spec or auth)
    at: float = field(default_factory=time.time)
    query: dict[str, str] = field(default_factory=dict)
    request_id: str = ""


@dataclass
class SentMessage:
    """Messages the platform accepted for delivery (one record per recipient for multicast)."""

    kind: str  # reply | push | multicast | broadcast
    to: str | None  # user/group/room id; None for a broadcast or a reply token of unknown origin
    messages: list[dict[str, Any]]
    retry_key: str | None = None
    at: float = field(default_factory=time.time)
    request_id: str = ""


@dataclass
class _ReplyToken:
    to: str | None
    expires_at: float
    used: bool = False
    issued_at: float = field(default_factory=time.time)


@dataclass
class _Fault:
    remaining: int
    status: int
    path_prefix: str


@dataclass
class _FailureRate:
    """Random faults: each request under path_prefix fails with probability `rate`; of those, the
    share `after_accept` is taken first and only its answer fails (LINE took it, the bot never heard)."""

    rate: float
    status: int
    path_prefix: str
    after_accept: float
    rng: random.Random


@dataclass
class Accepted:
    """The platform took the messages: what it answers."""

    sent_messages: list[dict[str, str]]


@dataclass
class Conflict:
    """The retry key was accepted before: LINE answers 409 naming the earlier request."""

    accepted_request_id: str
    sent_messages: list[dict[str, str]]


@dataclass
class Refused:
    """A normal LINE refusal (not a spec violation): invalid reply token, quota reached..."""

    status: int
    message: str


@dataclass
class RichMenu:
    definition: dict[str, Any]
    image: bytes | None = None
    image_type: str = ""


def new_request_id() -> str:
    return secrets.token_hex(16)


class PlatformState:
    """The LINE platform's memory, as seen through the Messaging API."""

    def __init__(self, reply_token_ttl: float = 60.0) -> None:
        self.reply_token_ttl = reply_token_ttl
        self.quota_limit: int | None = DEFAULT_QUOTA  # None: unlimited
        self.bot_user_id = "U" + secrets.token_hex(16)
        self.bot_display_name = "IT Helpdesk"
        self.requests: list[RecordedRequest] = []
        self.sent: list[SentMessage] = []
        self.violations: list[str] = []
        self._lock = threading.RLock()
        self._reply_tokens: dict[str, _ReplyToken] = {}
        self._retry_keys: dict[str, Conflict] = {}
        self._push_count = 0
        self._faults: list[_Fault] = []
        self._delays: dict[str, float] = {}
        self._failure_rate: _FailureRate | None = None
        self._lost_answers: set[str] = set()  # request ids whose answer is replaced by a failure
        self._down = False
        self._wake = threading.Event()  # set to cut short the answers being held back by a delay
        self._content: dict[str, tuple[bytes, str]] = {}
        self._profiles: dict[str, str] = {}
        self._members: dict[str, set[str]] = {}  # group/room id -> user ids (the bot not counted)
        self.rich_menus: dict[str, RichMenu] = {}
        self.default_rich_menu: str | None = None

    # Inspection ----------------------------------------------------------------------------------

    def messages_to(self, to: str) -> list[dict[str, Any]]:
        """Every message accepted for this user/group/room, oldest first."""
        with self._lock:
            return [message for record in self.sent if record.to == to for message in record.messages]

    def accepted_retry_keys(self) -> list[str]:
        """Retry keys of accepted requests, one entry per accepted request (a repeat means dedup broke)."""
        with self._lock:
            seen: set[str] = set()
            keys: list[str] = []
            for record in self.sent:
                if record.retry_key and record.request_id not in seen:
                    seen.add(record.request_id)
                    keys.append(record.retry_key)
            return keys

    @property
    def push_count(self) -> int:
        """Messages counted against the monthly quota: one per recipient of each push or multicast."""
        with self._lock:
            return self._push_count

    def reset(self) -> None:
        """A fresh platform: forget traffic, faults, quota use and limit, reply tokens, content,
        profiles and rich menus (the recorded lists are cleared in place, so held references stay live)."""
        with self._lock:
            self.quota_limit = DEFAULT_QUOTA
            self.requests.clear()
            self.sent.clear()
            self.violations.clear()
            self._reply_tokens.clear()
            self._retry_keys.clear()
            self._push_count = 0
            self._faults.clear()
            self._delays.clear()
            self._failure_rate = None
            self._lost_answers.clear()
            self._down = False
            self._content.clear()
            self._profiles.clear()
            self._members.clear()
            self.rich_menus.clear()
            self.default_rich_menu = None
            self._wake_sleepers()

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)
            if request.errors:
                self.violations.append(f"{request.method} {request.path}: {'; '.join(request.errors)}")

    # Reply tokens --------------------------------------------------------------------------------

    def issue_reply_token(self, to: str | None) -> str:
        """A token as LINE puts in a webhook event: usable once, for reply_token_ttl seconds."""
        token = secrets.token_hex(16)
        with self._lock:
            self._reply_tokens[token] = _ReplyToken(to, time.time() + self.reply_token_ttl)
        return token

    def redeliver_reply_token(self, token: str, original_age: float = 0.0) -> None:
        """LINE redelivers an event: its unused token works again for a minute from the redelivery,
        but never more than REDELIVERY_TOKEN_LIMIT after the original event (`original_age` seconds ago)."""
        now = time.time()
        with self._lock:
            issued = self._reply_tokens.get(token)
            if issued is None:
                return
            issued.issued_at = now - original_age
            issued.expires_at = min(now + self.reply_token_ttl, issued.issued_at + REDELIVERY_TOKEN_LIMIT)

    def expire_reply_token(self, token: str) -> None:
        with self._lock:
            if token in self._reply_tokens:
                self._reply_tokens[token].expires_at = 0.0

    def reply(self, token: str, messages: list[dict[str, Any]], request_id: str) -> Accepted | Refused:
        with self._lock:
            issued = self._reply_tokens.get(token)
            if issued is None or issued.used or issued.expires_at <= time.time():
                return Refused(400, "Invalid reply token")
            issued.used = True
            self.sent.append(SentMessage("reply", issued.to, messages, request_id=request_id))
            return Accepted(_sent_messages(messages))

    # Pushes --------------------------------------------------------------------------------------

    def deliver(
        self, kind: str, recipients: list[str | None], messages: list[dict[str, Any]], retry_key: str | None,
        request_id: str,
    ) -> Accepted | Conflict | Refused:
        """Accept a push, multicast or broadcast once per retry key, counting it against the quota."""
        with self._lock:
            if retry_key and retry_key in self._retry_keys:
                return self._retry_keys[retry_key]
            # LINE's pricing: one message per person reached, so a push into a group chat costs one
            # per member (a broadcast's audience is not modelled).
            charged = 0 if kind == "broadcast" else sum(self._cost_of(to) for to in recipients)
            if self.quota_limit is not None and self._push_count + charged > self.quota_limit:
                return Refused(429, "You have reached your monthly limit.")
            self._push_count += charged
            now = time.time()
            for to in recipients:
                self.sent.append(SentMessage(kind, to, messages, retry_key, now, request_id))
            sent = _sent_messages(messages)
            if retry_key:
                self._retry_keys[retry_key] = Conflict(request_id, sent)
            return Accepted(sent)

    def _cost_of(self, to: str | None) -> int:
        if to and to[:1] in ("C", "R"):
            return max(len(self._members.get(to, ())), 1)
        return 1

    # Group chats ---------------------------------------------------------------------------------

    def add_members(self, chat_id: str, *user_ids: str) -> None:
        """People in a group or room chat (as LINE knows them): each is charged for a push there."""
        with self._lock:
            self._members.setdefault(chat_id, set()).update(u for u in user_ids if u)

    def member_count(self, chat_id: str) -> int | None:
        with self._lock:
            members = self._members.get(chat_id)
            return None if members is None else len(members)

    # Faults --------------------------------------------------------------------------------------

    def fail_next(self, n: int, status: int = 500, path_prefix: str = "/v2/bot/message") -> None:
        """The next n requests under path_prefix answer `status` and are not accepted."""
        with self._lock:
            if n <= 0:
                self._faults = [f for f in self._faults if not f.path_prefix.startswith(path_prefix)]
            else:
                self._faults.append(_Fault(n, status, path_prefix))

    def set_delay(self, seconds: float, path_prefix: str = "/v2/bot/message") -> None:
        """Answer requests under path_prefix only after `seconds` (they are processed first).
        0 clears this prefix and every narrower one, and releases answers being held back."""
        with self._lock:
            if seconds > 0:
                self._delays[path_prefix] = seconds
                return
            for prefix in [p for p in self._delays if p.startswith(path_prefix)]:
                del self._delays[prefix]
            self._wake_sleepers()

    def set_down(self, down: bool) -> None:
        with self._lock:
            self._down = down

    def take_fault(self, path: str) -> int | None:
        """The status to fail this request with, if the platform is down or a fault is pending."""
        with self._lock:
            if self._down:
                return 503
            for fault in self._faults:
                if path.startswith(fault.path_prefix):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault.status
            return None

    def set_failure_rate(self, rate: float, status: int = 500, path_prefix: str = "/v2/bot/message", *,
                         seed: int | None = 0, after_accept: float = 0.0) -> None:
        """Fail a random share `rate` of the requests under path_prefix with `status` (seeded, so a run
        can be repeated). A share `after_accept` of those failures is applied after the platform took
        the request, as a lost answer; the rest are refused before. A rate of 0 switches this off."""
        if not 0.0 <= rate <= 1.0 or not 0.0 <= after_accept <= 1.0:
            raise ValueError("rate and after_accept are shares between 0 and 1")
        with self._lock:
            self._failure_rate = (
                _FailureRate(rate, status, path_prefix, after_accept, random.Random(seed)) if rate > 0 else None
            )

    def take_random_fault(self, path: str, request_id: str) -> int | None:
        """Draw this request's fate under set_failure_rate: a status to refuse it with now, or None.
        A request drawn to lose its answer is remembered, for lost_answer() once it is processed."""
        with self._lock:
            failure = self._failure_rate
            if failure is None or not path.startswith(failure.path_prefix) or failure.rng.random() >= failure.rate:
                return None
            if failure.rng.random() < failure.after_accept:
                self._lost_answers.add(request_id)
                return None
            return failure.status

    def lost_answer(self, request_id: str) -> int | None:
        """The status that replaces this processed request's answer, if it was drawn to be lost."""
        with self._lock:
            if request_id in self._lost_answers and self._failure_rate is not None:
                self._lost_answers.discard(request_id)
                return self._failure_rate.status
            self._lost_answers.discard(request_id)
            return None

    def hold_answer(self, path: str) -> None:
        """Sleep before answering, like a slow platform; cut short by set_delay(0), reset or stop."""
        with self._lock:
            matching = [prefix for prefix in self._delays if path.startswith(prefix)]
            seconds = self._delays[max(matching, key=len)] if matching else 0.0
            wake = self._wake
        if seconds > 0:
            wake.wait(seconds)

    def _wake_sleepers(self) -> None:
        self._wake.set()
        self._wake = threading.Event()

    # Content, profiles ---------------------------------------------------------------------------

    def add_content(self, message_id: str, data: bytes, content_type: str = "image/jpeg") -> None:
        with self._lock:
            self._content[message_id] = (data, content_type)

    def content(self, message_id: str) -> tuple[bytes, str] | None:
        with self._lock:
            return self._content.get(message_id)

    def add_profile(self, user_id: str, display_name: str) -> None:
        with self._lock:
            self._profiles[user_id] = display_name

    def profile(self, user_id: str) -> dict[str, str] | None:
        with self._lock:
            name = self._profiles.get(user_id)
        return None if name is None else {"userId": user_id, "displayName": name}

    # Rich menus ----------------------------------------------------------------------------------

    def create_rich_menu(self, definition: dict[str, Any]) -> str:
        menu_id = "richmenu-" + secrets.token_hex(16)
        with self._lock:
            self.rich_menus[menu_id] = RichMenu(definition)
        return menu_id

    def rich_menu(self, menu_id: str) -> RichMenu | None:
        with self._lock:
            return self.rich_menus.get(menu_id)

    def set_rich_menu_image(self, menu_id: str, image: bytes, content_type: str) -> Refused | None:
        with self._lock:
            menu = self.rich_menus.get(menu_id)
            if menu is None:
                return Refused(404, "Not found")
            if menu.image is not None:
                return Refused(400, "An image has already been uploaded to the richmenu")
            menu.image, menu.image_type = image, content_type
            return None

    def set_default_rich_menu(self, menu_id: str) -> Refused | None:
        with self._lock:
            menu = self.rich_menus.get(menu_id)
            if menu is None:
                return Refused(404, "Not found")
            if menu.image is None:
                return Refused(400, "must upload richmenu image before applying it to user")
            self.default_rich_menu = menu_id
            return None

    def delete_rich_menu(self, menu_id: str) -> bool:
        with self._lock:
            if self.rich_menus.pop(menu_id, None) is None:
                return False
            if self.default_rich_menu == menu_id:
                self.default_rich_menu = None
            return True


def _sent_messages(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    """LINE's answer: an id (numeric string) and a quote token for each message sent."""
    return [{"id": str(secrets.randbelow(9 * 10**17) + 10**17), "quoteToken": secrets.token_urlsafe(24)}
            for _ in messages]
