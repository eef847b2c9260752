"""A FEFO override signed on the picker's handheld: the picker scans a later-expiring lot, the refusal
names the lot to take, a supervisor signs (user name + password, the signature's meaning shown) with a
reason, and the same scan is picked under a fresh client scan id. A wrong password picks nothing, and
offline the form says a signature needs the server instead of queueing it.
"""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import api, assert_touch_targets, db_fetch, gs1, shot, sign_in, wedge, yymmdd
from udipick.services.demo import demo_gtin

pytestmark = pytest.mark.browser

SYRINGE = demo_gtin(1001)
REASON = "customer accepts the later lot, confirmed by phone"


def _refused_later_lot(page, server, database_url) -> tuple[int, str]:
    """Release SO-5001, go to its first task (syringes, lot SY2405B at A-01-02) and scan lot SY2409C,
    which expires later: the FEFO refusal. Returns the task id and the refused scan's raw code."""
    if not [t for t in api(server, "GET", "/api/v1/picking/tasks", user="picker") if t["order"] == "SO-5001"]:
        api(server, "POST", "/api/v1/waves", {"orders": ["SO-5001"]})
    sign_in(page, "picker")
    page.get_by_test_id("tile-pick").click()
    page.get_by_test_id("pick-task").wait_for()
    assert page.get_by_test_id("pick-location").inner_text() == "A-01-02"
    assert page.get_by_test_id("pick-lot").inner_text() == "SY2405B"
    task_id = int(page.get_by_test_id("pick-task").get_attribute("data-task-id"))
    wedge(page, "LOC-A-01-02")
    page.get_by_test_id("toast").filter(has_text="A-01-02").wait_for()
    expiry = db_fetch(database_url, "SELECT expiry FROM lots WHERE lot = 'SY2409C'")[0]["expiry"]
    raw = gs1(("01", SYRINGE), ("17", yymmdd(expiry)), ("10", "SY2409C"))
    wedge(page, raw)  # judged at the scan: no quantity is asked before the refusal (issue 21)
    refusal = page.get_by_test_id("refusal")
    refusal.wait_for()
    assert page.get_by_test_id("pick-qty").count() == 0
    assert refusal.get_attribute("data-code") == "fefo-violation"
    headline = page.get_by_test_id("refusal-headline").inner_text()
    assert "SY2405B" in headline and "A-01-02" in headline, headline
    assert "SY2409C" in page.get_by_test_id("refusal-todo").inner_text()
    return task_id, raw


def _picked(database_url: str, task_id: int) -> int:
    return db_fetch(database_url, "SELECT picked FROM pick_tasks WHERE id = $1", task_id)[0]["picked"]


def test_a_wrong_supervisor_password_shows_the_problem_and_picks_nothing(page, console, server, browser_database_url):
    console.expected_statuses.update({403, 409})  # the FEFO refusal and the rejected signature, on purpose
    task_id, _ = _refused_later_lot(page, server, browser_database_url)
    before = _picked(browser_database_url, task_id)
    page.get_by_test_id("refusal-override").click()
    form = page.get_by_test_id("override-form")
    form.wait_for()
    assert page.get_by_test_id("sign-meaning").inner_text().count("approve FEFO override") == 1
    assert "SY2409C" in page.get_by_test_id("override-scanned").inner_text()
    assert "SY2405B" in page.get_by_test_id("override-first").inner_text()
    page.get_by_test_id("override-reason").fill(REASON)
    page.get_by_test_id("override-user").fill("supervisor")
    page.get_by_test_id("override-password").fill("not-the-password")
    page.get_by_test_id("override-submit").click()
    error = page.get_by_test_id("override-error")
    error.wait_for()
    text = error.inner_text()
    assert "Electronic signature rejected" in text and "does not match" in text, text
    assert page.get_by_test_id("override-password").input_value() == ""  # typed again, never kept
    assert page.get_by_test_id("override-reason").input_value() == REASON  # the rest of the form is kept
    assert_touch_targets(page)
    shot(page, "24-pick-override-rejected")

    # a picker cannot approve their own exception either
    page.get_by_test_id("override-user").fill("picker")
    page.get_by_test_id("override-password").fill("picker-demo")
    page.get_by_test_id("override-submit").click()
    page.get_by_test_id("override-error").filter(has_text="may not approve").wait_for()

    assert _picked(browser_database_url, task_id) == before
    assert (
        db_fetch(browser_database_url, "SELECT count(*) AS n FROM picks WHERE fefo_override_by IS NOT NULL")[0]["n"]
        == 0
    )
    failed = db_fetch(
        browser_database_url,
        "SELECT username, detail->>'meaning' AS meaning FROM audit_log WHERE action = 'signature' AND outcome = 'failed'"
        " ORDER BY id",
    )
    assert {"username": "supervisor", "meaning": "approve FEFO override"} in failed

    # cancelled, the refused scan is still there to override until the next scan
    page.get_by_test_id("override-cancel").click()
    page.get_by_test_id("override-pending").wait_for()
    page.get_by_test_id("override-open").wait_for()


