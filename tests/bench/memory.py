"""Benchmark (not a test): resident memory (VmRSS) of a web process and of the worker right after
start-up and after 10,000 events went through (webhook -> worker -> replies to the fake LINE platform).

    python -m tests.bench.memory [--events 10000] [--rate 40] [--database-url URL]

The web app runs under gunicorn with 1 worker (the figure is that worker process, where requests are
served; the master is shown too), the worker as `python -m bot.worker` with its normal settings.
Registered staff of tests/data/org.example.yaml send text messages (menu, help, SOP questions).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from sqlalchemy import Engine, create_engine, func, select

from bot.fake_line import FakeLine
from models import inbox, outbox
from models.inbox import InboxEvent
from models.outbox import OutboxMessage
from tests.bench.common import (
    SECRET,
    TEXTS,
    TOKEN,
    bench_env,
    children,
    prepare_database,
    registered_users,
    rss_mib,
    start_web,
    start_worker,
    stop,
    wait_for,
)


def _peak_mib(pid: int) -> float:
    """VmHWM: the highest resident size the process reached."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _send(fake: FakeLine, callback: str, count: int, rate: float, concurrency: int,
          every: Callable[[int], None] = lambda _i: None) -> list[int]:
    """`count` signed one-event webhooks at `rate` per second; returns the non-200 statuses.
    `every(i)` is called before event i is sent (the RSS samples along the way)."""
    users, failed, local = registered_users(), [], threading.local()

    def post(i: int) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        event = fake.make_event("text", users[i % len(users)], text=TEXTS[(i // len(users)) % len(TEXTS)])
        body, signed = fake.sign_events([event])
        response = session.post(callback, data=body, timeout=30,
                                headers={"X-Line-Signature": signed, "Content-Type": "application/json"})
        if response.status_code != 200:
            failed.append(response.status_code)

    started = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        futures = []
        for i in range(count):
            delay = started + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            every(i)
            futures.append(pool.submit(post, i))
        for future in futures:
            future.result()
    return failed


def _backlog(engine: Engine, received: int) -> tuple[int, int, int]:
    """(events stored, events still pending, outbox rows still pending)."""
    with engine.connect() as conn:
        stored = conn.scalar(select(func.count()).select_from(InboxEvent)) or 0
        waiting = conn.scalar(select(func.count()).select_from(InboxEvent).where(InboxEvent.status == inbox.PENDING))
        unsent = conn.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.status == outbox.PENDING))
    return stored - received, waiting or 0, unsent or 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=40.0, help="webhook events per second")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads posting webhooks")
    parser.add_argument("--database-url", default="", help="default: a new SQLite file")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the fake's access log
    work = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    url = args.database_url or f"sqlite:///{work}/bench.db"
    fake = FakeLine(SECRET, TOKEN)
    fake.start()
    fake.set_quota(None)  # replies that come late fall back to push; no monthly cap in a benchmark
    env = bench_env(url, fake.base_url)
    prepare_database(env)
    engine = create_engine(url)
    web, base = start_web(env, 1, work / "web.log")
    worker = start_worker(env, work / "worker.log")
    try:
        (web_pid,) = children(web.pid)
        start = {"web": rss_mib(web_pid), "master": rss_mib(web.pid), "worker": rss_mib(worker.pid)}
        baseline, _, _ = _backlog(engine, 0)
        started = time.monotonic()
        samples: list[tuple[int, float, float]] = []  # (events sent, web MiB, worker MiB): growth or plateau?
        step = max(1, args.events // 5)

        def sample(i: int) -> None:
            if i and i % step == 0:
                samples.append((i, rss_mib(web_pid), rss_mib(worker.pid)))

        failed = _send(fake, base + "/callback", args.events, args.rate, args.concurrency, sample)
        sent_in = time.monotonic() - started
        drained = wait_for(lambda: _backlog(engine, baseline + args.events)[1:] == (0, 0), 1800, 0.5)
        through_in = time.monotonic() - started
        time.sleep(1.0)  # let the last job runs return their memory
        after = {"web": rss_mib(web_pid), "master": rss_mib(web.pid), "worker": rss_mib(worker.pid)}
        peak = {"web": _peak_mib(web_pid), "worker": _peak_mib(worker.pid)}
        stored, waiting, unsent = _backlog(engine, baseline)
    finally:
        stop(worker)
        stop(web)
        engine.dispose()
        fake.stop()
    answered = len({r.to for r in fake.sent})
    print(f"memory on {url.split(':', 1)[0]}: {args.events} events at {args.rate:g}/s (sent in {sent_in:.0f} s, "
          f"all through webhook -> worker -> fake in {through_in:.0f} s: {args.events / through_in:.0f} events/s)")
    for name, label in (("web", "web (gunicorn worker)"), ("worker", "worker (python -m bot.worker)")):
        print(f"  {label:30}: start {start[name]:6.1f} MiB, after {args.events} events {after[name]:6.1f} MiB "
              f"(+{after[name] - start[name]:.1f}), peak {peak[name]:6.1f} MiB")
    print("  along the way (events sent: web / worker MiB): "
          + ", ".join(f"{i}: {w:.1f} / {k:.1f}" for i, w, k in samples))
    print(f"  gunicorn master               : start {start['master']:6.1f} MiB, after {after['master']:6.1f} MiB")
    print(f"  events stored {stored}, still pending {waiting}, outbox pending {unsent}, drained: {drained}; "
          f"webhook non-200: {len(failed)}; replies {sum(r.kind == 'reply' for r in fake.sent)}, "
          f"pushes {fake.push_count} to {answered} chats; spec violations at the fake: {len(fake.violations)}")
    print(f"  logs in {work}")
    print(f"reproduce: python -m tests.bench.memory --events {args.events} --rate {args.rate:g} "
          f"--concurrency {args.concurrency}" + (f" --database-url '{args.database_url}'" if args.database_url else ""))


if __name__ == "__main__":
    main()
