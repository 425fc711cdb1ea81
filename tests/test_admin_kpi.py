"""The KPI dashboard in the admin web: the page, its charts and its exports show the figures of
models.kpi for the seeded tickets of tests/test_kpi.py (worked out by hand there)."""

from __future__ import annotations

import csv
import io

import time_machine
from openpyxl import load_workbook

from models import kpi
from models.base import utcnow
from models.tickets import ServiceLevel
from tests.test_admin_web import enrol, login
from tests.test_kpi import NOW, seeded  # noqa: F401  (the fixture)


def _login(client, app, code: str) -> None:
    assert login(client, code, enrol(app, code)).status_code == 302


def _report(db, app, quarter=None) -> kpi.KpiReport:
    with db.transaction() as session:
        return kpi.compute(session, 2570, quarter, service_level=ServiceLevel.parse(app.config["SLA_TARGETS"]),
                           now=utcnow())


def test_the_dashboard_shows_the_indicators_and_charts(app, seeded, client):  # noqa: F811
    with time_machine.travel(NOW, tick=True):
        _login(client, app, "S011")
        page = client.get("/admin/kpi?year=2570").get_data(as_text=True)
        report = _report(seeded, app)
    assert "ปีงบประมาณ 2570" in page and "1 ต.ค. 2569 – 30 ก.ย. 2570" in page
    within = report.indicator("within_target")
    assert within.label in page and f"{within.count} จาก {within.total}" in page and "ไม่ผ่าน" in page
    assert page.count("<svg") == 3 and "เป้าหมาย 90%" in page
    for row in report.requests:
        if row.total:
            assert f"<td>{row.label}</td>" in page


def test_a_quarter_and_a_bad_period(app, seeded, client):  # noqa: F811
    with time_machine.travel(NOW, tick=True):
        _login(client, app, "S001")
        page = client.get("/admin/kpi?year=2570&quarter=2").get_data(as_text=True)
        assert "ไตรมาส 2" in page and "1 ม.ค. 2570 – 31 มี.ค. 2570" in page
        assert client.get("/admin/kpi?year=2570&quarter=5").status_code == 400


def test_the_excel_and_csv_exports_hold_the_same_figures(app, seeded, client):  # noqa: F811
    with time_machine.travel(NOW, tick=True):
        _login(client, app, "S011")
        xlsx = client.get("/admin/kpi.xlsx?year=2570")
        text = client.get("/admin/kpi.csv?year=2570")
        report = _report(seeded, app)
    assert xlsx.status_code == 200 and "kpi-2570.xlsx" in xlsx.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(xlsx.data))
    summary = [row for row in book[kpi.SHEET_SUMMARY].values if row and row[0]]
    by_label = {row[0]: row for row in summary}
    for ind in report.indicators:
        row = by_label[ind.label]
        assert (row[3], row[4]) == (ind.count, ind.total)
    rows = list(csv.reader(io.StringIO(text.get_data(as_text=True).lstrip("\ufeff"))))
    assert any(r and r[0] == report.indicator("within_target").label for r in rows)
    assert "ต.ค. 69" in text.get_data(as_text=True)
