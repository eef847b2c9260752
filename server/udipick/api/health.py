"""Liveness and readiness for the load balancer and the operator."""

from __future__ import annotations

from litestar import get
from litestar.response import Response
from sqlalchemy import text

from udipick.api.deps import Db, allow
from udipick.db.migrate import current_heads


@get("/healthz", **allow(public=True))
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", **allow(public=True))
async def readyz(db: Db) -> Response:
    try:
        async with db() as session:
            version = await session.scalar(text("SELECT version_num FROM alembic_version"))
    except Exception as exc:  # the database is down or unreachable: not ready, say why
        return Response(
            {"type": "about:blank", "title": "Not ready", "status": 503, "detail": f"database unavailable: {type(exc).__name__}"},
            status_code=503,
            media_type="application/problem+json",
        )
    heads = current_heads()
    if version not in heads:
        return Response(
            {"type": "about:blank", "title": "Not ready", "status": 503, "detail": f"schema at {version}, expected {heads}"},
            status_code=503,
            media_type="application/problem+json",
        )
    return Response({"status": "ready", "schema": version})
