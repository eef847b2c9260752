"""Issue 21 on the handheld, in English and zh-CN: every scan judged at once (a later lot refused at the
scan, no quantity asked), then the rest of the lot offered as one more scan with a quantity (a double
trigger picks nothing twice), packs said plainly, undo of the last pick, and a short pick that asks what was
found, is confirmed before it is sent and sits apart from the everyday buttons."""

from __future__ import annotations

import json
import urllib.error
import uuid

import pytest

from tests.browser.conftest import api, assert_touch_targets, db_fetch, gs1, shot, sign_in, wedge, yymmdd
from udipick.services.demo import demo_gtin

pytestmark = pytest.mark.browser

LANGS = [
    pytest.param("en", marks=pytest.mark.locale("en-US"), id="en"),
    pytest.param("zh", marks=pytest.mark.locale("zh-CN"), id="zh-CN"),
]

SAID = {
    "en": {
        "more": "Taken {taken} of {total} — take more of lot {lot} now?",
        "first": "Confirm the quantity or tap Done first",
        "undo": "Undo last pick ({n})",
        "box": "10 = 1 box of 10",
        "picked": "Picked {n} × {item}",
        "undone": "Undone: {n} back on {location}",
        "packs": "= 2 boxes of 10",
        "pack": "You scanned a pack of 10",
        "take": "Take {n} more",
        "short": "Short pick at {location}",
        "found": "Found 2. {missing} reported short",
        "shortDone": "Short pick recorded",
    },
    "zh": {
        "more": "已拣 {taken}/{total} — 现在再拣批号 {lot} 吗？",
        "first": "请先确认数量或点“完成”",
        "undo": "撤销上次拣货（{n}）",
        "box": "10 = 1 盒（每盒 10）",
        "picked": "已拣 {n} × {item}",
        "undone": "已撤销：{n} 件已放回 {location}",
        "packs": "= 2 盒（每盒 10）",
        "pack": "扫描的是 10 个装的包装",
        "take": "再拣 {n}",
        "short": "{location} 短拣",
        "found": "找到 2。{missing} 件报短拣",
        "shortDone": "已记录短拣",
    },
}


def _first_for_picker(server: str, order: str, item: str) -> dict:
    """Release the demo orders (once per module) and give the open task of ``order`` for ``item`` to the
    picker, so it is the first on their handheld; every other task is given back to whoever comes first."""
    for o in ("SO-5001", "SO-5002"):
        try:
            api(server, "POST", "/api/v1/waves", {"orders": [o]})
        except urllib.error.HTTPError as exc:
            assert exc.code == 409  # released by an earlier test of this module
    tasks = api(server, "GET", "/api/v1/picking/tasks")
    for t in tasks:
        if t["assignedTo"]:
            api(server, "POST", f"/api/v1/picking/tasks/{t['taskId']}/assign", {"picker": None})
    task = next(t for t in tasks if t["order"] == order and t["item"]["erpId"] == item)
    api(server, "POST", f"/api/v1/picking/tasks/{task['taskId']}/assign", {"picker": "picker"})
    return task


def _open_task(page, task: dict) -> None:
    sign_in(page, "picker")
    page.get_by_test_id("tile-pick").click()
    page.locator(f"[data-testid=pick-task][data-task-id='{task['taskId']}']").wait_for()
    wedge(page, task["location"]["barcode"])
    page.get_by_test_id("toast").filter(has_text=task["location"]["code"]).wait_for()


def _picks(database_url: str, task_id: int) -> list[dict]:
    return db_fetch(
        database_url,
        "SELECT quantity, undone_at IS NOT NULL AS undone FROM picks WHERE task_id = $1 ORDER BY id",
        task_id,
    )


