"""The asyncpg connection under a SQLAlchemy session, for the hot paths.

A pick confirm runs a handful of statements; through the driver directly each costs tens of
microseconds of Python instead of hundreds, in the same connection and the same transaction.
"""

from __future__ import annotations

import contextlib
import traceback
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from udipick.domain.errors import DatabaseUnavailable
from udipick.internals import begin_adapter_transaction

#: SQLSTATEs that say the server is not there for us: connection exceptions (class 08), shut down by an
#: administrator, after a crash or still starting up (57P01-57P03), no connection slot free (53300)
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
#: seconds a client is told to wait before sending the request again (``Retry-After``)
RETRY_AFTER_SECONDS = 2


def _raised_in_driver(exc: BaseException) -> bool:
    """An OSError from connecting or talking to PostgreSQL, not from a printer socket or a template file."""
    for frame, _line in traceback.walk_tb(exc.__traceback__):
        if frame.f_globals.get("__name__", "").startswith(("asyncpg", "sqlalchemy")):
            return True
    return False


def is_disconnect(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it wraps) says PostgreSQL could not be reached or the connection died.

    Covers asyncpg raised directly (hot pool, outbox hub), the same wrapped by SQLAlchemy, and a plain
    ``OSError`` (refused, reset, socket file gone) that the driver raised while connecting. A bad value
    (asyncpg's client-side ``DataError``) or a constraint violation is not a disconnect.
    """
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        x = todo.pop()
        if x is None or id(x) in seen or len(seen) > 8:
            continue
        seen.add(id(x))
        if isinstance(x, DatabaseUnavailable):
            return True
        if isinstance(x, DBAPIError) and x.connection_invalidated:
            return True
        if isinstance(x, (asyncpg.PostgresConnectionError, asyncpg.CannotConnectNowError)):
            return True
        sqlstate = getattr(x, "sqlstate", None)
        if isinstance(sqlstate, str) and (sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES):
            return True
        # asyncpg has no class of its own for "used after the server went away", only this message
        if isinstance(x, asyncpg.InterfaceError) and "connection is closed" in str(x):
            return True
        # an idle connection PostgreSQL ended unasked (FATAL 57P01 when it shuts down or its postmaster dies)
        # stays mid-protocol until asyncpg sees the socket close; whoever uses it meanwhile gets "cannot switch
        # to state ...". Its subclasses (a stale statement cache, a wrong server role) are something else
        if type(x) is asyncpg.InternalClientError:
            return True
        if isinstance(x, OSError) and _raised_in_driver(x):
            return True
        todo += [getattr(x, "orig", None), x.__cause__, None if x.__suppress_context__ else x.__context__]
    return False


def unavailable(exc: BaseException) -> DatabaseUnavailable:
    """The refusal a client gets while PostgreSQL is away: nothing was changed, send it again shortly."""
    return DatabaseUnavailable(
        f"the database cannot be reached right now ({type(exc).__name__}); nothing was changed:"
        f" send the request again in a few seconds",
        retryAfter=RETRY_AFTER_SECONDS,
    )


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
    driver: asyncpg.Connection = proxied.driver_connection
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
    SQLAlchemy checkout, which a pick scan pays on every scan.

    With ``warm_up``, every connection is opened at start, ``warm_up`` prepares the hot statements on
    each, and none is closed for being idle: the first scans of a shift (or after a quiet hour) would
    otherwise each wait for a new PostgreSQL backend and its first plans, half a second under load.
    Without it (tests, tools), 4 are opened and the rest on demand."""
    url = engine.url.set(drivername="postgresql")
    pool = await asyncpg.create_pool(
        url.render_as_string(hide_password=False),
        min_size=size if warm_up else min(4, size),
        max_size=size,
        reset=_no_reset,
        init=warm_up,
        # kept: not closed when idle, nor after asyncpg's default 50,000 queries (at 500 scans/s that is a
        # new backend on some scan's path every few minutes)
        max_inactive_connection_lifetime=0 if warm_up else 300.0,
        max_queries=2**31 - 1 if warm_up else 50_000,
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
    transaction (the pick scan: one read, then one write function).

    While PostgreSQL is away this raises ``DatabaseUnavailable`` (503, retry), and a connection that lost
    its server is closed instead of going back to the pool, so the next caller gets a new one once
    PostgreSQL is back (asyncpg notices a closed socket by itself, but not an error it is still
    consuming when the socket closes: that connection would fail whoever got it next).
    """
    engine: AsyncEngine = db.kw["bind"]
    pool = _HOT_POOLS.get(engine.sync_engine)
    if pool is not None:
        try:
            conn = await pool.acquire()
        except Exception as exc:
            if is_disconnect(exc):
                raise unavailable(exc) from exc
            raise
        try:
            yield conn
        except Exception as exc:
            if not is_disconnect(exc):
                raise
            conn.terminate()
            if isinstance(exc, DatabaseUnavailable):
                raise
            raise unavailable(exc) from exc
        finally:
            await pool.release(conn)
        return
    try:
        async with engine.connect() as conn:  # no hot pool (a service called outside the app): the engine's
            proxied = await conn.get_raw_connection()
            yield proxied.driver_connection
    except Exception as exc:
        if is_disconnect(exc) and not isinstance(exc, DatabaseUnavailable):
            raise unavailable(exc) from exc
        raise
