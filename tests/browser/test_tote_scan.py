"""Totes on the pick screen (issue 21): a site that requires a tote before an order's first pick says so
and refuses the pick without one; a tote label is recognised wherever it is scanned on the pick screen;
after tapping "Tote" the scan field has the focus again, so the tote's scan is not lost and its Enter
does not switch tote mode off."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from tests.browser.conftest import api, db_fetch, gs1, shot, sign_in, wedge, yymmdd

pytestmark = pytest.mark.browser

FIRST = {"en": "Scan a tote for order", "zh-CN": "先扫描订单"}
PICKED = {"en": "Picked", "zh-CN": "已拣"}


@pytest.fixture(scope="module")
def totes_required(server):
    site = api(server, "GET", "/api/v1/admin/site", user="admin")
    body = {k: v for k, v in site.items() if k not in ("updatedAt", "updatedBy")}
    api(server, "PUT", "/api/v1/admin/site", {**body, "pickRequiresTote": True}, user="admin")


def first_task(server: str, order: str) -> dict:
    api(server, "POST", "/api/v1/waves", {"orders": [order]})
    tasks = api(server, "GET", "/api/v1/picking/tasks", user="picker")
    assert tasks[0]["order"] == order and tasks[0]["toteRequired"] is True and tasks[0]["tote"] is None
    return tasks[0]


@pytest.mark.parametrize(
    ("lang", "order"),
    [
        pytest.param("en", "SO-5002", id="en"),
        pytest.param("zh-CN", "SO-5001", id="zh-CN", marks=pytest.mark.locale("zh-CN")),
    ],
)
def test_a_tote_is_required_before_the_first_pick_and_recognised_wherever_it_is_scanned(
    lang, order, page, console, server, browser_database_url, totes_required
):
    console.expected_statuses.update({409, 422})
    task = first_task(server, order)
    expiry = dt.date.fromisoformat(task["expiry"])
    unit = gs1(
        ("01", task["item"]["gtin"]),
        ("17", yymmdd(expiry)),
        ("10", task["lot"]),
        *([("21", task["serial"])] if task["serial"] else []),
    )
    sign_in(page, "picker")
    page.get_by_test_id("tile-pick").click()
    page.get_by_test_id("pick-task").wait_for()
    assert FIRST[lang] in page.get_by_test_id("pick-tote-needed").inner_text()
    wedge(page, task["location"]["barcode"])
    page.get_by_test_id("toast").filter(has_text=task["location"]["code"]).wait_for()

    # no tote yet: the unit is refused before it goes into the cart
    wedge(page, unit)
    refusal = page.get_by_test_id("refusal")
    refusal.wait_for()
    assert refusal.get_attribute("data-code") == "tote-required"
    assert order in page.get_by_test_id("refusal-headline").inner_text()
    shot(page, f"50-tote-required-{lang}")
    page.get_by_test_id("refusal-ok").click()
    refusal.wait_for(state="detached")

    # "Tote", then the scan: the field has the focus again, the tote is taken, tote mode ends
    first, second = f"TOTE-{lang[:2].upper()}-1", f"TOTE-{lang[:2].upper()}-2"
    page.get_by_test_id("pick-tote-button").click()
    wedge(page, first)  # waits for the scan field to have the focus
    page.get_by_test_id("pick-tote").get_by_text(first, exact=True).wait_for()
    assert page.get_by_test_id("pick-tote-button").get_attribute("aria-pressed") == "false"
    page.get_by_test_id("pick-tote-needed").wait_for(state="detached")

    # a tote label scanned where the item is expected is still a tote (another empty one for this order)
    wedge(page, second)
    page.get_by_test_id("pick-tote").get_by_text(second, exact=True).wait_for()
    assert refusal.count() == 0
    wedge(page, unit)
    page.get_by_test_id("toast").filter(has_text=PICKED[lang]).wait_for()
    picked_into = db_fetch(
        browser_database_url,
        "SELECT c.code FROM picks p JOIN pick_tasks t ON t.id = p.task_id JOIN containers c ON c.id = t.tote_id"
        " WHERE p.task_id = $1",
        task["taskId"],
    )
    assert picked_into == [{"code": second}]
    shot(page, f"51-tote-picked-{lang}")

    # leave no open task for the next run in this module
    while open_tasks := api(server, "GET", "/api/v1/picking/tasks", user="picker"):
        api(
            server,
            "POST",
            f"/api/v1/picking/tasks/{open_tasks[0]['taskId']}/short",
            {"clientScanId": str(uuid.uuid4())},
            user="picker",
        )
