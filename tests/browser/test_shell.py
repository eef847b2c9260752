"""The handheld shell: sign-in, home by role, scanner capture, language, installability."""

from __future__ import annotations

import json
import re

import pytest

from tests.browser.conftest import GS, api, assert_touch_targets, gs1, shot, sign_in, wedge
from udipick.services.demo import demo_gtin

pytestmark = pytest.mark.browser


SYR_GTIN = demo_gtin(1001)  # SYR-10ML, each
BAD_GTIN = SYR_GTIN[:-1] + str((int(SYR_GTIN[-1]) + 1) % 10)


def test_a_picker_signs_in_and_the_device_id_is_remembered(page, console):
    console.expected_statuses.add(401)  # the wrong password, on purpose
    page.goto("/")
    page.get_by_test_id("login").wait_for()
    device = page.get_by_test_id("login-device").input_value()
    assert re.fullmatch(r"HH-[0-9A-F]{8}", device)
    shot(page, "01-login")
    page.get_by_test_id("login-user").fill("picker")
    page.get_by_test_id("login-password").fill("wrong-password")
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("login-error").wait_for()
    page.get_by_test_id("login-password").fill("picker-demo")
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("home").wait_for()
    assert page.get_by_test_id("tile-pick").is_visible()
    assert page.get_by_test_id("tile-receive").count() == 0, "a picker's home shows no receiving"
    shot(page, "02-home-picker")
    me = page.evaluate(
        """async () => {
            const s = JSON.parse(localStorage.getItem('udipick.session'));
            const r = await fetch('/api/v1/auth/me', {headers: {Authorization: 'Bearer ' + s.token,
                                                               'X-Device-Id': localStorage.getItem('udipick.deviceId')}});
            return r.json();
        }"""
    )
    assert me["username"] == "picker" and me["deviceId"] == device
    page.get_by_test_id("logout").click()
    page.get_by_test_id("login").wait_for()
    assert page.get_by_test_id("login-device").input_value() == device


def test_a_receiver_sees_receiving_and_putaway_on_home(page):
    sign_in(page, "receiver")
    assert page.get_by_test_id("tile-receive").is_visible()
    assert page.get_by_test_id("tile-putaway").is_visible()
    assert page.get_by_test_id("tile-pick").count() == 0
    assert_touch_targets(page)
    shot(page, "03-home-receiver")


def test_a_wedge_burst_with_gs_reaches_the_server_untouched(page):
    sign_in(page, "picker")
    page.get_by_test_id("tile-lookup").click()
    scan = gs1(("01", SYR_GTIN), ("17", "281231"), ("10", "SY2405B"), ("21", "X1"))
    assert GS in scan
    with page.expect_request("**/api/v1/scans/interpret") as req:
        wedge(page, scan)
    assert json.loads(req.value.post_data)["raw"] == scan
    result = page.get_by_test_id("lookup-result")
    result.wait_for()
    assert page.get_by_test_id("lookup-lot").inner_text() == "SY2405B"
    assert "SYR-10ML" in page.get_by_test_id("lookup-item").inner_text()
    assert page.get_by_test_id("scan-last").inner_text().count("␝") == scan.count(GS) == 1
    assert page.get_by_test_id("lookup-status").inner_text() == "No hold"
    assert_touch_targets(page)
    shot(page, "04-lookup")


def test_the_lookup_shows_a_hold_on_the_scanned_lot(page, server):
    api(
        server,
        "POST",
        "/api/v1/holds",
        {"scope": "lot", "item": "SYR-10ML", "lot": "SY2409C", "reason": "customer complaint, sterility"},
        user="qa",
    )
    sign_in(page, "picker")
    page.get_by_test_id("tile-lookup").click()
    wedge(page, gs1(("01", SYR_GTIN), ("10", "SY2409C")))
    page.get_by_test_id("lookup-holds").wait_for()
    assert "sterility" in page.get_by_test_id("lookup-holds").inner_text()
    assert page.get_by_test_id("lookup-status").inner_text() == "ON HOLD — do not use"
    shot(page, "04b-lookup-on-hold")


@pytest.mark.parametrize(
    "title",
    [
        pytest.param("AHM code (Alibaba Health)", marks=pytest.mark.locale("en-US"), id="en"),
        pytest.param("AHM 码 (阿里健康)", marks=pytest.mark.locale("zh-CN"), id="zh-CN"),
    ],
)
def test_the_lookup_names_an_ahm_code_and_shows_its_di_and_lot(page, title):
    sign_in(page, "picker")
    page.get_by_test_id("tile-lookup").click()
    wedge(page, "AHM.1000001.2000001.BN20240101A.SN0001.MD240101.ED20290101")
    result = page.get_by_test_id("lookup-result")
    result.wait_for()
    assert result.get_attribute("data-kind") == "ahm"
    assert result.locator("h2").inner_text() == title
    assert page.get_by_test_id("lookup-di").inner_text() == "AHM.1000001.2000001"
    assert page.get_by_test_id("lookup-lot").inner_text() == "20240101A"
    assert page.get_by_test_id("lookup-item").count() == 0  # no item carries an AHM DI yet


