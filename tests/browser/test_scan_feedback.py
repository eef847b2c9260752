"""What the picker hears and feels (issue 21): three verdicts with their own sound and vibration —
accepted, warning, refused — and no scan lost around a refusal.

- A scan taken offline and refused when the queue replays it (an expired lot) is as loud as a live
  refusal, takes the whole screen until acknowledged, and says what to do with the unit already in the
  tote.
- A scan taken while a refusal is on screen is held (the wedge's Enter does not press "OK, understood")
  and judged once the refusal is acknowledged.
- Stock sent to quarantine at receiving, and a lookup of a held or expired lot, give the warning, not the
  OK sound.

Which sound played is read from ``<html data-feedback>`` (with a running count in ``data-feedback-n``);
the vibration from a stubbed ``navigator.vibrate``.
"""

from __future__ import annotations

import datetime as dt
import urllib.error

import pytest

from tests.browser.conftest import api, db_fetch, gs1, shot, sign_in, wedge, yymmdd
from udipick.services.demo import demo_gtin

pytestmark = pytest.mark.browser

REFUSED = [300, 120, 300, 120, 300]
WARNING = [150, 100, 150]
OK = [40]

LANGS = [pytest.param("en", id="en"), pytest.param("zh-CN", id="zh-CN", marks=pytest.mark.locale("zh-CN"))]
WORDS = {
    "en": {
        "quarantine": "take it to quarantine",
        "held": "Scans held until you tap OK: 1",
        "picked": "Picked",
        "in tote": "already in the tote",
    },
    "zh-CN": {"quarantine": "送到待检区", "held": "后再判定的扫描：1", "picked": "已拣", "in tote": "已在周转箱里"},
}


@pytest.fixture
def vibrations(context):
    """``navigator.vibrate`` recorded: each call's pattern, in order."""
    context.add_init_script(
        """window.__vibrations = [];
        Object.defineProperty(navigator, 'vibrate', {configurable: true,
            value: (p) => { window.__vibrations.push(Array.isArray(p) ? p : [p]); return true; }});"""
    )
    return lambda page: page.evaluate("window.__vibrations")


def feedback_count(page) -> int:
    return int(page.evaluate("document.documentElement.dataset.feedbackN || '0'"))


def wait_feedback(page, verdict: str, after: int) -> None:
    """Wait for a new feedback (after the ``after``-th) and check it was ``verdict``."""
    page.wait_for_function(f"Number(document.documentElement.dataset.feedbackN || '0') > {after}")
    assert page.evaluate("document.documentElement.dataset.feedback") == verdict


def release(server: str, order: str) -> None:
    try:
        api(server, "POST", "/api/v1/waves", {"orders": [order]})
    except urllib.error.HTTPError as err:  # released by the other language's run in this module
        assert err.code == 409


@pytest.mark.parametrize("lang", LANGS)
def test_a_scan_refused_on_replay_is_loud_blocks_the_next_scan_and_says_what_to_do_with_the_unit(
    lang, page, context, console, server, browser_database_url, vibrations, today
):
    console.expected_statuses.update({409, 422})
    words = WORDS[lang]
    release(server, "SO-5001")
    sign_in(page, "picker")
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    page.get_by_test_id("tile-pick").click()
    page.get_by_test_id("pick-task").wait_for()
    assert page.get_by_test_id("pick-location").inner_text() == "A-01-02"
    wedge(page, "LOC-A-01-02")
    page.get_by_test_id("toast").filter(has_text="A-01-02").wait_for()
    picks_before = db_fetch(browser_database_url, "SELECT count(*) AS n FROM picks")[0]["n"]

    syringe = demo_gtin(1001)
    expired = db_fetch(browser_database_url, "SELECT expiry FROM lots WHERE lot = 'SY2312X'")[0]["expiry"]
    assert expired < today
    good = db_fetch(browser_database_url, "SELECT expiry FROM lots WHERE lot = 'SY2405B'")[0]["expiry"]

    context.set_offline(True)
    console.offline_periods += 1
    page.get_by_test_id("offline").wait_for()
    wedge(page, gs1(("01", syringe), ("17", yymmdd(expired)), ("10", "SY2312X")))  # into the tote, offline
    page.get_by_test_id("waiting").wait_for()
    assert page.evaluate("document.documentElement.dataset.feedback") == "queued"

    n = feedback_count(page)
    context.set_offline(False)
    refusal = page.get_by_test_id("refusal")
    refusal.wait_for()
    wait_feedback(page, "refused", n)
    assert vibrations(page)[-1] == REFUSED, "as loud as a live refusal"
    assert refusal.get_attribute("data-code") == "lot-expired"
    assert refusal.get_attribute("data-replayed") == "true"
    assert "SY2312X" in page.get_by_test_id("refusal-headline").inner_text()
    unit = page.get_by_test_id("refusal-unit").inner_text()
    assert words["in tote"] in unit and words["quarantine"] in unit, unit
    assert "A-01-02" in page.get_by_test_id("refusal-replay").inner_text()
    shot(page, f"45-replay-refused-{lang}")

    # the next scan, with the wedge's Enter: held behind the refusal, not lost, and it does not press OK
    n = feedback_count(page)
    wedge(page, gs1(("01", syringe), ("17", yymmdd(good)), ("10", "SY2405B")))
    page.get_by_test_id("refusal-held").filter(has_text=words["held"]).wait_for()
    wait_feedback(page, "refused", n)
    assert refusal.is_visible(), "Enter did not acknowledge the refusal"
    page.wait_for_timeout(300)
    assert db_fetch(browser_database_url, "SELECT count(*) AS n FROM picks")[0]["n"] == picks_before, (
        "the held scan is not judged before the refusal is acknowledged"
    )
    shot(page, f"46-scan-held-behind-refusal-{lang}")

    n = feedback_count(page)
    page.get_by_test_id("refusal-ok").click()
    refusal.wait_for(state="detached")
    page.get_by_test_id("toast").filter(has_text=words["picked"]).wait_for()
    wait_feedback(page, "ok", n)
    assert vibrations(page)[-1] == OK
    assert db_fetch(browser_database_url, "SELECT count(*) AS n FROM picks")[0]["n"] == picks_before + 1
    # and the refusal stays under Exceptions until someone resolves it
    page.get_by_test_id("exceptions-link").wait_for()


