"""Benchmark (not a test): time from the signed webhook POST to the reply reaching the fake LINE
platform, with the web app under gunicorn and `python -m bot.worker` as real processes with their
normal settings (WORKER_POLL_SECONDS default 0.25 s). Target: p95 under 1 s.

    python -m tests.bench.end_to_end [--messages 300] [--rate 10] [--database-url URL]

Registered staff of tests/data/org.example.yaml send text messages (menu, help, SOP questions) in
turn at a steady rate. The clock starts just before the POST and stops when the fake platform
receives the reply carrying that event's reply token (both clocks are this machine's time.time()).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from bot.fake_line import FakeLine
from tests.bench.common import (
    SECRET,
    TEXTS,
    TOKEN,
    bench_env,
    load_average,
    pct,
    prepare_database,
    registered_users,
    start_web,
    start_worker,
    stop,
    wait_for,
)

REPLY = "/v2/bot/message/reply"


class Sender:
    """Posts one signed event per message at a steady rate and remembers when each left."""

    def __init__(self, fake: FakeLine, callback: str, concurrency: int) -> None:
        self.fake, self.callback = fake, callback
        self.posted: dict[str, float] = {}  # reply token -> time.time() just before the POST
        self.failed: list[int] = []
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(concurrency)

    def _post(self, user: str, words: str) -> None:
        session = getattr(self._local, "session", None) or requests.Session()
        self._local.session = session
        event = self.fake.make_event("text", user, text=words)
        body, signed = self.fake.sign_events([event])
        self.posted[event["replyToken"]] = time.time()
        response = session.post(self.callback, data=body, timeout=10,
                                headers={"X-Line-Signature": signed, "Content-Type": "application/json"})
        if response.status_code != 200:
            self.failed.append(response.status_code)

    def send(self, count: int, rate: float, users: list[str]) -> float:
        """Returns the seconds the sending took."""
        started = time.monotonic()
        futures = []
        for i in range(count):
            delay = started + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append(self._pool.submit(self._post, users[i % len(users)], TEXTS[(i // len(users)) % len(TEXTS)]))
        for future in futures:
            future.result()
        return time.monotonic() - started


def replies_at(fake: FakeLine) -> dict[str, float]:
    """Reply token -> when the platform received the accepted reply using it."""
    return {r.json["replyToken"]: r.at for r in list(fake.requests)
            if r.path == REPLY and r.status == 200 and isinstance(r.json, dict)}


def run(database_url: str, messages: int, rate: float, concurrency: int, warmup: int, web_workers: int) -> int:
    work = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    url = database_url or f"sqlite:///{work}/bench.db"
    fake = FakeLine(SECRET, TOKEN)
    fake.start()
    fake.set_quota(None)  # pushes to the IT group must not run into the fake's monthly quota
    env = bench_env(url, fake.base_url)
    prepare_database(env)
    users = registered_users()
    web, base = start_web(env, web_workers, work / "web.log")
    worker = start_worker(env, work / "worker.log")
    try:
        if warmup:
            warm = Sender(fake, base + "/callback", concurrency)
            warm.send(warmup, rate, users)
            wait_for(lambda: set(warm.posted) <= set(replies_at(fake)), 60)
        sender = Sender(fake, base + "/callback", concurrency)
        load_before = load_average()
        took = sender.send(messages, rate, users)
        complete = wait_for(lambda: set(sender.posted) <= set(replies_at(fake)), 60, 0.1)
        load_after = load_average()
        received = replies_at(fake)
    finally:
        stop(worker)
        stop(web)
        fake.stop()
    latencies = [(received[token] - at) * 1000 for token, at in sender.posted.items() if token in received]
    missing = len(sender.posted) - len(latencies)
    print(f"end to end on {url.split(':', 1)[0]}: {messages} messages from {len(users)} users at {rate:g}/s "
          f"(sent in {took:.1f} s, {concurrency} client threads, gunicorn {web_workers} workers, "
          f"worker poll 0.25 s default), {warmup} warm-up messages not counted")
    if latencies:
        print(f"  webhook POST -> reply at the fake: p50 {pct(latencies, 0.5):6.0f} ms, "
              f"p95 {pct(latencies, 0.95):6.0f} ms, max {max(latencies):6.0f} ms (target p95 < 1000 ms)")
    print(f"  replies missing: {missing}{'' if complete else ' (gave up waiting after 60 s)'}; "
          f"webhook non-200: {len(sender.failed)}; spec violations at the fake: {len(fake.violations)}; "
          f"pushes: {fake.push_count}")
    print(f"  load average before/after: {load_before} / {load_after}; logs in {work}")
    print(f"reproduce: python -m tests.bench.end_to_end --messages {messages} --rate {rate:g} "
          f"--concurrency {concurrency} --warmup {warmup} --web-workers {web_workers}"
          + (f" --database-url '{database_url}'" if database_url else ""))
    return 0 if latencies and not missing else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--rate", type=float, default=10.0, help="messages per second")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads posting webhooks")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers (the Procfile's default)")
    parser.add_argument("--database-url", default="", help="default: a new SQLite file")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the fake's access log
    raise SystemExit(run(args.database_url, args.messages, args.rate, args.concurrency, args.warmup,
                         args.web_workers))


if __name__ == "__main__":
    main()
