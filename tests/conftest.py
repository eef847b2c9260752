"""Test databases: real PostgreSQL, never mocked.

``UDIPICK_TEST_DATABASE_URL`` (CI: the machine's server at 127.0.0.1:5432) or, when unset, an
embedded PostgreSQL in a temporary directory. The schema is built once by ``alembic upgrade head``
into template databases; each test that touches data gets a fresh copy (``CREATE DATABASE ...
TEMPLATE``), so real commits, concurrency and LISTEN/NOTIFY behave as in production.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import os
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFORMANCE = ROOT / "tests" / "conformance"

from udipick.config import Settings, normalize_database_url  # noqa: E402
from udipick.db.engine import embedded_url, make_engine, make_sessionmaker, start_embedded  # noqa: E402

_counter = itertools.count()


def _dsn(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://")


def _with_database(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    base = base.rsplit("/", 1)[0] + "/" + name
    return base + ("?" + query if query else "")


def _run_in_thread(fn) -> None:
    """Alembic's env uses asyncio.run; keep it off the test event loop."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if errors:
        raise errors[0]


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """A SQLAlchemy URL to a maintenance database on the test server."""
    url = os.environ.get("UDIPICK_TEST_DATABASE_URL")
    if url:
        yield normalize_database_url(url)
        return
    with tempfile.TemporaryDirectory(prefix="udipick-test-pg-") as tmp:
        server = start_embedded(Path(tmp))
        try:
            yield embedded_url(server.get_uri())
        finally:
            server._cleanup()


async def _admin_exec(admin_url: str, *statements: str) -> None:
    conn = await asyncpg.connect(_dsn(admin_url))
    try:
        for s in statements:
            await conn.execute(s)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def template_names(pg_admin_url: str) -> Iterator[dict[str, str]]:
    """Two templates: ``schema`` (migrations only) and ``demo`` (plus the demo warehouse and users)."""
    from udipick.db.migrate import upgrade
    from udipick.services import demo

    suffix = f"{os.getpid()}"
    names = {"schema": f"udipick_tpl_schema_{suffix}", "demo": f"udipick_tpl_demo_{suffix}"}

    def build() -> None:
        asyncio.run(
            _admin_exec(
                pg_admin_url,
                *(f"DROP DATABASE IF EXISTS {n} WITH (FORCE)" for n in names.values()),
                f"CREATE DATABASE {names['schema']}",
            )
        )
        upgrade(_with_database(pg_admin_url, names["schema"]))
        asyncio.run(_admin_exec(pg_admin_url, f"CREATE DATABASE {names['demo']} TEMPLATE {names['schema']}"))

        async def load_demo() -> None:
            engine = make_engine(_with_database(pg_admin_url, names["demo"]), pool_size=2)
            try:
                await demo.load(make_sessionmaker(engine), Settings(), today=None)
            finally:
                await engine.dispose()

        asyncio.run(load_demo())

    _run_in_thread(build)
    yield names
    _run_in_thread(
        lambda: asyncio.run(
            _admin_exec(pg_admin_url, *(f"DROP DATABASE IF EXISTS {n} WITH (FORCE)" for n in names.values()))
        )
    )


async def _fresh_database(pg_admin_url: str, template: str) -> str:
    name = f"udipick_t_{os.getpid()}_{next(_counter)}"
    await _admin_exec(pg_admin_url, f"CREATE DATABASE {name} TEMPLATE {template}")
    return name


@pytest.fixture
async def database_url(pg_admin_url: str, template_names: dict[str, str]) -> AsyncIterator[str]:
    """A fresh database with the schema only."""
    name = await _fresh_database(pg_admin_url, template_names["schema"])
    yield _with_database(pg_admin_url, name)
    await _admin_exec(pg_admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def demo_database_url(pg_admin_url: str, template_names: dict[str, str]) -> AsyncIterator[str]:
    """A fresh database with the demo warehouse, its documents, opening stock and demo users."""
    name = await _fresh_database(pg_admin_url, template_names["demo"])
    yield _with_database(pg_admin_url, name)
    await _admin_exec(pg_admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def db(database_url: str):
    engine = make_engine(database_url, pool_size=5)
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def demo_db(demo_database_url: str):
    engine = make_engine(demo_database_url, pool_size=5)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05):
    """Poll ``await predicate()`` until it is truthy and return its value; ``TimeoutError`` after ``timeout`` s.

    The way to wait for something to happen (a relay to deliver, a row to appear): a fixed sleep is
    either too short on a loaded machine or longer than needed everywhere else."""
    async with asyncio.timeout(timeout):
        while True:
            value = await predicate()
            if value:
                return value
            await asyncio.sleep(interval)


@pytest.fixture
def today() -> dt.date:
    """The day the test runs, read when the test starts: a module-level ``TODAY`` is read at import,
    and a suite that runs across midnight would then compute expiries and shelf life from yesterday."""
    return dt.date.today()


def test_settings(**overrides) -> Settings:
    # the tests' stand-in ERPs listen on 127.0.0.1: webhooks may point there (tests of the refusal set it False)
    return Settings(
        **{
            "run_relay": False,
            "pwa_dir": Path("/nonexistent"),
            "db_pool_warm": False,
            "webhook_allow_loopback": True,
            **overrides,
        }
    )


@pytest.fixture
async def client(demo_database_url: str):
    """An HTTP client on the real app (lifespan included) over the demo database."""
    from litestar.testing import AsyncTestClient

    from udipick.api.app import create_app

    app = create_app(test_settings(), database_url=demo_database_url)
    async with AsyncTestClient(app=app) as c:
        yield c


async def login(client, username: str, password: str | None = None, device: str = "test-device") -> dict[str, str]:
    """Sign in a demo user; returns the headers a handheld sends afterwards (its token and its device id)."""
    r = await client.post(
        "/api/v1/auth/login",
        json={"username": username, "password": password or f"{username}-demo", "deviceId": device},
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}", "X-Device-Id": device}


@pytest.fixture
def fuzz_client(demo_database_url: str):
    """A synchronous client (for hypothesis-driven tests) signed in as the demo picker."""
    from litestar.testing import TestClient

    from udipick.api.app import create_app

    app = create_app(test_settings(), database_url=demo_database_url)
    with TestClient(app=app) as c:
        r = c.post("/api/v1/auth/login", json={"username": "picker", "password": "picker-demo", "deviceId": "fuzz"})
        yield c, {"Authorization": f"Bearer {r.json()['token']}", "X-Device-Id": "fuzz"}
