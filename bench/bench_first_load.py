"""First-load JavaScript of the handheld PWA, measured on the wire from a real ``udipick serve`` (issue 21).

Starts ``udipick serve --demo`` on a fresh database with the built PWA (``pwa/dist``: run ``npm run build``
first), opens ``/`` in headless Chromium at 360×640 with the service worker blocked (so every byte the first
screen needs is a page request), and sums, per resource type, the bytes each response put on the wire:
its encoded body as the server sent it (``Content-Encoding`` applied) and, separately, with its response
headers. Then, with plain HTTP requests that accept brotli as Chromium does, it adds up what the service
worker precaches in the background after that first start (the rest of the app shell, for offline use)
and what the camera's lazy decoder costs when it is first opened.

    python bench/bench_first_load.py [--chromium /usr/bin/chromium] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import fresh_database, machine, server  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "pwa" / "dist"
ACCEPT = "gzip, deflate, br, zstd"  # Chromium's Accept-Encoding over plain HTTP
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def first_screen(base: str, chromium: str) -> dict[str, dict[str, int]]:
    """Bytes per resource type the first screen (sign-in) loaded: body on the wire, headers, requests."""
    from playwright.sync_api import sync_playwright

    totals: dict[str, dict[str, int]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
        ctx = browser.new_context(viewport={"width": 360, "height": 640}, is_mobile=True, service_workers="block")
        page = ctx.new_page()
        finished: list = []
        page.on("requestfinished", lambda req: finished.append(req))
        page.goto(base + "/", wait_until="networkidle")
        page.get_by_test_id("login").wait_for()
        for req in finished:
            sizes = req.sizes()
            kind = "js" if req.resource_type == "script" or req.url.endswith(".js") else req.resource_type
            t = totals.setdefault(kind, {"body": 0, "headers": 0, "requests": 0})
            t["body"] += sizes["responseBodySize"]
            t["headers"] += sizes["responseHeadersSize"]
            t["requests"] += 1
        browser.close()
    return totals


def on_the_wire(client: httpx.Client, base: str, path: str) -> tuple[int, str]:
    """Encoded body bytes of one GET that accepts what Chromium accepts, and its Content-Encoding."""
    with client.stream("GET", base + path, headers={"accept-encoding": ACCEPT}) as r:
        r.raise_for_status()
        return sum(len(c) for c in r.iter_raw()), r.headers.get("content-encoding", "identity")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if not (DIST / "index.html").exists():
        raise SystemExit("pwa/dist is missing: cd pwa && npm run build")

    with fresh_database() as url, server(url, demo=True, extra_env={"UDIPICK_PWA_DIR": str(DIST)}) as base:
        runs = [first_screen(base, args.chromium) for _ in range(args.runs)]
        with httpx.Client() as client:
            sw = client.get(base + "/sw.js").text
            precache = json.loads(re.search(r"const PRECACHE = (\[.*?\]);", sw).group(1))
            background = {"js": 0, "other": 0}
            for entry in precache:
                path = "/" + entry.removeprefix("./")
                n, _ = on_the_wire(client, base, path)
                background["js" if path.endswith(".js") else "other"] += n
            wasm = next((DIST / "assets").glob("zxing_reader-*.wasm")).name
            wasm_wire, wasm_coding = on_the_wire(client, base, f"/assets/{wasm}")
            camera = next((DIST / "assets").glob("camera-*.js")).name
            camera_wire, _ = on_the_wire(client, base, f"/assets/{camera}")

    js = [r["js"] for r in runs]
    assert all(j == js[0] for j in js), f"runs differ: {js}"
    kb = lambda n: f"{n / 1024:.1f} kB"  # noqa: E731
    print(f"machine: {machine()}")
    print(
        f"first screen, JavaScript on the wire: {kb(js[0]['body'])} in {js[0]['requests']} responses "
        f"({kb(js[0]['body'] + js[0]['headers'])} with response headers)"
    )
    for kind, t in sorted(runs[0].items()):
        if kind != "js":
            print(f"first screen, {kind}: {kb(t['body'])} in {t['requests']} responses")
    print(
        f"service worker precache list in full (fetched after the first start, in the background; the "
        f"first screen's files come from the HTTP cache): JS {kb(background['js'])}, other {kb(background['other'])}"
    )
    print(f"camera, on first use: decoder JS {kb(camera_wire)}, WebAssembly {kb(wasm_wire)} ({wasm_coding})")


if __name__ == "__main__":
    main()