def _undo_via_api(server: str, database_url: str, task_id: int) -> None:
    """Take back the picker's last pick on the task outside the handheld (to leave the task as it was)."""
    (last,) = db_fetch(
        database_url,
        "SELECT client_scan_id::text AS id FROM picks WHERE task_id = $1 AND undone_at IS NULL ORDER BY id DESC LIMIT 1",
        task_id,
    )
    api(
        server,
        "POST",
        f"/api/v1/picking/tasks/{task_id}/undo",
        {"clientScanId": str(uuid.uuid4()), "scanId": last["id"]},
        user="picker",
    )


@pytest.mark.parametrize("lang", LANGS)
def test_a_scan_is_picked_at_once_then_the_rest_of_the_lot_is_offered_and_undo_takes_the_quantity_back(
    page, console, server, browser_database_url, lang
):
    said = SAID[lang]
    task = _first_for_picker(server, "SO-5001", "SYR-10ML")
    _open_task(page, task)
    left = int(page.get_by_test_id("pick-remaining").inner_text())
    assert left > 3
    before = _picks(browser_database_url, task["taskId"])
    picked_before = task["quantity"] - left
    expiry = db_fetch(browser_database_url, "SELECT expiry FROM lots WHERE lot = $1", task["lot"])[0]["expiry"]
    unit = gs1(("01", demo_gtin(1001)), ("17", yymmdd(expiry)), ("10", task["lot"]))

    # the scanner fires twice (a double trigger): the first scan is picked at once, the second is not sent while the step is open
    wedge(page, unit)
    wedge(page, unit)
    step = page.get_by_test_id("pick-qty")
    step.wait_for()
    page.get_by_test_id("toast").filter(has_text=said["first"]).wait_for()
    page.get_by_test_id("pick-remaining").get_by_text(str(left - 1), exact=True).wait_for()
    title = said["more"].format(taken=picked_before + 1, total=task["quantity"], lot=task["lot"])
    assert page.get_by_test_id("pick-qty-title").inner_text() == title
    assert page.get_by_test_id("pick-qty-input").input_value() == str(left - 1)  # the rest, proposed
    assert page.get_by_test_id("pick-qty-plus").is_disabled()  # never more than what is left
    assert _picks(browser_database_url, task["taskId"]) == [*before, {"quantity": 1, "undone": False}]
    page.get_by_test_id("pick-qty-minus").click()
    confirm = page.get_by_test_id("pick-qty-confirm")
    assert confirm.inner_text() == said["take"].format(n=left - 2)
    assert_touch_targets(page)
    shot(page, f"50-pick-quantity-{lang}")
    confirm.click()
    page.get_by_test_id("toast").filter(has_text=said["picked"].format(n=left - 2, item="SYR-10ML")).wait_for()
    page.get_by_test_id("pick-remaining").get_by_text("1", exact=True).wait_for()
    assert step.count() == 0, "the quantity's own scan asks nothing more"
    assert _picks(browser_database_url, task["taskId"]) == [
        *before,
        {"quantity": 1, "undone": False},
        {"quantity": left - 2, "undone": False},
    ]

    # the last pick (the quantity's) can be taken back: a reversal through the ledger
    undo = page.get_by_test_id("pick-undo")
    assert undo.inner_text() == said["undo"].format(n=left - 2)
    undo.click()
    page.get_by_test_id("toast").filter(has_text=said["undone"].format(n=left - 2, location="A-01-02")).wait_for()
    page.get_by_test_id("pick-remaining").get_by_text(str(left - 1), exact=True).wait_for()
    assert page.get_by_test_id("pick-undo").count() == 0
    assert _picks(browser_database_url, task["taskId"]) == [
        *before,
        {"quantity": 1, "undone": False},
        {"quantity": left - 2, "undone": True},
    ]
    (state,) = db_fetch(browser_database_url, "SELECT picked, status FROM pick_tasks WHERE id = $1", task["taskId"])
    assert state == {"picked": task["picked"] + 1, "status": "open"}
    undone = db_fetch(
        browser_database_url,
        "SELECT data->>'quantity' AS q FROM outbox_events WHERE type = 'pick.undone.v1' AND (data->>'taskId')::int = $1",
        task["taskId"],
    )
    assert undone[-1] == {"q": str(left - 2)}
    _undo_via_api(server, browser_database_url, task["taskId"])  # leave the task as it was


