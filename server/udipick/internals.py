"""Every use of a framework's private API, in one place, with the versions it was checked against.

Two hot paths need one each:

- The pick scan's fast path (``api/picking.py``) answers a plain scan before Litestar's routing machinery, through the
  same exception handlers the route has: ``wrap_in_exception_handler`` is the wrapper Litestar puts around each route.
- ``db.pg.raw`` hands the asyncpg connection under a SQLAlchemy session to the pick write. SQLAlchemy's asyncpg adapter
  sends ``BEGIN`` lazily with its first statement, so the transaction is started through the adapter's own
  ``_start_transaction`` before a statement goes straight to the driver (or it would run in autocommit).

``tests/unit/test_internals.py`` checks that the installed versions are the ones in ``CHECKED`` and that both private
names still behave as used here; ``pyproject.toml`` pins the same minor versions. An upgrade therefore fails that test
loudly instead of changing behaviour silently: re-check both uses, then move ``CHECKED`` and the pins together.
"""

from __future__ import annotations

from typing import Any

from litestar._asgi.utils import wrap_in_exception_handler as _wrap_in_exception_handler
from litestar.types import ASGIApp

#: package -> the ``major.minor`` the private uses below were checked against
CHECKED = {"litestar": "2.25", "sqlalchemy": "2.1"}


def wrap_in_exception_handler(app: ASGIApp) -> ASGIApp:
    """``app`` wrapped like a Litestar route: an exception it raises is answered by the app's exception handlers."""
    return _wrap_in_exception_handler(app)


async def begin_adapter_transaction(dbapi_connection: Any) -> None:
    """Send the ``BEGIN`` that SQLAlchemy's asyncpg adapter would send with its next statement."""
    if dbapi_connection._transaction is None:
        await dbapi_connection._start_transaction()
