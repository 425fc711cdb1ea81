"""The simulator: events go through the fake platform to /callback, answers come back to the page."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.serving import make_server

from bot import create_app, demo
from bot.config import Config
from bot.database import get_db
from bot.line_api import LineApi
from bot.worker import Worker
from handlers import texts
from handlers.menu import MENU_ACTION
from handlers.postback import encode
from models.inbox import InboxEvent
from tests.conftest import ACCESS_TOKEN, CHANNEL_SECRET, IT_GROUP, KANDA, MALEE

NEW_USER = "U" + "ab" * 16


def _config(tmp_path: Path, line: Any) -> Any:
    config = demo.demo_config(line.base_url, f"sqlite:///{tmp_path}/demo.db")
    config.LINE_CHANNEL_SECRET = CHANNEL_SECRET
    config.LINE_CHANNEL_ACCESS_TOKEN = ACCESS_TOKEN
    config.TESTING = True
    return config


@pytest.fixture
def demo_app(tmp_path: Path, line: Any) -> Iterator[Flask]:
    """Built as `python -m bot demo` builds it, served on a free port so the fake can deliver."""
    app = demo.build_app(_config(tmp_path, line), line)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    line.webhook_url = f"http://127.0.0.1:{server.server_port}/callback"
    yield app
    server.shutdown()
    server.server_close()
    with app.app_context():
        get_db().engine.dispose()


@pytest.fixture
def sim(demo_app: Flask) -> Any:
    return demo_app.test_client()


@pytest.fixture
def tick(demo_app: Flask, line: Any) -> Iterator[Any]:
    api = LineApi(line.base_url, ACCESS_TOKEN, timeout=2.0)
    yield Worker(demo_app, api).tick
    api.close()


def _send(sim: Any, **body: Any) -> Any:
    resp = sim.post("/simulator/api/send", json=body)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["ok"] is True
    return resp


def _items(sim: Any, **body: Any) -> list[dict[str, Any]]:
    resp = sim.post("/simulator/api/messages", json=body)
    assert resp.status_code == 200
    return resp.get_json()["items"]


def _bot_texts(items: list[dict[str, Any]]) -> list[str]:
    return [i["message"].get("text", "") for i in items if i["from"] == "bot"]


def test_text_is_stored_then_the_answer_shows_in_the_chat(demo_app, sim, tick):
    _send(sim, chat="user", user=MALEE, kind="text", text="เมนู")
    with demo_app.app_context(), get_db().transaction() as session:
        assert session.scalar(select(func.count()).select_from(InboxEvent)) == 1

    tick()

    items = _items(sim, chat="user", user=MALEE)
    assert [i["from"] for i in items][:2] == ["user", "bot"]
    assert items[0]["text"] == "เมนู"
    answer = items[1]["message"]
    assert answer["text"] == texts.MENU_PROMPT
    assert answer["quickReply"]["items"]


def test_tapping_a_menu_button_shows_its_display_text_and_the_answer(sim, tick):
    data = encode(MENU_ACTION, i="help")
    _send(sim, chat="user", user=MALEE, kind="postback", data=data, display="วิธีใช้")
    tick()
    items = _items(sim, chat="user", user=MALEE)
    assert items[0] == {**items[0], "from": "user", "text": "วิธีใช้"}
    assert any("บอทนี้ช่วยได้เรื่อง" in t for t in _bot_texts(items))


def test_follow_shows_the_welcome(sim, tick):
    _send(sim, chat="user", user=MALEE, kind="follow")
    tick()
    items = _items(sim, chat="user", user=MALEE)
    assert items[0]["from"] == "note"
    assert any(t.startswith("สวัสดีค่ะ คุณมาลี") for t in _bot_texts(items))


def test_new_user_registers_with_the_printed_code(demo_app, sim, tick):
    code = demo.issue_demo_code(demo_app).registration_code
    assert code
    _send(sim, chat="user", user=NEW_USER, kind="text", text=code)
    tick()
    assert any(t.startswith("ลงทะเบียนเรียบร้อย") for t in _bot_texts(_items(sim, chat="user", user=NEW_USER)))
    people = sim.post("/simulator/api/people", json={}).get_json()["people"]
    assert {"code": "S022", "id": NEW_USER}.items() <= next(p for p in people if p["code"] == "S022").items()


def test_group_mention_reaches_the_it_group_chat(sim, tick):
    _send(sim, chat="group", user=KANDA, kind="text", text="ช่วยด้วย", mention=True)
    tick()
    items = _items(sim, chat="group")
    assert items[0]["from"] == "user" and items[0]["userId"] == KANDA
    assert texts.GROUP_HELP in _bot_texts(items)


def test_chats_are_kept_apart(sim, tick):
    _send(sim, chat="user", user=MALEE, kind="text", text="เมนู")
    tick()
    assert _items(sim, chat="user", user=KANDA) == []
    assert _items(sim, chat="group") == []


def test_page_lists_staff_the_group_and_the_rich_menu(sim):
    resp = sim.get("/simulator")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "เครื่องจำลอง" in page and "ผู้ใช้ใหม่" in page
    assert MALEE in page and IT_GROUP in page
    assert "richmenu.png" in page
    assert "S022" not in page  # not registered yet: only reachable as the new user
    assert sim.get("/simulator/static/simulator.js").status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"chat": "user", "user": "not-a-line-id", "kind": "text", "text": "x"},
        {"chat": "user", "user": MALEE, "kind": "join"},
        {"chat": "user", "user": MALEE, "kind": "text", "text": "   "},
        {"chat": "elsewhere", "user": MALEE, "kind": "text", "text": "x"},
    ],
)
def test_bad_requests_get_a_clear_400(sim, body):
    resp = sim.post("/simulator/api/send", json=body)
    assert resp.status_code == 400
    assert resp.get_json()["error"]


def test_endpoints_do_not_exist_outside_demo_mode(tmp_path, line):
    config = Config()
    config.DATABASE_URL = f"sqlite:///{tmp_path}/prod.db"
    config.LINE_CHANNEL_SECRET, config.LINE_CHANNEL_ACCESS_TOKEN, config.SECRET_KEY = "s", "t", "k"
    client = create_app(config).test_client()
    assert client.post("/simulator/api/send", json={"chat": "user"}).status_code == 404
    assert client.post("/simulator/api/messages", json={}).status_code == 404
    assert client.get("/simulator").status_code == 404


def test_demo_app_without_the_fake_platform_says_why(tmp_path, line):
    app = create_app(_config(tmp_path, line))
    resp = app.test_client().post("/simulator/api/messages", json={"chat": "group"})
    assert resp.status_code == 404
    assert "python -m bot demo" in resp.get_json()["error"]
