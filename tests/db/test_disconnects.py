"""Which errors mean "PostgreSQL is away" (503 database-unavailable, retry) and which are the request's own."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError

from udipick.db.pg import is_disconnect
from udipick.domain.errors import DatabaseUnavailable, InvalidRecord


def _wrapped(orig: BaseException, *, invalidated: bool = False) -> DBAPIError:
    return DBAPIError("SELECT 1", {}, orig, connection_invalidated=invalidated)


def _pg(cls, message: str = "x"):
    return cls(message)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (_pg(asyncpg.exceptions.ConnectionDoesNotExistError, "connection was closed in the middle of operation"), True),
        (_pg(asyncpg.exceptions.ConnectionFailureError), True),
        (_pg(asyncpg.CannotConnectNowError, "the database system is starting up"), True),
        (_pg(asyncpg.exceptions.AdminShutdownError, "terminating connection due to administrator command"), True),
        (_pg(asyncpg.exceptions.CrashShutdownError), True),
        (_pg(asyncpg.exceptions.TooManyConnectionsError), True),
        (asyncpg.InterfaceError("cannot call Connection.fetch(): connection is closed"), True),
        (
            asyncpg.exceptions.InternalClientError("cannot switch to state 12; another operation (2) is in progress"),
            True,
        ),
        (_wrapped(Exception("connection was closed"), invalidated=True), True),
        (_wrapped(_pg(asyncpg.CannotConnectNowError)), True),
        (DatabaseUnavailable("away"), True),
        # the request's own trouble: a value out of range, a constraint, a deadlock, a bad cached statement
        (asyncpg.exceptions.DataError("invalid input for query argument $1: 1111 (value out of int64 range)"), False),
        (_pg(asyncpg.exceptions.NumericValueOutOfRangeError), False),
        (_pg(asyncpg.exceptions.DeadlockDetectedError), False),
        (_pg(asyncpg.exceptions.QueryCanceledError), False),
        (asyncpg.exceptions.OutdatedSchemaCacheError("cached statement plan is invalid"), False),
        (IntegrityError("INSERT", {}, _pg(asyncpg.exceptions.UniqueViolationError)), False),
        (_wrapped(Exception("syntax"), invalidated=False), False),
        (InvalidRecord("bad"), False),
        (ConnectionRefusedError(111, "Connection refused"), False),  # not raised by the driver: a printer, say
        (FileNotFoundError(2, "no such template"), False),
    ],
)
def test_what_counts_as_the_database_being_away(exc, expected):
    assert is_disconnect(exc) is expected


async def test_a_refused_connection_raised_by_the_driver_counts_and_so_does_what_wraps_it():
    with pytest.raises(OSError) as refused:
        await asyncpg.connect("postgresql://postgres@127.0.0.1:1/postgres", timeout=5)
    assert is_disconnect(refused.value)
    try:
        raise RuntimeError("while opening a session") from refused.value
    except RuntimeError as wrapper:
        assert is_disconnect(wrapper)
