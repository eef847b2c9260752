"""The asyncpg connection under a SQLAlchemy session, for the hot paths.

A pick confirm runs a handful of statements; through the driver directly each costs tens of
microseconds of Python instead of hundreds, in the same connection and the same transaction.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from udipick.internals import begin_adapter_transaction


async def raw(session: AsyncSession) -> asyncpg.Connection:
    """The session's asyncpg connection, inside the session's transaction.

    SQLAlchemy's asyncpg adapter sends BEGIN lazily, with its first statement; a statement sent
    straight to the driver before that would run in autocommit (and a ``FOR UPDATE`` lock would
    be released at once). So the transaction is started here when it has not been yet.
    """
    # remembered for the rest of this session transaction only: the connection goes back to the pool after it
    tx = session.get_transaction()
    cached = session.info.get("udipick.pg")
    if cached is not None and tx is not None and cached[0] is tx:
        return cached[1]
    conn = await session.connection()
    proxied = await conn.get_raw_connection()
    driver: asyncpg.Connection = proxied.driver_connection  # type: ignore[assignment]
    if not driver.is_in_transaction():
        await begin_adapter_transaction(proxied.dbapi_connection)
        if not driver.is_in_transaction():
            raise RuntimeError("udipick.db.pg.raw needs a session in a transaction (not autocommit)")
    session.info["udipick.pg"] = (session.get_transaction(), driver)
    return driver


#: per engine: a plain asyncpg pool for the hot paths (opened by the app; see ``open_hot_pool``)
_HOT_POOLS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


async def _no_reset(conn: asyncpg.Connection) -> None:
    """Hot-path statements are each their own transaction and leave no session state behind."""


async def open_hot_pool(
    engine: AsyncEngine, size: int, *, warm_up: Callable[[asyncpg.Connection], Awaitable[None]] | None = None
) -> asyncpg.Pool:
    """A pool of asyncpg connections for ``connection()``: checking one out costs about a quarter of a
    SQLAlchemy checkout (0.03 ms against 0.14 ms of CPU), which a pick scan pays on every scan.

    With ``warm_up``, every connection is opened at start, ``warm_up`` prepares the hot statements on
    each, and none is closed for being idle: the first scans of a shift (or after a quiet hour) would
    otherwise each wait for a new PostgreSQL backend and its first plans, half a second under load.
    Without it (tests, tools), 4 are opened and the rest on demand."""
    url = engine.url.set(drivername="postgresql")
    pool = await asyncpg.create_pool(
        url.render_as_string(hide_password=False), min_size=size if warm_up else min(4, size), max_size=size,
        reset=_no_reset, init=warm_up,
        # kept: not closed when idle, nor after asyncpg's default 50,000 queries (at 500 scans/s that is a
        # new backend on some scan's path every few minutes)
        max_inactive_connection_lifetime=0 if warm_up else 300.0, max_queries=2**31 - 1 if warm_up else 50_000,
        # a connection idle over a quiet hour still sends a keepalive a minute, so a firewall or load
        # balancer between udipick and PostgreSQL does not drop it unseen (ignored over a unix socket)
        server_settings={"application_name": "udipick", "timezone": "UTC", "tcp_keepalives_idle": "60"},
    )
    _HOT_POOLS[engine.sync_engine] = pool
    return pool


def hot_pool(engine: AsyncEngine) -> asyncpg.Pool | None:
    return _HOT_POOLS.get(engine.sync_engine)


async def close_hot_pool(engine: AsyncEngine) -> None:
    pool = _HOT_POOLS.pop(engine.sync_engine, None)
    if pool is not None:
        await pool.close()


@contextlib.asynccontextmanager
async def connection(db: async_sessionmaker) -> AsyncIterator[asyncpg.Connection]:
    """A pooled asyncpg connection in autocommit, for hot paths whose every statement is its own
    transaction (the pick scan: one read, then one write function)."""
    engine: AsyncEngine = db.kw["bind"]
    pool = _HOT_POOLS.get(engine.sync_engine)
    if pool is not None:
        async with pool.acquire() as conn:
            yield conn
        return
    async with engine.connect() as conn:  # no hot pool (a service called outside the app): the engine's
        proxied = await conn.get_raw_connection()
        yield proxied.driver_connection  # type: ignore[misc]
