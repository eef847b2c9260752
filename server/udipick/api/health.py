"""Liveness and readiness for the load balancer and the operator."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Response

from udipick.api.deps import Db, allow
from udipick.api.problems import problem_response
from udipick.db.pg import RETRY_AFTER_SECONDS
from udipick.domain.problem import PROBLEM_BASE
from udipick.services import health
from udipick.services.health import Alive, Ready


@get("/healthz", **allow(public=True))
async def healthz() -> Alive:
    return Alive()


@get("/readyz", **allow(public=True))
async def readyz(request: Request, db: Db) -> Response[Ready]:
    """Ready when each dependency a request needs answers: the database (SQLAlchemy's pool), the scan
    pool (asyncpg, the pick scan's and the sign-in look-ups' connections) and the outbox listener (its
    LISTEN connection wakes the WebSocket stream). ``checks`` says which one is down while PostgreSQL
    restarts (503 ``database-unavailable``); each reconnects by itself."""
    hub = getattr(request.app.state, "outbox_hub", None)
    found = await health.readiness(db, listener_connected=None if hub is None else hub.connected)
    if unavailable := found.unavailable:
        return problem_response(
            {
                "type": PROBLEM_BASE + "database-unavailable",
                "code": "database-unavailable",
                "title": "Not ready",
                "status": 503,
                "detail": f"not ready: {', '.join(unavailable)} unavailable",
                "instance": request.url.path,
                "unavailable": unavailable,
                "checks": found.checks,
            },
            {"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if not found.schema_current:
        return Response(
            {
                "type": "about:blank",
                "title": "Not ready",
                "status": 503,
                "detail": f"schema at {found.schema}, expected {found.expected}",
            },
            status_code=503,
            media_type="application/problem+json",
        )
    return Response(found.answer())
