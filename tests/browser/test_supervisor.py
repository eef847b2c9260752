"""The supervisor area: a tablet (1024×768) layout with side navigation, tabs on a handheld, wave
release, holds with an electronic signature, print-job retry, and the area hidden from pickers.

Screenshots go to artifacts/screenshots/; with ``UDIPICK_DOC_SHOTS=1`` they replace the committed ones in
docs/screenshots/ that docs/pwa.md shows (they carry times and ids, so an ordinary run leaves them alone)."""

from __future__ import annotations

import json
import os
import urllib.error
from pathlib import Path

import pytest

from tests.browser.conftest import ROOT, SHOTS, api, assert_touch_targets, db_fetch, sign_in

pytestmark = pytest.mark.browser

DOCS_SHOTS = ROOT / "docs" / "screenshots"


@pytest.fixture
def desk(browser, server: str, console, request):
    """A page in a tablet-sized, non-touch browser (1024×768), English unless the test says otherwise."""
    marker = request.node.get_closest_marker("locale")
    ctx = browser.new_context(
        base_url=server,
        viewport={"width": 1024, "height": 768},
        device_scale_factor=1,
        locale=marker.args[0] if marker else "en-US",
        service_workers="allow",
    )
    pg = ctx.new_page()
    _watch(pg, console)
    yield pg
    ctx.close()
    assert console.errors == [], "console errors:\n" + "\n".join(console.errors)


@pytest.fixture(params=[(412, 732), (360, 640)], ids=lambda size: "x".join(map(str, size)))
def handheld(browser, server: str, console, request):
    """A touch handheld: 412×732 (the bigger phones and scanners) and 360×640 (the small rugged ones)."""
    width, height = request.param
    ctx = browser.new_context(
        base_url=server,
        viewport={"width": width, "height": height},
        device_scale_factor=1,
        is_mobile=True,
        has_touch=True,
        locale="en-US",
        service_workers="allow",
    )
    pg = ctx.new_page()
    _watch(pg, console)
    yield pg
    ctx.close()
    assert console.errors == [], "console errors:\n" + "\n".join(console.errors)


def _watch(pg, console) -> None:
    def on_console(msg):
        if msg.type == "error" and not console.allowed(msg.text):
            console.errors.append(f"{msg.text} @ {msg.location.get('url', '')}")

    pg.on("console", on_console)
    pg.on("pageerror", lambda exc: console.errors.append(f"uncaught: {exc}"))


def doc_shot(page, name: str) -> Path:
    folder = DOCS_SHOTS if os.environ.get("UDIPICK_DOC_SHOTS") == "1" else SHOTS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def open_area(page, user: str = "supervisor") -> None:
    sign_in(page, user)
    page.get_by_test_id("tile-sup").click()
    page.get_by_test_id("sup-nav-release").click()
    page.get_by_test_id("sup-section-release").wait_for()


def test_a_supervisor_on_a_tablet_releases_a_wave_and_reads_a_refusal_in_place(desk, console, browser_database_url):
    console.expected_statuses.add(409)  # the second release names an order that does not exist, on purpose
    open_area(desk)
    # tablet layout: the navigation is a column on the left, the section fills the rest of the width
    nav, main = desk.get_by_test_id("sup-nav").bounding_box(), desk.get_by_test_id("sup-section-release").bounding_box()
    assert nav["x"] == 0 and 200 <= nav["width"] <= 280 and nav["height"] > 600
    assert main["x"] >= nav["width"] and main["width"] > 700
    sections = ("waves", "pickers", "exceptions", "kpis", "release", "holds", "print-jobs", "replenishment", "counts")
    assert [desk.get_by_test_id(f"sup-nav-{s}").is_visible() for s in sections] == [True] * len(sections)

    desk.get_by_test_id("wave-max-orders").fill("1")
    desk.get_by_test_id("wave-submit").click()
    result = desk.get_by_test_id("wave-result")
    result.wait_for()
    wave_id = int(result.get_attribute("data-wave-id"))
    released = desk.get_by_test_id("wave-released").inner_text()
    [wave] = db_fetch(browser_database_url, "SELECT count(*) AS tasks FROM pick_tasks WHERE wave_id = $1", wave_id)
    assert wave["tasks"] > 0 and released == f"Wave {wave_id} released — orders: 1, pick tasks: {wave['tasks']}"
    order = desk.get_by_test_id("wave-result-orders").inner_text()
    [doc] = db_fetch(browser_database_url, "SELECT status FROM outbound_documents WHERE erp_id = $1", order)
    assert doc["status"] == "released"
    desk.get_by_test_id("wave-replenishment").wait_for()
    desk.mouse.move(0, 0)
    doc_shot(desk, "supervisor-1024")

    desk.get_by_test_id("wave-orders").fill("SO-9999, SO-9999")
    desk.get_by_test_id("wave-submit").click()
    problem = desk.get_by_test_id("wave-problem")
    problem.wait_for()
    assert problem.get_attribute("data-code") == "conflict"
    assert "SO-9999" in desk.get_by_test_id("wave-problem-detail").inner_text()
    assert "The wave was not released" in problem.inner_text()
    assert result.get_attribute("data-wave-id") == str(wave_id), "the last wave released stays on screen"


