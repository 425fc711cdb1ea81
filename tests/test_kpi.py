"""KPI report on a seeded set of requests whose every figure is worked out by hand below.

Clock: "now" is 31 Mar 2027 12:00 Bangkok (fiscal 2570, quarter 2). SLA targets are the defaults:
critical 15/240, high 30/480, normal 240/4320 minutes (accept/resolve). Percentiles are nearest
rank: the value at rank ceil(p·n/100) of the sorted list.

Tickets (created Bangkok time; minutes from creation to accept / resolve):

| ticket | category | priority | created          | accept | resolve | state    | rating |
|--------|----------|----------|------------------|--------|---------|----------|--------|
| T1     | his      | critical | 2026-10-01 00:10 | 5      | 120     | closed   | 5      |
| T2     | network  | critical | 2026-10-15 09:00 | 10     | 900     | closed   | 3      |  kpi_12h event
| T3     | computer | normal   | 2026-11-03 10:00 | 20     | 600     | closed   | 4      |
| T4     | printer  | normal   | 2026-11-20 13:00 | 40     | 1440    | closed   | -      |
| T5     | computer | high     | 2026-12-10 09:00 | 80     | 500     | resolved | -      |
| T6     | his      | critical | 2027-01-05 08:00 | 15     | 200     | closed   | 2      |
| T7     | email    | normal   | 2027-02-10 09:00 | 30     | -       | accepted | -      |
| T9     | his      | critical | 2027-03-20 08:00 | 10     | 780     | closed   | -      |  no event
| T8     | network  | normal   | 2027-03-31 10:00 | -      | -       | new      | -      |
| X1     | computer | normal   | 2026-09-30 23:30 | 1      | 10      | closed   | 1      |  fiscal 2569: out

T1 is 30 Sep 17:10 in UTC: it belongs to fiscal 2570 only because periods are taken in Bangkok.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from models import kpi
from models.accounts import AccountRequest
from models.numbering import next_number
from models.org import Staff, System, staff_by_code
from models.reminders import DONE, MISSED, OPEN, ReminderDefinition, ReminderOccurrence
from models.reviews import ReviewCampaign, ReviewItem
from models.sop_answers import SopAnswer
from models.tickets import CLOSED, ServiceLevel, Ticket, TicketEvent, priority_for
from models.web_requests import WebRequest

BANGKOK = ZoneInfo("Asia/Bangkok")
NOW = datetime(2027, 3, 31, 12, 0, tzinfo=BANGKOK)


def bkk(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BANGKOK)


def _ticket(session, reporter: Staff, officer: Staff, category: str, patients: bool, created: datetime,
            accept: int | None, resolve: int | None, state: str, rating: int | None = None) -> Ticket:
    ticket = Ticket(
        number=next_number(session, "INC", created), reporter_id=reporter.id, work_group_id=reporter.work_group_id,
        category=category, description="ทดสอบ", affects_patients=patients, priority=priority_for(category, patients),
        state=state, created_at=created, rating=rating,
        assignee_id=officer.id if accept is not None else None,
        accepted_at=created + timedelta(minutes=accept) if accept is not None else None,
        resolved_at=created + timedelta(minutes=resolve) if resolve is not None else None,
        closed_at=created + timedelta(minutes=resolve, days=1) if state == CLOSED and resolve is not None else None,
    )
    session.add(ticket)
    session.flush()
    return ticket


@pytest.fixture
def seeded(db):
    with db.transaction() as session:
        malee, kanda = staff_by_code(session, "S021"), staff_by_code(session, "S010")
        boss = staff_by_code(session, "S020")
        hosxp = session.scalar(select(System).where(System.code == "HOSXP"))

        def t(*args, **kw) -> Ticket:
            return _ticket(session, malee, kanda, *args, **kw)

        t("his", True, bkk(2026, 10, 1, 0, 10), 5, 120, CLOSED, 5)  # T1
        t2 = t("network", True, bkk(2026, 10, 15, 9, 0), 10, 900, CLOSED, 3)  # T2
        t2.long_outage_at = t2.created_at + timedelta(hours=12, minutes=1)
        session.add(TicketEvent(ticket_id=t2.id, at=t2.long_outage_at, action="kpi_12h"))
        t("computer", False, bkk(2026, 11, 3, 10, 0), 20, 600, CLOSED, 4)  # T3
        t("printer", False, bkk(2026, 11, 20, 13, 0), 40, 1440, CLOSED)  # T4
        t("computer", True, bkk(2026, 12, 10, 9, 0), 80, 500, "resolved")  # T5 (high)
        t("his", True, bkk(2027, 1, 5, 8, 0), 15, 200, CLOSED, 2)  # T6
        t("email", False, bkk(2027, 2, 10, 9, 0), 30, None, "accepted")  # T7
        t("his", True, bkk(2027, 3, 20, 8, 0), 10, 780, CLOSED)  # T9: 13 h, scheduler never flagged it
        t("network", False, bkk(2027, 3, 31, 10, 0), None, None, "new")  # T8: 2 h old, within target
        t("computer", False, bkk(2026, 9, 30, 23, 30), 1, 10, CLOSED, 1)  # X1: fiscal 2569

        # Account requests: 10 Oct 2026 and 12 Jan 2027 in; 30 Sep 2026 out. Website: 5 Nov 2026.
        for created in (bkk(2026, 10, 10, 9), bkk(2027, 1, 12, 9), bkk(2026, 9, 30, 9)):
            session.add(AccountRequest(number=next_number(session, "ACC", created), requester_id=malee.id,
                                       subject_id=malee.id, system_id=hosxp.id, action="new", created_at=created))
        created = bkk(2026, 11, 5, 9)
        session.add(WebRequest(number=next_number(session, "WEB", created), requester_id=malee.id,
                               request_date=created.date(), title="ข่าว", category="news", created_at=created))

        # SOP answers. Chat answers are found above the threshold (score 0.9); the outage dialog's
        # offer is recorded found with score 0.0.
        for asked, found, score, helpful in (
            (bkk(2026, 10, 5, 9), True, 0.9, True),  # A1
            (bkk(2026, 11, 5, 9), True, 0.9, False),  # A2
            (bkk(2026, 11, 6, 9), True, 0.9, None),  # A3: no feedback
            (bkk(2027, 1, 10, 9), False, 0.2, None),  # A4: not found
            (bkk(2027, 2, 2, 9), True, 0.9, True),  # A5
            (bkk(2026, 12, 1, 9), True, 0.0, True),  # A6: outage solved by the SOP, no ticket
            (bkk(2027, 3, 20, 7), True, 0.0, False),  # A7: outage offer, reported anyway
            (bkk(2026, 9, 20, 9), True, 0.9, True),  # fiscal 2569: out
        ):
            session.add(SopAnswer(asked_at=asked, staff_id=malee.id, question="ถาม", found=found, passage_ids=[],
                                  score=score, helpful=helpful, feedback_at=asked if helpful is not None else None))

        # Yearly review due 31 Oct 2026: R1 never decided, R2 decided in time, R3 decided 15 Jan 2027
        # (still overdue at the end of quarter 1, no longer at "now").
        campaign = ReviewCampaign(year=2569, started_at=bkk(2026, 10, 1, 8), due_at=bkk(2026, 10, 31, 16, 30))
        session.add(campaign)
        session.flush()
        for decided in (None, bkk(2026, 10, 20, 9), bkk(2027, 1, 15, 9)):
            session.add(ReviewItem(campaign_id=campaign.id, supervisor_id=boss.id, staff_id=malee.id,
                                   system_id=hosxp.id, decision="keep" if decided else None, decided_at=decided))

        # Reminder occurrences: O1 open, due 1 Mar 2027 (overdue now); O2 done on the day after its due
        # date (not overdue now); O3 open, due 5 Apr 2027 (not yet due); O4 due 15 Dec 2026, done 5 Jan
        # 2027 (overdue at the end of quarter 1 only); O5 recorded missed (never counted).
        definition = ReminderDefinition(code="backup-check", title="ตรวจสอบการสำรองข้อมูล", cadence="monthly",
                                        starts_on=date(2026, 10, 1), created_at=NOW, updated_at=NOW)
        session.add(definition)
        session.flush()
        for due, state, done_at in ((date(2027, 3, 1), OPEN, None), (date(2027, 3, 25), DONE, bkk(2027, 3, 26, 9)),
                                    (date(2027, 4, 5), OPEN, None), (date(2026, 12, 15), DONE, bkk(2027, 1, 5, 9)),
                                    (date(2026, 11, 1), MISSED, None)):
            session.add(ReminderOccurrence(definition_id=definition.id, nominal_on=due, due_on=due, state=state,
                                           created_at=NOW, announce_on=due, done_at=done_at))
    return db


def test_percentile_is_nearest_rank():
    assert kpi.percentile([5, 10, 20, 40, 80], 50) == 20
    assert kpi.percentile([80, 5, 40, 10, 20], 90) == 80
    assert kpi.percentile([5, 10, 20, 40], 50) == 10  # lower middle value, no averaging
    assert kpi.percentile(list(range(1, 71)), 90) == 63  # ceil(63.0): no float error
    assert kpi.percentile([], 50) is None


def test_periods_are_thai_fiscal_years_in_bangkok():
    assert kpi.period(2570) == (bkk(2026, 10, 1), bkk(2027, 10, 1))
    assert kpi.period(2570, 1) == (bkk(2026, 10, 1), bkk(2027, 1, 1))
    assert kpi.period(2570, 2) == (bkk(2027, 1, 1), bkk(2027, 4, 1))
    assert kpi.period(2570, 4) == (bkk(2027, 7, 1), bkk(2027, 10, 1))
    with pytest.raises(ValueError):
        kpi.period(2570, 5)


def test_fiscal_year_figures(seeded):
    with seeded.transaction() as session:
        report = kpi.compute(session, 2570, now=NOW)

    assert report.period_label == "ปีงบประมาณ 2570"
    assert report.range_label == "1 ต.ค. 2569 – 30 ก.ย. 2570"
    assert [m.label for m in report.months][:4] == ["ต.ค. 69", "พ.ย. 69", "ธ.ค. 69", "ม.ค. 70"]
    assert report.months[-1].label == "ก.ย. 70" and len(report.months) == 12

    # Requests by month (Oct..Sep): his T1 Oct, T6 Jan, T9 Mar; network T2 Oct, T8 Mar; computer T3 Nov,
    # T5 Dec (X1 is September 2026: out); printer T4 Nov; email T7 Feb; ACC Oct, Jan; WEB Nov.
    assert report.request_row("his").counts == [1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0]
    assert report.request_row("network").counts == [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
    assert report.request_row("computer").counts == [0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    assert report.request_row("printer").total == 1 and report.request_row("email").total == 1
    assert report.request_row("website").total == 0 and report.request_row("other").total == 0
    assert report.request_row("ACC").counts == [1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    assert report.request_row("WEB").counts == [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    assert report.month_totals == [3, 3, 1, 2, 1, 2, 0, 0, 0, 0, 0, 0]  # 9 tickets + 2 ACC + 1 WEB = 12
    assert report.indicator("requests").value == 12

    # Accept, all 8 accepted: sorted 5 10 10 15 20 30 40 80. Median rank ceil(4.0) = 4 → 15;
    # p90 rank ceil(7.2) = 8 → 80; mean 210 / 8 = 26.25.
    overall = report.time_row("ALL")
    assert (overall.accept.count, overall.accept.median, overall.accept.p90) == (8, 15, 80)
    assert overall.accept.mean == pytest.approx(26.25)
    # Resolve, 7 resolved: sorted 120 200 500 600 780 900 1440. Median rank ceil(3.5) = 4 → 600;
    # p90 rank ceil(6.3) = 7 → 1440; mean 4540 / 7 = 648.571...
    assert (overall.resolve.count, overall.resolve.median, overall.resolve.p90) == (7, 600, 1440)
    assert overall.resolve.mean == pytest.approx(4540 / 7)
    # his: accept 5 15 10 → sorted 5 10 15: median rank 2 → 10, p90 rank ceil(2.7) = 3 → 15;
    # resolve 120 200 780: median 200, p90 780.
    his = report.time_row("his")
    assert (his.accept.median, his.accept.p90, his.resolve.median, his.resolve.p90) == (10, 15, 200, 780)
    # computer: accept 20 80 → median rank ceil(1.0) = 1 → 20, p90 rank ceil(1.8) = 2 → 80; resolve 500 600.
    computer = report.time_row("computer")
    assert (computer.accept.median, computer.accept.p90, computer.resolve.median, computer.resolve.p90) == (
        20, 80, 500, 600)
    # email: T7 accepted (30) but not resolved; website: nothing at all.
    email, website = report.time_row("email"), report.time_row("website")
    assert (email.accept.count, email.accept.median, email.resolve.count, email.resolve.median) == (1, 30, 0, None)
    assert website.accept.median is None and website.resolve.p90 is None

    # Within target: T1 120≤240 ✓, T2 900>240 ✗, T3 600≤4320 ✓, T4 1440≤4320 ✓, T5 500>480 ✗, T6 200≤240 ✓,
    # T9 780>240 ✗, T7 open 49 days > 4320 min ✗; T8 open 2 h < 4320 min: pending, left out. 4 / 8 = 50 %.
    within = report.within_target
    assert (within.within, within.counted, within.pending) == (4, 8, 1)
    assert within.by_priority == {"critical": (2, 4), "high": (0, 1), "normal": (2, 3)}
    indicator = report.indicator("within_target")
    assert indicator.value == pytest.approx(50.0) and indicator.goal_value == 90 and indicator.met is False

    # Long outages: T2 (event, 900 min) and T9 (780 min > 720, no event); T1, T6 were short.
    assert sorted(report.long_outages) == sorted(_numbers(seeded, bkk(2026, 10, 15, 9), bkk(2027, 3, 20, 8)))
    assert report.indicator("long_outages").value == 2 and report.indicator("long_outages").met is False

    # Satisfaction: closed T1 T2 T3 T4 T6 T9 = 6; rated 5 3 4 2 → mean 3.5, response 4 / 6 = 66.67 %.
    sat = report.satisfaction
    assert (sat.rated, sat.closed, sat.mean) == (4, 6, 3.5)
    assert report.indicator("satisfaction_response").value == pytest.approx(200 / 3)
    assert report.indicator("satisfaction_mean").goal is None and report.indicator("satisfaction_mean").met is None

    # Deflection: 7 answers in the year, 5 with feedback (A1 A2 A5 A6 A7), helpful A1 A5 A6 → 60 %;
    # outage offers A6 A7, solved A6 → 50 %.
    kb = report.deflection
    assert (kb.answers, kb.with_feedback, kb.helpful, kb.outage_offers, kb.outage_solved) == (7, 5, 3, 2, 1)
    assert kb.share == pytest.approx(60.0) and kb.outage_share == pytest.approx(50.0)

    # Overdue now: review R1 only (R3 was decided in January); reminder O1 only.
    assert report.as_of == NOW
    assert (report.overdue_reviews, report.overdue_reminders) == (1, 1)


def test_quarter_excludes_the_rest_of_the_year(seeded):
    with seeded.transaction() as session:
        report = kpi.compute(session, 2570, quarter=1, now=NOW)

    assert report.period_label == "ปีงบประมาณ 2570 ไตรมาส 1"
    assert report.range_label == "1 ต.ค. 2569 – 31 ธ.ค. 2569"
    assert [m.label for m in report.months] == ["ต.ค. 69", "พ.ย. 69", "ธ.ค. 69"]
    # Tickets T1..T5, ACC 10 Oct, WEB 5 Nov: 7 requests.
    assert report.month_totals == [3, 3, 1] and report.indicator("requests").value == 7
    # Accept 5 10 20 40 80: median rank ceil(2.5) = 3 → 20, p90 rank ceil(4.5) = 5 → 80, mean 31.
    # Resolve sorted 120 500 600 900 1440: median 600, p90 1440, mean 3560 / 5 = 712.
    overall = report.time_row("ALL")
    assert (overall.accept.median, overall.accept.p90, overall.accept.mean) == (20, 80, 31)
    assert (overall.resolve.median, overall.resolve.p90, overall.resolve.mean) == (600, 1440, 712)
    # Within target: T1 ✓ T2 ✗ T3 ✓ T4 ✓ T5 ✗ → 3 / 5 = 60 %.
    assert (report.within_target.within, report.within_target.counted) == (3, 5)
    assert report.indicator("within_target").value == pytest.approx(60.0)
    assert len(report.long_outages) == 1  # T2
    # Closed T1..T4, rated 5 3 4 → mean 4.0, response 3 / 4 = 75 %.
    assert (report.satisfaction.rated, report.satisfaction.closed, report.satisfaction.mean) == (3, 4, 4.0)
    # Answers A1 A2 A3 A6: feedback A1 A2 A6, helpful A1 A6 → 66.67 %; outage offer A6 solved → 100 %.
    kb = report.deflection
    assert (kb.answers, kb.with_feedback, kb.helpful, kb.outage_offers, kb.outage_solved) == (4, 3, 2, 1, 1)
    # Counted as they stood on 1 Jan 2027 00:00: reviews R1 and R3 (decided 15 Jan); reminder O4 (done 5 Jan).
    assert report.as_of == bkk(2027, 1, 1)
    assert (report.overdue_reviews, report.overdue_reminders) == (2, 1)


def test_service_level_targets_are_the_ones_given(seeded):
    # With 1000 minutes for critical tickets, T2 (900) and T9 (780) are within too: 6 / 8 = 75 %.
    level = ServiceLevel.parse("critical=15/1000,high=30/480,normal=240/4320")
    with seeded.transaction() as session:
        report = kpi.compute(session, 2570, service_level=level, now=NOW)
    assert (report.within_target.within, report.within_target.counted) == (6, 8)
    assert report.indicator("within_target").met is False


def test_xlsx_holds_the_report_figures(seeded):
    with seeded.transaction() as session:
        report = kpi.compute(session, 2570, now=NOW)
    book = load_workbook(io.BytesIO(kpi.to_xlsx(report)))
    assert book.sheetnames == ["สรุปตัวชี้วัด", "คำขอรายเดือน", "ระยะเวลารับงานและแก้ไข"]

    summary = _table(list(book["สรุปตัวชี้วัด"].values), "ตัวชี้วัด")
    assert summary[0] == ["ตัวชี้วัด", "ค่า", "หน่วย", "จำนวน", "จากทั้งหมด", "เป้าหมาย", "ผลเทียบเป้าหมาย", "ที่มา"]
    assert list(book["สรุปตัวชี้วัด"].values)[1][1] == "1 ต.ค. 2569 – 30 ก.ย. 2570"
    by_label = {row[0]: row for row in summary[1:]}
    for ind in report.indicators:
        row = by_label[ind.label]
        assert row[1] == (None if ind.value is None else pytest.approx(ind.value, abs=0.01))
        assert (row[3], row[4]) == (ind.count, ind.total)
    within = by_label[report.indicator("within_target").label]
    assert (within[1], within[3], within[4], within[5], within[6]) == (50, 4, 8, "ไม่น้อยกว่าร้อยละ 90", "ไม่ผ่าน")

    requests = _table(list(book["คำขอรายเดือน"].values), "ประเภทคำขอ")
    assert requests[0][1:4] == ["ต.ค. 69", "พ.ย. 69", "ธ.ค. 69"] and requests[0][-1] == "รวม"
    rows = {row[0]: row[1:] for row in requests[1:]}
    for row in report.requests:
        assert rows[row.label] == [*row.counts, row.total]
    assert rows["รวม"][-1] == 12

    times = _table(list(book["ระยะเวลารับงานและแก้ไข"].values), "ประเภท")
    rows = {row[0]: row for row in times[1:]}
    assert rows["รวมทุกประเภท"][1:8] == [8, 15, 80, 26.25, 7, 600, 1440]
    assert rows["รวมทุกประเภท"][8] == pytest.approx(648.57)
    assert rows[report.time_row("website").label][1:] == [0, None, None, None, 0, None, None, None]


def test_csv_holds_the_report_figures(seeded):
    with seeded.transaction() as session:
        report = kpi.compute(session, 2570, quarter=1, now=NOW)
    text = kpi.to_csv(report)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0] == ["รายงานตัวชี้วัดงานบริการเทคโนโลยีสารสนเทศ", "ปีงบประมาณ 2570 ไตรมาส 1"]
    assert rows[1] == ["ช่วงเวลา", "1 ต.ค. 2569 – 31 ธ.ค. 2569"]
    assert rows[2] == ["ข้อมูล ณ", "31 มี.ค. 2570 12:00"]

    summary = {row[0]: row for row in _table(rows, "ตัวชี้วัด")[1:]}
    for ind in report.indicators:
        value = summary[ind.label][1]
        assert (value == "") if ind.value is None else float(value) == pytest.approx(ind.value, abs=0.01)
    assert summary[report.indicator("within_target").label][1:7] == ["60", "ร้อยละ", "3", "5",
                                                                      "ไม่น้อยกว่าร้อยละ 90", "ไม่ผ่าน"]
    assert summary[report.indicator("long_outages").label][1] == "1"

    requests = _table(rows, "ประเภทคำขอ")
    assert requests[0] == ["ประเภทคำขอ", "ต.ค. 69", "พ.ย. 69", "ธ.ค. 69", "รวม"]
    assert requests[-1] == ["รวม", "3", "3", "1", "7"]

    times = {row[0]: row for row in _table(rows, "ประเภท")[1:]}
    assert times["รวมทุกประเภท"][1:] == ["5", "20", "80", "31", "5", "600", "1440", "712"]


def _table(rows: list, first_header: str) -> list[list]:
    """The rows from the header that starts with `first_header` to the next blank row."""
    start = next(i for i, row in enumerate(rows) if row and row[0] == first_header)
    table = []
    for row in rows[start:]:
        if not row or all(cell in (None, "") for cell in row):
            break
        table.append(list(row))
    return table


def _numbers(db, *created: datetime) -> list[str]:
    with db.transaction() as session:
        return [session.scalar(select(Ticket.number).where(Ticket.created_at == moment)) for moment in created]
