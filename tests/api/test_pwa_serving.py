"""How ``udipick serve`` hands out the PWA (server/udipick/api/pwa.py): the build's precompressed copies by
``Accept-Encoding``, hashed assets cached for a year as immutable, and the files that keep their names
across releases (index.html, the service worker) revalidated every time. A handheld on a weak Wi-Fi
downloads the app once per release and a fifth of its bytes, and a new release is seen at the next start.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import test_settings as settings_for_test
from udipick.api.app import create_app

JS = b"export const greeting = 'hello';\n" * 200
HTML = b"<!doctype html><html><head><script type=module src=/assets/index-AbC123xy.js></script></head></html>\n" * 20
SW = b"self.addEventListener('fetch', () => {});\n" * 50


def _br(data: bytes) -> bytes:
    """Stands in for the build's brotli copy: the server never compresses, it picks the copy, so the
    test only needs to recognise which file went out (the real copies: pwa/scripts/compress.mjs)."""
    return b"BR" + gzip.compress(data, mtime=0)[:40]


@pytest.fixture
def pwa_dir(tmp_path: Path) -> Path:
    """A build as ``npm run build`` leaves it: every text file next to its .br and .gz copies."""
    (tmp_path / "assets").mkdir()
    files = {"index.html": HTML, "sw.js": SW, "assets/index-AbC123xy.js": JS}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        (tmp_path / (name + ".br")).write_bytes(_br(data))
        (tmp_path / (name + ".gz")).write_bytes(gzip.compress(data))
    (tmp_path / "icon.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))  # not compressible: no copies
    return tmp_path


@pytest.fixture
async def web(demo_database_url: str, pwa_dir: Path):
    app = create_app(settings_for_test(pwa_dir=pwa_dir), database_url=demo_database_url)
    async with AsyncTestClient(app=app) as c:
        yield c


async def _raw(client, path: str, accept: str | None) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and the body as it crossed the wire (httpx would otherwise decode it)."""
    headers = {"accept-encoding": accept} if accept is not None else {"accept-encoding": "identity"}
    async with client.stream("GET", path, headers=headers) as r:
        body = b"".join([chunk async for chunk in r.aiter_raw()])
        return r.status_code, dict(r.headers), body


async def test_hashed_javascript_goes_out_as_brotli_cached_for_a_year(web):
    status, headers, body = await _raw(web, "/assets/index-AbC123xy.js", "gzip, deflate, br, zstd")
    assert status == 200
    assert headers["content-encoding"] == "br"
    assert body == _br(JS)
    assert int(headers["content-length"]) == len(body)
    assert headers["cache-control"] == "public, max-age=31536000, immutable"
    assert headers["vary"] == "Accept-Encoding"
    assert headers["content-type"].startswith("text/javascript")


async def test_a_browser_without_brotli_gets_gzip_and_one_without_either_the_file_itself(web):
    status, headers, body = await _raw(web, "/assets/index-AbC123xy.js", "gzip, deflate")
    assert (status, headers["content-encoding"]) == (200, "gzip")
    assert gzip.decompress(body) == JS
    assert headers["vary"] == "Accept-Encoding"

    status, headers, body = await _raw(web, "/assets/index-AbC123xy.js", "br;q=0, gzip;q=0")
    assert status == 200 and "content-encoding" not in headers
    assert body == JS
    assert headers["vary"] == "Accept-Encoding"  # a cache in between keeps the copies apart


@pytest.mark.parametrize("path", ["/", "/index.html", "/sw.js"])
async def test_index_and_service_worker_are_revalidated_on_every_start(web, path):
    status, headers, body = await _raw(web, path, "br, gzip")
    assert status == 200
    assert headers["cache-control"] == "no-cache"
    assert headers["content-encoding"] == "br"
    assert body in (_br(HTML), _br(SW))
    # revalidation: the same version answers 304 with no body
    r = await web.get(path, headers={"accept-encoding": "br, gzip", "if-none-match": headers["etag"]})
    assert r.status_code == 304 and r.content == b""
    assert r.headers["cache-control"] == "no-cache"


async def test_index_html_is_a_web_page(web):
    r = await web.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.content == HTML  # httpx decodes what it asked for


async def test_a_file_with_no_compressed_copy_is_sent_as_it_is(web, pwa_dir):
    status, headers, body = await _raw(web, "/icon.png", "br, gzip")
    assert status == 200
    assert "content-encoding" not in headers and "vary" not in headers
    assert body == (pwa_dir / "icon.png").read_bytes()
    assert headers["content-type"] == "image/png"


@pytest.mark.parametrize(
    "path",
    [
        "/assets/missing-Zz999999.js",
        "/../pyproject.toml",
        "/assets/..%2F..%2Fetc%2Fpasswd",
        "/.hidden",
        # names the file system refuses outright (a NUL byte, a name longer than 255 bytes): were 500s
        "/assets/index-AbC123xy.js%00.png",
        "/" + "x" * 300,
        "/" + "d/" * 3000 + "x.js",
    ],
)
async def test_what_is_not_in_the_build_is_a_404_problem(web, path):
    r = await web.get(path)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_the_api_is_untouched_by_the_files_route(web):
    r = await web.get("/healthz")
    assert r.status_code == 200
    assert "immutable" not in r.headers.get("cache-control", "")
