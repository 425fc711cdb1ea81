"""`python -m bot demo` as a person runs it: one process that serves the simulator and answers."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import MALEE

ROOT = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 30.0
ANSWER_SECONDS = 15.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(check: Callable[[], Any], seconds: float, proc: subprocess.Popen, err: Path) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("the demo exited early:\n" + err.read_text(encoding="utf-8")[-3000:])
        try:
            result = check()
        except requests.RequestException:
            result = None
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"not reached within {seconds} s")


@pytest.fixture
def demo_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen, str, Path]]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "FLASK_", "HELPDESK_"))}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path}/demo.db",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        PYTHONUNBUFFERED="1",
        WORKER_POLL_SECONDS="0.1",
    )
    out = tmp_path / "demo.out"
    with out.open("w") as stdout, (tmp_path / "demo.err").open("w") as stderr:  # files: a full pipe would block
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "demo", "--port", str(port)],
            cwd=tmp_path, env=env, stdout=stdout, stderr=stderr,
        )
    try:
        yield proc, f"http://127.0.0.1:{port}", out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def _menu_reply(base: str) -> dict[str, Any] | None:
    items = requests.post(f"{base}/simulator/api/messages", json={"chat": "user", "user": MALEE}, timeout=5).json()
    replies = [i["message"] for i in items["items"] if i["from"] == "bot" and "quickReply" in i["message"]]
    return replies[0] if replies else None


def test_demo_serves_the_simulator_and_answers_then_stops_cleanly(demo_process, tmp_path):
    proc, base, out = demo_process
    healthy = lambda: requests.get(f"{base}/healthz", timeout=2).status_code == 200  # noqa: E731
    _wait_for(healthy, STARTUP_SECONDS, proc, tmp_path / "demo.err")

    page = requests.get(f"{base}/simulator", timeout=5)
    assert page.status_code == 200
    assert "เครื่องจำลอง LINE" in page.text

    sent = requests.post(
        f"{base}/simulator/api/send", json={"chat": "user", "user": MALEE, "kind": "text", "text": "เมนู"}, timeout=10
    )
    assert sent.status_code == 200 and sent.json()["ok"] is True
    reply = _wait_for(lambda: _menu_reply(base), ANSWER_SECONDS, proc, tmp_path / "demo.err")
    assert reply["quickReply"]["items"]

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0
    printed = out.read_text(encoding="utf-8")
    assert f"{base}/simulator" in printed
    assert re.search(r"S022.*:\s+[A-HJ-NP-Z2-9]{8}\b", printed)
    assert (tmp_path / "demo.db").exists()
    assert not (tmp_path / "instance").exists()  # DATABASE_URL from the environment was used