def test_a_wave_that_outruns_the_pick_face_gets_a_replenishment_task_the_supervisor_cancels(
    desk, server, browser_database_url
):
    """400 syringes: the pick face holds fewer, so the rest is picked from reserve (R-01-01) and the wave's
    answer brings a replenishment task, which the supervisor finds under Replenishment and cancels."""
    order = {
        "erpId": "SO-REPL",
        "version": 1,
        "number": "SO-REPL",
        "customer": "CUST-RIVER",
        "shipTo": {"name": "Riverside Clinic"},
        "lines": [{"lineNo": 1, "item": "SYR-10ML", "quantity": 400}],
    }
    api(server, "POST", "/api/v1/erp/sales-orders", order, user="admin")
    open_area(desk)
    desk.get_by_test_id("wave-orders").fill("SO-REPL")
    desk.get_by_test_id("wave-submit").click()
    desk.get_by_test_id("wave-replenishment").wait_for()
    wave_id = int(desk.get_by_test_id("wave-result").get_attribute("data-wave-id"))
    tasks = db_fetch(
        browser_database_url, "SELECT id, status FROM replenishment_tasks WHERE wave_id = $1 ORDER BY id", wave_id
    )
    assert len(tasks) >= 1 and {t["status"] for t in tasks} == {"open"}
    assert f"{len(tasks)} replenishment tasks created" in desk.get_by_test_id("wave-replenishment").inner_text()

    desk.get_by_test_id("sup-nav-replenishment").click()
    task = desk.locator(f"[data-testid=replen-task][data-task-id='{tasks[0]['id']}']")
    task.wait_for()
    task.get_by_test_id("replen-cancel").click()
    desk.get_by_test_id("replen-cancel-reason").fill("face refilled by hand")
    desk.get_by_test_id("replen-cancel-submit").click()
    task.wait_for(state="detached")
    [row] = db_fetch(
        browser_database_url, "SELECT status, cancel_reason FROM replenishment_tasks WHERE id = $1", tasks[0]["id"]
    )
    assert row == {"status": "cancelled", "cancel_reason": "face refilled by hand"}
    desk.get_by_test_id("replen-filter-cancelled").click()
    desk.locator(f"[data-testid=replen-task][data-task-id='{tasks[0]['id']}']").wait_for()
    desk.mouse.move(0, 0)
    doc_shot(desk, "supervisor-1024-replenishment")


def test_a_supervisor_sees_a_hold_placed_and_releases_it_with_a_signature(desk, console, server, browser_database_url):
    console.expected_statuses.add(403)  # the wrong signature password, on purpose
    placed = api(
        server,
        "POST",
        "/api/v1/holds",
        {"scope": "lot", "item": "GLOVE-NIT-M", "lot": "GL-77-02", "reason": "torn cartons reported"},
        user="qa",
    )
    open_area(desk)
    desk.get_by_test_id("sup-nav-holds").click()
    hold = desk.locator(f"[data-testid=hold][data-hold-id='{placed['holdId']}']")
    hold.wait_for()
    assert hold.get_by_test_id("hold-reason").inner_text() == "torn cartons reported"
    assert hold.get_by_test_id("hold-lot").inner_text() == "GL-77-02"

    # one placed here, through the form
    desk.get_by_test_id("hold-scope").select_option("lot")
    desk.get_by_test_id("hold-input-item").fill("SYR-10ML")
    desk.get_by_test_id("hold-input-lot").fill("SY2409C")
    desk.get_by_test_id("hold-reason-input").fill("sterility complaint")
    desk.get_by_test_id("hold-submit").click()
    desk.get_by_test_id("toast").wait_for()
    [mine] = db_fetch(
        browser_database_url, "SELECT id FROM holds WHERE reason = 'sterility complaint' AND released_at IS NULL"
    )
    desk.locator(f"[data-testid=hold][data-hold-id='{mine['id']}']").wait_for()
    desk.mouse.move(0, 0)
    doc_shot(desk, "supervisor-1024-holds")

    hold.get_by_test_id("hold-release").click()
    form = desk.get_by_test_id("hold-release-form")
    form.wait_for()
    assert "Release the hold" in desk.get_by_test_id("sign-meaning").inner_text()
    desk.get_by_test_id("hold-release-reason").fill("cartons checked, goods intact")
    desk.get_by_test_id("hold-release-password").fill("not-my-password")
    desk.get_by_test_id("hold-release-sign").click()
    refused = desk.get_by_test_id("hold-release-problem")
    refused.wait_for()
    assert refused.get_attribute("data-code") == "signature-rejected"
    assert desk.get_by_test_id("hold-release-password").input_value() == ""
    desk.get_by_test_id("hold-release-password").fill("supervisor-demo")
    desk.get_by_test_id("hold-release-sign").click()
    form.wait_for(state="detached")
    hold.wait_for(state="detached")
    assert "released" in desk.get_by_test_id("toast").inner_text()
    [row] = db_fetch(
        browser_database_url,
        "SELECT h.release_reason, u.username FROM holds h JOIN users u ON u.id = h.released_by WHERE h.id = $1",
        placed["holdId"],
    )
    assert row == {"release_reason": "cartons checked, goods intact", "username": "supervisor"}
    desk.get_by_test_id("holds-filter-all").click()
    desk.locator(f"[data-testid=hold][data-hold-id='{placed['holdId']}'][data-active=false]").wait_for()


