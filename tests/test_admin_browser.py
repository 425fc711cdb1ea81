"""The admin web in a real browser: Debian's Chromium driven by Playwright, headless. Runs where
Chromium is installed (`.ci/run` installs it); elsewhere it is reported as skipped."""

from __future__ import annotations

import base64
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
import time_machine
from werkzeug.serving import make_server

from tests.test_admin_web import PASSWORD, enrol
from tests.test_kpi import NOW, seeded  # noqa: F401  (the fixture)

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed (.ci/run installs it)")


@pytest.fixture
def server(app, database_url) -> Iterator[str]:
    if not database_url.startswith("sqlite"):
        pytest.skip("the browser test runs once, on SQLite")
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


def _distinct_colours(page, png: bytes) -> int:
    """Counted by the browser itself (a canvas), so no image library is needed."""
    data_url = "data:image/png;base64," + base64.b64encode(png).decode()
    return page.evaluate("""async (src) => {
        const img = new Image(); img.src = src; await img.decode();
        const canvas = document.createElement('canvas'); canvas.width = img.width; canvas.height = img.height;
        const ctx = canvas.getContext('2d'); ctx.drawImage(img, 0, 0);
        const px = ctx.getImageData(0, 0, img.width, img.height).data; const seen = new Set();
        for (let i = 0; i < px.length; i += 4 * 7) seen.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
        return seen.size; }""", data_url)


def test_login_filter_dashboard_and_export_in_chromium(app, server, seeded, tmp_path):  # noqa: F811
    secret = enrol(app, "S011")
    with time_machine.travel(NOW, tick=True), playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 412, "height": 915}, accept_downloads=True)  # a phone
            page.goto(server + "/admin/kpi?year=2570")
            assert "/admin/login" in page.url
            page.fill("#code", "S011")
            page.fill("#password", PASSWORD)
            page.fill("#otp", pyotp.TOTP(secret).now())
            page.click("button[type=submit]")
            page.wait_for_url("**/admin/kpi?year=2570")
            assert page.locator("#indicators .card").count() >= 10
            assert page.locator("svg.chart").count() == 3
            where = os.environ.get("DASHBOARD_SCREENSHOT") or str(tmp_path / "dashboard.png")
            shot = page.screenshot(full_page=True, path=where)
            assert _distinct_colours(page, shot) > 20  # text, charts and cards, not a blank page

            with page.expect_download() as download:
                page.click("#export-xlsx")
            saved = tmp_path / "kpi.xlsx"
            download.value.save_as(saved)
            from openpyxl import load_workbook

            assert "สรุปตัวชี้วัด" in load_workbook(saved).sheetnames

            page.goto(server + "/admin/tickets")
            page.select_option("#category", "his")
            page.click("#filters button[type=submit]")
            page.wait_for_url("**category=his**")
            rows = page.locator("#tickets tr").all_inner_texts()[1:]
            assert rows and all("HIS/HOSxP" in row for row in rows)
            page.select_option("#category", "printer")
            page.select_option("#state", "closed")
            page.click("#filters button[type=submit]")
            page.wait_for_url("**state=closed**")
            assert "ไม่พบงานตามเงื่อนไขนี้" in page.locator("#tickets").inner_text() or all(
                "เครื่องพิมพ์" in r for r in page.locator("#tickets tr").all_inner_texts()[1:])
        finally:
            browser.close()
