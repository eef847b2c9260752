"""The asyncpg connection under a SQLAlchemy session, for the hot paths.

A pick confirm runs a handful of statements; through the driver directly each costs tens of
microseconds of Python instead of hundreds, in the same connection and the same transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker


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
        adapter = proxied.dbapi_connection
        start = getattr(adapter, "_start_transaction", None)
        if start is not None and getattr(adapter, "_transaction", "x") is None:
            await start()
        else:  # another SQLAlchemy version: let it begin the way it does for its own statements
            await conn.exec_driver_sql("SELECT 1")
        if not driver.is_in_transaction():
            raise RuntimeError("udipick.db.pg.raw needs a session in a transaction (not autocommit)")
    session.info["udipick.pg"] = (session.get_transaction(), driver)
    return driver


@contextlib.asynccontextmanager
async def connection(db: async_sessionmaker) -> AsyncIterator[asyncpg.Connection]:
    """A pooled asyncpg connection in autocommit, for hot paths whose every statement is its own
    transaction (the pick scan: one read, then one write function)."""
    engine: AsyncEngine = db.kw["bind"]
    async with engine.connect() as conn:
        proxied = await conn.get_raw_connection()
        yield proxied.driver_connection  # type: ignore[misc]