@pytest.mark.scan_gap(150)  # the app default is 50 ms; wider here so a CPU stall cannot split the burst
def test_a_burst_without_a_suffix_ends_on_the_inter_key_gap(page):
    sign_in(page, "picker")
    page.get_by_test_id("tile-lookup").click()
    page.get_by_test_id("scan-input").wait_for()
    with page.expect_request("**/api/v1/scans/interpret") as req:
        wedge(page, "LOC-A-01-02", suffix="")
    assert json.loads(req.value.post_data)["raw"] == "LOC-A-01-02"
    page.get_by_test_id("lookup-location").wait_for()
    assert "A-01-02" in page.get_by_test_id("lookup-location").inner_text()


@pytest.mark.scan_gap(100)
def test_slow_human_typing_waits_for_enter(page):
    sign_in(page, "picker")
    page.get_by_test_id("tile-lookup").click()
    field = page.get_by_test_id("scan-input")
    field.wait_for()
    requests = []
    page.on("request", lambda r: requests.append(r.url) if "/scans/interpret" in r.url else None)
    page.wait_for_function("document.activeElement && document.activeElement.dataset.testid === 'scan-input'")
    page.keyboard.type("LOC-A-01-03", delay=300)
    page.wait_for_timeout(400)
    assert requests == [] and field.input_value() == "LOC-A-01-03"
    page.keyboard.press("Enter")
    page.get_by_test_id("lookup-location").wait_for()


def test_an_unreadable_scan_takes_the_full_screen_and_says_what_to_do(page, console):
    console.expected_statuses.add(422)
    sign_in(page, "picker")
    page.get_by_test_id("tile-lookup").click()
    wedge(page, "01" + BAD_GTIN)  # wrong check digit
    refusal = page.get_by_test_id("refusal")
    refusal.wait_for()
    box = refusal.bounding_box()
    assert box["width"] == 360 and box["height"] == 640
    assert page.evaluate("document.documentElement.dataset.feedback") == "refused"
    shot(page, "05-refusal-unreadable")
    page.get_by_test_id("refusal-ok").click()
    refusal.wait_for(state="detached")


@pytest.mark.locale("zh-CN")
def test_the_language_defaults_to_the_device_and_switches_everywhere(page, console):
    console.expected_statuses.add(422)
    page.goto("/")
    assert page.get_by_test_id("login-submit").inner_text() == "登录"
    sign_in(page, "picker")
    assert page.get_by_test_id("tile-pick").inner_text().endswith("拣货")
    shot(page, "06-home-zh")
    page.get_by_test_id("lang-switch").click()
    assert page.get_by_test_id("tile-pick").inner_text().endswith("Pick")
    assert page.evaluate("document.documentElement.lang") == "en"
    page.reload()
    page.get_by_test_id("home").wait_for()
    assert page.get_by_test_id("tile-pick").inner_text().endswith("Pick"), "the choice survives a reload"
    page.get_by_test_id("tile-settings").click()
    page.get_by_test_id("lang-zh").click()
    assert page.get_by_test_id("settings").locator("h1").inner_text() == "设置"
    shot(page, "06b-settings-zh")
    page.get_by_test_id("back").click()
    page.get_by_test_id("tile-lookup").click()
    wedge(page, "01" + BAD_GTIN)
    page.get_by_test_id("refusal").wait_for()
    headline = page.get_by_test_id("refusal-headline").inner_text()
    assert headline == "GTIN 校验位错误" or "条码" in headline, headline
    shot(page, "07-refusal-zh")


def test_the_app_is_installable_and_its_shell_works_offline(page, context, console):
    page.goto("/")
    manifest = page.evaluate(
        """async () => {
            const href = document.querySelector('link[rel=manifest]').href;
            const r = await fetch(href);
            return {type: r.headers.get('content-type'), body: await r.json()};
        }"""
    )
    m = manifest["body"]
    assert m["display"] == "standalone" and m["start_url"] == "/" and m["name"]
    sizes = {i["sizes"] for i in m["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in m["icons"]:
        r = page.request.get(icon["src"])
        assert r.ok and r.body()[:8] == b"\x89PNG\r\n\x1a\n"
    scope = page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope.rstrip("/") == page.url.split("#")[0].rstrip("/")
    page.wait_for_function("navigator.serviceWorker.controller !== null || (location.reload(), false)", timeout=10000)
    sign_in(page, "picker")
    context.set_offline(True)
    console.offline_periods += 1
    page.reload()
    page.get_by_test_id("home").wait_for()
    page.get_by_test_id("tile-lookup").click()
    wedge(page, "LOC-A-01-01")
    page.get_by_test_id("toast").wait_for()
    page.get_by_test_id("offline").wait_for()
    shot(page, "08-offline-shell")
    context.set_offline(False)


def test_the_camera_decoder_loads_only_when_the_camera_opens_and_from_udipick_itself(page, context, server):
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    sign_in(page, "picker")
    page.get_by_test_id("tile-lookup").click()
    page.get_by_test_id("scan-input").wait_for()
    assert not [u for u in urls if "camera-" in u or ".wasm" in u], (
        "the camera polyfill must not be part of the first load"
    )
    context.grant_permissions(["camera"], origin=server)
    with page.expect_request(lambda r: r.url.endswith(".wasm"), timeout=20000) as wasm:
        page.get_by_test_id("scan-camera").click()
    page.get_by_test_id("camera-sheet").wait_for()
    assert wasm.value.url.startswith(server + "/assets/zxing_reader"), wasm.value.url
    assert all(u.startswith(server) for u in urls), [u for u in urls if not u.startswith(server)]
    shot(page, "09-camera")
    page.get_by_test_id("camera-sheet").get_by_role("button").click()
    page.get_by_test_id("camera-sheet").wait_for(state="detached")
