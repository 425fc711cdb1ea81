"""The quality team's KPI report per Thai fiscal year (and quarter), computed from what the domain
tables already keep, and its export to CSV and Excel (service profile, seed 001 §2–3; issue 8).

Which rows belong to a period: tickets, account and website requests by their creation time; SOP
answers by the time they were asked; all in Asia/Bangkok. Overdue reviews and reminders are a stock,
not a flow: counted as they stood at the end of the period (or now, if the period has not ended).

Percentiles use the NEAREST-RANK definition: sort the n values, take the value at rank
ceil(p/100 · n) (1-based). So the median of an even count is the lower of the two middle values
(5, 10, 20, 40 → 10), and p90 of 5 values is the largest (5, 10, 20, 40, 80 → 80). No interpolation:
every figure is a time some ticket actually took, which is what the team can look up and explain.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.accounts import AccountRequest
from models.base import utcnow
from models.numbering import BANGKOK
from models.reminders import MISSED, ReminderOccurrence
from models.reviews import ReviewCampaign, ReviewItem
from models.sop_answers import SopAnswer
from models.thai_dates import thai_date, thai_datetime
from models.tickets import (
    CATEGORIES,
    CLOSED,
    CRITICAL_CATEGORIES,
    DEFAULT_SERVICE_LEVEL,
    LONG_OUTAGE,
    PRIORITIES,
    ServiceLevel,
    Ticket,
    TicketEvent,
)
from models.web_requests import WebRequest

THAI_MONTHS = ("ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.")
ACC, WEB, ALL = "ACC", "WEB", "ALL"
REQUEST_KINDS: dict[str, str] = {
    **{code: f"แจ้งปัญหา: {name}" for code, name in CATEGORIES.items()},
    ACC: "คำขอบัญชีผู้ใช้/สิทธิ์ (ACC)",
    WEB: "คำขอเผยแพร่ข้อมูลบนเว็บไซต์ (WEB)",
}
WITHIN_TARGET_GOAL = 90.0  # service profile indicator 14: not less than 90 per cent
LONG_OUTAGE_GOAL = 0  # key process 2: critical systems down for more than 12 hours


# Thai dates -------------------------------------------------------------------------------------


def month_label(year: int, month: int) -> str:
    """"ต.ค. 69": Thai month and the last two digits of the Buddhist-Era year."""
    return f"{THAI_MONTHS[month - 1]} {(year + 543) % 100:02d}"


# Statistics -------------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: int) -> float | None:
    """Nearest rank: the value at 1-based rank ceil(p·n/100) of the sorted values; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-p * len(ordered) // 100))  # integer ceiling: no float error at 0.9 · 70
    return ordered[rank - 1]


