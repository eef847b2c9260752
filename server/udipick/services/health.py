"""Readiness: does each dependency a request needs answer, and is the schema the one this code expects.

A load balancer asks every few seconds, so each check is bounded (``CHECK_SECONDS``): a PostgreSQL that
does not answer counts as down rather than holding the probe, and the answer names which part is down
while PostgreSQL restarts (each part reconnects by itself).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker

from udipick.db.migrate import current_heads
from udipick.db.pg import connection as pg_connection
from udipick.db.pg import hot_pool

#: a check that takes longer counts as down: a load balancer should not wait on a PostgreSQL that does not answer
CHECK_SECONDS = 2.0


class Alive(msgspec.Struct):
    status: Literal["ok"] = "ok"


class Ready(msgspec.Struct, rename="camel"):
    status: Literal["ready"]
    #: the Alembic revision the database is at
    schema: str
    #: each dependency and ``up`` (``database``, ``scan-pool``, ``outbox-listener`` when this process runs them)
    checks: dict[str, str]


@dataclass(frozen=True)
class Readiness:
    """What the checks found; ``ready`` when every part is up and the schema is at a head of this code."""

    checks: dict[str, str]
    schema: str | None
    expected: tuple[str, ...]

    @property
    def unavailable(self) -> list[str]:
        return [name for name, state in self.checks.items() if state != "up"]

    @property
    def schema_current(self) -> bool:
        return self.schema in self.expected

    def answer(self) -> Ready:
        assert self.schema is not None
        return Ready(status="ready", schema=self.schema, checks=self.checks)


async def _check(probe: Callable[[], Awaitable[None]]) -> str:
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            await probe()
    except Exception as exc:  # noqa: BLE001 - any failure means this dependency is not there: say which
        return f"down: {type(exc).__name__}"
    return "up"


async def readiness(db: async_sessionmaker, *, listener_connected: bool | None) -> Readiness:
    """The database (SQLAlchemy's pool), the scan pool (asyncpg, the pick scan's and the sign-in look-ups'
    connections) when this process has one, and the outbox listener (``listener_connected``; ``None``: this
    process runs none), whose LISTEN connection wakes the WebSocket stream."""
    found: dict[str, str | None] = {}

    async def database() -> None:
        async with db() as session:
            found["schema"] = await session.scalar(text("SELECT version_num FROM alembic_version"))

    async def scan_pool() -> None:
        async with pg_connection(db) as conn:
            await conn.fetchval("SELECT 1")

    checks = {"database": await _check(database)}
    if hot_pool(db.kw["bind"]) is not None:
        checks["scan-pool"] = await _check(scan_pool)
    if listener_connected is not None:
        checks["outbox-listener"] = "up" if listener_connected else "down: reconnecting"
    return Readiness(checks, found.get("schema"), current_heads())
