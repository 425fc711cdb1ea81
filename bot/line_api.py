"""The only module that talks to LINE (line-bot-sdk v3 over HTTP, with a timeout on every call)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum
from typing import Any

import urllib3
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    MessagingApi,
    MessagingApiBlob,
    MulticastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    RichMenuRequest,
)

log = logging.getLogger(__name__)


class Outcome(Enum):
    SENT = "sent"
    RETRY = "retry"  # 5xx, 429, timeout, connection refused: try again later
    REJECTED = "rejected"  # other 4xx: LINE will never accept this request
    BAD_REPLY_TOKEN = "bad_reply_token"  # used or expired: fall back to push


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    status: int | None = None
    error: str = ""


@dataclass(frozen=True)
class Content:
    result: SendResult
    data: bytes = b""
    content_type: str = ""


class LineApi:
    def __init__(self, base_url: str, access_token: str, timeout: float = 10.0) -> None:
        # The data host (content, rich menu images) is the same base in tests and behind proxies;
        # with LINE's own default we keep LINE's separate data host.
        config = Configuration(host=base_url, access_token=access_token)
        config.retries = False  # retries are the relay's job, durable and with the same retry key
        self._client = ApiClient(config)
        data_host = "https://api-data.line.me" if base_url == "https://api.line.me" else base_url
        data_config = Configuration(host=data_host, access_token=access_token)
        data_config.retries = False
        self._data_client = ApiClient(data_config)
        self._api = MessagingApi(self._client)
        self._blob = MessagingApiBlob(self._data_client)
        self.timeout = timeout

    def close(self) -> None:
        self._client.close()
        self._data_client.close()

    def reply(self, reply_token: str, messages: list[dict[str, Any]]) -> SendResult:
        request = ReplyMessageRequest.from_dict({"replyToken": reply_token, "messages": messages})
        return self._send(lambda: self._api.reply_message(request, _request_timeout=self.timeout), "reply")

    def push(self, to: str, messages: list[dict[str, Any]], retry_key: str) -> SendResult:
        request = PushMessageRequest.from_dict({"to": to, "messages": messages})
        return self._send(
            lambda: self._api.push_message(request, x_line_retry_key=retry_key, _request_timeout=self.timeout),
            "push",
        )

    def multicast(self, to: list[str], messages: list[dict[str, Any]], retry_key: str) -> SendResult:
        """The same messages to up to 500 people in one call (one retry key for the whole call)."""
        request = MulticastRequest.from_dict({"to": to, "messages": messages})
        return self._send(
            lambda: self._api.multicast(request, x_line_retry_key=retry_key, _request_timeout=self.timeout),
            "push",  # the same answers mean the same as for a push (409: already accepted)
        )

    def _send(self, call: Any, kind: str) -> SendResult:
        try:
            call()
        except ApiException as exc:
            return _classify(exc, kind)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            log.warning("line %s: no answer (%s)", kind, type(exc).__name__)
            return SendResult(Outcome.RETRY, None, type(exc).__name__)
        return SendResult(Outcome.SENT, 200)

    # Administration (CLI and worker jobs) --------------------------------------------------------

    def message_quota(self) -> tuple[int | None, int]:
        """(monthly limit or None when unlimited, messages used this month)."""
        quota = self._api.get_message_quota(_request_timeout=self.timeout)
        used = self._api.get_message_quota_consumption(_request_timeout=self.timeout)
        limit = quota.value if quota.type == "limited" else None
        return limit, used.total_usage

    def deploy_rich_menu(self, definition: dict[str, Any], image: bytes, content_type: str = "image/png") -> str:
        """Create the menu, upload its image and make it everyone's default. Returns its id."""
        created = self._api.create_rich_menu(RichMenuRequest.from_dict(definition), _request_timeout=self.timeout)
        menu_id = created.rich_menu_id
        self._blob.set_rich_menu_image(
            menu_id, image, _headers={"Content-Type": content_type}, _request_timeout=self.timeout
        )
        self._api.set_default_rich_menu(menu_id, _request_timeout=self.timeout)
        return menu_id

    def message_content(self, message_id: str) -> Content:
        """A photo or file the user sent. RETRY: try later; REJECTED: LINE no longer has it."""
        try:
            answer = self._blob.get_message_content_with_http_info(message_id, _request_timeout=self.timeout)
        except ApiException as exc:
            status = exc.status or 0
            outcome = Outcome.RETRY if status == 429 or status >= 500 else Outcome.REJECTED
            return Content(SendResult(outcome, status, f"status {status}"))
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            return Content(SendResult(Outcome.RETRY, None, type(exc).__name__))
        headers = answer.headers or {}
        content_type = str(headers.get("Content-Type") or headers.get("content-type") or "application/octet-stream")
        return Content(SendResult(Outcome.SENT, 200), bytes(answer.data or b""), content_type)


def _classify(exc: ApiException, kind: str) -> SendResult:
    status = exc.status or 0
    body = (exc.body or b"")
    detail = body.decode("utf-8", "replace")[:300] if isinstance(body, bytes) else str(body)[:300]
    if kind == "push" and status == 409:
        return SendResult(Outcome.SENT, 409, "retry key already accepted")
    if kind == "reply" and status == 400 and "reply token" in detail.lower():
        return SendResult(Outcome.BAD_REPLY_TOKEN, 400, "invalid reply token")
    if status == 429 or status >= 500:
        log.warning("line %s: status %d, will retry", kind, status)
        return SendResult(Outcome.RETRY, status, detail)
    log.error("line %s: rejected with status %d", kind, status)
    return SendResult(Outcome.REJECTED, status, detail)
