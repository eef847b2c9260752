"""Counting a location on the handheld: scan the location, scan each unit, send; udipick books the
difference and the stock matches what was found."""

from __future__ import annotations

import pytest

from tests.browser.conftest import db_fetch, gs1, shot, sign_in, wedge
from udipick.services.demo import demo_gtin

pytestmark = pytest.mark.browser

GLOVE = demo_gtin(1004)


def test_a_picker_counts_a_location_and_the_books_follow(page, console, server, browser_database_url):
    sign_in(page, "picker")
    page.get_by_test_id("tile-count").click()
    page.get_by_test_id("count").wait_for()
    wedge(page, "LOC-A-02-01")
    page.get_by_test_id("count-sheet").wait_for()
    assert page.get_by_test_id("count-location").inner_text() == "A-02-01"
    for _ in range(3):
        wedge(page, gs1(("01", GLOVE), ("10", "GL-77-01")))
    page.wait_for_function("document.querySelector('[data-testid=count-lines]').innerText.includes('× 3')")
    shot(page, "70-count-sheet")
    page.get_by_test_id("count-send").click()
    toast = page.get_by_test_id("toast")
    toast.wait_for()
    assert "A-02-01" in toast.inner_text() and "1" in toast.inner_text()
    rows = db_fetch(
        browser_database_url,
        "SELECT s.quantity FROM stock s JOIN locations l ON l.id = s.location_id JOIN lots lo ON lo.id = s.lot_id"
        " WHERE l.code = 'A-02-01' AND lo.lot = 'GL-77-01' AND s.status = 'available' AND s.container_id IS NULL",
    )
    assert rows == [{"quantity": 3}]
    moved = db_fetch(browser_database_url, "SELECT quantity FROM stock_ledger WHERE movement = 'count'")
    assert moved == [{"quantity": 197}]
