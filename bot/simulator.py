"""/simulator: chat with the bot in a browser through the fake LINE platform (demo mode only).

Every event takes the real path: the fake platform builds and signs it and POSTs it to /callback;
the conversation shown is what the fake platform accepted from the bot for that chat.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for
from sqlalchemy import select

from bot.database import get_db
from bot.richmenu import HEIGHT, WIDTH, definition
from handlers.texts import BOT_NAME
from models.groups import it_group_id
from models.org import Staff

bp = Blueprint(
    "simulator",
    __name__,
    url_prefix="/simulator",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

FAKE_LINE_EXTENSION = "fake_line"
TRANSCRIPT_EXTENSION = "simulator.transcript"
USER_ID = re.compile(r"U[0-9a-f]{32}")
MAX_TEXT = 5000
MAX_DATA = 300
SHOWN_PER_CHAT = 200
NOT_AVAILABLE = (
    "เครื่องจำลองใช้ได้เฉพาะโหมดสาธิต (python -m bot demo) / "
    "the simulator only runs in demo mode with the fake LINE platform (python -m bot demo)"
)
USER_KINDS = {"text", "postback", "follow", "unfollow", "image"}
GROUP_KINDS = {"text", "postback", "join", "leave"}


class BadRequest(ValueError):
    """A request the page should never send; the message is shown to the person as is."""


@dataclass(frozen=True)
class Said:
    """Something the simulated person did in a chat (LINE shows it on their side only)."""

    chat_id: str
    user_id: str
    kind: str  # text | image | note
    text: str
    at: float


class Transcript:
    """The people's side of each chat, in memory: the fake platform only records the bot's side."""

    def __init__(self, size: int = 5000) -> None:
        self._items: deque[Said] = deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, said: Said) -> None:
        with self._lock:
            self._items.append(said)

    def of(self, chat_id: str) -> list[Said]:
        with self._lock:
            return [said for said in self._items if said.chat_id == chat_id]


@bp.before_request
def _demo_only() -> Response | tuple[Response, int] | None:
    if current_app.config.get("DEMO") and FAKE_LINE_EXTENSION in current_app.extensions:
        return None
    if request.path.startswith("/simulator/api/"):
        return jsonify(error=NOT_AVAILABLE), 404
    return Response(NOT_AVAILABLE, status=404, mimetype="text/plain")


@bp.errorhandler(BadRequest)
def _bad_request(exc: BadRequest) -> tuple[Response, int]:
    return jsonify(error=str(exc)), 400


# Pages -------------------------------------------------------------------------------------------


@bp.get("/", strict_slashes=False)
def page() -> str:
    return render_template(
        "simulator/index.html",
        bot_name=BOT_NAME,
        setup={
            "people": _people(),
            "group": _group(),
            "richMenu": _rich_menu(),
            "api": {
                "send": url_for("simulator.send"),
                "messages": url_for("simulator.messages"),
                "people": url_for("simulator.people"),
            },
        },
    )


# JSON API ----------------------------------------------------------------------------------------


@bp.post("/api/people")
def people() -> Response:
    return jsonify(people=_people(), group=_group())


@bp.post("/api/send")
def send() -> tuple[Response, int]:
    """Make one event as LINE would and deliver it, signed, to /callback."""
    body = _json_body()
    chat = body.get("chat")
    kind = _string(body, "kind", 20)
    user_id = _user_id(body)
    if chat == "group":
        group_id = _group()["id"]
        if not group_id:
            raise BadRequest("ยังไม่ได้ตั้งกลุ่มไอที / no IT group is configured")
        if kind not in GROUP_KINDS:
            raise BadRequest(f"ส่ง {kind} ในกลุ่มไม่ได้ / {kind} cannot be sent in a group")
        chat_id = group_id
    elif chat == "user":
        group_id, chat_id = None, user_id
        if kind not in USER_KINDS:
            raise BadRequest(f"ส่ง {kind} ในแชตส่วนตัวไม่ได้ / {kind} cannot be sent in a 1:1 chat")
    else:
        raise BadRequest("chat ต้องเป็น user หรือ group / chat must be user or group")

    fake = _fake()
    # LINE's join/leave events name no user: the bot was added or removed, not by whom.
    source_user = None if kind in ("join", "leave") else user_id
    event = fake.make_event(kind, source_user, group_id=group_id, **_event_fields(kind, body))
    said = _said(kind, event, body, chat_id, user_id)
    if said is not None:
        _transcript().add(said)
    try:
        status = fake.deliver([event])
    except OSError as exc:  # the web server itself did not answer the fake platform
        return jsonify(ok=False, error=f"ส่งไม่สำเร็จ / delivery failed ({type(exc).__name__})"), 502
    return jsonify(ok=status == 200, status=status), 200


@bp.post("/api/messages")
def messages() -> Response:
    """Both sides of one chat, oldest first: the person's actions and what the bot got through."""
    body = _json_body()
    chat_id = (_group()["id"] or "") if body.get("chat") == "group" else _user_id(body)
    items: list[dict[str, Any]] = [
        {"from": "note" if said.kind == "note" else "user", "kind": said.kind, "text": said.text,
         "userId": said.user_id, "at": said.at}
        for said in _transcript().of(chat_id)
    ]
    items += [{"from": "bot", "message": message, "at": at} for at, message in _bot_messages(chat_id)]
    items.sort(key=lambda item: item["at"])
    return jsonify(items=items[-SHOWN_PER_CHAT:])