@pytest.mark.parametrize("lang", LANGS)
def test_a_live_refusal_holds_the_scans_taken_while_it_is_shown_and_judges_them_in_order(
    lang, page, console, server, browser_database_url, vibrations
):
    console.expected_statuses.update({409, 422})
    release(server, "SO-5001")
    sign_in(page, "picker")
    page.get_by_test_id("tile-pick").click()
    page.get_by_test_id("pick-task").wait_for()
    wedge(page, "LOC-A-09-09")  # the wrong shelf: refused
    refusal = page.get_by_test_id("refusal")
    refusal.wait_for()
    assert refusal.get_attribute("data-code") == "wrong-location"
    # focus is not on the button: the wedge types into the scan field, Enter submits the scan
    assert page.evaluate("document.activeElement.dataset.testid") == "scan-input"
    n = feedback_count(page)
    wedge(page, "LOC-A-01-02")
    page.get_by_test_id("refusal-held").wait_for()
    wait_feedback(page, "refused", n)
    assert vibrations(page)[-1] == REFUSED
    assert refusal.is_visible()
    page.get_by_test_id("refusal-ok").click()
    refusal.wait_for(state="detached")
    page.get_by_test_id("toast").filter(has_text="A-01-02").wait_for()  # the held location scan, judged now
    assert page.evaluate("document.documentElement.dataset.feedback") == "ok"


@pytest.mark.parametrize("lang", LANGS)
def test_stock_sent_to_quarantine_at_receiving_warns_instead_of_sounding_ok(
    lang, page, console, server, vibrations, today
):
    console.expected_statuses.update({409, 422})
    sign_in(page, "receiver")
    page.get_by_test_id("tile-receive").click()
    page.get_by_test_id("receive-choose").wait_for()
    wedge(page, "PO-1001")
    page.get_by_test_id("line-1").wait_for()
    short_dated = today + dt.timedelta(days=20)  # the syringe needs 60 days: quarantine
    n = feedback_count(page)
    box = demo_gtin(1001, 1)
    wedge(page, gs1(("01", box), ("17", yymmdd(short_dated)), ("10", f"SQ{lang[:2].upper()}1")))
    toast = page.get_by_test_id("toast")
    toast.wait_for()
    wait_feedback(page, "warning", n)
    assert vibrations(page)[-1] == WARNING
    assert "warning" in toast.get_attribute("class")
    shot(page, f"47-receive-quarantine-warning-{lang}")
    # a long-dated box still sounds OK
    n = feedback_count(page)
    wedge(
        page,
        gs1(
            ("01", demo_gtin(1004, 1)), ("17", yymmdd(today + dt.timedelta(days=700))), ("10", f"GL{lang[:2].upper()}")
        ),
    )
    wait_feedback(page, "ok", n)
    assert vibrations(page)[-1] == OK


@pytest.mark.parametrize("lang", LANGS)
def test_a_lookup_of_a_held_or_expired_lot_warns_and_a_good_one_sounds_ok(
    lang, page, console, server, browser_database_url, vibrations, today
):
    try:
        api(
            server,
            "POST",
            "/api/v1/holds",
            {"scope": "lot", "item": "GLOVE-NIT-M", "lot": "GL-77-02", "reason": "complaint"},
        )
    except urllib.error.HTTPError as err:  # placed by the other language's run in this module
        assert err.code == 409
    sign_in(page, "picker")
    page.get_by_test_id("tile-lookup").click()
    lot_expiry = {
        r["lot"]: r["expiry"]
        for r in db_fetch(
            browser_database_url, "SELECT lot, expiry FROM lots WHERE lot IN ('GL-77-01', 'GL-77-02', 'SY2312X')"
        )
    }
    cases = [
        (gs1(("01", demo_gtin(1004, 1)), ("17", yymmdd(lot_expiry["GL-77-01"])), ("10", "GL-77-01")), "ok", OK),
        (
            gs1(("01", demo_gtin(1004, 1)), ("17", yymmdd(lot_expiry["GL-77-02"])), ("10", "GL-77-02")),
            "warning",
            WARNING,
        ),
        (gs1(("01", demo_gtin(1001)), ("17", yymmdd(lot_expiry["SY2312X"])), ("10", "SY2312X")), "warning", WARNING),
    ]
    for raw, verdict, pattern in cases:
        n = feedback_count(page)
        wedge(page, raw)
        wait_feedback(page, verdict, n)
        assert vibrations(page)[-1] == pattern, raw
    page.get_by_test_id("lookup-expired").wait_for()
    shot(page, f"48-lookup-expired-warning-{lang}")
