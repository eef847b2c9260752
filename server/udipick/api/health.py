"""Liveness and readiness for the load balancer and the operator."""

from __future__ import annotations

import asyncio

from litestar import Request, get
from litestar.response import Response
from sqlalchemy import text

from udipick.api.deps import Db, allow
from udipick.api.problems import problem_response
from udipick.db.migrate import current_heads
from udipick.db.pg import RETRY_AFTER_SECONDS, hot_pool
from udipick.db.pg import connection as pg_connection
from udipick.domain.problem import PROBLEM_BASE

#: a check that takes longer counts as down: a load balancer should not wait on a PostgreSQL that does not answer
CHECK_SECONDS = 2.0


@get("/healthz", **allow(public=True))
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _check(probe) -> str:
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            await probe()
    except Exception as exc:  # noqa: BLE001 - any failure means this dependency is not there: say which
        return f"down: {type(exc).__name__}"
    return "up"


@get("/readyz", **allow(public=True))
async def readyz(request: Request, db: Db) -> Response:
    """Ready when each dependency a request needs answers: the database (SQLAlchemy's pool), the scan
    pool (asyncpg, the pick scan's and the sign-in look-ups' connections) and the outbox listener (its
    LISTEN connection wakes the WebSocket stream). ``checks`` says which one is down while PostgreSQL
    restarts; each reconnects by itself."""
    found: dict[str, str] = {}

    async def database() -> None:
        async with db() as session:
            found["schema"] = await session.scalar(text("SELECT version_num FROM alembic_version"))

    async def scan_pool() -> None:
        async with pg_connection(db) as conn:
            await conn.fetchval("SELECT 1")

    checks = {"database": await _check(database)}
    if hot_pool(request.app.state.engine) is not None:
        checks["scan-pool"] = await _check(scan_pool)
    hub = getattr(request.app.state, "outbox_hub", None)
    if hub is not None:
        checks["outbox-listener"] = "up" if hub.connected else "down: reconnecting"
    unavailable = [name for name, state in checks.items() if state != "up"]
    if unavailable:
        return problem_response(
            {"type": PROBLEM_BASE + "database-unavailable", "code": "database-unavailable", "title": "Not ready",
             "status": 503, "detail": f"not ready: {', '.join(unavailable)} unavailable", "instance": request.url.path,
             "unavailable": unavailable, "checks": checks},
            {"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    heads = current_heads()
    if found.get("schema") not in heads:
        return Response(
            {"type": "about:blank", "title": "Not ready", "status": 503, "detail": f"schema at {found.get('schema')}, expected {heads}"},
            status_code=503,
            media_type="application/problem+json",
        )
    return Response({"status": "ready", "schema": found["schema"], "checks": checks})
