"""A fake LINE platform on 127.0.0.1 for tests and the simulator.

It serves the Messaging API (every request checked against LINE's own OpenAPI spec, retry keys,
reply tokens, quota, injected faults) and plays LINE's webhook side (events built and signed as LINE
does, POSTed to the bot). Tests and the simulator drive it in-process through `FakeLine`.
"""

from __future__ import annotations

import copy
import re
import threading
import time
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from bot.fake_line import events as webhook
from bot.fake_line.app import FakeLineApp
from bot.fake_line.state import PlatformState, RecordedRequest, SentMessage

__all__ = ["FakeLine", "RecordedRequest", "SentMessage"]

_LINE_ID = re.compile(r"[UCR][0-9a-f]{32}")


class _MaskedIdsRequestHandler(WSGIRequestHandler):
    """The platform's access log, with the LINE ids in paths (member counts, profiles) masked:
    the suite's and the demo's logs must carry no raw LINE id, whichever side logged it."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.log("info", '"%s %s" %s %s', self.command, _LINE_ID.sub("<id>", self.path), code, size)


class FakeLine:
    """The platform as one object: start it, point the SDK at `base_url`, inspect what it got."""

    def __init__(self, channel_secret: str, access_token: str, reply_token_ttl: float = 60.0) -> None:
        self.channel_secret = channel_secret
        self.access_token = access_token
        self.state = PlatformState(reply_token_ttl=reply_token_ttl)
        self.webhook_url: str | None = None  # the bot's /callback, for deliver()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # Server --------------------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0: any free port) in a daemon thread; returns the base URL."""
        if self._server is not None:
            return self.base_url
        _warm_up_validation()
        self._server = make_server(
            host,
            port,
            FakeLineApp(self.state, self.access_token),
            threaded=True,
            request_handler=_MaskedIdsRequestHandler,
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-line", daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is None:
            return
        self.state.set_delay(0, "/")  # release answers held back by a delay
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake LINE platform is not started")
        return f"http://127.0.0.1:{self._server.server_port}"

    # What the platform saw -----------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.state.requests

    @property
    def sent(self) -> list[SentMessage]:
        return self.state.sent

    @property
    def violations(self) -> list[str]:
        return self.state.violations

    @property
    def push_count(self) -> int:
        return self.state.push_count

    @property
    def bot_user_id(self) -> str:
        return self.state.bot_user_id

    def messages_to(self, to: str) -> list[dict[str, Any]]:
        return self.state.messages_to(to)

    def accepted_retry_keys(self) -> list[str]:
        return self.state.accepted_retry_keys()

    def reset(self) -> None:
        self.state.reset()

    # Steering ------------------------------------------------------------------------------------

    def fail_next(self, n: int, status: int = 500, path_prefix: str = "/v2/bot/message") -> None:
        self.state.fail_next(n, status, path_prefix)

    def set_delay(self, seconds: float, path_prefix: str = "/v2/bot/message") -> None:
        self.state.set_delay(seconds, path_prefix)

    def set_down(self, down: bool) -> None:
        self.state.set_down(down)

    def set_failure_rate(self, rate: float, status: int = 500, path_prefix: str = "/v2/bot/message", *,
                         seed: int | None = 0, after_accept: float = 0.0) -> None:
        """Fail a random (seeded) share of requests; see PlatformState.set_failure_rate."""
        self.state.set_failure_rate(rate, status, path_prefix, seed=seed, after_accept=after_accept)

    def set_quota(self, limit: int | None) -> None:
        self.state.quota_limit = limit

    def issue_reply_token(self, to: str | None) -> str:
        return self.state.issue_reply_token(to)

    def expire_reply_token(self, token: str) -> None:
        self.state.expire_reply_token(token)

    def add_content(self, message_id: str, data: bytes, content_type: str = "image/jpeg") -> None:
        self.state.add_content(message_id, data, content_type)

    def add_profile(self, user_id: str, display_name: str) -> None:
        self.state.add_profile(user_id, display_name)

    def add_members(self, chat_id: str, *user_ids: str) -> None:
        self.state.add_members(chat_id, *user_ids)

    # Webhook side --------------------------------------------------------------------------------

    def make_event(self, kind: str, user_id: str | None, *, group_id: str | None = None, mode: str = "active",
                   **fields: Any) -> dict[str, Any]:
        """One event as LINE would send it, with a live reply token where LINE gives one."""
        token = None
        if webhook.needs_reply_token(kind, mode):
            token = self.issue_reply_token(group_id or user_id)
        if group_id and user_id:
            self.add_members(group_id, user_id)  # whoever speaks in a group is one of its members
        return webhook.build_event(kind, user_id, reply_token=token, group_id=group_id, mode=mode, **fields)

    def redelivery(self, event: dict[str, Any], original_age: float = 0.0) -> dict[str, Any]:
        """The same event as LINE redelivers it, the original having happened `original_age` seconds
        ago: marked as a redelivery, with the original timestamp, its reply token usable again for a
        minute (never past 20 minutes after the original, never once used)."""
        again = copy.deepcopy(event)
        again["timestamp"] = int((time.time() - original_age) * 1000)
        again.setdefault("deliveryContext", {})["isRedelivery"] = True
        if isinstance(again.get("replyToken"), str):
            self.state.redeliver_reply_token(again["replyToken"], original_age)
        return again

    def sign_events(self, events: list[dict[str, Any]]) -> tuple[bytes, str]:
        """The webhook body LINE would POST for these events, and its X-Line-Signature."""
        body = webhook.webhook_body(events, self.bot_user_id)
        return body, webhook.signature(body, self.channel_secret)

    def deliver(self, events: list[dict[str, Any]], timeout: float = 10.0) -> int:
        """POST the events, signed, to `webhook_url`; the bot's HTTP status."""
        if not self.webhook_url:
            raise RuntimeError("no webhook_url: tell the fake where the bot's /callback is")
        body, signed = self.sign_events(events)
        return webhook.post(self.webhook_url, body, signed, timeout)


def _warm_up_validation() -> None:
    """Build the spec's validators before the first request: done lazily, it can take seconds on a busy
    machine and make the bot's first call time out as if LINE were slow."""
    from bot.fake_line import spec

    body = b'{"to":"U00000000000000000000000000000000","messages":[{"type":"text","text":"x"}]}'
    for path in ("/v2/bot/message/push", "/v2/bot/message/reply", "/v2/bot/message/multicast"):
        spec.validate("POST", path, {"Content-Type": "application/json"}, {}, body, "application/json")
