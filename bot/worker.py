"""The worker process (`python -m bot.worker`): drains the inbox and relays the outbox.

APScheduler runs here and nowhere else, with fixed jobs only; business schedules are rows.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from dataclasses import dataclass
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from flask import Flask

from bot import photos
from bot.database import get_db
from bot.inbox_processor import process_once
from bot.line_api import LineApi
from bot.relay import relay_once
from bot.worker_lock import WorkerAlreadyRunning, WorkerLock
from handlers import approval_reminders, quota, reminders, reviews, sop, ticket_schedule, website
from handlers.context import Settings
from models import groups, message_quota, privacy
from models.base import utcnow
from models.tickets import ServiceLevel

log = logging.getLogger(__name__)
LOCK_CHECK_SECONDS = 5


def handler_settings(app: Flask) -> Settings:
    cfg = app.config
    return Settings(
        reply_token_ttl=timedelta(seconds=cfg["REPLY_TOKEN_TTL_SECONDS"]),
        dialog_timeout=timedelta(minutes=cfg["DIALOG_TIMEOUT_MINUTES"]),
        retention_days=cfg["PRIVACY_RETENTION_DAYS"],
        service_level=ServiceLevel.parse(cfg["SLA_TARGETS"]),
        auto_close_working_days=cfg["AUTO_CLOSE_WORKING_DAYS"],
        major_window=timedelta(minutes=cfg["MAJOR_WINDOW_MINUTES"]),
        major_after_reports=cfg["MAJOR_AFTER_REPORTS"],
        it_digest_times=tuple(cfg["IT_DIGEST_TIMES"]),
        approval_remind_after=timedelta(hours=cfg["APPROVAL_REMIND_HOURS"]),
        approval_escalate_after=timedelta(hours=cfg["APPROVAL_ESCALATE_HOURS"]),
        account_review_date=cfg["ACCOUNT_REVIEW_DATE"],
        account_review_days=timedelta(days=cfg["ACCOUNT_REVIEW_DAYS"]),
        reminder_send_hour=cfg["REMINDER_SEND_HOUR"],
        quota_warn_share=cfg["QUOTA_WARN_PERCENT"] / 100,
    )


def retention(app: Flask) -> privacy.Retention:
    cfg = app.config
    return privacy.Retention(
        tickets=timedelta(days=cfg["RETENTION_TICKET_DAYS"]),
        conversations=timedelta(days=cfg["RETENTION_CONVERSATION_DAYS"]),
        inbox=timedelta(days=cfg["RETENTION_INBOX_DAYS"]),
        outbox=timedelta(days=cfg["RETENTION_OUTBOX_DAYS"]),
    )


def line_api_for(app: Flask) -> LineApi:
    cfg = app.config
    return LineApi(cfg["LINE_API_BASE_URL"], cfg["LINE_CHANNEL_ACCESS_TOKEN"], cfg["LINE_TIMEOUT_SECONDS"])


@dataclass
class Worker:
    """The worker's fixed jobs, callable one tick at a time (tests) or on a schedule."""

    app: Flask
    line: LineApi

    def drain_inbox(self) -> int:
        with self.app.app_context():
            return process_once(get_db(), handler_settings(self.app))

    def relay_outbox(self) -> int:
        with self.app.app_context():
            return relay_once(get_db(), self.line)

    def ticket_deadlines(self) -> int:
        """SLA breaches, 12-hour outages and auto-closing: rows in, outbox rows out, one transaction."""
        with self.app.app_context(), get_db().transaction() as session:
            return ticket_schedule.run(session, utcnow(), handler_settings(self.app))

    def approval_deadlines(self) -> int:
        """Approval reminders and escalations, leaver tasks, the yearly account review, expired website items."""
        with self.app.app_context(), get_db().transaction() as session:
            settings, now = handler_settings(self.app), utcnow()
            return sum(job.run(session, now, settings) for job in (approval_reminders, reviews, website))

    def sop_reminders(self) -> int:
        """Reminder occurrences that came due: created once, announced, reminded, escalated."""
        with self.app.app_context(), get_db().transaction() as session:
            return reminders.run(session, utcnow(), handler_settings(self.app))

    def check_quota(self) -> bool:
        """LINE's message quota, read once a day (and at once when the pushes sent since the last
        reading, group members counted, may have passed the warning share); the size of each group
        chat the bot pushes to, with it. True when the admins were warned."""
        with self.app.app_context():
            db = get_db()
            now, settings = utcnow(), handler_settings(self.app)
            with db.transaction() as session:
                read = not message_quota.read_today(session, now) or quota.estimate_passes_warning(
                    session, now, settings)
                chats = groups.active_chat_ids(session) if read else groups.chats_of_unknown_size(session)
            sizes = self._group_sizes(chats)  # network calls, outside any transaction
            reading = None
            if read:
                try:
                    reading = self.line.message_quota()
                except Exception as exc:
                    log.warning("message quota not read: %s", type(exc).__name__)
            with db.transaction() as session:
                for chat, size in sizes.items():
                    groups.set_member_count(session, chat, size, now)
                return reading is not None and quota.record(session, now, *reading, settings)

    def _group_sizes(self, chats: list[str]) -> dict[str, int]:
        sizes = {}
        for chat in chats:
            try:
                sizes[chat] = self.line.group_member_count(chat)
            except Exception as exc:
                log.warning("group size not read: %s", type(exc).__name__)
        return sizes

    def purge_personal_data(self) -> dict[str, int]:
        """Retention (PDPA): content past its configured time is removed; traffic metadata stays 90 days."""
        with self.app.app_context(), get_db().transaction() as session:
            return privacy.purge(session, utcnow(), retention(self.app))

    def fetch_photos(self) -> int:
        with self.app.app_context():
            return photos.fetch_once(get_db(), self.line)

    def tick(self) -> None:
        self.drain_inbox()
        self.relay_outbox()

    def schedule(self, scheduler: BaseScheduler) -> None:
        every = self.app.config["WORKER_POLL_SECONDS"]
        for job in (self.drain_inbox, self.relay_outbox, self.fetch_photos):
            scheduler.add_job(
                job, "interval", seconds=every, id=job.__name__, max_instances=1, coalesce=True,
                misfire_grace_time=None,
            )
        # Deadlines are rows compared with the clock: after downtime one run (at start) catches up once.
        for job in (self.ticket_deadlines, self.approval_deadlines, self.sop_reminders):
            scheduler.add_job(job, "interval", seconds=60, id=job.__name__, max_instances=1, coalesce=True,
                              misfire_grace_time=None, next_run_time=utcnow())
        # Read at start, then hourly; the reading itself happens once per Bangkok day.
        scheduler.add_job(self.check_quota, "interval", hours=1, id="check_quota", max_instances=1, coalesce=True,
                          misfire_grace_time=None, next_run_time=utcnow())
        scheduler.add_job(self.purge_personal_data, "interval", hours=1, id="purge_personal_data", max_instances=1,
                          coalesce=True, misfire_grace_time=None)


