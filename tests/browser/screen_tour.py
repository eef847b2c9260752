"""Every handheld and supervisor screen, as a list the browser tests and ``scripts/screenshots.py`` walk:
who signs in to see it, its address and the test id that says it has drawn. One list, so a new screen is
checked for accessibility and photographed by adding one row."""

from __future__ import annotations

from dataclasses import dataclass

from tests.browser.conftest import api, wedge


@dataclass(frozen=True)
class Stop:
    name: str
    user: str | None  # None: signed out
    hash: str
    ready: str  # data-testid shown once the screen has drawn


HANDHELD: tuple[Stop, ...] = (
    Stop("login", None, "", "login"),
    Stop("home", "picker", "#/home", "home"),
    Stop("pick", "picker", "#/pick", "pick-task"),
    Stop("pack", "picker", "#/pack", "packing"),
    Stop("count", "picker", "#/count", "count"),
    Stop("move", "picker", "#/move", "move"),
    Stop("counttasks", "picker", "#/counttasks", "count-tasks"),
    Stop("lookup", "picker", "#/lookup", "lookup"),
    Stop("exceptions", "picker", "#/exceptions", "exceptions"),
    Stop("settings", "picker", "#/settings", "settings"),
    Stop("receive", "receiver", "#/receive", "receive-choose"),
    Stop("putaway", "receiver", "#/putaway", "putaway"),
    Stop("return", "receiver", "#/return", "return"),
    Stop("qc", "qa", "#/qc", "qc"),
    Stop("scrap", "qa", "#/scrap", "scrap"),
    Stop("gsp", "qa", "#/gsp", "gsp"),
)
SUPERVISOR: tuple[Stop, ...] = tuple(
    Stop(f"sup-{s}", "supervisor", f"#/sup/{s}", "supervisor")
    for s in (
        "waves",
        "pickers",
        "exceptions",
        "kpis",
        "release",
        "holds",
        "print-jobs",
        "replenishment",
        "counts",
        "stock",
    )
)
ALL = HANDHELD + SUPERVISOR


def release_demo_wave(base: str) -> None:
    """A picker's task list needs a released wave: SO-5001 (syringes first, at A-01-02)."""
    if not [t for t in api(base, "GET", "/api/v1/picking/tasks", user="picker") if t["order"] == "SO-5001"]:
        api(base, "POST", "/api/v1/waves", {"orders": ["SO-5001"]})


def sign_in_as(page, user: str) -> None:
    page.goto("/")
    page.get_by_test_id("login-user").fill(user)
    page.get_by_test_id("login-password").fill(f"{user}-demo")
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("home").wait_for()


def visit(page, stop: Stop) -> None:
    """Open the screen and wait until it has drawn (and, for the supervisor area, its section's content)."""
    if stop.user is None:
        page.goto("/")
    else:
        page.evaluate("h => { location.hash = h }", stop.hash)
    page.get_by_test_id(stop.ready).first.wait_for()
    if stop.name.startswith("sup-"):
        page.wait_for_function(
            "h => !document.querySelector('[data-testid$=\"-loading\"]') && location.hash === h", arg=stop.hash
        )
    page.wait_for_load_state("networkidle")
    page.evaluate("window.scrollTo(0, 0)")


def scan_pick_location(page) -> None:
    """On the pick screen: scan the first task's location, so the answer (a toast) is shown."""
    wedge(page, "LOC-" + page.get_by_test_id("pick-location").inner_text())
    page.get_by_test_id("toast").wait_for()
