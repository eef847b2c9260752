"""Receiving on the handheld (issue 21, points 9 and 12): an expiry typed as the label prints it (YYMMDD)
or scanned, follow-up questions with their field focused, item names and filled progress bars, what became of
the plate label, where each plate goes; an expired lot is refused at the dock in the same words the server
uses. In zh-CN and in English."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.browser.conftest import GS, api, db_fetch, gs1, shot, sign_in, wedge, yymmdd
from tests.browser.words import DOCUMENT, EN, WORDS, ZH, assert_no_english, data_names
from udipick.services.demo import demo_gtin

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", [EN, ZH])
def test_an_expired_lot_is_refused_at_the_dock_as_the_server_says(page, console, server, today, lang):
    """An expired device is not stocked, not even in quarantine: the server says "refuse the goods" and so
    does the handheld (before: "Take it to quarantine"). Nothing is written, so the receipt stays open."""
    console.expected_statuses.update({422})
    w = WORDS[lang]
    sign_in(page, "receiver")
    page.get_by_test_id("tile-receive").click()
    wedge(page, DOCUMENT[lang][0])
    page.get_by_test_id("line-1").wait_for()
    box = demo_gtin(1001, 1)
    wedge(page, gs1(("01", box), ("17", yymmdd(today - dt.timedelta(days=3))), ("10", f"X-{lang[:2].upper()}")))
    refusal = page.get_by_test_id("refusal")
    refusal.wait_for()
    assert refusal.get_attribute("data-code") == "lot-expired"
    todo = page.get_by_test_id("refusal-todo").inner_text()
    assert w["refuse"] in todo and "quarantine" not in todo and "待检" not in todo, todo
    shot(page, f"words-receive-expired-{lang}")


@pytest.mark.parametrize("lang", [EN, ZH])
def test_receiving_takes_the_expiry_as_printed_and_says_where_things_stand(
    page, console, server, browser_database_url, today, lang
):
    console.expected_statuses.update({409, 422})
    w = WORDS[lang]
    allowed = data_names(browser_database_url)
    document, ordered = DOCUMENT[lang]
    name = db_fetch(browser_database_url, "SELECT name FROM items WHERE erp_id = 'SYR-10ML'")[0]["name"]
    box = demo_gtin(1001, 1)

    sign_in(page, "receiver")
    page.get_by_test_id("tile-receive").click()
    page.get_by_test_id("receive-choose").wait_for()
    assert_no_english(page, lang, allowed, "receive")
    wedge(page, document)
    page.get_by_test_id("line-1").wait_for()
    assert page.get_by_test_id("line-1").get_by_test_id("line-name").inner_text() == name

    # the box label has no lot and no expiry: the lot field has the focus; the expiry is typed as printed
    wedge(page, "01" + box)
    page.get_by_test_id("ask").wait_for()
    page.wait_for_function("document.activeElement && document.activeElement.dataset.testid === 'ask-lot'")
    assert page.get_by_test_id("ask-expiry").get_attribute("type") == "text"
    assert_no_english(page, lang, allowed, "receive question")
    page.keyboard.type(f"W-{lang[:2].upper()}1")
    expiry = today + dt.timedelta(days=500)
    page.get_by_test_id("ask-expiry").fill("13/45/99")
    page.get_by_test_id("ask-submit").click()
    page.get_by_test_id("ask-expiry-hint").and_(page.locator(".warn")).wait_for()  # not a date: not sent
    page.get_by_test_id("ask-expiry").fill(yymmdd(expiry))
    page.get_by_test_id("ask-submit").click()
    page.get_by_test_id("toast").filter(has_text="100").wait_for()
    page.get_by_test_id("line-1").get_by_text(f"100 / {ordered}").wait_for()
    assert page.get_by_test_id("line-1").get_by_test_id("progress").get_attribute("data-pct") == str(
        round(100 * 100 / ordered)
    )
    [lot] = db_fetch(browser_database_url, "SELECT expiry FROM lots WHERE lot = $1", f"W-{lang[:2].upper()}1")
    assert lot["expiry"] == expiry
    assert w["label"] in page.get_by_test_id("receipt-label").inner_text()

    # the second box's question is answered by scanning the box's full label into the focused field: lot and
    # expiry both come from it (a keyboard-wedge scan, GS between the lot and the next field, Enter at the end)
    wedge(page, "01" + box)
    page.get_by_test_id("ask").wait_for()
    page.wait_for_function("document.activeElement && document.activeElement.dataset.testid === 'ask-lot'")
    page.keyboard.type("01" + box + "10" + f"W-{lang[:2].upper()}1")
    page.keyboard.insert_text(GS)
    page.keyboard.type("17" + yymmdd(expiry))
    page.keyboard.press("Enter")
    page.get_by_test_id("line-1").get_by_text(f"200 / {ordered}").wait_for()

    # closing short asks why (when no other receipt of the document is still open), the reason field focused;
    # then each plate shows where it goes
    page.get_by_test_id("receipt-close").click()
    closed = page.locator('[data-testid="receipt-status"][data-status="closed"]')
    closed.or_(page.get_by_test_id("ask-reason")).wait_for()
    if page.get_by_test_id("ask-reason").is_visible():
        page.wait_for_function("document.activeElement && document.activeElement.dataset.testid === 'ask-reason'")
        page.keyboard.type("supplier short-shipped")
        page.get_by_test_id("ask-submit").click()
    closed.wait_for()
    tasks = page.get_by_test_id("receipt-putaway-task")
    tasks.first.wait_for()
    plates = api(server, "GET", f"/api/v1/receipts/{page.url.rsplit('/', 1)[-1]}", user="receiver")["putawayTasks"]
    suggested = [x["suggestion"]["location"] for x in plates if x.get("suggestion")]
    assert suggested and all(any(s in t for t in tasks.all_inner_texts()) for s in suggested), tasks.all_inner_texts()
    assert_no_english(page, lang, allowed, "closed receipt")
    shot(page, f"words-receive-closed-{lang}")

    page.get_by_test_id("to-putaway").click()
    page.get_by_test_id("putaway-list").wait_for()
    assert any(s in " ".join(page.get_by_test_id("putaway-list-to").all_inner_texts()) for s in suggested)
    assert_no_english(page, lang, allowed, "putaway")