@pytest.mark.parametrize("lang", LANGS)
def test_a_later_lot_is_refused_at_the_scan_with_no_quantity_asked(page, console, server, browser_database_url, lang):
    console.expected_statuses.add(409)  # the FEFO refusal, on purpose
    sent = []
    page.on("request", lambda r: sent.append(json.loads(r.post_data)) if r.url.endswith("/scans") else None)
    task = _first_for_picker(server, "SO-5001", "SYR-10ML")
    assert task["lot"] == "SY2405B"
    _open_task(page, task)
    left = page.get_by_test_id("pick-remaining").inner_text()
    before = _picks(browser_database_url, task["taskId"])
    expiry = db_fetch(browser_database_url, "SELECT expiry FROM lots WHERE lot = 'SY2409C'")[0]["expiry"]
    wedge(page, gs1(("01", demo_gtin(1001)), ("17", yymmdd(expiry)), ("10", "SY2409C")))
    refusal = page.get_by_test_id("refusal")
    refusal.wait_for()
    assert refusal.get_attribute("data-code") == "fefo-violation"
    assert "SY2405B" in page.get_by_test_id("refusal-headline").inner_text()
    assert page.get_by_test_id("pick-qty").count() == 0, "no quantity is asked before the verdict"
    assert page.get_by_test_id("refusal-override").is_visible()  # the override is offered at the scan
    assert len(sent) == 1 and sent[0].get("quantity") is None, sent  # the scan itself, sent as it was taken
    shot(page, f"53-pick-later-lot-refused-{lang}")
    page.get_by_test_id("refusal-ok").click()
    refusal.wait_for(state="detached")
    assert page.get_by_test_id("pick-qty").count() == 0
    assert page.get_by_test_id("pick-remaining").inner_text() == left
    assert _picks(browser_database_url, task["taskId"]) == before


@pytest.mark.parametrize("lang", LANGS)
def test_packs_are_said_plainly_and_the_rest_is_offered_in_whole_packs(
    page, console, server, browser_database_url, lang
):
    said = SAID[lang]
    task = _first_for_picker(server, "SO-5002", "GLOVE-NIT-M")
    assert task["remaining"] == 20
    _open_task(page, task)
    assert page.get_by_test_id("pick-packs").inner_text() == said["packs"]  # "take 20 = 2 boxes of 10"
    box = gs1(("01", demo_gtin(1004, 1)), ("10", task["lot"]))
    wedge(page, box)  # one box: 10 picked at once
    page.get_by_test_id("pick-qty").wait_for()
    page.get_by_test_id("pick-remaining").get_by_text("10", exact=True).wait_for()
    assert page.get_by_test_id("pick-qty-pack").inner_text() == said["pack"]
    assert page.get_by_test_id("pick-qty-input").input_value() == "10"  # the other box, proposed
    assert said["box"] in page.get_by_test_id("pick-qty-max").inner_text()
    assert page.get_by_test_id("pick-qty-minus").is_disabled() and page.get_by_test_id("pick-qty-plus").is_disabled()
    page.get_by_test_id("pick-qty-input").fill("5")  # not a whole box: cannot be confirmed
    assert page.get_by_test_id("pick-qty-confirm").is_disabled()
    page.get_by_test_id("pick-qty-input").fill("10")
    shot(page, f"51-pick-packs-{lang}")
    page.get_by_test_id("pick-qty-confirm").click()
    page.get_by_test_id("pick-qty").wait_for(state="detached")
    page.locator(f"[data-testid=pick-task][data-task-id='{task['taskId']}']").wait_for(state="detached")
    assert page.get_by_test_id("pick-undo").inner_text() == said["undo"].format(n=10)
    assert _picks(browser_database_url, task["taskId"])[-2:] == [{"quantity": 10, "undone": False}] * 2
    page.get_by_test_id("pick-undo").click()  # leave the task as it was for the next test
    page.get_by_test_id("toast").filter(has_text=said["undone"].format(n=10, location="A-02-01")).wait_for()
    _undo_via_api(server, browser_database_url, task["taskId"])