def test_a_print_job_without_a_printer_is_listed_and_its_retry_says_why(desk, console, server):
    console.expected_statuses.add(409)
    with pytest.raises(urllib.error.HTTPError) as kept:
        api(server, "POST", "/api/v1/labels/location/print", {"data": {"code": "A-01-01"}}, user="picker")
    job_id = json.loads(kept.value.read())["job_id"]
    open_area(desk)
    desk.get_by_test_id("sup-nav-print-jobs").click()
    desk.get_by_test_id("print-filter-no_printer").click()
    job = desk.locator(f"[data-testid=print-job][data-job-id='{job_id}']")
    job.wait_for()
    assert job.get_by_test_id("print-status").inner_text() == "No printer"
    job.get_by_test_id("print-retry").click()
    problem = desk.get_by_test_id("print-problem")
    problem.wait_for()
    assert problem.get_attribute("data-code") == "no-printer-for-label"
    assert "No printer is set up for this label" in problem.inner_text()
    desk.mouse.move(0, 0)
    doc_shot(desk, "supervisor-1024-print-jobs")


def test_the_area_offers_only_what_the_server_lists(desk):
    """A server without the holds API (an older one) gets no holds entry; the document is the server's own."""

    def without_holds(route):
        doc = route.fetch().json()
        doc["paths"].pop("/api/v1/holds/{hold_id}/release")
        route.fulfill(json=doc)

    desk.route("**/schema/openapi.json", without_holds)
    open_area(desk)
    assert desk.get_by_test_id("sup-nav-print-jobs").is_visible()
    assert desk.get_by_test_id("sup-nav-holds").count() == 0


def test_a_picker_is_never_offered_the_supervisor_area_nor_downloads_it(handheld):
    chunks: list[str] = []
    handheld.on("request", lambda r: chunks.append(r.url) if "/assets/supervisor" in r.url else None)
    sign_in(handheld, "picker")
    assert handheld.get_by_test_id("tile-pick").is_visible()
    assert handheld.get_by_test_id("tile-sup").count() == 0
    handheld.goto("/#/sup/holds")
    handheld.get_by_test_id("home").wait_for()
    assert handheld.get_by_test_id("supervisor").count() == 0
    assert chunks == [], "the supervisor chunk is not part of a picker's download"


def test_on_a_handheld_the_sections_are_tabs_and_every_target_is_thumb_sized(handheld):
    chunks: list[str] = []
    handheld.on("request", lambda r: chunks.append(r.url) if "/assets/supervisor" in r.url else None)
    sign_in(handheld, "supervisor")
    assert chunks == [], "home does not load the supervisor chunk"
    handheld.get_by_test_id("tile-sup").click()
    handheld.get_by_test_id("sup-nav-release").click()
    handheld.get_by_test_id("wave-submit").wait_for()
    assert any(u.endswith(".js") for u in chunks), "the area came as its own chunk"
    width = handheld.viewport_size["width"]
    nav = handheld.get_by_test_id("sup-nav").bounding_box()
    assert nav["width"] == width and nav["height"] < 90, "a row of tabs, not a side column"
    assert handheld.evaluate("document.documentElement.scrollWidth") == width, "nothing wider than the screen"
    assert_touch_targets(handheld)
    doc_shot(handheld, f"supervisor-{width}")
    handheld.get_by_test_id("sup-nav-holds").click()
    handheld.get_by_test_id("hold-form").wait_for()
    handheld.get_by_test_id("holds-list").wait_for()
    assert handheld.evaluate("document.documentElement.scrollWidth") == width
    assert_touch_targets(handheld)


@pytest.mark.locale("zh-CN")
def test_the_area_speaks_the_device_language_and_switches(desk):
    open_area(desk)
    assert desk.get_by_test_id("sup-nav-release").inner_text().endswith("下发波次")
    assert desk.get_by_test_id("wave-submit").inner_text() == "下发波次"
    desk.get_by_test_id("sup-nav-holds").click()
    desk.get_by_test_id("hold-submit").wait_for()
    assert desk.get_by_test_id("hold-submit").inner_text() == "设置冻结"
    desk.locator("[data-testid=hold], [data-testid=holds-none]").first.wait_for()
    desk.mouse.move(0, 0)
    doc_shot(desk, "supervisor-1024-zh")
    desk.get_by_test_id("lang-switch").click()
    assert desk.get_by_test_id("hold-submit").inner_text() == "Place hold"
    assert desk.get_by_test_id("sup-nav-print-jobs").inner_text().endswith("Print jobs")
