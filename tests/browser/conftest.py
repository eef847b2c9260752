"""Browser tests: the built PWA (``pwa/dist``) in headless Chromium, driven by Playwright, against a
real ``udipick serve --demo`` process on a fresh copy of the demo database.

Every page records console errors and uncaught exceptions; a test fails if any appear. The only
messages let through are Chromium's own network lines for an HTTP refusal the test provoked on
purpose (a 4xx problem answer is how udipick says "no" to a scan) and for requests made while the
test has switched the browser offline.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import _admin_exec, _dsn, _run_in_thread, _with_database

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "pwa" / "dist"
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("UDIPICK_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # a synthetic camera (test pattern) so the camera path can be opened headless
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
GS = "\x1d"
_counter = itertools.count()


def pytest_configure(config):
    config.addinivalue_line("markers", "locale(tag): browser locale for the handheld context (default en-US)")
    config.addinivalue_line("markers", "scan_gap(ms): keyboard-wedge burst gap the handheld is configured with")


@pytest.fixture(scope="session")
def pwa_dist() -> Path:
    """The production build the server hands out; built once if missing (needs Node and npm)."""
    if not (DIST / "index.html").exists():
        subprocess.run(["bash", str(ROOT / "scripts" / "build-pwa.sh")], check=True, cwd=ROOT)
    assert (DIST / "sw.js").exists(), "pwa/dist has no service worker: run scripts/build-pwa.sh"
    return DIST


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _udipick() -> list[str]:
    exe = Path(sys.executable).with_name("udipick")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "udipick.cli"]


def in_thread(coro_fn):
    """Run an async function to completion on a fresh loop in another thread.

    Playwright's sync API keeps its own event loop running on the main thread, so pytest-asyncio's
    async fixtures (and ``asyncio.run``) cannot be used there once a browser is up.
    """
    out: list = []
    _run_in_thread(lambda: out.append(asyncio.run(coro_fn())))
    return out[0]


def db_fetch(database_url: str, sql: str, *args):
    """Rows from the test database (what the server really stored)."""

    async def go():
        conn = await asyncpg.connect(_dsn(database_url))
        try:
            return [dict(r) for r in await conn.fetch(sql, *args)]
        finally:
            await conn.close()

    return in_thread(go)


@pytest.fixture(scope="module")
def browser_database_url(pg_admin_url: str, template_names: dict[str, str]) -> Iterator[str]:
    """A fresh copy of the demo database (like ``demo_database_url``, without an event loop here)."""
    name = f"udipick_b_{os.getpid()}_{next(_counter)}"
    in_thread(lambda: _admin_exec(pg_admin_url, f"CREATE DATABASE {name} TEMPLATE {template_names['demo']}"))
    yield _with_database(pg_admin_url, name)
    in_thread(lambda: _admin_exec(pg_admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(scope="module")
def server(browser_database_url: str, pwa_dist: Path) -> Iterator[str]:
    """``udipick serve --demo`` on a free port over a fresh demo database, one per test module (a flow
    that changes stock gets its own module); yields its base URL."""
    port = _free_port()
    data_dir = tempfile.mkdtemp(prefix="udipick-browser-")
    env = {
        **os.environ,
        "DATABASE_URL": browser_database_url,
        "UDIPICK_PWA_DIR": str(pwa_dist),
        "UDIPICK_DATA_DIR": data_dir,
        "UDIPICK_RUN_RELAY": "false",
    }
    log = open(Path(data_dir) / "server.log", "w+")
    proc = subprocess.Popen(
        [*_udipick(), "serve", "--demo", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"udipick serve exited with {proc.returncode}:\n{log.read()}")
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError("udipick serve did not start within 30 s:\n" + log.read())
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="package")
def browser():
    """One Chromium for the browser tests. Package scope, not session: Playwright's sync API keeps an
    event loop running in the main thread while it is open, which would break every async test after it."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield b
        b.close()