def _share(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60


# The report -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Month:
    year: int  # Gregorian, Bangkok
    month: int
    label: str  # "ต.ค. 69"


@dataclass(frozen=True)
class RequestRow:
    """Requests of one kind per month of the period; `counts` lines up with `KpiReport.months`."""

    code: str  # a ticket category ("his", ...), "ACC" or "WEB"
    label: str
    counts: list[int]

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class Durations:
    """Minutes from a ticket's creation to an event, for the tickets that reached it."""

    count: int
    median: float | None
    p90: float | None
    mean: float | None

    @classmethod
    def of(cls, minutes: list[float]) -> Durations:
        mean = sum(minutes) / len(minutes) if minutes else None
        return cls(len(minutes), percentile(minutes, 50), percentile(minutes, 90), mean)


@dataclass(frozen=True)
class TimeRow:
    code: str  # a ticket category, or "ALL"
    label: str
    accept: Durations
    resolve: Durations


@dataclass(frozen=True)
class WithinTarget:
    """Tickets whose resolution time is known against the target of their priority."""

    within: int
    counted: int  # resolved ones, plus open ones already past their target (they can only miss it)
    pending: int  # open and still within their target: not decided yet, left out
    by_priority: dict[str, tuple[int, int]]  # priority -> (within, counted)

    @property
    def share(self) -> float | None:
        return _share(self.within, self.counted)


@dataclass(frozen=True)
class Satisfaction:
    rated: int
    closed: int
    mean: float | None  # 1-5

    @property
    def response_rate(self) -> float | None:
        return _share(self.rated, self.closed)


@dataclass(frozen=True)
class Deflection:
    answers: int  # every SOP answer given (chat questions and the offer before an outage report)
    with_feedback: int
    helpful: int
    outage_offers: int  # SOP passages offered before an outage report, with the reporter's choice
    outage_solved: int  # ... that solved it: no ticket was opened

    @property
    def share(self) -> float | None:
        return _share(self.helpful, self.with_feedback)

    @property
    def outage_share(self) -> float | None:
        return _share(self.outage_solved, self.outage_offers)


@dataclass(frozen=True)
class Indicator:
    """One line of the summary: a Thai label, the figure, and the goal where the profile sets one."""

    key: str
    label: str
    value: float | None
    unit: str
    count: int | None = None  # numerator (e.g. tickets within target)
    total: int | None = None  # denominator
    goal: str | None = None  # as the profile words it, e.g. "ไม่น้อยกว่าร้อยละ 90"
    goal_value: float | None = None  # for a chart's goal line
    goal_op: str | None = None  # ">=" or "<="
    basis: str = ""  # where the indicator comes from

    @property
    def met(self) -> bool | None:
        if self.goal_value is None or self.value is None:
            return None
        return self.value >= self.goal_value if self.goal_op == ">=" else self.value <= self.goal_value


@dataclass(frozen=True)
class KpiReport:
    fiscal_year: int  # Buddhist Era
    quarter: int | None
    start: datetime  # Bangkok, inclusive
    end: datetime  # Bangkok, exclusive
    as_of: datetime  # when stocks (overdue items) were counted: min(now, end)
    generated_at: datetime
    months: list[Month]
    requests: list[RequestRow]
    times: list[TimeRow]  # one per ticket category, then "ALL"
    within_target: WithinTarget
    long_outages: list[str]  # ticket numbers
    satisfaction: Satisfaction
    deflection: Deflection
    overdue_reviews: int
    overdue_reminders: int
    indicators: list[Indicator] = field(default_factory=list)

    @property
    def period_label(self) -> str:
        name = f"ปีงบประมาณ {self.fiscal_year}"
        return f"{name} ไตรมาส {self.quarter}" if self.quarter else name

    @property
    def range_label(self) -> str:
        return f"{thai_date(self.start)} – {thai_date(self.end - timedelta(days=1))}"

    @property
    def month_totals(self) -> list[int]:
        return [sum(row.counts[i] for row in self.requests) for i in range(len(self.months))]

    def indicator(self, key: str) -> Indicator:
        return next(i for i in self.indicators if i.key == key)

    def time_row(self, code: str) -> TimeRow:
        return next(r for r in self.times if r.code == code)

    def request_row(self, code: str) -> RequestRow:
        return next(r for r in self.requests if r.code == code)


def period(fiscal_year: int, quarter: int | None = None) -> tuple[datetime, datetime]:
    """[start, end) in Bangkok: fiscal 2570 is 1 Oct 2026 – 30 Sep 2027; quarter 1 is Oct–Dec."""
    if quarter is not None and quarter not in (1, 2, 3, 4):
        raise ValueError(f"quarter must be 1-4, not {quarter!r}")
    first = datetime(fiscal_year - 544, 10, 1, tzinfo=BANGKOK)
    skip, length = ((quarter - 1) * 3, 3) if quarter else (0, 12)
    return _add_months(first, skip), _add_months(first, skip + length)


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.month - 1 + months
    return moment.replace(year=moment.year + index // 12, month=index % 12 + 1)


def _month_index(months: list[Month], moment: datetime) -> int:
    local = moment.astimezone(BANGKOK)
    return next(i for i, m in enumerate(months) if (m.year, m.month) == (local.year, local.month))


def compute(session: Session, fiscal_year: int, quarter: int | None = None,
            service_level: ServiceLevel | None = None, now: datetime | None = None) -> KpiReport:
    """The report for a fiscal year (BE) or one of its quarters. `service_level` should be the bot's
    configured SLA targets (SLA_TARGETS); the default targets otherwise."""
    level = service_level or ServiceLevel.parse(DEFAULT_SERVICE_LEVEL)
    now = now or utcnow()
    start, end = period(fiscal_year, quarter)
    as_of = min(now, end)
    months, cursor = [], start
    while cursor < end:
        months.append(Month(cursor.year, cursor.month, month_label(cursor.year, cursor.month)))
        cursor = _add_months(cursor, 1)

    tickets = list(session.scalars(select(Ticket).where(Ticket.created_at >= start, Ticket.created_at < end)
                                   .order_by(Ticket.created_at, Ticket.id)))
    requests = _requests(session, months, tickets, start, end)
    times = _times(tickets)
    within = _within_target(tickets, level, now)
    long_outages = _long_outages(session, tickets, now)
    closed = [t for t in tickets if t.state == CLOSED]
    ratings = [t.rating for t in closed if t.rating is not None]
    satisfaction = Satisfaction(len(ratings), len(closed), sum(ratings) / len(ratings) if ratings else None)
    deflection = _deflection(session, start, end)
    overdue_reviews = _overdue_reviews(session, as_of)
    overdue_reminders = _overdue_reminders(session, as_of)

    report = KpiReport(fiscal_year, quarter, start, end, as_of, now, months, requests, times, within,
                       long_outages, satisfaction, deflection, overdue_reviews, overdue_reminders)
    report.indicators.extend(_indicators(report))
    return report


def _requests(session: Session, months: list[Month], tickets: list[Ticket], start: datetime, end: datetime
              ) -> list[RequestRow]:
    counts = {code: [0] * len(months) for code in REQUEST_KINDS}
    for ticket in tickets:
        code = ticket.category if ticket.category in CATEGORIES else "other"
        counts[code][_month_index(months, ticket.created_at)] += 1
    for code, model in ((ACC, AccountRequest), (WEB, WebRequest)):
        created = session.scalars(select(model.created_at).where(model.created_at >= start, model.created_at < end))
        for moment in created:
            counts[code][_month_index(months, moment)] += 1
    return [RequestRow(code, label, counts[code]) for code, label in REQUEST_KINDS.items()]


def _times(tickets: list[Ticket]) -> list[TimeRow]:
    def row(code: str, label: str, group: list[Ticket]) -> TimeRow:
        accept = [_minutes(t.accepted_at - t.created_at) for t in group if t.accepted_at is not None]
        resolve = [_minutes(t.resolved_at - t.created_at) for t in group if t.resolved_at is not None]
        return TimeRow(code, label, Durations.of(accept), Durations.of(resolve))

    rows = [row(code, name, [t for t in tickets if t.category == code]) for code, name in CATEGORIES.items()]
    rows.append(row(ALL, "รวมทุกประเภท", tickets))
    return rows


def _within_target(tickets: list[Ticket], level: ServiceLevel, now: datetime) -> WithinTarget:
    by_priority = {p: [0, 0] for p in PRIORITIES}
    pending = 0
    for ticket in tickets:
        target = level.resolve.get(ticket.priority)
        if target is None:
            continue
        if ticket.resolved_at is None and now - ticket.created_at <= target:
            pending += 1
            continue
        tally = by_priority.setdefault(ticket.priority, [0, 0])
        tally[1] += 1
        if ticket.resolved_at is not None and ticket.resolved_at - ticket.created_at <= target:
            tally[0] += 1
    within = sum(v[0] for v in by_priority.values())
    counted = sum(v[1] for v in by_priority.values())
    return WithinTarget(within, counted, pending, {p: (v[0], v[1]) for p, v in by_priority.items()})


def _long_outages(session: Session, tickets: list[Ticket], now: datetime) -> list[str]:
    """Critical HIS/network tickets down more than 12 hours: flagged by the scheduler (long_outage_at
    or the "kpi_12h" event), or seen from the timestamps (a scheduler that was down misses none)."""
    critical = [t for t in tickets if t.priority == "critical" and t.category in CRITICAL_CATEGORIES]
    ids = [t.id for t in critical]
    events = select(TicketEvent.ticket_id).where(TicketEvent.action == "kpi_12h", TicketEvent.ticket_id.in_(ids))
    flagged = set(session.scalars(events)) if ids else set()
    return [t.number for t in critical
            if t.id in flagged or t.long_outage_at is not None or (t.resolved_at or now) - t.created_at > LONG_OUTAGE]


def _deflection(session: Session, start: datetime, end: datetime) -> Deflection:
    rows = list(session.scalars(select(SopAnswer).where(SopAnswer.asked_at >= start, SopAnswer.asked_at < end)))
    rated = [r for r in rows if r.helpful is not None]
    # The outage dialog records its offer as a found answer with score 0.0 (handlers/incidents.py
    # _record_kb); a chat answer is only "found" above the confidence threshold, so never at 0.0.
    offers = [r for r in rated if r.found and r.score == 0.0]
    return Deflection(len(rows), len(rated), sum(1 for r in rated if r.helpful), len(offers),
                      sum(1 for r in offers if r.helpful))


def _overdue_reviews(session: Session, as_of: datetime) -> int:
    """Yearly review items past their campaign's due date and not decided at `as_of`."""
    items = session.scalars(
        select(ReviewItem.decided_at).join(ReviewCampaign, ReviewCampaign.id == ReviewItem.campaign_id)
        .where(ReviewCampaign.due_at <= as_of))
    return sum(1 for decided_at in items if decided_at is None or decided_at > as_of)


def _overdue_reminders(session: Session, as_of: datetime) -> int:
    """Occurrences whose (possibly postponed) due day ended before `as_of` and not done by then;
    ones recorded as missed after downtime are never announced, so they are not counted."""
    today = as_of.astimezone(BANGKOK).date()
    rows = session.scalars(select(ReminderOccurrence).where(ReminderOccurrence.state != MISSED,
                                                            ReminderOccurrence.due_on < today))
    return sum(1 for r in rows if r.effective_due < today and (r.done_at is None or r.done_at > as_of))


def _indicators(report: KpiReport) -> list[Indicator]:
    overall = report.time_row(ALL)
    within, sat, kb = report.within_target, report.satisfaction, report.deflection
    profile7 = "โปรไฟล์บริการ กระบวนการสำคัญที่ 7"
    total_requests = sum(row.total for row in report.requests)
    return [
        Indicator("requests", "จำนวนคำขอรับบริการทั้งหมด (แจ้งปัญหา บัญชีผู้ใช้ เว็บไซต์)", total_requests,
                  "รายการ", basis=profile7),
        Indicator("accept_median", "ระยะเวลารับงาน (มัธยฐาน)", overall.accept.median, "นาที",
                  total=overall.accept.count),
        Indicator("accept_p90", "ระยะเวลารับงาน (เปอร์เซ็นไทล์ที่ 90)", overall.accept.p90, "นาที",
                  total=overall.accept.count),
        Indicator("resolve_mean", "ระยะเวลาเฉลี่ยในการแก้ไขปัญหา", overall.resolve.mean, "นาที",
                  total=overall.resolve.count, basis=profile7),
        Indicator("resolve_median", "ระยะเวลาแก้ไขปัญหา (มัธยฐาน)", overall.resolve.median, "นาที",
                  total=overall.resolve.count),
        Indicator("resolve_p90", "ระยะเวลาแก้ไขปัญหา (เปอร์เซ็นไทล์ที่ 90)", overall.resolve.p90, "นาที",
                  total=overall.resolve.count),
        Indicator("within_target", "ร้อยละของงานที่แก้ไขเสร็จภายในเวลาเป้าหมายตามระดับความเร่งด่วน", within.share,
                  "ร้อยละ", within.within, within.counted, f"ไม่น้อยกว่าร้อยละ {WITHIN_TARGET_GOAL:g}",
                  WITHIN_TARGET_GOAL, ">=", "โปรไฟล์บริการ ตัวชี้วัดที่ 14"),
        Indicator("long_outages", "อุบัติการณ์ระบบสำคัญ (HIS/เครือข่าย) ขัดข้องเกิน 12 ชั่วโมง",
                  len(report.long_outages), "ครั้ง", goal=f"{LONG_OUTAGE_GOAL} ครั้ง", goal_value=LONG_OUTAGE_GOAL,
                  goal_op="<=", basis="โปรไฟล์บริการ กระบวนการสำคัญที่ 2"),
        Indicator("satisfaction_mean", "ความพึงพอใจเฉลี่ยของผู้รับบริการ (คะแนนเต็ม 5)", sat.mean, "คะแนน",
                  total=sat.rated, basis="โปรไฟล์บริการ กระบวนการสำคัญที่ 3"),
        Indicator("satisfaction_response", "อัตราการตอบแบบประเมินความพึงพอใจ (จากงานที่ปิดแล้ว)",
                  sat.response_rate, "ร้อยละ", sat.rated, sat.closed),
        Indicator("kb_helpful", "คำตอบจากคู่มือ (SOP) ที่ผู้ถามแจ้งว่าช่วยได้", kb.share, "ร้อยละ", kb.helpful,
                  kb.with_feedback),
        Indicator("kb_outage_solved", "การแจ้งปัญหาที่แก้ได้ด้วยคู่มือโดยไม่ต้องเปิดงาน", kb.outage_share, "ร้อยละ",
                  kb.outage_solved, kb.outage_offers),
        Indicator("overdue_reviews", "รายการทบทวนบัญชีและสิทธิ์ประจำปีที่เลยกำหนด", report.overdue_reviews,
                  "รายการ", basis="SOP 000 ข้อ 6.6"),
        Indicator("overdue_reminders", "งานตามรอบที่ SOP กำหนดซึ่งเลยกำหนดและยังไม่ทำ", report.overdue_reminders,
                  "รายการ"),
    ]


# Export -----------------------------------------------------------------------------------------

SHEET_SUMMARY = "สรุปตัวชี้วัด"
SHEET_REQUESTS = "คำขอรายเดือน"
SHEET_TIMES = "ระยะเวลารับงานและแก้ไข"
SUMMARY_HEADER = ["ตัวชี้วัด", "ค่า", "หน่วย", "จำนวน", "จากทั้งหมด", "เป้าหมาย", "ผลเทียบเป้าหมาย", "ที่มา"]
TIMES_HEADER = ["ประเภท", "จำนวนงานที่รับแล้ว", "รับงาน มัธยฐาน (นาที)", "รับงาน P90 (นาที)", "รับงาน เฉลี่ย (นาที)",
                "จำนวนงานที่แก้ไขแล้ว", "แก้ไข มัธยฐาน (นาที)", "แก้ไข P90 (นาที)", "แก้ไข เฉลี่ย (นาที)"]
Cell = str | int | float | None


def _round(value: float | None) -> float | int | None:
    """Two decimals; whole numbers as integers (20 minutes, not 20.0)."""
    if value is None:
        return None
    rounded = round(value, 2)
    return int(rounded) if rounded == int(rounded) else rounded


def _met_text(met: bool | None) -> str:
    return "" if met is None else ("ผ่าน" if met else "ไม่ผ่าน")


def _title_rows(report: KpiReport) -> list[list[Cell]]:
    return [["รายงานตัวชี้วัดงานบริการเทคโนโลยีสารสนเทศ", report.period_label],
            ["ช่วงเวลา", report.range_label],
            ["ข้อมูล ณ", thai_datetime(report.generated_at)]]


def summary_rows(report: KpiReport) -> list[list[Cell]]:
    """The summary table (header first), as both exports write it."""
    rows: list[list[Cell]] = [SUMMARY_HEADER]
    for ind in report.indicators:
        rows.append([ind.label, _round(ind.value), ind.unit, ind.count, ind.total, ind.goal or "",
                     _met_text(ind.met), ind.basis])
    return rows


def request_rows(report: KpiReport) -> list[list[Cell]]:
    rows: list[list[Cell]] = [["ประเภทคำขอ", *(m.label for m in report.months), "รวม"]]
    rows += [[row.label, *row.counts, row.total] for row in report.requests]
    rows.append(["รวม", *report.month_totals, sum(report.month_totals)])
    return rows


def time_rows(report: KpiReport) -> list[list[Cell]]:
    rows: list[list[Cell]] = [TIMES_HEADER]
    for row in report.times:
        a, r = row.accept, row.resolve
        rows.append([row.label, a.count, _round(a.median), _round(a.p90), _round(a.mean),
                     r.count, _round(r.median), _round(r.p90), _round(r.mean)])
    return rows


def to_csv(report: KpiReport) -> str:
    """One CSV with the three tables one after another, each under its title; starts with a BOM so
    Excel opens the Thai text as UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(_title_rows(report))
    for title, rows in ((SHEET_SUMMARY, summary_rows(report)), (SHEET_REQUESTS, request_rows(report)),
                        (SHEET_TIMES, time_rows(report))):
        writer.writerow([])
        writer.writerow([title])
        writer.writerows(rows)
    return "\ufeff" + out.getvalue()


def to_xlsx(report: KpiReport) -> bytes:
    """A workbook of three sheets: summary, requests by category × month, accept/resolve times."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    bold = Font(bold=True)
    sheets = ((SHEET_SUMMARY, [*_title_rows(report), []], summary_rows(report)),
              (SHEET_REQUESTS, [[report.period_label, report.range_label], []], request_rows(report)),
              (SHEET_TIMES, [[report.period_label, report.range_label], []], time_rows(report)))
    for index, (title, preface, rows) in enumerate(sheets):
        sheet = book.active if index == 0 else book.create_sheet()
        assert sheet is not None
        sheet.title = title
        for row in preface:
            sheet.append(row)
        sheet.append(rows[0])
        for cell in sheet[sheet.max_row]:
            cell.font = bold
        for row in rows[1:]:
            sheet.append(row)
        sheet.column_dimensions["A"].width = 60 if index == 0 else 40
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
