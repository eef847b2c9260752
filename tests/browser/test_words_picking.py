"""The picker's task list (issue 21, point 10): stops left, the wave's progress, skip a stop or defer it; and a
packing refusal that names its real reason (point 12), not "someone else changed this first". In zh-CN and
in English."""

from __future__ import annotations

import pytest

from tests.browser.conftest import api, gs1, shot, sign_in, wedge
from tests.browser.words import EN, WORDS, ZH, assert_no_english, data_names
from udipick.services.demo import demo_gtin

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", [EN, ZH])
def test_a_packing_refusal_names_its_real_reason(page, console, server, browser_database_url, lang):
    """Before: every packing refusal came as the generic `conflict`, "Someone else changed this first"."""
    console.expected_statuses.update({409})
    w = WORDS[lang]
    allowed = data_names(browser_database_url)
    order = "SO-5001" if lang == "en" else "SO-5002"
    api(server, "POST", "/api/v1/waves", {"orders": [order]})
    sign_in(page, "picker")
    # nothing of the order is picked yet: the carton opens, the scan is refused with the real reason
    page.get_by_test_id("tile-pack").click()
    page.get_by_test_id("packing").wait_for()
    wedge(page, order)
    page.get_by_test_id("pack-sscc").wait_for()
    wedge(page, gs1(("01", demo_gtin(1001)), ("10", "ANY-LOT")))
    refusal = page.get_by_test_id("refusal")
    refusal.wait_for()
    assert refusal.get_attribute("data-code") == "not-picked-for-packing"
    assert w["notPicked"] in page.get_by_test_id("refusal-headline").inner_text()
    assert_no_english(page, lang, allowed, "packing refusal")
    shot(page, f"words-pack-refusal-{lang}")


@pytest.mark.parametrize("lang", [EN, ZH])
def test_the_picker_sees_stops_left_and_wave_progress_and_can_skip_or_defer_a_stop(
    page, console, server, browser_database_url, lang
):
    console.expected_statuses.update({409, 422})
    w = WORDS[lang]
    allowed = data_names(browser_database_url)
    order = "SO-5001" if lang == "en" else "SO-5002"
    # the other language's wave is cancelled: this walk's stops are the picker's whole list
    for other in api(server, "GET", "/api/v1/waves?status=released")["waves"]:
        api(server, "POST", f"/api/v1/waves/{other['waveId']}/cancel", {"reason": "next walk"})
    wave = api(server, "POST", "/api/v1/waves", {"orders": [order]})["waveId"]
    mine = [t for t in api(server, "GET", "/api/v1/picking/tasks", user="picker") if t["waveId"] == wave]
    locations = list(dict.fromkeys(t["location"]["code"] for t in mine))
    assert len(locations) >= 2, mine

    sign_in(page, "picker")
    assert_no_english(page, lang, allowed, "home")
    page.evaluate("localStorage.removeItem('udipick.pickLater')")
    page.get_by_test_id("tile-pick").click()
    page.get_by_test_id("pick-task").wait_for()
    first = page.get_by_test_id("pick-location").inner_text()
    assert first == locations[0]
    page.get_by_test_id("pick-stops-left").get_by_text(f"{w['stops']}").wait_for()
    assert page.get_by_test_id("pick-stops-left").inner_text().endswith(str(len(locations)))
    page.get_by_test_id("pick-wave-progress").wait_for()
    progress = page.get_by_test_id("pick-wave-progress")
    assert progress.get_attribute("aria-valuenow") == "0"
    assert progress.get_attribute("aria-valuemax") == str(sum(t["quantity"] for t in mine))
    assert_no_english(page, lang, allowed, "pick")
    shot(page, f"words-pick-{lang}")

    # skip: the next stop now, this one right after it
    page.get_by_test_id("pick-skip").click()
    page.get_by_test_id("toast").filter(has_text=w["skipped"]).wait_for()
    page.get_by_test_id("pick-location").get_by_text(locations[1], exact=True).wait_for()
    # defer the next stop: the skipped one comes back, the deferred one goes last
    page.get_by_test_id("pick-defer").click()
    page.get_by_test_id("toast").filter(has_text=w["deferred"]).wait_for()
    page.get_by_test_id("pick-location").get_by_text(first, exact=True).wait_for()
    assert page.get_by_test_id("pick-stops-left").inner_text().endswith(str(len(locations)))
    assert_no_english(page, lang, allowed, "pick after skip")
