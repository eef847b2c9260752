"""The supervisor's stock view: the demo's syringes grouped by lot and expiry bucket, filtered, in English
and in Simplified Chinese."""

from __future__ import annotations

import pytest

from tests.browser.conftest import db_fetch, sign_in
from tests.browser.test_supervisor import desk  # noqa: F401  (the tablet page fixture)

pytestmark = pytest.mark.browser


def open_stock(page) -> None:
    sign_in(page, "supervisor")
    page.get_by_test_id("tile-sup").click()
    page.get_by_test_id("sup-nav-stock").click()
    page.get_by_test_id("stock-groups").wait_for()


def rows(page) -> list[list[str]]:
    out = []
    for r in page.get_by_test_id("stock-group-row").all():
        out.append([c.inner_text().strip() for c in r.locator("td").all()])
    return out


def test_the_syringes_by_lot_and_expiry_bucket(desk, browser_database_url):  # noqa: F811
    open_stock(desk)
    desk.get_by_test_id("stock-filter-item").fill("SYR-10ML")
    desk.get_by_test_id("stock-apply").click()
    desk.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stock-group-row] td[data-key=lot]')]"
        ".every(td => td.textContent.startsWith('SY') || td.textContent === '—')"
    )
    got = {(r[0].split(" ")[0], r[1]): int(r[2]) for r in rows(desk)}
    # the demo's opening stock (services/demo.py): SY2401A 45 days, SY2405B/C 200, SY2409C 500, SY2312X expired;
    # its open purchase orders are in transit (no lot, no expiry)
    transit = db_fetch(
        browser_database_url,
        "SELECT sum(ln.quantity_ordered - ln.quantity_received) FROM inbound_lines ln"
        " JOIN inbound_documents d ON d.id = ln.document_id JOIN items i ON i.id = ln.item_id"
        " WHERE i.erp_id = 'SYR-10ML' AND d.status IN ('open', 'receiving')",
    )[0]["sum"]
    assert got == {
        **({("—", "No expiry"): transit} if transit else {}),
        ("SY2312X", "Expired"): 15,
        ("SY2401A", "≤ 90 days"): 40,
        ("SY2405B", "Later"): 120,
        ("SY2405C", "Later"): 50,
        ("SY2409C", "Later"): 1060,
    }
    assert desk.get_by_test_id("stock-total-expired").get_attribute("data-quantity") == "15"

    desk.get_by_test_id("stock-group-expiry_bucket").click()  # now by lot only
    desk.get_by_test_id("stock-group-status").click()  # and by status
    desk.get_by_test_id("stock-filter-status").select_option("expired")
    desk.get_by_test_id("stock-apply").click()
    desk.wait_for_function("() => document.querySelectorAll('[data-testid=stock-group-row]').length === 1")
    assert rows(desk) == [[rows(desk)[0][0], "Expired", "15"]] and rows(desk)[0][0].startswith("SY2312X")


@pytest.mark.locale("zh-CN")
def test_the_stock_view_speaks_chinese(desk):  # noqa: F811
    open_stock(desk)
    assert desk.get_by_test_id("sup-nav-stock").inner_text().strip().endswith("库存")
    assert "效期区间" in desk.get_by_test_id("stock-groups").locator("thead").inner_text()
    desk.get_by_test_id("stock-filter-item").fill("SYR-10ML")
    desk.get_by_test_id("stock-apply").click()
    desk.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stock-group-row] td[data-key=expiry_bucket]')]"
        ".some(td => td.textContent === '已过期')"
    )
