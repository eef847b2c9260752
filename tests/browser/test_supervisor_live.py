"""The supervisor area's live half (issue 17): while a picker picks on a handheld in another browser context,
the supervisor's tablet shows it without a reload — the FEFO refusal arrives in the exception queue, the
wave board's picked counts move, the picker board follows the picker's task and rate — and the
supervisor resolves the exception with a note. Then the KPI page for a scripted period: its figures are
the API's, a value with nothing to divide by is "—" with the reason, the chart is drawn, the CSV comes
down; and a wave is cancelled with a reason and a confirmation.

Its own module (its own server and database): it changes stock.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest

from tests.browser.conftest import api, assert_touch_targets, db_fetch, gs1, sign_in, wedge, yymmdd
from tests.browser.test_supervisor import _watch, desk, doc_shot  # noqa: F401  (desk is a fixture)
from udipick.services.demo import demo_gtin

pytestmark = pytest.mark.browser

SYRINGE = demo_gtin(1001)
GLOVE_BOX = demo_gtin(1004, 1)
ORDER = {
    "erpId": "SO-LIVE",
    "version": 1,
    "number": "SO-LIVE",
    "customer": "CUST-RIVER",
    "shipTo": {"name": "Riverside Clinic"},
    "lines": [{"lineNo": 1, "item": "SYR-10ML", "quantity": 2}, {"lineNo": 2, "item": "GLOVE-NIT-M", "quantity": 10}],
}


def _expiry(database_url: str, lot: str) -> dt.date:
    return db_fetch(database_url, "SELECT expiry FROM lots WHERE lot = $1", lot)[0]["expiry"]


def _section(page, name: str) -> None:
    page.get_by_test_id(f"sup-nav-{name}").click()
    page.get_by_test_id(f"sup-section-{name}").wait_for()
    page.locator("[data-testid=live-status][data-status=live]").wait_for()


def test_the_tablet_follows_a_picker_live_and_the_supervisor_resolves_the_refusal(
    desk,  # noqa: F811
    page,
    console,
    server,
    browser_database_url,
):
    console.expected_statuses.add(409)  # the picker's FEFO refusal, on purpose
    api(server, "POST", "/api/v1/erp/sales-orders", ORDER, user="admin")
    wave_id = api(server, "POST", "/api/v1/waves", {"orders": ["SO-LIVE"]})["waveId"]

    sign_in(desk, "supervisor")
    desk.get_by_test_id("tile-sup").click()
    # the wave board is the area's first section now that its API exists
    desk.get_by_test_id("sup-section-waves").wait_for()
    desk.evaluate("window.__sameDocument = true")  # gone if anything reloads the page
    _section(desk, "exceptions")
    assert desk.locator("[data-testid=exc] [data-testid=exc-order]", has_text="SO-LIVE").count() == 0

    # --- the picker scans a later-expiring lot: refused (FEFO), and the exception appears on the tablet --
    sign_in(page, "picker")
    page.get_by_test_id("tile-pick").click()
    page.get_by_test_id("pick-task").wait_for()
    assert page.get_by_test_id("pick-location").inner_text() == "A-01-02"
    assert page.get_by_test_id("pick-lot").inner_text() == "SY2405B"
    wedge(page, "LOC-A-01-02")
    page.get_by_test_id("toast").filter(has_text="A-01-02").wait_for()
    wedge(page, gs1(("01", SYRINGE), ("17", yymmdd(_expiry(browser_database_url, "SY2409C"))), ("10", "SY2409C")))
    page.get_by_test_id("refusal").wait_for()  # at the scan, before any quantity (issue 21)
    assert page.get_by_test_id("refusal").get_attribute("data-code") == "fefo-violation"
    page.get_by_test_id("refusal-ok").click()

    raised = desk.locator("[data-testid=exc][data-kind=fefo-violation][data-status=open]").filter(
        has=desk.get_by_test_id("exc-order").get_by_text("SO-LIVE", exact=True)
    )
    raised.wait_for(timeout=10_000)
    [exc] = db_fetch(
        browser_database_url, "SELECT id FROM exceptions WHERE kind = 'fefo-violation' AND resolved_at IS NULL"
    )
    assert raised.get_attribute("data-exc-id") == str(exc["id"])
    assert raised.get_by_test_id("exc-lot").inner_text() == "SY2409C"
    assert "SY2405B" in raised.get_by_test_id("exc-headline").inner_text()

    # --- the wave board: the picked counts move as the picker picks the two syringes -----------------------
    _section(desk, "waves")
    card = desk.locator(f"[data-testid=wave][data-wave-id='{wave_id}']")
    assert card.get_by_test_id("wave-lines").inner_text() == "0 of 2"
    card.click()
    detail = desk.get_by_test_id("wave-detail")
    assert detail.get_by_test_id("wave-detail-units").inner_text() == "0 of 12"
    expiry = yymmdd(_expiry(browser_database_url, "SY2405B"))
    wedge(page, gs1(("01", SYRINGE), ("17", expiry), ("10", "SY2405B")))
    page.get_by_test_id("toast").filter(has_text="Picked").wait_for()
    page.get_by_test_id("pick-qty-done").click()  # one more is offered; the picker scans it instead (issue 21)
    detail.get_by_test_id("wave-detail-units").get_by_text("1 of 12", exact=True).wait_for(timeout=10_000)
    assert card.get_by_test_id("wave-lines").inner_text() == "0 of 2"
    wedge(page, gs1(("01", SYRINGE), ("17", expiry), ("10", "SY2405B")))
    card.get_by_test_id("wave-lines").get_by_text("1 of 2", exact=True).wait_for(timeout=10_000)
    assert detail.get_by_test_id("wave-detail-units").inner_text() == "2 of 12"
    row = detail.locator("[data-testid=wave-order][data-order=SO-LIVE]")
    assert row.get_by_test_id("wave-order-lines").inner_text() == "1 of 2"
    assert detail.get_by_test_id("wave-picker").first.inner_text().startswith("picker")
    desk.mouse.move(0, 0)
    doc_shot(desk, "supervisor-1024-waves")

    # --- the picker board: the picker's task moves to the gloves and the rate counts a second line ---------
    _section(desk, "pickers")
    picker = desk.locator("[data-testid=picker][data-user=picker]")
    assert picker.get_by_test_id("picker-verdict").inner_text() == "Accepted"
    assert picker.get_by_test_id("picker-rate").inner_text() == "4 lines/hour"
    assert "SO-LIVE" in picker.get_by_test_id("picker-task").inner_text()
    page.get_by_test_id("pick-location").get_by_text("A-02-01").wait_for()
    wedge(page, "LOC-A-02-01")
    page.get_by_test_id("toast").filter(has_text="A-02-01").wait_for()
    wedge(page, gs1(("01", GLOVE_BOX), ("17", yymmdd(_expiry(browser_database_url, "GL-77-01"))), ("10", "GL-77-01")))
    page.get_by_test_id("toast").filter(has_text="Picked 10").wait_for()
    picker.get_by_test_id("picker-rate").get_by_text("8 lines/hour", exact=True).wait_for(timeout=10_000)
    assert "A-02-01" in picker.get_by_test_id("picker-task").inner_text()
    desk.mouse.move(0, 0)
    doc_shot(desk, "supervisor-1024-pickers")

    # --- resolve the refusal with a note ------------------------------------------------------------------
    _section(desk, "exceptions")
    raised.wait_for()
    resolve = raised.get_by_test_id("exc-resolve")
    assert resolve.is_disabled(), "a note is required"
    desk.mouse.move(0, 0)
    doc_shot(desk, "supervisor-1024-exceptions")
    raised.get_by_test_id("exc-note").fill("picker retrained on FEFO; SY2409C left on the shelf")
    resolve.click()
    done = desk.locator("[data-testid=exc][data-kind=fefo-violation][data-status=resolved]")
    done.wait_for()
    assert "picker retrained on FEFO" in done.get_by_test_id("exc-resolved-by").inner_text()
    [stored] = db_fetch(
        browser_database_url,
        "SELECT e.resolution_note AS note, e.resolved_by_name AS by, u.username FROM exceptions e"
        " JOIN users u ON u.id = e.resolved_by WHERE e.kind = 'fefo-violation'",
    )
    assert stored == {
        "note": "picker retrained on FEFO; SY2409C left on the shelf",
        "by": "supervisor",
        "username": "supervisor",
    }
    assert desk.evaluate("window.__sameDocument") is True, "the tablet never reloaded"

    # --- KPIs for a scripted period: the last 7 days, which hold every scan above ----------------------
    _kpis_for_the_last_week(desk, server)

    # --- cancel: SO-LIVE's wave is done; another wave's stent line, then that wave, each with a reason and
    # a confirmation naming it; nothing is cancelled before the confirmation
    other = api(server, "POST", "/api/v1/waves", {"orders": ["SO-5001"]})["waveId"]
    desk.get_by_test_id("sup-nav-waves").click()
    desk.locator(f"[data-testid=wave][data-wave-id='{other}']").click()
    danger = desk.get_by_test_id("wave-danger")
    danger.get_by_test_id("cancel-order-choice").select_option("SO-5001")
    danger.get_by_test_id("cancel-line-choice").fill("2")
    danger.get_by_test_id("line-cancel").click()
    desk.get_by_test_id("cancel-reason").fill("stent no longer needed")
    desk.get_by_test_id("cancel-next").click()
    confirm = desk.get_by_test_id("cancel-confirm-text").inner_text()
    assert confirm == "Order SO-5001, line 2 will stop being picked. This cannot be undone."
    line = "SELECT l.cancel_reason FROM outbound_lines l JOIN outbound_documents d ON d.id = l.document_id"
    line += " WHERE d.erp_id = 'SO-5001' AND l.line_no = 2"
    assert db_fetch(browser_database_url, line) == [{"cancel_reason": None}]
    desk.get_by_test_id("cancel-confirm").click()
    desk.get_by_test_id("toast").filter(has_text="Order SO-5001, line 2 cancelled").wait_for()
    assert db_fetch(browser_database_url, line) == [{"cancel_reason": "stent no longer needed"}]

    danger.get_by_test_id("wave-cancel").click()
    desk.get_by_test_id("cancel-reason").fill("customer called off the order")
    desk.get_by_test_id("cancel-next").click()
    assert desk.get_by_test_id("cancel-confirm").inner_text() == f"Yes, cancel Wave {other}"
    desk.get_by_test_id("cancel-confirm").click()
    desk.get_by_test_id("toast").filter(has_text=f"Wave {other} cancelled").wait_for()
    [wave] = db_fetch(browser_database_url, "SELECT status, cancel_reason FROM waves WHERE id = $1", other)
    assert wave == {"status": "cancelled", "cancel_reason": "customer called off the order"}
    desk.get_by_test_id("wave-detail").get_by_text("Cancelled", exact=True).first.wait_for()
    assert desk.get_by_test_id("wave-danger").count() == 0, "a cancelled wave offers no cancel"


def _kpis_for_the_last_week(desk, server) -> None:
    desk.get_by_test_id("sup-nav-kpis").click()
    desk.get_by_test_id("kpi-preset-7").click()
    today = dt.datetime.now(dt.UTC).date()
    first = today - dt.timedelta(days=6)
    assert desk.get_by_test_id("kpi-from").input_value() == first.isoformat()
    expected = api(server, "GET", f"/api/v1/kpis?from={first}&to={today}")
    desk.get_by_test_id("kpi-period").get_by_text(f"{first} to {today}", exact=False).wait_for()
    figures = {(f["kpi"], f["subject"] or ""): f for f in expected["figures"]}
    accuracy = figures[("pick_accuracy", "")]
    # 3 accepted pick scans of 4 answered (the FEFO refusal), whatever else the demo holds
    assert (accuracy["numerator"], accuracy["denominator"]) == (3, 4)
    shown = desk.locator("[data-testid=kpi-figure][data-kpi=pick_accuracy][data-subject='']")
    assert shown.get_by_test_id("kpi-value").inner_text() == "75.0 %"
    cells = desk.locator("[data-testid=kpi-figure]")
    assert cells.count() == len(expected["figures"])
    for i in range(cells.count()):
        cell = cells.nth(i)
        f = figures[(cell.get_attribute("data-kpi"), cell.get_attribute("data-subject"))]
        value = cell.get_by_test_id("kpi-value")
        if f["value"] is None:
            assert value.inner_text() == "—" and value.locator("abbr").get_attribute("title"), f["kpi"]
        else:
            assert float(value.get_attribute("data-value")) == pytest.approx(f["value"]), f["kpi"]
    recall = desk.locator("[data-testid=kpi-figure][data-kpi=recall_response_time]")
    assert "does not record recall" in recall.locator("abbr").get_attribute("title")
    chart = desk.get_by_test_id("kpi-chart")
    chart.locator("canvas").wait_for()
    assert chart.get_attribute("data-points") == "1", "one day of the week has pick scans: today"
    desk.mouse.move(0, 0)
    doc_shot(desk, "supervisor-1024-kpis")
    with desk.expect_download() as got:
        desk.get_by_test_id("kpi-csv").click()
    csv = open(got.value.path(), encoding="utf-8").read()
    assert csv.splitlines()[0] == "from,to,warehouse,kpi,nameZh,subject,value,unit,numerator,denominator"
    assert f"{first},{today},,pick_accuracy," in csv


@pytest.fixture
def phone(browser, server: str, console):
    ctx = browser.new_context(
        base_url=server,
        viewport={"width": 412, "height": 732},
        device_scale_factor=1,
        is_mobile=True,
        has_touch=True,
        locale="en-US",
        service_workers="allow",
    )
    pg = ctx.new_page()
    _watch(pg, console)
    yield pg
    ctx.close()
    assert console.errors == [], "console errors:\n" + "\n".join(console.errors)


def test_the_live_sections_and_the_kpi_chart_fit_a_handheld(phone, server):
    """412×732: every new section fits the width with thumb-sized targets; the chart library is fetched
    only when the KPI page opens."""
    chart_chunks: list[str] = []
    phone.on("request", lambda r: chart_chunks.append(r.url) if "/assets/kpichart" in r.url else None)
    sign_in(phone, "supervisor")
    phone.get_by_test_id("tile-sup").click()
    width = phone.viewport_size["width"]
    for name in ("waves", "pickers", "exceptions"):
        _section(phone, name)
        phone.locator(".sup-main .muted, [data-testid=wave], [data-testid=exc], [data-testid=picker]").first.wait_for()
        assert phone.evaluate("document.documentElement.scrollWidth") == width, name
        assert_touch_targets(phone)
        if name == "waves":
            phone.get_by_test_id("waves-filter-all").click()
            phone.get_by_test_id("wave").first.wait_for()
            doc_shot(phone, f"supervisor-{width}-waves")
    assert chart_chunks == [], "the chart library is not part of the rest of the area"
    phone.get_by_test_id("sup-nav-kpis").click()
    phone.get_by_test_id("kpi-chart").locator("canvas").wait_for()
    assert any(u.endswith(".js") for u in chart_chunks)
    assert phone.evaluate("document.documentElement.scrollWidth") == width
    doc_shot(phone, f"supervisor-{width}-kpis")


def test_the_board_says_when_the_feed_drops_and_catches_up_when_it_is_back(desk, server):  # noqa: F811
    """The socket closes (a proxy restart, a Wi-Fi hand-over): the chip says "reconnecting", the client
    comes back by itself, and the new snapshot brings what happened meanwhile — without a reload."""
    sockets = []

    def through(ws) -> None:
        ws.connect_to_server()
        sockets.append(ws)

    desk.route_web_socket(re.compile(r".*/api/v1/live\b.*"), through)
    sign_in(desk, "supervisor")
    desk.get_by_test_id("tile-sup").click()
    _section(desk, "exceptions")
    desk.evaluate("window.__sameDocument = true")
    assert len(sockets) == 1
    sockets[0].close(code=1012, reason="restarting")
    desk.locator("[data-testid=live-status][data-status=reconnecting]").wait_for()

    # while it is away, a picker reports a line short: an exception the tablet has not been told about
    api(server, "POST", "/api/v1/waves", {"orders": ["SO-5002"]})
    [task, *_] = [t for t in api(server, "GET", "/api/v1/picking/tasks", user="picker") if t["order"] == "SO-5002"]
    api(
        server,
        "POST",
        f"/api/v1/picking/tasks/{task['taskId']}/short",
        {"clientScanId": str(uuid.uuid4())},
        user="picker",
    )
    desk.locator("[data-testid=live-status][data-status=live]").wait_for(timeout=15_000)
    assert len(sockets) == 2
    desk.locator("[data-testid=exc][data-kind=short-pick]").filter(
        has=desk.get_by_test_id("exc-order").get_by_text("SO-5002", exact=True)
    ).wait_for()
    assert desk.evaluate("window.__sameDocument") is True
