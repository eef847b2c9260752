"""zh-CN throughout (issue 21, point 11): the server sends facts (statuses, quarantine reasons, why a location
does not fit, roles) as members, and the handheld words them in its user's language; in zh-CN no screen of
the walk shows English words (codes, units, lot numbers and master-data names excepted). The same walk in
English shows the English words. Labels do not break inside a word ("Excep-tions")."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.browser.conftest import gs1, shot, sign_in, wedge, yymmdd
from tests.browser.words import DOCUMENT, EN, WORDS, ZH, assert_no_english, data_names, one_line
from udipick.services.demo import demo_gtin

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", [EN, ZH])
def test_every_screen_of_the_walk_speaks_the_users_language(page, console, server, browser_database_url, today, lang):
    console.expected_statuses.update({409, 422})
    w = WORDS[lang]
    allowed = data_names(browser_database_url)

    sign_in(page, "receiver")
    assert w["role"] in page.get_by_test_id("who-roles").inner_text()
    assert one_line(page, "tile-exceptions"), "the Exceptions label breaks inside the word"
    assert_no_english(page, lang, allowed, "home")

    # a short-dated lot goes to quarantine: the reason in the user's words, from the server's facts
    page.get_by_test_id("tile-receive").click()
    wedge(page, DOCUMENT[lang][0])
    page.get_by_test_id("line-1").wait_for()
    assert page.get_by_test_id("receipt-status").inner_text() == w["open"]
    box = demo_gtin(1001, 1)
    wedge(page, gs1(("01", box), ("17", yymmdd(today + dt.timedelta(days=30))), ("10", f"S-{lang[:2].upper()}")))
    page.get_by_test_id("toast").filter(has_text=w["short"]).wait_for()
    lpn = page.get_by_test_id("receipt-lpn").locator("strong").inner_text()
    assert_no_english(page, lang, allowed, "receipt")
    shot(page, f"words-zh-quarantined-{lang}")
    page.get_by_test_id("receipt-close").click()
    page.get_by_test_id("ask-reason").fill("backorder")
    page.get_by_test_id("ask-submit").click()
    page.locator('[data-testid="receipt-status"][data-status="closed"]').wait_for()
    assert page.get_by_test_id("receipt-status").inner_text() == w["closed"]
    assert_no_english(page, lang, allowed, "closed receipt")

    # the quarantined plate: what it needs, and why a pick location refuses it, in the user's words
    page.get_by_test_id("to-putaway").click()
    page.get_by_test_id("putaway-list").wait_for()
    assert_no_english(page, lang, allowed, "putaway list")
    wedge(page, lpn)
    page.get_by_test_id("putaway-needs").get_by_text(w["needsQuarantine"]).wait_for()
    assert_no_english(page, lang, allowed, "putaway task")
    wedge(page, "LOC-A-01-02")
    page.get_by_test_id("refusal").wait_for()
    assert page.get_by_test_id("refusal").get_attribute("data-code") == "location-unsuitable"
    assert w["segregate"] in page.get_by_test_id("refusal-headline").inner_text()
    assert_no_english(page, lang, allowed, "putaway refusal")
    shot(page, f"words-zh-unsuitable-{lang}")
    page.get_by_test_id("refusal-ok").click()

    page.get_by_test_id("back").click()
    page.get_by_test_id("tile-exceptions").click()
    page.get_by_test_id("exceptions").wait_for()
    assert_no_english(page, lang, allowed, "exceptions")

    # QA sees why the lot waits for a decision in the same words (the stored reason read back as facts)
    page.get_by_test_id("back").click()
    page.get_by_test_id("logout").click()
    sign_in(page, "qa")
    page.get_by_test_id("tile-qc").click()
    card = page.locator(f"[data-testid=qc-lot][data-lot='S-{lang[:2].upper()}']")
    card.wait_for()
    assert w["short"] in card.get_by_test_id("qc-reasons").inner_text()
    assert_no_english(page, lang, allowed, "quality control")
    shot(page, f"words-zh-qc-{lang}")