@dataclass
class Console:
    errors: list[str] = field(default_factory=list)
    #: network lines Chromium logs for refusals a test provoked (status codes), e.g. {422, 409}
    expected_statuses: set[int] = field(default_factory=set)
    offline_periods: int = 0

    def allowed(self, text: str) -> bool:
        m = re.match(r"Failed to load resource: the server responded with a status of (\d+)", text)
        if m and int(m.group(1)) in self.expected_statuses:
            return True
        if self.offline_periods and "net::ERR_INTERNET_DISCONNECTED" in text:
            return True
        return False


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def context(browser, server: str, console: Console, request):
    """A handheld: 360×640 touch screen, English unless the test says otherwise.

    Scans in these tests end with CR like a configured wedge scanner; the burst gap is set to 1 s so a
    CPU stall on a busy test machine cannot cut a simulated burst in two (a real scanner types a whole
    code in a few milliseconds). Tests of the gap itself set their own with ``scan_gap``."""
    marker = request.node.get_closest_marker("locale")
    locale = marker.args[0] if marker else "en-US"
    ctx = browser.new_context(
        base_url=server,
        viewport={"width": 360, "height": 640},
        device_scale_factor=1,
        is_mobile=True,
        has_touch=True,
        locale=locale,
        service_workers="allow",
    )
    gap = request.node.get_closest_marker("scan_gap")
    ctx.add_init_script(
        f"localStorage.getItem('udipick.scanGapMs') || localStorage.setItem('udipick.scanGapMs', '{gap.args[0] if gap else 1000}')"
    )
    yield ctx
    ctx.close()
    assert console.errors == [], "console errors:\n" + "\n".join(console.errors)


@pytest.fixture
def page(context, console: Console):
    pg = context.new_page()

    def on_console(msg):
        if msg.type == "error" and not console.allowed(msg.text):
            console.errors.append(f"{msg.text} @ {msg.location.get('url', '')}")

    pg.on("console", on_console)
    pg.on("pageerror", lambda exc: console.errors.append(f"uncaught: {exc}"))
    return pg


def shot(page, name: str) -> Path:
    """A 360×640 screenshot for the reviewer (artifacts/screenshots, not committed)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def wedge(page, data: str, suffix: str = "\r") -> None:
    """Type like a keyboard-wedge scanner into the focused capture field: GS as a real 0x1D character.

    Waits until the screen's capture field has the focus (a scanner types into whatever is focused;
    on a slow machine the screen may still be rendering after a tap)."""
    page.wait_for_function("document.activeElement && document.activeElement.dataset.testid === 'scan-input'")
    parts = data.split(GS)
    for i, part in enumerate(parts):
        if part:
            page.keyboard.type(part)
        if i < len(parts) - 1:
            page.keyboard.insert_text(GS)
    if suffix == "\r":
        page.keyboard.press("Enter")
    elif suffix == "\t":
        page.keyboard.press("Tab")


def sign_in(page, username: str, password: str | None = None) -> None:
    page.goto("/")
    page.get_by_test_id("login-user").fill(username)
    page.get_by_test_id("login-password").fill(password or f"{username}-demo")
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("home").wait_for()


def gs1(*pairs: tuple[str, str]) -> str:
    """A GS1 element string as a scanner sends it: variable-length fields end with GS unless last."""
    fixed = {"00": 18, "01": 14, "02": 14, "11": 6, "13": 6, "15": 6, "17": 6}
    out = ""
    for i, (ai, value) in enumerate(pairs):
        out += ai + value
        if ai not in fixed and i < len(pairs) - 1:
            out += GS
    return out


def api(base: str, method: str, path: str, body: dict | None = None, *, user: str = "supervisor") -> dict:
    """Call udipick as a demo user, outside the browser (test set-up that is not the handheld's job,
    such as a supervisor releasing a wave)."""
    import json

    def call(m, p, b, headers):
        req = urllib.request.Request(
            base + p,
            method=m,
            data=json.dumps(b).encode() if b is not None else None,
            headers={"Content-Type": "application/json", **headers},
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"null")

    login = call(
        "POST", "/api/v1/auth/login", {"username": user, "password": f"{user}-demo", "deviceId": "test-setup"}, {}
    )
    return call(method, path, body, {"Authorization": f"Bearer {login['token']}", "X-Device-Id": "test-setup"})


def yymmdd(d) -> str:
    return d.strftime("%y%m%d")


def assert_touch_targets(page, minimum: int = 48) -> None:
    """Every visible button and input is at least 48×48 CSS px (gloved thumbs)."""
    small = page.evaluate(
        """(min) => [...document.querySelectorAll('button, input, select, a[href]')]
            .filter(el => el.offsetParent !== null)
            .map(el => { const r = el.getBoundingClientRect();
                         return {id: el.dataset.testid || el.textContent.trim().slice(0, 20), w: r.width, h: r.height}; })
            .filter(r => r.w < min || r.h < min)""",
        minimum,
    )
    assert small == [], f"touch targets under {minimum} px: {small}"
