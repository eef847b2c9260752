"""Returns and scrap on the handheld, in English and Chinese.

Two stents are shipped to a customer through the API. A receiver takes one back blind on the Return
screen (a serial never shipped is refused, saying so), the other against the ERP's RMA in Chinese; QA
restocks the first on the QC screen with an e-signature (a wrong password first) and scraps the
second in Chinese; a supervisor scraps expired syringes on the Scrap screen with a signature.
"""

from __future__ import annotations

import uuid

import pytest

from tests.browser.conftest import api, assert_touch_targets, db_fetch, gs1, shot, sign_in, wedge
from udipick.services.demo import demo_gtin

pytestmark = pytest.mark.browser

STENT = demo_gtin(1002)
SYR = demo_gtin(1001)


@pytest.fixture(scope="module")
def shipped(server) -> list[tuple[str, str]]:
    """Two stents of the demo's lot ST-A1 shipped to CUST-RIVER on SO-BRET (lot, serial each)."""
    so = {
        "erpId": "SO-BRET",
        "version": 1,
        "number": "N-SO-BRET",
        "customer": "CUST-RIVER",
        "shipTo": {"name": "Riverside ward", "addressLines": ["1 Return Road"], "city": "Shanghai"},
        "lines": [{"lineNo": 1, "item": "STENT-DES-3018", "quantity": 2}],
    }
    api(server, "POST", "/api/v1/erp/sales-orders", so, user="admin")
    api(server, "POST", "/api/v1/waves", {"orders": ["SO-BRET"]})
    tasks = [t for t in api(server, "GET", "/api/v1/picking/tasks", user="picker") if t["order"] == "SO-BRET"]
    units = [(t["lot"], t["serial"]) for t in tasks]
    for t in tasks:
        raw = gs1(("01", STENT), ("10", t["lot"]), ("21", t["serial"]))
        body = {"clientScanId": str(uuid.uuid4()), "raw": raw, "locationRaw": t["location"]["barcode"]}
        api(server, "POST", f"/api/v1/picking/tasks/{t['taskId']}/scans", body, user="picker")
    sscc = api(server, "POST", "/api/v1/packing/packages", {"order": "SO-BRET"}, user="picker")["sscc"]
    for lot, serial in units:
        raw = gs1(("01", STENT), ("10", lot), ("21", serial))
        api(
            server,
            "POST",
            f"/api/v1/packing/packages/{sscc}/scans",
            {"clientScanId": str(uuid.uuid4()), "raw": raw},
            user="picker",
        )
    api(server, "POST", f"/api/v1/packing/packages/{sscc}/close", user="picker")
    api(server, "POST", "/api/v1/shipments", {"order": "SO-BRET"}, user="picker")
    return sorted(units, key=lambda u: u[1])


def _stent(lot: str, serial: str) -> str:
    return gs1(("01", STENT), ("10", lot), ("21", serial))


def test_a_receiver_takes_a_shipped_serial_back_blind_and_qa_restocks_it(
    page, console, server, browser_database_url, shipped
):
    console.expected_statuses.update({403, 409})  # the unshipped serial and the wrong password, on purpose
    lot, serial = shipped[0]
    sign_in(page, "receiver")
    page.get_by_test_id("tile-return").click()
    page.get_by_test_id("return").wait_for()
    page.get_by_test_id("ret-customer").fill("CUST-RIVER")
    page.get_by_test_id("ret-start").click()
    page.get_by_test_id("ret-number").filter(has_text="Riverside Clinic").wait_for()
    assert "QC-01" in page.get_by_test_id("ret-number").inner_text()

    # a serial still on the shelf was never shipped: refused, saying what to do
    (on_shelf,) = {"STN000101", "STN000102", "STN000103"} - {s for _, s in shipped}
    wedge(page, _stent("ST-A1", on_shelf))
    refusal = page.get_by_test_id("refusal")
    refusal.wait_for()
    assert refusal.get_attribute("data-code") == "return-not-shipped-to-customer"
    assert page.get_by_test_id("refusal-headline").inner_text() == "Not shipped to CUST-RIVER"
    assert "customer service" in page.get_by_test_id("refusal-todo").inner_text()
    shot(page, "80-return-refused")
    page.get_by_test_id("refusal-ok").click()

    wedge(page, _stent(lot, serial))
    page.get_by_test_id("toast").filter(has_text="received into quarantine").wait_for()
    line = page.locator(f"[data-testid=ret-line][data-serial='{serial}']")
    line.wait_for()
    assert "STENT-DES-3018" in line.inner_text()
    assert_touch_targets(page)
    shot(page, "81-return-received")
    assert db_fetch(
        browser_database_url,
        "SELECT s.status, loc.code FROM stock s JOIN serials se ON se.id = s.serial_id"
        " JOIN locations loc ON loc.id = s.location_id WHERE se.serial = $1 AND s.quantity > 0",
        serial,
    ) == [{"status": "quarantine", "code": "QC-01"}]

    # QA decides on the QC screen
    page.get_by_test_id("ret-finish").click()
    page.get_by_test_id("back").click()
    page.get_by_test_id("logout").click()
    sign_in(page, "qa")
    page.get_by_test_id("tile-qc").click()
    card = page.locator(f"[data-testid=qc-return][data-serial='{serial}']")
    card.wait_for()
    assert "CUST-RIVER" in card.inner_text()
    card.get_by_test_id("qc-return-restock").click()
    page.get_by_test_id("qc-return-form").wait_for()
    assert "fit for sale again" in page.get_by_test_id("sign-meaning").inner_text()
    page.get_by_test_id("qc-return-reason").fill("sealed, undamaged")
    page.get_by_test_id("qc-return-password").fill("wrong")
    page.get_by_test_id("qc-return-sign").click()
    page.get_by_test_id("qc-return-error").filter(has_text="Electronic signature rejected").wait_for()
    assert db_fetch(browser_database_url, "SELECT status FROM return_lines") == [{"status": "quarantine"}]
    page.get_by_test_id("qc-return-password").fill("qa-demo")
    page.get_by_test_id("qc-return-sign").click()
    page.get_by_test_id("toast").filter(has_text="STENT-DES-3018: Restock").wait_for()
    card.wait_for(state="detached")
    shot(page, "82-return-restocked")
    assert db_fetch(browser_database_url, "SELECT status FROM return_lines") == [{"status": "restocked"}]
    assert db_fetch(
        browser_database_url,
        "SELECT count(*)::int AS n FROM putaway_tasks WHERE return_id IS NOT NULL AND status = 'open'",
    ) == [{"n": 1}]


