"""The Move screen and the putaway suggestion on the handheld, in English and Chinese: scan the source, the
goods (typing the count of a lot-tracked item), the destination; a destination that does not fit is
refused in the handheld's language; putaway shows the suggested bin and why."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from tests.browser.conftest import api, db_fetch, gs1, shot, sign_in, wedge, yymmdd
from udipick.services.demo import demo_gtin

pytestmark = pytest.mark.browser

SYR = demo_gtin(1001)
NEEDLE = demo_gtin(1003)


def _at(url: str, location: str, lot: str) -> int:
    rows = db_fetch(
        url,
        "SELECT coalesce(sum(s.quantity), 0)::int AS q FROM stock s JOIN locations l ON l.id = s.location_id"
        " JOIN lots lo ON lo.id = s.lot_id WHERE l.code = $1 AND lo.lot = $2",
        location,
        lot,
    )
    return rows[0]["q"]


def test_a_picker_moves_a_typed_quantity_and_a_cold_item_to_ambient_is_refused_in_chinese(
    page, console, server, browser_database_url
):
    console.expected_statuses.update({422})
    sign_in(page, "picker")
    page.get_by_test_id("tile-move").click()
    page.get_by_test_id("move").wait_for()
    wedge(page, "LOC-R-01-01")
    page.get_by_test_id("move-sheet").wait_for()
    assert "R-01-01" in page.get_by_test_id("move-source").inner_text()
    wedge(page, gs1(("01", SYR), ("10", "SY2409C")))
    page.get_by_test_id("move-qty-0").fill("40")
    page.get_by_test_id("move-qty-0").dispatch_event("change")
    page.get_by_test_id("scan-input").focus()
    shot(page, "80-move-units")
    wedge(page, "LOC-R-01-02")
    page.get_by_test_id("toast").filter(has_text="Moved to R-01-02").wait_for()
    assert _at(browser_database_url, "R-01-02", "SY2409C") == 40
    assert _at(browser_database_url, "R-01-01", "SY2409C") == 960
    moved = db_fetch(
        browser_database_url, "SELECT data->>'kind' AS kind FROM outbox_events WHERE type = 'stock.moved.v1'"
    )
    assert moved == [{"kind": "units"}]

    page.get_by_test_id("lang-switch").click()
    page.get_by_role("heading", name="移库").wait_for()
    page.get_by_test_id("scan-input").focus()  # a tap on the language button took the focus
    wedge(page, "LOC-COLD-01")
    page.get_by_test_id("move-sheet").wait_for()
    wedge(page, gs1(("01", NEEDLE), ("10", "PN3001")))
    wedge(page, "LOC-R-01-02")
    refusal = page.get_by_test_id("refusal")
    refusal.wait_for()
    assert refusal.get_attribute("data-code") == "location-unsuitable"
    assert "R-01-02 不能存放" in page.get_by_test_id("refusal-headline").inner_text()
    shot(page, "81-move-refused-zh")
    page.get_by_test_id("refusal-ok").click()
    page.get_by_test_id("lang-switch").click()
    assert _at(browser_database_url, "R-01-02", "PN3001") == 0


def _open_task(server: str, lot: str, quantity: int) -> str:
    expiry = dt.date.today() + dt.timedelta(days=400)
    receipt = api(server, "POST", "/api/v1/receipts", {"blind": True, "supplier": "SUP-MEDTEC"})
    raw = gs1(("01", SYR), ("17", yymmdd(expiry)), ("10", lot))
    api(
        server,
        "POST",
        f"/api/v1/receipts/{receipt['id']}/scans",
        {"clientScanId": str(uuid.uuid4()), "raw": raw, "quantity": quantity},
    )
    closed = api(server, "POST", f"/api/v1/receipts/{receipt['id']}/close", {})
    (task,) = closed["putawayTasks"]
    return task["lpn"]


def test_putaway_shows_the_suggested_bin_and_why_in_both_languages(page, console, server, browser_database_url):
    lpn = _open_task(server, "BR-NEW-1", 30)
    sign_in(page, "receiver")
    page.get_by_test_id("tile-putaway").click()
    page.get_by_test_id("putaway").wait_for()
    wedge(page, lpn)
    suggestion = page.get_by_test_id("putaway-suggestion")
    suggestion.wait_for()
    assert "Suggested location: A-01-04" in suggestion.inner_text()
    assert page.get_by_test_id("putaway-reason").inner_text() == "empty, near the item's pick face"
    shot(page, "82-putaway-suggestion")

    page.get_by_test_id("lang-switch").click()
    page.get_by_test_id("putaway-reason").filter(has_text="空库位，靠近该物料的拣货位").wait_for()
    assert "建议库位: A-01-04" in suggestion.inner_text()
    shot(page, "83-putaway-suggestion-zh")
    page.get_by_test_id("scan-input").focus()  # a tap on the language button took the focus
    wedge(page, "LOC-A-01-04")
    page.get_by_test_id("toast").filter(has_text="已上架到 A-01-04").wait_for()
    page.get_by_test_id("lang-switch").click()
    assert _at(browser_database_url, "A-01-04", "BR-NEW-1") == 30