# Helpers -----------------------------------------------------------------------------------------


def _fake() -> Any:
    return current_app.extensions[FAKE_LINE_EXTENSION]


def _transcript() -> Transcript:
    return current_app.extensions.setdefault(TRANSCRIPT_EXTENSION, Transcript())


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("ต้องส่งเป็น JSON / expected a JSON object")
    return body


def _string(body: dict[str, Any], key: str, limit: int) -> str:
    value = body.get(key, "")
    if not isinstance(value, str) or len(value) > limit:
        raise BadRequest(f"{key} ไม่ถูกต้อง / invalid {key}")
    return value


def _user_id(body: dict[str, Any]) -> str:
    value = body.get("user")
    if not isinstance(value, str) or not USER_ID.fullmatch(value):
        raise BadRequest("รหัสผู้ใช้ LINE ไม่ถูกต้อง / invalid LINE user id")
    return value


def _event_fields(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    if kind == "text":
        words = _string(body, "text", MAX_TEXT).strip()
        if not words:
            raise BadRequest("พิมพ์ข้อความก่อนส่ง / type a message first")
        return {"text": words, "mention_self": bool(body.get("mention"))}
    if kind == "postback":
        data = _string(body, "data", MAX_DATA)
        if not data:
            raise BadRequest("ปุ่มนี้ไม่มีข้อมูล / the button has no data")
        return {"data": data}
    return {}


def _said(kind: str, event: dict[str, Any], body: dict[str, Any], chat_id: str, user_id: str) -> Said | None:
    now = time.time()
    if kind == "text":
        message = event.get("message") if isinstance(event.get("message"), dict) else {}
        return Said(chat_id, user_id, "text", str(message.get("text", "")), now)
    if kind == "postback":
        display = body.get("display")
        # LINE shows a postback's displayText as the person's message; without one, nothing.
        return Said(chat_id, user_id, "text", display[:MAX_TEXT], now) if isinstance(display, str) and display else None
    if kind == "image":
        return Said(chat_id, user_id, "image", "", now)
    notes = {
        "follow": "เพิ่มบอทเป็นเพื่อนแล้ว",
        "unfollow": "บล็อกบอทแล้ว",
        "join": "เชิญบอทเข้ากลุ่มแล้ว",
        "leave": "นำบอทออกจากกลุ่มแล้ว",
    }
    return Said(chat_id, user_id, "note", notes[kind], now) if kind in notes else None


def _field(record: Any, name: str) -> Any:
    return record.get(name) if isinstance(record, dict) else getattr(record, name, None)


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value) if isinstance(value, int | float) else 0.0


def _bot_messages(chat_id: str) -> list[tuple[float, dict[str, Any]]]:
    """Every message the fake platform accepted for this chat (replies and pushes)."""
    found: list[tuple[float, dict[str, Any]]] = []
    for record in list(_fake().sent):
        if _field(record, "to") != chat_id:
            continue
        at = _epoch(_field(record, "at"))
        for offset, message in enumerate(_field(record, "messages") or []):
            found.append((at + offset * 1e-6, message))  # keep a request's messages in order
    return found


def _people() -> list[dict[str, Any]]:
    with get_db().transaction() as session:
        rows = session.scalars(
            select(Staff).where(Staff.line_user_id.is_not(None), Staff.active.is_(True)).order_by(Staff.code)
        )
        return [
            {"id": s.line_user_id, "code": s.code, "name": s.name, "roles": sorted(s.roles),
             "workGroup": s.work_group.name if s.work_group else ""}
            for s in rows
        ]


def _group() -> dict[str, Any]:
    with get_db().transaction() as session:
        return {"id": it_group_id(session), "name": "กลุ่มไอที"}


def _rich_menu() -> dict[str, Any]:
    """Areas as percentages of the image, so the page can lay buttons over it at any width."""
    menu = definition()
    areas = []
    for area in menu["areas"]:
        b = area["bounds"]
        areas.append({
            "left": 100 * b["x"] / WIDTH, "top": 100 * b["y"] / HEIGHT,
            "width": 100 * b["width"] / WIDTH, "height": 100 * b["height"] / HEIGHT,
            "action": area["action"],
        })
    return {
        "chatBarText": menu["chatBarText"],
        "image": url_for("simulator.static", filename="richmenu.png"),
        "aspect": HEIGHT / WIDTH,
        "areas": areas,
    }