def start_background(app: Flask) -> tuple[BackgroundScheduler, WorkerLock]:
    """For the one-process demo: the same jobs on a background thread."""
    with app.app_context():
        lock = WorkerLock(get_db().engine)
    lock.acquire()
    sop.warm_up()
    scheduler = BackgroundScheduler(timezone="UTC")
    Worker(app, line_api_for(app)).schedule(scheduler)
    scheduler.start()
    return scheduler, lock


def main() -> int:
    from bot import create_app
    from bot.config import ConfigError

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # not two lines per job run, forever
    # A busy drain or relay makes the next 0.25 s tick skip: expected, not worth a warning each time.
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
    try:
        app = create_app()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    with app.app_context():
        lock = WorkerLock(get_db().engine)
    try:
        lock.acquire()
    except WorkerAlreadyRunning as exc:
        print(f"มี worker อื่นทำงานอยู่แล้ว / another worker is already running: {exc}", file=sys.stderr)
        return 3
    stop, lost = threading.Event(), threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        # The handler only sets a flag: stopping the scheduler from inside a signal handler can
        # race with its start and leave its executor thread keeping the process alive.
        signal.signal(signum, lambda *_: stop.set())
    worker = Worker(app, line_api_for(app))
    scheduler = BackgroundScheduler(timezone="UTC")
    try:
        passages = sop.warm_up()  # the SOP index is built once, before the first question
        log.info("knowledge base ready: %d passages", passages)
        worker.schedule(scheduler)
        # A lock lost with its database connection must not leave two workers running.
        scheduler.add_job(lambda: None if lock.still_held() else (lost.set(), stop.set()), "interval",
                          seconds=LOCK_CHECK_SECONDS, id="check_lock", max_instances=1, coalesce=True)
        scheduler.start()
        log.info("worker started")
        while not stop.wait(1.0):
            pass
        if lost.is_set():
            log.error("worker lock lost to another worker; stopping so the process manager restarts it")
        log.info("worker stopping")
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=True)  # let a job in progress finish its transaction
        lock.release()
        worker.line.close()
    return 4 if lost.is_set() else 0


if __name__ == "__main__":
    sys.exit(main())
