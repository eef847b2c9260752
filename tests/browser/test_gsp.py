"""QA on the handheld lets a sales order held by GSP through: the order whose customer's licence expired is
listed with the reason (English, then zh-CN), a wrong password signs nothing, the signed exception lets the
wave release allocate it."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from tests.browser.conftest import api, assert_touch_targets, db_fetch, shot, sign_in
from udipick.services.demo import DEMO_SITE

pytestmark = pytest.mark.browser


@pytest.fixture
def held(server, today) -> dt.date:
    """The site turns the GSP checks on and the ERP says Riverside Clinic's licence ran out yesterday."""
    site = msgspec.to_builtins(msgspec.structs.replace(DEMO_SITE, gsp_checks=True))
    assert api(server, "PUT", "/api/v1/admin/site", site, user="admin")["gspChecks"] is True
    expired = today - dt.timedelta(days=1)
    customer = {
        "erpId": "CUST-RIVER",
        "version": 2,
        "name": "Riverside Clinic",
        "licenceNo": "MA1FL8XK432050517D2192",
        "licenceValidUntil": expired.isoformat(),
    }
    api(server, "POST", "/api/v1/erp/customers", customer, user="admin")
    return expired


def test_qa_signs_an_exception_for_an_order_held_by_an_expired_customer_licence(
    page, console, server, browser_database_url, held
):
    console.expected_statuses.update({403})  # the wrong password, on purpose
    sign_in(page, "qa")
    page.get_by_test_id("tile-qc").click()
    card = page.locator("[data-testid=gsp-order][data-order='SO-5002']")
    card.wait_for()
    assert page.locator("[data-testid=gsp-order]").count() == 1
    why = card.get_by_test_id("gsp-why").inner_text()
    assert why == f"Order SO-5002 held: licence MA1FL8XK432050517D2192 expired on {held.isoformat()}"
    assert_touch_targets(page)
    shot(page, "56-gsp-held-order")

    card.get_by_test_id("gsp-except").click()
    page.get_by_test_id("gsp-form").wait_for()
    assert "GSP exception" in page.get_by_test_id("sign-meaning").inner_text()
    page.get_by_test_id("gsp-reason").fill("renewed licence seen")
    page.get_by_test_id("gsp-password").fill("wrong")
    page.get_by_test_id("gsp-sign").click()
    page.get_by_test_id("gsp-error").filter(has_text="Electronic signature rejected").wait_for()
    assert db_fetch(browser_database_url, "SELECT count(*)::int AS n FROM regulatory_exceptions") == [{"n": 0}]

    # --- in Chinese: the reason, then the signature ------------------------------------------------------
    page.get_by_test_id("lang-switch").click()
    page.get_by_role("heading", name="订单 SO-5002 例外放行").wait_for()
    page.get_by_test_id("gsp-error").filter(has_text="电子签名").wait_for()  # the refusal re-said in Chinese
    assert page.get_by_test_id("gsp-form-why").inner_text() == (
        f"订单 SO-5002 已暂停：许可证 MA1FL8XK432050517D2192 已于 {held.isoformat()} 过期"
    )
    assert "GSP 例外" in page.get_by_test_id("sign-meaning").inner_text()
    page.get_by_test_id("gsp-reason").fill("已核对新许可证")
    page.get_by_test_id("gsp-password").fill("qa-demo")
    shot(page, "57-gsp-exception-zh")
    page.get_by_test_id("gsp-sign").click()
    page.get_by_test_id("toast").filter(has_text="订单 SO-5002 现在可以分配").wait_for()
    card.wait_for(state="detached")
    page.get_by_test_id("lang-switch").click()

    assert db_fetch(
        browser_database_url,
        "SELECT code, reason, signed_by FROM regulatory_exceptions",
    ) == [{"code": "customer-licence-expired", "reason": "已核对新许可证", "signed_by": "qa"}]
    signed = db_fetch(
        browser_database_url,
        "SELECT outcome, detail->>'meaning' AS meaning, signature_meaning FROM audit_log"
        " WHERE action = 'signature' AND username = 'qa' ORDER BY id",
    )
    assert [(s["outcome"], s["meaning"], s["signature_meaning"]) for s in signed] == [
        ("failed", "regulatory.exception", None),
        ("ok", "regulatory.exception", "approval"),
    ]
    wave = api(server, "POST", "/api/v1/waves", {"orders": ["SO-5002"]})
    assert wave["orders"] == ["SO-5002"] and wave["tasks"] > 0


def test_a_wave_release_names_the_order_it_held_and_why(page, server, today):
    """Shanghai No. 1's licence is no longer on record: releasing all orders leaves SO-5001 out and says why."""
    customer = {"erpId": "CUST-SH-01", "version": 2, "name": "上海市第一人民医院", "minShelfLifeDays": 90}
    api(server, "POST", "/api/v1/erp/customers", customer, user="admin")
    clinic = {"erpId": "CUST-NEW", "version": 1, "name": "New Clinic", "licenceNo": "沪卫医证2026001"}
    api(server, "POST", "/api/v1/erp/customers", clinic, user="admin")
    order = {
        "erpId": "SO-9101",
        "version": 1,
        "number": "SO-9101",
        "customer": "CUST-NEW",
        "shipTo": {"name": "Riverside Clinic"},
        "lines": [{"lineNo": 1, "item": "GLOVE-NIT-M", "quantity": 5}],
    }
    api(server, "POST", "/api/v1/erp/sales-orders", order, user="admin")
    page.set_viewport_size({"width": 1024, "height": 768})
    sign_in(page, "supervisor")
    page.get_by_test_id("tile-sup").click()
    page.get_by_test_id("sup-nav-release").click()
    page.get_by_test_id("wave-submit").click()
    held = page.locator("[data-testid=wave-held-order][data-order='SO-5001']")
    held.wait_for()
    assert held.inner_text() == "Order SO-5001 held: 上海市第一人民医院 has no licence on record"
    assert page.get_by_test_id("wave-result-orders").inner_text() == "SO-9101"
    page.get_by_test_id("lang-switch").click()
    page.get_by_text("暂停、未分配").wait_for()
    assert held.inner_text() == "订单 SO-5001 已暂停：上海市第一人民医院 没有许可证记录"
    shot(page, "58-gsp-wave-held-zh")
