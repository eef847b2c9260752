"""Offline mid-pick: the Wi-Fi drops between the racks, the picker keeps scanning, the scans queue in
IndexedDB with their client scan ids and replay in order on reconnect. The server must hold exactly
those picks, once each; a scan refused on replay becomes an exception to resolve, never dropped.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.browser.conftest import api, db_fetch, gs1, shot, sign_in, wedge, yymmdd
from udipick.services.demo import demo_gtin

pytestmark = pytest.mark.browser


def test_three_scans_taken_offline_are_picked_exactly_once_after_reconnect(
    page, context, console, server, browser_database_url, browser
):
    console.expected_statuses.update({409, 422})  # the wrong-lot scan refused on replay
    api(server, "POST", "/api/v1/waves", {"orders": ["SO-5001"]})
    sign_in(page, "picker")
    page.wait_for_function("navigator.serviceWorker.controller !== null")  # the shell and task list get cached
    page.get_by_test_id("tile-pick").click()
    page.get_by_test_id("pick-task").wait_for()
    assert page.get_by_test_id("pick-location").inner_text() == "A-01-02"
    assert page.get_by_test_id("pick-lot").inner_text() == "SY2405B"
    task_id = int(page.get_by_test_id("pick-task").get_attribute("data-task-id"))
    wedge(page, "LOC-A-01-02")
    page.get_by_test_id("toast").filter(has_text="A-01-02").wait_for()
    expiry = db_fetch(browser_database_url, "SELECT expiry FROM lots WHERE lot = 'SY2405B'")[0]["expiry"]
    unit = gs1(("01", demo_gtin(1001)), ("17", yymmdd(expiry)), ("10", "SY2405B"))
    wrong_lot = gs1(("01", demo_gtin(1001)), ("10", "SY2409C"))  # a lot that is not on this shelf

    context.set_offline(True)
    console.offline_periods += 1
    page.get_by_test_id("offline").wait_for()
    # the quantity step works offline too (issue 21): after a queued scan it offers the rest of the task,
    # and a chosen quantity is one more queued scan; the remainder on screen counts both
    wedge(page, unit)
    page.get_by_test_id("waiting").get_by_text("1 scans waiting to sync").wait_for()
    page.get_by_test_id("pick-remaining").get_by_text("29", exact=True).wait_for()
    assert page.get_by_test_id("pick-qty-input").input_value() == "29"
    page.get_by_test_id("pick-qty-input").fill("1")
    page.get_by_test_id("pick-qty-confirm").click()
    page.get_by_test_id("waiting").get_by_text("2 scans waiting to sync").wait_for()
    page.get_by_test_id("pick-remaining").get_by_text("28", exact=True).wait_for()
    for n, raw in enumerate((unit, wrong_lot), start=3):
        wedge(page, raw)
        page.get_by_test_id("waiting").get_by_text(f"{n} scans waiting to sync").wait_for()
        page.get_by_test_id("pick-qty-done").click()
    assert page.get_by_test_id("pick-remaining").inner_text() == "26"
    shot(page, "40-pick-offline-queued")
    queued = page.evaluate(
        """() => new Promise((resolve, reject) => {
            const req = indexedDB.open('udipick');
            req.onsuccess = () => {
                const all = req.result.transaction('outbox').objectStore('outbox').getAll();
                all.onsuccess = () => resolve(all.result.map(q => q.clientScanId));
                all.onerror = () => reject(all.error);
            };
        })"""
    )
    assert len(queued) == 4 and len(set(queued)) == 4
    assert db_fetch(browser_database_url, "SELECT count(*) AS n FROM picks")[0]["n"] == 0, (
        "nothing reached the server offline"
    )

    # a reload with no Wi-Fi: the service worker serves the app and the cached task list, and the
    # queued scans still count against the task
    page.reload()
    page.get_by_test_id("pick-task").wait_for()
    assert page.get_by_test_id("pick-remaining").inner_text() == "26"
    page.get_by_test_id("waiting").get_by_text("4 scans waiting to sync").wait_for()
    wedge(page, "LOC-A-01-02")  # checked on the handheld against the cached task
    page.get_by_test_id("toast").filter(has_text="A-01-02").wait_for()
    shot(page, "42-pick-offline-after-reload")

    replayed = []
    page.on(
        "request",
        lambda r: replayed.append(json.loads(r.post_data)["clientScanId"]) if r.url.endswith("/scans") else None,
    )
    context.set_offline(False)
    page.get_by_test_id("exceptions-link").wait_for()
    page.get_by_test_id("waiting").wait_for(state="detached")
    assert replayed == queued, "replayed in the order taken"

    picks = db_fetch(
        browser_database_url, "SELECT client_scan_id::text AS id, quantity, task_id FROM picks ORDER BY id"
    )
    assert sorted(p["id"] for p in picks) == sorted(queued[:3])
    assert all(p["quantity"] == 1 and p["task_id"] == task_id for p in picks)
    task = db_fetch(browser_database_url, "SELECT picked FROM pick_tasks WHERE id = $1", task_id)[0]
    assert task["picked"] == 3
    page.get_by_test_id("pick-remaining").get_by_text("27", exact=True).wait_for()

    # the same scans sent again (a response lost on the way back) change nothing
    for csid in queued[:3]:
        status = page.evaluate(
            """async ([taskId, csid, raw]) => {
                const s = JSON.parse(localStorage.getItem('udipick.session'));
                const r = await fetch(`/api/v1/picking/tasks/${taskId}/scans`, {method: 'POST',
                    headers: {'Content-Type': 'application/json', Authorization: 'Bearer ' + s.token,
                              'X-Device-Id': localStorage.getItem('udipick.deviceId')},
                    body: JSON.stringify({clientScanId: csid, raw, locationRaw: 'LOC-A-01-02'})});
                return [r.status, r.headers.get('Idempotent-Replayed')];
            }""",
            [task_id, csid, unit],
        )
        assert status == [200, "true"]
    assert db_fetch(browser_database_url, "SELECT count(*) AS n, sum(quantity) AS q FROM picks")[0] == {"n": 3, "q": 3}

    # the refused one took the whole screen at once, loud, saying what to do with the unit already in the tote
    refusal = page.get_by_test_id("refusal")
    assert refusal.get_attribute("data-replayed") == "true" and refusal.get_attribute("data-code") == "fefo-violation"
    assert "put it back on the shelf" in page.get_by_test_id("refusal-unit").inner_text()
    assert page.evaluate("document.documentElement.dataset.feedback") == "refused"
    page.get_by_test_id("refusal-ok").click()
    refusal.wait_for(state="detached")

    # the refused one is kept as an exception until a person resolves it
    page.get_by_test_id("exceptions-link").click()
    exception = page.get_by_test_id("exception")
    exception.wait_for()
    assert "SY2409C" in exception.inner_text() and "A-01-02" in exception.inner_text()
    shot(page, "41-exceptions-after-sync")
    page.get_by_test_id("exception-resolve").click()
    exception.wait_for(state="detached")
    page.get_by_text("No refused scans").wait_for()

    # the server raised the refusal in the shared queue, as a scan taken offline (issue 17) ...
    (raised,) = db_fetch(browser_database_url, "SELECT kind, code, queued, lot FROM exceptions")
    assert raised == {"kind": "fefo-violation", "code": "fefo-violation", "queued": True, "lot": "SY2409C"}
    # ... and the handheld told the server its queue emptied
    for _ in range(50):
        reported = db_fetch(browser_database_url, "SELECT queued, online FROM device_queues")
        if reported == [{"queued": 0, "online": True}]:
            break
        time.sleep(0.1)
    assert reported == [{"queued": 0, "online": True}]

    # a supervisor on another device resolves it there, with a note
    desk = browser.new_context(base_url=server, viewport={"width": 1024, "height": 768}, service_workers="block")
    try:
        sup = desk.new_page()
        sign_in(sup, "supervisor")
        sup.get_by_test_id("tile-exceptions").click()
        item = sup.get_by_test_id("server-exception")
        item.wait_for()
        # the kind in words, with the lot it names (the English detail is the supervisor desk's)
        assert "FEFO violation" in item.inner_text() and "SY2409C" in item.inner_text()
        assert sup.get_by_test_id("server-exception-resolve").is_disabled(), "a note is required"
        sup.get_by_test_id("server-exception-note").fill("lot SY2409C put back on its shelf")
        sup.get_by_test_id("server-exception-resolve").click()
        item.wait_for(state="detached")
    finally:
        desk.close()
    (done,) = db_fetch(browser_database_url, "SELECT resolved_by_name, resolution_note FROM exceptions")
    assert done == {"resolved_by_name": "supervisor", "resolution_note": "lot SY2409C put back on its shelf"}
