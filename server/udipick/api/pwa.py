"""The handheld PWA's files (``pwa/dist``), served the way a warehouse Wi-Fi needs them.

The build writes a brotli (``.br``) and a gzip (``.gz``) copy next to every compressible file
(``pwa/scripts/compress.mjs``), so nothing is compressed per request: the handler picks the copy the
browser accepts and says so in ``Content-Encoding`` (``Vary: Accept-Encoding`` for caches in between).
Files under ``assets/`` carry Vite's content hash in their name and never change, so they are cached for
a year and marked immutable; ``index.html``, the service worker, the manifest and the icons keep their
names across releases and are revalidated on every use (``no-cache`` with an ETag, answered ``304``).
"""

from __future__ import annotations

import mimetypes
from pathlib import Path, PurePosixPath

from litestar import Request, Response, Router, get, head
from litestar.exceptions import NotFoundException
from litestar.response import File

#: Vite names what it emits under assets/ by content hash: a changed file is a new URL
HASHED_PREFIX = "assets/"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
#: best first; the suffix the build gives each copy
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".wasm": "application/wasm",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


def accepted_encodings(header: str) -> set[str]:
    """Content codings an ``Accept-Encoding`` value allows (RFC 9110 §12.5.3): ``q=0`` refuses one."""
    out: set[str] = set()
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        q = 1.0
        for p in params.split(";"):
            key, _, value = p.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if name and q > 0:
            out.add(name.strip().lower())
    return out


def cache_control(relative: str) -> str:
    return IMMUTABLE if relative.startswith(HASHED_PREFIX) else REVALIDATE


def _etag(path: Path, coding: str | None) -> str:
    st = path.stat()
    return f'"{st.st_mtime_ns:x}-{st.st_size:x}{"-" + coding if coding else ""}"'


def pwa_router(pwa_dir: Path, opt: dict) -> Router:
    root = Path(pwa_dir).resolve()

    def locate(file_path: str) -> tuple[str, Path]:
        relative = file_path.strip("/") or "index.html"
        parts = PurePosixPath(relative).parts
        if any(p in ("..", "") or p.startswith(".") for p in parts):
            raise NotFoundException()
        try:
            path = (root / relative).resolve()
            found = path.is_relative_to(root) and path.is_file()
        except (OSError, ValueError):  # a name no file can have: a NUL byte, longer than the system allows
            found = False
        if not found:
            raise NotFoundException()
        return relative, path

    def answer(request: Request, file_path: str) -> Response | File:
        relative, path = locate(file_path)
        accepted = accepted_encodings(request.headers.get("accept-encoding", ""))
        served, coding, compressible = path, None, False
        for name, suffix in ENCODINGS:
            copy = path.with_name(path.name + suffix)
            if copy.is_file():
                compressible = True
                if coding is None and name in accepted:
                    served, coding = copy, name
        media_type = MEDIA_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        etag = _etag(served, coding)
        headers = {"Cache-Control": cache_control(relative), "ETag": etag}
        if compressible:
            headers["Vary"] = "Accept-Encoding"
        if coding:
            headers["Content-Encoding"] = coding
        if etag in {t.strip() for t in request.headers.get("if-none-match", "").split(",")}:
            return Response(content=b"", status_code=304, headers=headers)
        return File(served, content_disposition_type="inline", media_type=media_type, headers=headers)

    @get("/", name="pwa/index", include_in_schema=False)
    async def index(request: Request) -> Response | File:
        return answer(request, "")

    @get("/{file_path:path}", name="pwa", include_in_schema=False)
    async def file(request: Request, file_path: str) -> Response | File:
        return answer(request, file_path)

    @head("/{file_path:path}", name="pwa/head", include_in_schema=False)
    async def file_head(request: Request, file_path: str) -> File:
        relative, path = locate(file_path)
        return File(path, content_disposition_type="inline", headers={"Cache-Control": cache_control(relative)})

    return Router(path="/", route_handlers=[index, file, file_head], opt=opt, include_in_schema=False)