@pytest.mark.parametrize("lang", LANGS)
def test_done_closes_the_offer_and_scanning_goes_on(page, console, server, browser_database_url, lang):
    said = SAID[lang]
    task = _first_for_picker(server, "SO-5002", "GLOVE-NIT-M")
    assert task["remaining"] == 20
    _open_task(page, task)
    box = gs1(("01", demo_gtin(1004, 1)), ("10", task["lot"]))
    wedge(page, box)
    page.get_by_test_id("pick-qty").wait_for()
    page.get_by_test_id("pick-qty-done").click()  # the picker scans the second box instead
    page.get_by_test_id("pick-qty").wait_for(state="detached")
    wedge(page, box)
    page.get_by_test_id("pick-undo").wait_for()
    page.locator(f"[data-testid=pick-task][data-task-id='{task['taskId']}']").wait_for(state="detached")
    assert page.get_by_test_id("pick-qty").count() == 0, "nothing left of the task: nothing asked"
    assert _picks(browser_database_url, task["taskId"])[-2:] == [{"quantity": 10, "undone": False}] * 2
    page.get_by_test_id("pick-undo").click()
    page.get_by_test_id("toast").filter(has_text=said["undone"].format(n=10, location="A-02-01")).wait_for()
    _undo_via_api(server, browser_database_url, task["taskId"])


@pytest.mark.parametrize("lang", LANGS)
def test_a_short_pick_asks_what_was_found_and_is_confirmed_before_it_is_sent(
    page, console, server, browser_database_url, lang
):
    said = SAID[lang]
    task = _first_for_picker(server, "SO-5002", "PEN-NDL-4MM")
    _open_task(page, task)
    left = int(page.get_by_test_id("pick-remaining").inner_text())
    location = task["location"]["code"]
    short, tote = page.get_by_test_id("pick-short"), page.get_by_test_id("pick-tote-button")
    # apart from the everyday button: 24 px from Tote (beside it or below it), and it only opens a form
    t, s = tote.bounding_box(), short.bounding_box()
    assert max(s["x"] - (t["x"] + t["width"]), s["y"] - (t["y"] + t["height"])) >= 24, (t, s)
    short.click()
    form = page.get_by_test_id("short-form")
    form.wait_for()
    assert said["short"].format(location=location) in form.inner_text()
    assert page.get_by_test_id("short-confirm").is_disabled(), "what was found must be said"
    page.get_by_test_id("short-cancel").click()
    form.wait_for(state="detached")
    short.click()
    page.get_by_test_id("short-found").fill(str(left + 1))
    assert page.get_by_test_id("short-confirm").is_disabled(), "never more than the task needs"
    page.get_by_test_id("short-found").fill("2")
    assert said["found"].format(missing=left) in page.get_by_test_id("short-summary").inner_text()
    assert_touch_targets(page)
    shot(page, f"52-pick-short-{lang}")
    (state,) = db_fetch(browser_database_url, "SELECT status FROM pick_tasks WHERE id = $1", task["taskId"])
    assert state == {"status": "open"}, "nothing is sent before the short pick is confirmed"
    page.get_by_test_id("short-confirm").click()
    page.get_by_test_id("toast").filter(has_text=said["shortDone"]).wait_for()
    (ev,) = db_fetch(
        browser_database_url,
        "SELECT (data->>'expected')::int AS expected, (data->>'found')::int AS found FROM outbox_events"
        " WHERE type = 'pick.shorted.v1' AND (data->>'taskId')::int = $1",
        task["taskId"],
    )
    assert ev == {"expected": left, "found": 2}
