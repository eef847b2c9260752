"""The framework internals udipick relies on (``udipick.internals``) are there, in the versions they were checked in.

An upgrade of Litestar or SQLAlchemy fails here first, by name, rather than somewhere on the pick path."""

from __future__ import annotations

import importlib.metadata

import pytest
from litestar import Litestar, Response, get
from litestar.exceptions import NotFoundException
from litestar.testing import TestClient

from udipick import internals


@pytest.mark.parametrize("package", sorted(internals.CHECKED))
def test_the_installed_version_is_the_one_the_private_uses_were_checked_against(package):
    installed = importlib.metadata.version(package)
    assert installed.startswith(internals.CHECKED[package] + "."), (
        f"{package} {installed} is installed, udipick.internals was checked against {internals.CHECKED[package]}: "
        "re-check the private uses there, then move CHECKED and the pins in pyproject.toml together"
    )


def test_a_wrapped_app_answers_its_errors_through_the_apps_exception_handlers():
    async def raises(scope, receive, send):
        raise NotFoundException("no such thing")

    wrapped = internals.wrap_in_exception_handler(raises)

    async def route(scope, receive, send):
        await wrapped(scope, receive, send)

    @get("/x")
    async def placeholder() -> None:  # routing only: the middleware below answers
        return None

    def middleware(app):
        return route

    with TestClient(
        Litestar(
            [placeholder],
            middleware=[middleware],
            exception_handlers={
                NotFoundException: lambda request, exc: Response({"mine": exc.detail}, status_code=404)
            },
        )
    ) as client:
        r = client.get("/x")
    assert r.status_code == 404 and r.json() == {"mine": "no such thing"}


async def test_the_adapter_transaction_begins_before_the_first_statement(db):
    from udipick.db.pg import raw

    async with db() as session:
        conn = await session.connection()
        proxied = await conn.get_raw_connection()
        assert not proxied.driver_connection.is_in_transaction()
        driver = await raw(session)
        assert driver.is_in_transaction()
        # the adapter knows it is in a transaction: SQLAlchemy's next statement does not BEGIN again
        assert proxied.dbapi_connection._transaction is not None
        await session.rollback()
