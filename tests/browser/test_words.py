"""The handheld says what happened in its user's language, in words that are true (issue 21, points 9-12):
receiving takes an expiry typed as the label prints it (YYMMDD), asks follow-up questions with the field
focused, names the items and fills their progress bars, says what became of the plate label and where the
plate goes; the server's facts (statuses, quarantine reasons, roles, refusals) are worded from the
problem's members, never its English ``detail``; packing refusals name their real reason; the picker sees
the stops left and the wave's progress and can skip or defer a stop. Each walk runs in zh-CN and in English,
and in zh-CN every screen it passes is checked for English words (codes, units, lots and names excepted).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.browser.conftest import api, db_fetch, gs1, shot, sign_in, wedge, yymmdd
from udipick.services.demo import demo_gtin

pytestmark = pytest.mark.browser

EN = pytest.param("en", marks=pytest.mark.locale("en-US"), id="en")
ZH = pytest.param("zh-CN", marks=pytest.mark.locale("zh-CN"), id="zh-CN")

#: words that are codes or names everywhere, not English the handheld should have translated
CODE_WORDS = {"udipick", "LPN", "SSCC", "GTIN", "ASN", "PO", "SO", "QC", "PIN", "EN", "HTTP", "GS", "RMA", "ERP", "UDI"}


def english_words(page, allowed: set[str]) -> list[str]:
    """Latin-script words on screen that are not codes (with digits, all capitals, or listed) or data names."""
    text = page.evaluate("document.body.innerText")
    words = re.findall(r"[A-Za-z][A-Za-z'-]*[A-Za-z]|[A-Za-z]", text)
    tokens = set(re.findall(r"\S+", text))
    coded = {w for tok in tokens if re.search(r"\d", tok) for w in re.findall(r"[A-Za-z]+", tok)}
    return sorted(
        {w for w in words if w not in allowed and w not in CODE_WORDS and not w.isupper() and w not in coded and len(w) > 1}
    )


def data_names(database_url: str) -> set[str]:
    """Words of master data (item, supplier and customer names, user display names): shown as entered."""
    rows = db_fetch(
        database_url,
        "SELECT name FROM items UNION ALL SELECT display_name FROM users UNION ALL SELECT name FROM suppliers"
        " UNION ALL SELECT name FROM customers",
    )
    return {w for r in rows if r["name"] for w in re.findall(r"[A-Za-z][A-Za-z'-]*", r["name"])}


def assert_no_english(page, lang: str, allowed: set[str], where: str) -> None:
    if lang == "zh-CN":
        assert english_words(page, allowed) == [], f"English on the zh-CN {where} screen"


def one_line(page, test_id: str) -> bool:
    """The button's label is not broken inside a word: its text has one line box per word at most."""
    return page.evaluate(
        """(id) => { const el = document.querySelector(`[data-testid="${id}"]`);
            const r = document.createRange(); r.selectNodeContents(el);
            const lines = new Set([...r.getClientRects()].map(x => Math.round(x.top)));
            return lines.size <= el.textContent.trim().split(/\\s+/).length; }""",
        test_id,
    )


WORDS = {
    "en": {
        "role": "Receiver",
        "open": "open",
        "short": "short shelf life: 30 days left, 60 required",
        "refuse": "Refuse the goods",
        "label": "print job",
        "stops": "Stops left",
        "skipped": "Skipped",
        "deferred": "Deferred",
        "notPicked": "picked units of SYR-10ML wait to be packed",
    },
    "zh-CN": {
        "role": "收货员",
        "open": "进行中",
        "short": "效期不足：剩余 30 天，要求 60 天",
        "refuse": "拒收",
        "label": "打印任务",
        "stops": "剩余库位",
        "skipped": "已跳过",
        "deferred": "已推迟",
        "notPicked": "件已拣的 SYR-10ML 等待装箱",
    },
}
#: a document per language, so both walks can receive on one demo database
DOCUMENT = {"en": ("PO-1001", 200), "zh-CN": ("ASN-2002", 300)}


@pytest.mark.parametrize("lang", [EN, ZH])
def test_receiving_in_words_of_the_floor(page, console, server, browser_database_url, today, lang):
    console.expected_statuses.update({409, 422})
    w = WORDS[lang]
    allowed = data_names(browser_database_url)
    document, ordered = DOCUMENT[lang]
    name = db_fetch(browser_database_url, "SELECT name FROM items WHERE erp_id = 'SYR-10ML'")[0]["name"]
    box = demo_gtin(1001, 1)

    sign_in(page, "receiver")
    assert w["role"] in page.get_by_test_id("who-roles").inner_text()
    assert one_line(page, "tile-exceptions"), "'Exceptions' breaks inside the word"
    assert_no_english(page, lang, allowed, "home")
    page.get_by_test_id("tile-receive").click()
    page.get_by_test_id("receive-choose").wait_for()
    assert_no_english(page, lang, allowed, "receive")
    wedge(page, document)
    page.get_by_test_id("line-1").wait_for()
    assert page.get_by_test_id("line-1").get_by_test_id("line-name").inner_text() == name
    assert page.get_by_test_id("receipt-status").inner_text() == w["open"]

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

    # a short-dated lot goes to quarantine, and the reason is said in the user's language
    wedge(page, gs1(("01", box), ("17", yymmdd(today + dt.timedelta(days=30))), ("10", f"S-{lang[:2].upper()}")))
    page.get_by_test_id("toast").filter(has_text=w["short"]).wait_for()
    assert_no_english(page, lang, allowed, "receipt")

    # an expired lot: refused at the dock, and the handheld says so (not "take it to quarantine")
    wedge(page, gs1(("01", box), ("17", yymmdd(today - dt.timedelta(days=3))), ("10", f"X-{lang[:2].upper()}")))
    refusal = page.get_by_test_id("refusal")
    refusal.wait_for()
    assert refusal.get_attribute("data-code") == "lot-expired"
    todo = page.get_by_test_id("refusal-todo").inner_text()
    assert w["refuse"] in todo and "quarantine" not in todo and "待检" not in todo, todo
    assert_no_english(page, lang, allowed, "refusal")
    shot(page, f"words-receive-expired-{lang}")
    page.get_by_test_id("refusal-ok").click()

    # closing short asks why, with the reason field focused; then each plate shows where it goes
    page.get_by_test_id("receipt-close").click()
    page.get_by_test_id("ask-reason").wait_for()
    page.wait_for_function("document.activeElement && document.activeElement.dataset.testid === 'ask-reason'")
    page.keyboard.type("supplier short-shipped")
    page.get_by_test_id("ask-submit").click()
    page.get_by_test_id("receipt-status").get_by_text(WORDS[lang]["open"]).wait_for(state="detached")
    assert page.get_by_test_id("receipt-status").get_attribute("data-status") == "closed"
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


@pytest.mark.parametrize("lang", [EN, ZH])
def test_picking_stops_wave_progress_skip_and_defer_and_a_packing_refusal(page, console, server, browser_database_url, lang):
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

    # packing before anything of the order is picked: the real reason, not "someone else changed this"
    page.get_by_test_id("back").click()
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
