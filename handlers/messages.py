"""Builders for LINE message objects (plain dicts, sent as JSON by the relay)."""

from __future__ import annotations

from typing import Any

from handlers import postback

MAX_QUICK_REPLIES = 13
MAX_LABEL = 20
MAX_TEXT = 5000

Message = dict[str, Any]


def label(text: str) -> str:
    """LINE cuts nothing itself: it rejects labels over 20 characters."""
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def postback_action(text: str, action: str, display: str | None = None, **params: str | int) -> dict[str, Any]:
    act: dict[str, Any] = {"type": "postback", "label": label(text), "data": postback.encode(action, **params)}
    act["displayText"] = display or text
    return act


def message_action(text: str, says: str | None = None) -> dict[str, Any]:
    return {"type": "message", "label": label(text), "text": says or text}


def text(body: str, quick_replies: list[dict[str, Any]] | None = None) -> Message:
    msg: Message = {"type": "text", "text": body[:MAX_TEXT]}
    if quick_replies:
        msg["quickReply"] = {
            "items": [{"type": "action", "action": act} for act in quick_replies[:MAX_QUICK_REPLIES]]
        }
    return msg


def bubble(alt_text: str, title: str, lines: list[str], buttons: list[dict[str, Any]] | None = None) -> Message:
    """A simple Flex card: a bold title, a few lines, and buttons in the footer."""
    body: list[dict[str, Any]] = [{"type": "text", "text": title, "weight": "bold", "size": "md", "wrap": True}]
    body += [{"type": "text", "text": line, "size": "sm", "wrap": True, "color": "#555555"} for line in lines]
    container: dict[str, Any] = {
        "type": "bubble",
        "body": {"type": "box", "layout": "vertical", "spacing": "sm", "contents": body},
    }
    if buttons:
        container["footer"] = {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            # The first button is the expected next step; the others are quieter.
            "contents": [{"type": "button", "style": "primary" if i == 0 else "secondary", "height": "sm", "action": b}
                         for i, b in enumerate(buttons)],
        }
    return {"type": "flex", "altText": alt_text[:400], "contents": container}