@pytest.mark.locale("zh-CN")
def test_in_chinese_a_return_against_an_rma_is_scrapped_by_qa_and_a_supervisor_scraps_expired_stock(
    page, console, server, browser_database_url, shipped
):
    console.expected_statuses.update({409})
    lot, serial = shipped[1]
    rma = {
        "erpId": "RMA-B1",
        "version": 1,
        "number": "R-B1",
        "customer": "CUST-RIVER",
        "lines": [{"lineNo": 1, "item": "STENT-DES-3018", "quantity": 1, "serials": [serial], "reason": "包装破损"}],
    }
    api(server, "POST", "/api/v1/erp/returns", rma, user="admin")
    sign_in(page, "receiver")
    page.get_by_test_id("tile-return").click()
    page.locator("[data-testid=ret-rma][data-rma='RMA-B1']").click()
    page.get_by_test_id("ret-number").wait_for()
    assert page.get_by_test_id("ret-rma-line").get_attribute("data-received") == "0"
    assert "已退回 0 / 1" in page.get_by_test_id("ret-rma-line").inner_text()
    wedge(page, _stent(lot, serial))
    page.get_by_test_id("toast").filter(has_text="已收入待检区").wait_for()
    page.locator("[data-testid=ret-rma-line][data-received='1']").wait_for()
    shot(page, "83-return-rma-zh")
    # the RMA allows one unit: the same serial again is refused in Chinese
    wedge(page, _stent(lot, serial))
    page.get_by_test_id("refusal").wait_for()
    assert page.get_by_test_id("refusal-headline").inner_text() == "未发货给 CUST-RIVER"
    page.get_by_test_id("refusal-ok").click()
    page.get_by_test_id("back").click()
    page.get_by_test_id("logout").click()

    sign_in(page, "qa")
    page.get_by_test_id("tile-qc").click()
    card = page.locator(f"[data-testid=qc-return][data-serial='{serial}']")
    card.wait_for()
    card.get_by_test_id("qc-return-scrap").click()
    assert "报废" in page.get_by_test_id("sign-meaning").inner_text()
    page.get_by_test_id("qc-return-reason").fill("包装破损，无法再销售")
    page.get_by_test_id("qc-return-password").fill("qa-demo")
    page.get_by_test_id("qc-return-sign").click()
    page.get_by_test_id("toast").filter(has_text="STENT-DES-3018：报废").wait_for()
    card.wait_for(state="detached")
    assert db_fetch(browser_database_url, "SELECT status FROM serials WHERE serial = $1", serial) == [
        {"status": "scrapped"}
    ]
    page.get_by_test_id("back").click()
    page.get_by_test_id("logout").click()

    # a supervisor scraps 5 expired syringes at A-01-03
    sign_in(page, "supervisor")
    page.get_by_test_id("tile-scrap").click()
    page.get_by_test_id("scrap").wait_for()
    wedge(page, "LOC-A-01-03")
    page.get_by_test_id("scrap-location").filter(has_text="A-01-03").wait_for()
    wedge(page, gs1(("01", SYR), ("10", "SY2312X")))
    page.get_by_test_id("scrap-form").wait_for()
    page.get_by_test_id("scrap-reason").select_option("expired")
    page.get_by_test_id("scrap-quantity").fill("5")
    page.get_by_test_id("scrap-note").fill("过期三天")
    assert "报废" in page.get_by_test_id("sign-meaning").inner_text()
    page.get_by_test_id("scrap-password").fill("supervisor-demo")
    assert_touch_targets(page)
    shot(page, "84-scrap-zh")
    page.get_by_test_id("scrap-sign").click()
    page.get_by_test_id("toast").filter(has_text="已报废 A-01-03").wait_for()
    assert db_fetch(
        browser_database_url,
        "SELECT sum(s.quantity)::int AS q FROM stock s JOIN lots l ON l.id = s.lot_id WHERE l.lot = 'SY2312X'",
    ) == [{"q": 10}]
    assert db_fetch(
        browser_database_url,
        "SELECT quantity, reason FROM stock_ledger WHERE movement = 'scrap' AND document_type = 'scrap'",
    ) == [{"quantity": 5, "reason": "scrap (expired): 过期三天"}]
