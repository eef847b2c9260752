"""QA on the handheld: the lots received into quarantine are listed with item, lot, expiry, quantity
and where they are; QA releases one and rejects another, each signed by re-entering the password with
the signature's meaning shown. A wrong password changes nothing."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from tests.browser.conftest import GS, api, assert_touch_targets, db_fetch, shot, sign_in
from udipick.services.demo import demo_gtin

pytestmark = pytest.mark.browser


def _datamatrix(ref: int, lot: str, expiry: dt.date) -> str:
    return f"]d201{demo_gtin(ref)}17{expiry:%y%m%d}10{lot}"


@pytest.fixture
def quarantined(server, today) -> dict[str, dt.date]:
    """Two short-dated syringe lots received on ASN-2002: too little shelf life left (60 days needed),
    so both wait in quarantine at the dock for QA."""
    lots = {"SY-SHORT": today + dt.timedelta(days=30), "SY-SHORT2": today + dt.timedelta(days=25)}
    receipt = api(server, "POST", "/api/v1/receipts", {"document": "ASN-2002"}, user="receiver")
    for lot, expiry in lots.items():
        api(
            server,
            "POST",
            f"/api/v1/receipts/{receipt['id']}/scans",
            {"clientScanId": str(uuid.uuid4()), "raw": _datamatrix(1001, lot, expiry), "quantity": 10},
            user="receiver",
        )
    api(
        server,
        "POST",
        f"/api/v1/receipts/{receipt['id']}/close",
        {"reason": "rest of the ASN comes tomorrow"},
        user="receiver",
    )
    return lots


def _card(page, lot: str):
    return page.locator(f"[data-testid=qc-lot][data-lot='{lot}']")


def test_qa_releases_one_quarantined_lot_and_rejects_another(
    page, console, server, browser_database_url, quarantined, today
):
    console.expected_statuses.update({403})  # the wrong password, on purpose
    assert GS not in _datamatrix(1001, "SY-SHORT", today)  # the lot is the last element: no separator needed
    sign_in(page, "qa")
    page.get_by_test_id("tile-qc").click()
    page.get_by_test_id("qc-lots").wait_for()
    for lot, expiry in quarantined.items():
        card = _card(page, lot)
        card.wait_for()
        assert card.get_by_test_id("qc-item").inner_text() == "SYR-10ML"
        assert lot in card.get_by_test_id("qc-lot-number").inner_text()
        assert card.get_by_test_id("qc-expiry").inner_text() == expiry.isoformat()
        assert card.get_by_test_id("qc-quantity").inner_text() == "10"
        assert card.get_by_test_id("qc-locations").inner_text() == "RCV-01"
        assert "shelf life" in card.get_by_test_id("qc-reasons").inner_text()
    assert_touch_targets(page)
    shot(page, "50-qc-quarantine")

    # --- release SY-SHORT: a wrong password first --------------------------------------------------
    _card(page, "SY-SHORT").get_by_test_id("qc-release").click()
    form = page.get_by_test_id("qc-form")
    form.wait_for()
    meaning = page.get_by_test_id("sign-meaning").inner_text()
    assert "QC release" in meaning and "qa" in page.get_by_test_id("sign-signer").inner_text().lower()
    page.get_by_test_id("qc-reason").fill("retested, fit for use")
    page.get_by_test_id("qc-password").fill("wrong")
    page.get_by_test_id("qc-sign").click()
    page.get_by_test_id("qc-error").filter(has_text="Electronic signature rejected").wait_for()
    assert "password does not match" in page.get_by_test_id("qc-error").inner_text()
    shot(page, "51-qc-signature-rejected")
    assert db_fetch(browser_database_url, "SELECT status FROM lots WHERE lot = 'SY-SHORT'") == [
        {"status": "quarantine"}
    ]

    page.get_by_test_id("qc-password").fill("qa-demo")
    page.get_by_test_id("qc-sign").click()
    page.get_by_test_id("toast").filter(has_text="Lot SY-SHORT released").wait_for()
    _card(page, "SY-SHORT").wait_for(state="detached")
    _card(page, "SY-SHORT2").wait_for()
    assert db_fetch(browser_database_url, "SELECT status FROM lots WHERE lot = 'SY-SHORT'") == [{"status": "released"}]
    assert db_fetch(
        browser_database_url,
        "SELECT s.status, sum(s.quantity)::int AS q FROM stock s JOIN lots l ON l.id = s.lot_id"
        " WHERE l.lot = 'SY-SHORT' AND s.quantity > 0 GROUP BY 1",
    ) == [{"status": "available", "q": 10}]

    # --- reject SY-SHORT2, in Chinese ---------------------------------------------------------------
    page.get_by_test_id("lang-switch").click()
    page.get_by_role("heading", name="待检批号").wait_for()
    _card(page, "SY-SHORT2").get_by_test_id("qc-reject").click()
    page.get_by_test_id("qc-form").wait_for()
    assert "质检判定不合格" in page.get_by_test_id("sign-meaning").inner_text()
    page.get_by_test_id("qc-reason").fill("有效期过短，退回供应商")
    page.get_by_test_id("qc-password").fill("qa-demo")
    shot(page, "52-qc-reject-zh")
    page.get_by_test_id("qc-sign").click()
    page.get_by_test_id("toast").filter(has_text="批号 SY-SHORT2 已判定不合格").wait_for()
    page.get_by_test_id("qc-none").wait_for()
    page.get_by_test_id("lang-switch").click()
    assert db_fetch(browser_database_url, "SELECT status FROM lots WHERE lot = 'SY-SHORT2'") == [{"status": "rejected"}]
    assert db_fetch(
        browser_database_url,
        "SELECT s.status, sum(s.quantity)::int AS q FROM stock s JOIN lots l ON l.id = s.lot_id"
        " WHERE l.lot = 'SY-SHORT2' AND s.quantity > 0 GROUP BY 1",
    ) == [{"status": "rejected", "q": 10}]
    signed = db_fetch(
        browser_database_url,
        "SELECT outcome, detail->>'meaning' AS meaning FROM audit_log WHERE action = 'signature' AND username = 'qa' ORDER BY id",
    )
    assert [(s["outcome"], s["meaning"]) for s in signed] == [
        ("failed", "qc.release"),
        ("ok", "qc.release"),
        ("ok", "qc.reject"),
    ]


def test_only_qa_gets_the_quality_control_tile(page, server):
    """The QC endpoints admit the qa role only (a supervisor's or admin's blanket access does not reach them)."""
    sign_in(page, "supervisor")
    page.get_by_test_id("tile-pick").wait_for()
    assert page.get_by_test_id("tile-qc").count() == 0
