"""Benchmark (not a test): POST /callback under concurrent signed requests, against a bare Flask
hello-world served the same way in the same run. Targets: ratio >= 0.5, p99 under 100 ms.

    python -m tests.bench.webhook [--requests 2000] [--concurrency 8] [--database-url URL]

Both apps run under gunicorn (2 workers, as the Procfile) on 127.0.0.1; only loopback traffic.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from bot.fake_line.events import signature

ROOT = Path(__file__).resolve().parents[2]
SECRET = "bench-channel-secret"
HELLO = textwrap.dedent('''
    from flask import Flask
    app = Flask(__name__)

    @app.post("/callback")
    def callback():
        return {"status": "ok"}
''')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(app: str, env: dict[str, str], cwd: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--log-level", "warning",
         app], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(base + "/healthz", timeout=1)
            return proc, base
        except requests.RequestException:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{app} did not start")


def _body() -> tuple[bytes, str]:
    event = {"type": "message", "mode": "active", "timestamp": int(time.time() * 1000),
             "source": {"type": "user", "userId": "U" + uuid.uuid4().hex},
             "webhookEventId": uuid.uuid4().hex, "deliveryContext": {"isRedelivery": False},
             "message": {"id": "1", "type": "text", "text": "ทดสอบ", "quoteToken": "q"}}
    body = json.dumps({"destination": "U" + "0" * 32, "events": [event]}).encode()
    return body, signature(body, SECRET)


def _load(base: str, count: int, concurrency: int) -> tuple[float, list[float]]:
    payloads = [_body() for _ in range(count)]
    session = requests.Session()

    def one(item: tuple[bytes, str]) -> float:
        started = time.perf_counter()
        response = session.post(base + "/callback", data=item[0], timeout=10,
                                headers={"X-Line-Signature": item[1], "Content-Type": "application/json"})
        if response.status_code != 200:
            raise RuntimeError(f"status {response.status_code}")
        return (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = list(pool.map(one, payloads))
    return count / (time.perf_counter() - started), latencies


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    url = args.database_url or f"sqlite:///{work}/bench.db"
    env = {**os.environ, "DATABASE_URL": url, "LINE_CHANNEL_SECRET": SECRET, "LINE_CHANNEL_ACCESS_TOKEN": "bench",
           "SECRET_KEY": "bench", "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "flask", "--app", "bot", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    (work / "hello.py").write_text(HELLO, encoding="utf-8")
    results = {}
    for name, app, cwd in (("bare Flask", "hello:app", work), ("webhook", "bot:create_app()", ROOT)):
        proc, base = _serve(app, env, cwd)
        try:
            _load(base, 100, args.concurrency)  # warm up
            results[name] = _load(base, args.requests, args.concurrency)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    for name, (rate, latencies) in results.items():
        print(f"{name:10}: {rate:7.0f} req/s, p50 {statistics.median(latencies):5.1f} ms, "
              f"p99 {_pct(latencies, 0.99):5.1f} ms")
    ratio = results["webhook"][0] / results["bare Flask"][0]
    print(f"ratio webhook/bare: {ratio:.2f} (target >= 0.5) on {url.split(':', 1)[0]}")
    print(f"reproduce: python -m tests.bench.webhook --requests {args.requests} --concurrency {args.concurrency}"
          + (f" --database-url {args.database_url}" if args.database_url else ""))


if __name__ == "__main__":
    main()
