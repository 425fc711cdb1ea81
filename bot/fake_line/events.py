"""The platform's webhook side: events shaped exactly as LINE sends them (see webhook.yml), signed
with the channel secret, POSTed to the bot.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from typing import Any

KINDS = ("text", "image", "postback", "follow", "unfollow", "join", "leave", "memberJoined", "memberLeft", "sticker")
# LINE puts no reply token in these: there is nobody to answer.
WITHOUT_REPLY_TOKEN = frozenset({"unfollow", "leave", "memberLeft"})
# Events about the bot or the membership itself name no acting user in `source`.
NO_SOURCE_USER = frozenset({"join", "leave", "memberJoined", "memberLeft"})
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # the ULID alphabet


def needs_reply_token(kind: str, mode: str) -> bool:
    """LINE gives a reply token to answerable events, and none at all in standby mode."""
    return kind not in WITHOUT_REPLY_TOKEN and mode == "active"


def ulid(now_ms: int | None = None) -> str:
    """A ULID (26 characters: 48-bit time, 80 random bits), as LINE's webhookEventId is."""
    value = ((now_ms if now_ms is not None else int(time.time() * 1000)) << 80) | secrets.randbits(80)
    return "".join(CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def message_id() -> str:
    """LINE message ids are numeric strings of about 18 digits."""
    return str(secrets.randbelow(9 * 10**17) + 10**17)


def source(kind: str, user_id: str | None, group_id: str | None) -> dict[str, str]:
    if group_id is None:
        if user_id is None:
            raise ValueError(f"a {kind} event needs a user_id or a group_id")
        return {"type": "user", "userId": user_id}
    found = {"type": "room", "roomId": group_id} if group_id.startswith("R") else {"type": "group", "groupId": group_id}
    if user_id is not None and kind not in NO_SOURCE_USER:
        found["userId"] = user_id
    return found


def build_event(
    kind: str,
    user_id: str | None,
    *,
    reply_token: str | None,
    group_id: str | None = None,
    mode: str = "active",
    redelivery: bool = False,
    timestamp: int | None = None,
    text: str | None = None,
    mention_self: bool = False,
    message_id: str | None = None,
    data: str | None = None,
    params: dict[str, str] | None = None,
    package_id: str = "446",
    sticker_id: str = "1988",
    members: list[str] | None = None,
    is_unblocked: bool = False,
) -> dict[str, Any]:
    """One webhook event of `kind` (see KINDS), every field as LINE fills it."""
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}; one of {', '.join(KINDS)}")
    if kind in ("memberJoined", "memberLeft") and group_id is None:
        raise ValueError(f"a {kind} event happens in a group: give group_id")
    now_ms = timestamp if timestamp is not None else int(time.time() * 1000)
    event: dict[str, Any] = {"type": "message" if kind in ("text", "image", "sticker") else kind}
    if reply_token is not None:
        event["replyToken"] = reply_token
    event.update({
        "mode": mode,
        "timestamp": now_ms,
        "source": source(kind, user_id, group_id),
        "webhookEventId": ulid(now_ms),
        "deliveryContext": {"isRedelivery": redelivery},
    })
    content = _content(kind, user_id, text, mention_self, message_id, data, params, package_id, sticker_id, members)
    if kind == "follow":
        content = {"follow": {"isUnblocked": is_unblocked}}
    event.update(content)
    return event


def _content(
    kind: str, user_id: str | None, text: str | None, mention_self: bool, msg_id: str | None, data: str | None,
    params: dict[str, str] | None, package_id: str, sticker_id: str, members: list[str] | None,
) -> dict[str, Any]:
    """The part of an event that depends on its kind (message, postback, joined/left members)."""
    quote = secrets.token_urlsafe(24)
    if kind == "text":
        if not isinstance(text, str):
            raise ValueError("a text event needs text=")
        message: dict[str, Any] = {"id": msg_id or message_id(), "type": "text", "text": text, "quoteToken": quote}
        if mention_self:
            message["mention"] = {"mentionees": [{"index": 0, "length": _mention_length(text), "type": "user",
                                                  "isSelf": True}]}
        return {"message": message}
    if kind == "image":
        return {"message": {"id": msg_id or message_id(), "type": "image", "contentProvider": {"type": "line"},
                            "quoteToken": quote}}
    if kind == "sticker":
        return {"message": {"id": msg_id or message_id(), "type": "sticker", "packageId": package_id,
                            "stickerId": sticker_id, "stickerResourceType": "STATIC", "quoteToken": quote}}
    if kind == "postback":
        if not isinstance(data, str):
            raise ValueError("a postback event needs data=")
        return {"postback": {"data": data, **({"params": params} if params else {})}}
    if kind in ("memberJoined", "memberLeft"):
        chosen = members if members is not None else [user_id] if user_id else []
        key = "joined" if kind == "memberJoined" else "left"
        return {key: {"members": [{"type": "user", "userId": member} for member in chosen]}}
    return {}


def _mention_length(text: str) -> int:
    """The mention covers the leading "@name" word (LINE counts the text as typed); with no "@",
    the text is left alone and the mention covers its first word, at least one character."""
    first = text.split(maxsplit=1)[0] if text.strip() else text
    return max(1, len(first)) if text else 0


def webhook_body(events: list[dict[str, Any]], destination: str) -> bytes:
    return json.dumps({"destination": destination, "events": events}, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def signature(body: bytes, channel_secret: str) -> str:
    """X-Line-Signature: base64 of HMAC-SHA256 over the raw body, keyed with the channel secret."""
    digest = hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def post(url: str, body: bytes, signed: str, timeout: float = 10.0) -> int:
    """POST a signed webhook body as LINE does; the HTTP status, whatever it is. Errors reaching the
    server (refused, timed out) raise OSError."""
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8",
        "X-Line-Signature": signed,
        "User-Agent": "LineBotWebhook/2.0",
    })
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1, never a proxy
    try:
        with opener.open(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
