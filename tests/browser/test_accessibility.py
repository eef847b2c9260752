"""axe-core (the npm devDependency in pwa/, injected into the page) on every handheld and supervisor screen
in both languages: no serious or critical violation (contrast, names of buttons and fields, roles)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.screen_tour import ALL, release_demo_wave, sign_in_as, visit

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "pwa" / "node_modules" / "axe-core" / "axe.min.js"
LANGS = [
    pytest.param("en-US", marks=pytest.mark.locale("en-US"), id="en"),
    pytest.param("zh-CN", marks=pytest.mark.locale("zh-CN"), id="zh"),
]

RUN = """async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => ({rule: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' — ' + (n.failureSummary || '').split('\\n').slice(1, 2).join(''))}));
}"""


def axe_violations(page) -> list[dict]:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: cd pwa && npm ci")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    return page.evaluate(RUN)


@pytest.mark.parametrize("lang", LANGS)
def test_no_screen_has_a_serious_or_critical_accessibility_violation(page, server, lang):
    release_demo_wave(server)
    found: dict[str, list[dict]] = {}
    user = None
    for stop in ALL:
        if stop.user != user:
            if user is not None:
                page.evaluate("() => { location.hash = '#/home' }")
                page.get_by_test_id("logout").click()
                page.get_by_test_id("login").wait_for()
            if stop.user is not None:
                sign_in_as(page, stop.user)
            user = stop.user
        visit(page, stop)
        if v := axe_violations(page):
            found[stop.name] = v
    assert found == {}, "axe: " + "\n".join(
        f"{screen}: {v['rule']} ({v['impact']}) {v['help']}: {v['nodes']}" for screen, vs in found.items() for v in vs
    )
