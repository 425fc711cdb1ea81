"""The only module that talks to LINE (line-bot-sdk v3 over HTTP, with a timeout on every call)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

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


# LINE's answer when the month's push quota is used up (429 like a rate limit, but retrying does not
# help until the next month or a higher plan).
MONTHLY_LIMIT_TEXT = "monthly limit"
LINE_API_HOST = "api.line.me"
LINE_DATA_HOST = "api-data.line.me"


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    status: int | None = None
    error: str = ""
    # False only when the request is known never to have left this machine (connection refused or
    # not established): LINE cannot have acted on it.
    reached: bool = True
    quota_exhausted: bool = False


@dataclass(frozen=True)
class Content:
    result: SendResult
    data: bytes = b""
    content_type: str = ""


class LineApi:
    def __init__(self, base_url: str, access_token: str, timeout: float = 10.0) -> None:
        config = Configuration(host=base_url, access_token=access_token)
        config.retries = False  # retries are the relay's job, durable and with the same retry key
        self._client = ApiClient(config)
        data_config = Configuration(host=data_host_for(base_url), access_token=access_token)
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
            return SendResult(Outcome.RETRY, None, type(exc).__name__, reached=_may_have_reached(exc))
        return SendResult(Outcome.SENT, 200)

    # Administration (CLI and worker jobs) --------------------------------------------------------

    def message_quota(self) -> tuple[int | None, int]:
        """(monthly limit or None when unlimited, messages used this month)."""
        quota = self._api.get_message_quota(_request_timeout=self.timeout)
        used = self._api.get_message_quota_consumption(_request_timeout=self.timeout)
        limit = quota.value if quota.type == "limited" else None
        return limit, used.total_usage

    def group_member_count(self, chat_id: str) -> int:
        """People in a group or room chat, the bot not counted: what one push there costs."""
        if chat_id.startswith("R"):
            return self._api.get_room_member_count(chat_id, _request_timeout=self.timeout).count
        return self._api.get_group_member_count(chat_id, _request_timeout=self.timeout).count

    def deploy_rich_menu(self, definition: dict[str, Any], image: bytes, content_type: str = "image/png") -> str:
        """Create the menu, upload its image and make it everyone's default, then delete the menus of
        the same name that it replaced (LINE keeps at most 1,000 per channel). Returns its id."""
        created = self._api.create_rich_menu(RichMenuRequest.from_dict(definition), _request_timeout=self.timeout)
        menu_id = created.rich_menu_id
        self._blob.set_rich_menu_image(
            menu_id, image, _headers={"Content-Type": content_type}, _request_timeout=self.timeout
        )
        self._api.set_default_rich_menu(menu_id, _request_timeout=self.timeout)
        listed = self._api.get_rich_menu_list(_request_timeout=self.timeout).richmenus or []
        for menu in listed:
            if menu.rich_menu_id != menu_id and menu.name == definition.get("name"):
                self._api.delete_rich_menu(menu.rich_menu_id, _request_timeout=self.timeout)
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


def data_host_for(base_url: str) -> str:
    """LINE serves content and rich-menu images from a separate data host; a test platform or a
    proxy serves both from the base URL it was given."""
    parts = urlsplit(base_url)
    if (parts.hostname or "").lower() == LINE_API_HOST:
        netloc = LINE_DATA_HOST if parts.port is None else f"{LINE_DATA_HOST}:{parts.port}"
        return parts._replace(netloc=netloc).geturl()
    return base_url


def _may_have_reached(exc: BaseException) -> bool:
    """Whether LINE may have received a request that got no answer: not when the connection was
    never made (refused, DNS, connect timeout), yes for a read timeout or a dropped answer."""
    reason = getattr(exc, "reason", None)
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and isinstance(reason, BaseException):
        exc = reason
    never_sent = (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError,
                  ConnectionRefusedError)
    return not isinstance(exc, never_sent)


def _classify(exc: ApiException, kind: str) -> SendResult:
    status = exc.status or 0
    body = (exc.body or b"")
    detail = body.decode("utf-8", "replace")[:300] if isinstance(body, bytes) else str(body)[:300]
    if kind == "push" and status == 409:
        return SendResult(Outcome.SENT, 409, "retry key already accepted")
    if kind == "reply" and status == 400 and "reply token" in detail.lower():
        return SendResult(Outcome.BAD_REPLY_TOKEN, 400, "invalid reply token")
    if status == 429 and MONTHLY_LIMIT_TEXT in detail.lower():
        log.error("line %s: the monthly message quota is used up; kept for the admin", kind)
        return SendResult(Outcome.REJECTED, 429, detail, quota_exhausted=True)
    if status == 429 or status >= 500:
        log.warning("line %s: status %d, will retry", kind, status)
        return SendResult(Outcome.RETRY, status, detail)
    log.error("line %s: rejected with status %d", kind, status)
    return SendResult(Outcome.REJECTED, status, detail)
