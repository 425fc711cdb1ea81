"""The KPI dashboard of a Thai fiscal year or quarter (service-profile indicators), with its Excel
and CSV exports. The figures come from models.kpi; this module only draws and serves them."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, render_template, request
from markupsafe import Markup

from bot.admin import NAV, bp
from bot.admin.auth import IT_PAGES, record, require
from bot.admin.charts import Series, bars
from bot.database import get_db
from models import kpi
from models.base import utcnow
from models.numbering import fiscal_year_be
from models.tickets import ServiceLevel

NAV.insert(0, ("admin.dashboard", "ตัวชี้วัด", IT_PAGES))


def _period() -> tuple[int, int | None]:
    year = request.args.get("year", type=int) or fiscal_year_be(utcnow())
    quarter = request.args.get("quarter", type=int)
    if not 2500 <= year <= 2700 or (quarter is not None and quarter not in (1, 2, 3, 4)):
        abort(400)
    return year, quarter


def _report(year: int, quarter: int | None) -> kpi.KpiReport:
    level = ServiceLevel.parse(current_app.config["SLA_TARGETS"])
    with get_db().transaction() as session:
        return kpi.compute(session, year, quarter, service_level=level, now=utcnow())


def _charts(report: kpi.KpiReport) -> dict[str, Markup]:
    months = [m.label for m in report.months]
    busy = [row for row in report.requests if row.total]
    categories = [row for row in report.times if row.code != "ALL" and row.resolve.count]
    within = report.within_target
    by_priority = list(within.by_priority.items())
    return {
        "requests": Markup(bars("จำนวนคำขอรายเดือน", months, [Series(r.label, list(map(float, r.counts)))
                                                                 for r in busy] or [Series("", [0.0] * len(months))],
                                unit=" เรื่อง")),
        "times": Markup(bars("เวลารับงานและแก้ไข (มัธยฐาน, ชั่วโมง)", [r.label for r in categories], [
            Series("รับงาน", [(r.accept.median or 0) / 60 for r in categories]),
            Series("แก้ไขเสร็จ", [(r.resolve.median or 0) / 60 for r in categories]),
        ], unit=" ชม.")),
        "target": Markup(bars("แก้ไขเสร็จภายในเวลาเป้าหมาย (%)", [p for p, _ in by_priority] + ["รวม"], [
            Series("ร้อยละ", [100 * w / c if c else None for _, (w, c) in by_priority] + [within.share]),
        ], unit="%", goal=kpi.WITHIN_TARGET_GOAL)),
    }


@bp.get("/kpi")
@require(*IT_PAGES)
def dashboard() -> Any:
    year, quarter = _period()
    report = _report(year, quarter)
    this_year = fiscal_year_be(utcnow())
    return render_template("admin/kpi.html", r=report, charts=_charts(report), year=year, quarter=quarter,
                           years=list(range(this_year, this_year - 5, -1)),
                           summary=kpi.summary_rows(report), requests=kpi.request_rows(report),
                           times=kpi.time_rows(report))


def _filename(report: kpi.KpiReport, ext: str) -> str:
    return f"kpi-{report.fiscal_year}" + (f"-q{report.quarter}" if report.quarter else "") + f".{ext}"


EXPORTS = {
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", kpi.to_xlsx),
    "csv": ("text/csv; charset=utf-8", kpi.to_csv),
}


def _export(kind: str) -> Response:
    year, quarter = _period()
    report = _report(year, quarter)
    record("web.kpi_exported", subject=f"{year}/{quarter or '-'}", format=kind)
    mimetype, render = EXPORTS[kind]
    return Response(render(report), mimetype=mimetype,
                    headers={"Content-Disposition": f"attachment; filename={_filename(report, kind)}"})


@bp.get("/kpi.xlsx")
@require(*IT_PAGES)
def dashboard_xlsx() -> Any:
    return _export("xlsx")


@bp.get("/kpi.csv")
@require(*IT_PAGES)
def dashboard_csv() -> Any:
    return _export("csv")
