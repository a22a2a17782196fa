"""Finance in the browser (issue 12): the first page after logging in is the reports
dashboard, every chart drawn as SVG beside its table, in English and in German; a
filter narrows the figures and a chart's numbers download as CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import time_machine
from playwright.sync_api import Browser, Page, expect

from reports.dashboard import CHARTS
from subscriptions.roles import FINANCE
from tests.billing.factories import STAFF_PASSWORD, staff_member
from tests.reports.data import NOW, ReportData

pytestmark = pytest.mark.browser

PERIOD = "?first_month=2027-01&last_month=2027-04&currency=EUR"


@pytest.fixture
def data(transactional_db, staff_roles):
    with time_machine.travel(NOW, tick=True):
        yield ReportData()


@pytest.fixture
def finance(staff_roles):
    return staff_member(FINANCE, "finance@kontor.example")


def log_in(page: Page, email: str, *, button: str, heading: str) -> None:
    page.goto("/admin/login/?next=/admin/" + PERIOD)
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name=button).click()
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()


def test_finance_sees_the_dashboard_charts_and_downloads_one(page: Page, screenshot, data, finance):
    log_in(page, finance.email, button="Log in", heading="Merchant backend")

    charts = page.locator("svg.report-chart")
    expect(charts).to_have_count(len(CHARTS))
    for chart in CHARTS:
        expect(page.get_by_role("heading", name=str(chart.title), exact=True)).to_be_visible()
    mrr = page.get_by_role("table", name="Monthly recurring revenue: the numbers")
    expect(mrr.get_by_role("row", name="Apr 2027")).to_contain_text("€83.23")
    assert charts.first.bounding_box()["width"] > 300  # drawn, not collapsed
    screenshot("01-dashboard")

    page.get_by_label("Reporting tag").select_option(label="campus")
    page.get_by_role("button", name="Show").click()
    expect(mrr.get_by_role("row", name="Apr 2027")).to_contain_text("€25.00")
    screenshot("02-filtered-by-tag")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download “Monthly recurring revenue” as CSV").click()
    content = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[-1] == ["2027-04", "0.00", "25.00", "25.00", "-2.50"]

    page.get_by_role("link", name="All applications and models").click()
    expect(page.get_by_role("link", name="Invoices", exact=True).first).to_be_visible()


def test_the_dashboard_in_german(browser: Browser, live_server, data, finance, request):
    context = browser.new_context(
        base_url=live_server.url,
        locale="de-DE",
        extra_http_headers={"Accept-Language": "de"},
        viewport={"width": 1280, "height": 900},
    )
    page = context.new_page()
    try:
        log_in(page, finance.email, button="Anmelden", heading="Händler-Backend")
        expect(page.locator("svg.report-chart")).to_have_count(len(CHARTS))
        expect(page.get_by_role("cell", name="83,23 €", exact=True).first).to_be_visible()
        expect(page.get_by_role("rowheader", name="Apr. 2027", exact=True).first).to_be_visible()
        path = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
        path.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=path / "reports-dashboard-de--01-dashboard.png", full_page=True)
    finally:
        context.close()