def test_a_supervisor_signs_a_fefo_override_on_the_handheld_and_the_pick_is_accepted(
    page, context, console, server, browser_database_url
):
    console.expected_statuses.update({409})
    sent = []
    page.on(
        "request",
        lambda r: (
            sent.append((r.url.rsplit("/", 1)[1], json.loads(r.post_data)))
            if "/picking/tasks/" in r.url and r.method == "POST"
            else None
        ),
    )
    task_id, raw = _refused_later_lot(page, server, browser_database_url)
    before = _picked(browser_database_url, task_id)
    shot(page, "23-pick-fefo-refusal-override")
    page.get_by_test_id("refusal-override").click()
    page.get_by_test_id("override-form").wait_for()
    page.get_by_test_id("override-reason").fill(REASON)
    page.get_by_test_id("override-user").fill("supervisor")
    page.get_by_test_id("override-password").fill("supervisor-demo")

    # offline: a signature cannot be queued; the form says so and keeps the scan
    context.set_offline(True)
    console.offline_periods += 1
    page.get_by_test_id("override-offline").wait_for()
    page.get_by_test_id("override-submit").click()
    page.get_by_test_id("override-error").filter(has_text="needs the server").wait_for()
    shot(page, "25-pick-override-offline")
    assert (
        db_fetch(browser_database_url, "SELECT count(*) AS n FROM picks WHERE fefo_override_by IS NOT NULL")[0]["n"]
        == 0
    )
    context.set_offline(False)
    page.get_by_test_id("override-offline").wait_for(state="detached")

    page.get_by_test_id("override-submit").click()
    page.get_by_test_id("toast").filter(has_text="Override signed by supervisor").wait_for()
    assert "picked 1 × SYR-10ML" in page.get_by_test_id("toast").inner_text()
    page.get_by_test_id("override-form").wait_for(state="detached")
    page.get_by_test_id("override-pending").wait_for(state="detached")
    page.get_by_test_id("pick-remaining").get_by_text(str(30 - before - 1), exact=True).wait_for()
    shot(page, "26-pick-override-accepted")

    # the same scan (code and location), under a fresh scan id: the refused one keeps its refusal
    scans = [body for what, body in sent if what == "scans"]
    overrides = [body for what, body in sent if what == "override"]
    assert len(overrides) == 1, sent
    refused_id = scans[-1]["clientScanId"]
    override = overrides[0]
    assert override["raw"] == raw and override["locationRaw"] == "LOC-A-01-02"
    assert override["clientScanId"] != refused_id
    assert override["reason"] == REASON and override["supervisor"]["username"] == "supervisor"

    picks = db_fetch(
        browser_database_url,
        "SELECT p.client_scan_id::text AS id, l.lot, p.quantity, u.username AS approver, p.override_reason"
        " FROM picks p JOIN lots l ON l.id = p.lot_id LEFT JOIN users u ON u.id = p.fefo_override_by WHERE p.task_id = $1",
        task_id,
    )
    assert picks == [
        {
            "id": override["clientScanId"],
            "lot": "SY2409C",
            "quantity": 1,
            "approver": "supervisor",
            "override_reason": REASON,
        }
    ]
    replies = {
        r["id"]: r["status_code"]
        for r in db_fetch(
            browser_database_url,
            "SELECT client_scan_id::text AS id, status_code FROM scan_replies WHERE client_scan_id::text = ANY($1)",
            [refused_id, override["clientScanId"]],
        )
    }
    assert replies == {refused_id: 409, override["clientScanId"]: 200}
    task = next(t for t in api(server, "GET", "/api/v1/picking/tasks", user="picker") if t["taskId"] == task_id)
    assert task["picked"] == before + 1
