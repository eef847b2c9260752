"""The screenshot gallery of docs/pwa.md: every handheld and supervisor screen at 360×640 and 412×732, in
zh-CN and en, against a demo server (``udipick serve --demo`` on a fresh database), written as
``docs/screenshots/<screen>_<lang>_<w>x<h>.png``.

    cd pwa && npm run build && cd .. && PYTHONPATH=$PWD/server python scripts/screenshots.py

The screens are the list the accessibility test walks (tests/browser/screen_tour.py), plus the pick screen
just after a location scan (``pick-scanned``: the answer and the main actions on screen). Needs PostgreSQL
(``UDIPICK_BENCH_DATABASE_URL``, as the benchmarks) and Chromium (``--chromium``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from _server import fresh_database, server  # noqa: E402
from tests.browser.conftest import LAUNCH_ARGS  # noqa: E402
from tests.browser.screen_tour import ALL, release_demo_wave, scan_pick_location, sign_in_as, visit  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
SIZES = ((360, 640), (412, 732))
LANGS = (("en", "en-US"), ("zh-CN", "zh-CN"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    dist = ROOT / "pwa" / "dist"
    if not (dist / "index.html").exists():
        raise SystemExit("pwa/dist is missing: cd pwa && npm run build")
    OUT.mkdir(parents=True, exist_ok=True)
    written = 0
    with fresh_database() as url, server(url, demo=True, extra_env={"UDIPICK_PWA_DIR": str(dist)}) as base:
        release_demo_wave(base)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=LAUNCH_ARGS)
            for lang, locale in LANGS:
                for w, h in SIZES:
                    users = sorted({s.user or "" for s in ALL})
                    for user in users:
                        ctx = browser.new_context(
                            base_url=base,
                            viewport={"width": w, "height": h},
                            device_scale_factor=1,
                            is_mobile=True,
                            has_touch=True,
                            locale=locale,
                            service_workers="block",
                        )
                        page = ctx.new_page()
                        if user:
                            sign_in_as(page, user)
                        for stop in [s for s in ALL if (s.user or "") == user]:
                            visit(page, stop)
                            page.screenshot(path=str(OUT / f"{stop.name}_{lang}_{w}x{h}.png"))
                            written += 1
                            if stop.name == "pick":
                                scan_pick_location(page)
                                page.screenshot(path=str(OUT / f"pick-scanned_{lang}_{w}x{h}.png"))
                                written += 1
                        ctx.close()
            browser.close()
    print(f"wrote {written} screenshots to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
