"""Start-up: the factory, the environment, health."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot import create_app
from bot.config import Config, ConfigError


def test_production_refuses_to_start_without_secrets(monkeypatch):
    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)
    for name in ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN", "SECRET_KEY", "HELPDESK_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LINE_CHANNEL_SECRET", "set")
    with pytest.raises(ConfigError) as err:
        create_app(Config())
    message = str(err.value)
    assert "\n" not in message
    assert "LINE_CHANNEL_ACCESS_TOKEN" in message and "SECRET_KEY" in message
    assert "LINE_CHANNEL_SECRET," not in message
    assert "ยังไม่ได้ตั้งค่า" in message


def test_defaults_match_the_design(monkeypatch):
    for name in ("DATABASE_URL", "LINE_API_BASE_URL", "PORT"):
        monkeypatch.delenv(name, raising=False)
    config = Config()
    assert config.DATABASE_URL == "sqlite:///instance/helpdesk.db"
    assert config.LINE_API_BASE_URL == "https://api.line.me"
    assert config.PORT == 8000


def test_importing_the_package_has_no_side_effects(tmp_path):
    code = "import bot, bot.webhook, bot.worker, handlers.dispatch, models; import os; print(os.listdir('.'))"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_healthz_answers_when_the_database_does(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json()["database"] == "ok"


def test_healthz_is_503_when_the_database_is_gone(app, monkeypatch):
    from sqlalchemy.exc import OperationalError

    import bot.health

    def down(_engine):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(bot.health, "ping", down)
    assert app.test_client().get("/healthz").status_code == 503
