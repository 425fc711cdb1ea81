"""Benchmark (not a test): outbox relay throughput against the fake LINE platform, plain and with the
platform failing a random 20 % of calls with 5xx; every message must still be accepted exactly once.

    python -m tests.bench.relay [--messages 2000] [--failure-rate 0.2] [--database-url URL]

The relay runs in this process (`bot.relay.relay_once`, 50 rows a pass, as the worker calls it) over
real HTTP to the fake on 127.0.0.1. Half the rows carry a fresh reply token, half are pushes with their
retry key. Of the injected failures, half are refused before LINE takes the call and half lose the answer
after LINE took it (the bot must then recognise its earlier delivery: 409 for a push, a used reply token
for a reply). The backoff after a failure (2^attempts s, jittered) would leave the relay mostly idle, so
in the default `--clock virtual` the relay's clock jumps to the next due retry whenever nothing is due:
messages/s is then the relay's own work, and "virtual time" is how long the retries would take for real.
`--clock real` waits for the backoff, polling every 0.25 s as the worker does.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot.database import Database
from bot.fake_line import FakeLine
from bot.line_api import LineApi
from bot.relay import relay_once
from models import outbox
from models.base import utcnow
from models.outbox import OutboxMessage
from tests.bench.common import SECRET, TOKEN, create_schema, reset_postgres_schema

POLL_SECONDS = 0.25  # the worker's default WORKER_POLL_SECONDS


class Clock:
    """The relay's `now`: the real time plus an offset that only grows when the bench skips idle time."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.offset


def _fill(db: Database, fake: FakeLine, count: int, chats: int) -> set[str]:
    """`count` one-message rows over `chats` chats, every other one with a live reply token."""
    users = [f"U{i:032x}" for i in range(1, chats + 1)]
    now = utcnow()
    with db.transaction() as session:
        for i in range(count):
            to = users[i % chats]
            token = fake.issue_reply_token(to) if i % 2 else None
            outbox.enqueue(session, to, [{"type": "text", "text": f"bench {i}"}], now, reply_token=token,
                           reply_expires_at=now + timedelta(seconds=50) if token else None)
    with db.transaction() as session:
        return set(session.scalars(select(OutboxMessage.retry_key)))


def _pending(db: Database) -> bool:
    with db.transaction() as session:
        first = session.scalar(select(OutboxMessage.id).where(OutboxMessage.status == outbox.PENDING).limit(1))
        return first is not None


def _next_retry(db: Database, now: datetime) -> datetime | None:
    """When the next waiting retry falls due (rows behind it in the same chat wait for it, not for their own time)."""
    with db.transaction() as session:
        return session.scalar(select(OutboxMessage.next_attempt_at)
                              .where(OutboxMessage.status == outbox.PENDING, OutboxMessage.next_attempt_at > now)
                              .order_by(OutboxMessage.next_attempt_at).limit(1))


def _drain(db: Database, line: LineApi, clock: Clock, virtual: bool) -> None:
    while True:
        started = time.monotonic()
        settled = relay_once(db, line, now=clock)
        if settled:
            continue  # more may be due at once, as the worker's next tick would find
        if not _pending(db):
            return
        if virtual:
            due = _next_retry(db, clock())
            clock.offset += max(timedelta(0), due - clock()) if due else timedelta(0)
        else:
            time.sleep(max(0.0, POLL_SECONDS - (time.monotonic() - started)))


def run_once(url: str, count: int, chats: int, failure_rate: float, virtual: bool, seed: int) -> dict[str, object]:
    fake = FakeLine(SECRET, TOKEN)
    fake.start()
    fake.set_quota(None)
    reset_postgres_schema(url)
    create_schema(url)
    db = Database.from_url(url)
    line = LineApi(fake.base_url, TOKEN, timeout=10)
    try:
        row_keys = _fill(db, fake, count, chats)
        fake.set_failure_rate(failure_rate, 500, seed=seed, after_accept=0.5)
        clock = Clock()
        started = time.perf_counter()
        _drain(db, line, clock, virtual)
        wall = time.perf_counter() - started
        with db.transaction() as session:
            statuses = Counter(session.scalars(select(OutboxMessage.status)))
            attempts = sum(session.scalars(select(OutboxMessage.attempts)))
            via = Counter(session.scalars(select(OutboxMessage.sent_via)))
        texts = Counter(m["text"] for record in list(fake.sent) for m in record.messages)
        keys = Counter(fake.accepted_retry_keys())
        calls = Counter(r.status for r in list(fake.requests))
    finally:
        line.close()
        db.engine.dispose()
        fake.stop()
    return {
        "rate": count / wall, "wall": wall, "virtual": (wall + clock.offset.total_seconds()),
        "statuses": statuses, "attempts": attempts, "via": via, "calls": calls,
        "each_once": len(texts) == count and set(texts.values()) == {1},
        "duplicates": sum(n - 1 for n in texts.values() if n > 1), "lost": count - len(texts),
        "keys_once": set(keys) <= row_keys and set(keys.values()) <= {1},
        "pushed_keys": len(keys), "violations": len(fake.violations),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--chats", type=int, default=50, help="distinct recipients (rows to one chat stay in order)")
    parser.add_argument("--failure-rate", type=float, default=0.2, help="share of calls the fake fails with 500")
    parser.add_argument("--clock", choices=("virtual", "real"), default="virtual")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default="", help="default: a new SQLite file per run")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the fake's access log
    logging.getLogger("bot.line_api").setLevel(logging.ERROR)  # one warning per injected failure
    work = Path(tempfile.mkdtemp(prefix="bench-relay-"))
    ok = True
    for label, rate in (("plain", 0.0), (f"{args.failure_rate:.0%} 5xx", args.failure_rate)):
        url = args.database_url or f"sqlite:///{work}/{label.split()[0].replace('%', '')}.db"
        r = run_once(url, args.messages, args.chats, rate, args.clock == "virtual", args.seed)
        ok = ok and bool(r["each_once"]) and bool(r["keys_once"])
        print(f"{label:8}: {r['rate']:6.0f} msgs/s ({args.messages} messages in {r['wall']:.1f} s wall"
              + (f", {r['virtual']:.0f} s virtual incl. backoff" if args.clock == "virtual" and rate else "")
              + f"); rows {dict(r['statuses'])}, sent via {dict(r['via'])}, retries {r['attempts']}, "
              f"HTTP answers {dict(sorted(r['calls'].items()))}")
        print(f"          every message accepted exactly once: {r['each_once']} (duplicates {r['duplicates']}, "
              f"missing {r['lost']}); push retry keys accepted once each: {r['keys_once']} "
              f"({r['pushed_keys']} keys); spec violations: {r['violations']}")
    print(f"on {(args.database_url or 'sqlite:///').split(':', 1)[0]}, clock {args.clock}, seed {args.seed}")
    print(f"reproduce: python -m tests.bench.relay --messages {args.messages} --chats {args.chats} "
          f"--failure-rate {args.failure_rate:g} --clock {args.clock} --seed {args.seed}"
          + (f" --database-url '{args.database_url}'" if args.database_url else ""))
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
