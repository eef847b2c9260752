"""A real Tryton (trytond 8 with stock, lots, expiry dates, purchase and sale) on the test PostgreSQL, and a
real ``udipick serve`` beside it for the connector to talk to.

Tryton's database takes minutes to build (``trytond-admin --all`` then activating the modules), so it is
built once and kept as a template database named after the trytond version (``udipick_tryton_tpl_8_2_1``);
each test copies it. A missing trytond fails these tests: CI must have it (``pip install -e .[test]``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.conftest import ROOT, _admin_exec, _dsn

_counter = itertools.count()
ENV = {**os.environ, "PYTHONPATH": f"{ROOT / 'server'}{os.pathsep}{ROOT}"}


def _trytond_version() -> str:
    # fails (does not skip) when trytond is missing: the Tryton tests are part of CI
    import trytond

    return trytond.__version__


async def _exists(admin_url: str, name: str) -> bool:
    conn = await asyncpg.connect(_dsn(admin_url))
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await conn.close()


def write_config(directory: Path, admin_url: str) -> Path:
    """trytond's configuration file naming the PostgreSQL server of ``admin_url``."""
    base = _dsn(admin_url).rsplit("/", 1)[0] + "/"
    path = directory / "trytond.conf"
    path.write_text(f"[database]\nuri = {base}\n")
    return path


def ensure_template(admin_url: str, config: Path) -> str:
    """The Tryton template database for this trytond version, built on first use (minutes) and kept."""
    name = "udipick_tryton_tpl_" + _trytond_version().replace(".", "_")
    if asyncio.run(_exists(admin_url, name)):
        return name
    building = f"{name}_building_{os.getpid()}"
    asyncio.run(
        _admin_exec(admin_url, f"DROP DATABASE IF EXISTS {building} WITH (FORCE)", f"CREATE DATABASE {building}")
    )
    password = config.parent / "admin-password"
    password.write_text("admin-password-for-tests\n")
    admin = [str(Path(sys.executable).with_name("trytond-admin")), "-c", str(config), "-d", building]
    env = {**ENV, "TRYTONPASSFILE": str(password)}
    for extra in (
        ["--all", "--email", "admin@example.com"],
        ["-u", "stock_lot_sled", "sale", "purchase", "--activate-dependencies"],
    ):
        done = subprocess.run(admin + extra, env=env, capture_output=True, text=True, timeout=1200)
        assert done.returncode == 0, done.stderr[-3000:]
    # renamed only when complete: a run killed while building leaves no half-made template behind its name
    try:
        asyncio.run(_admin_exec(admin_url, f"ALTER DATABASE {building} RENAME TO {name}"))
    except asyncpg.DuplicateDatabaseError:  # another run built it meanwhile: use that one
        asyncio.run(_admin_exec(admin_url, f"DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
    return name


@pytest.fixture(scope="session")
def tryton_config(tmp_path_factory: pytest.TempPathFactory, pg_admin_url: str) -> Path:
    return write_config(tmp_path_factory.mktemp("tryton"), pg_admin_url)


@pytest.fixture(scope="session")
def tryton_template(pg_admin_url: str, tryton_config: Path) -> str:
    return ensure_template(pg_admin_url, tryton_config)


@pytest.fixture
async def tryton_db(pg_admin_url: str, tryton_template: str) -> AsyncIterator[str]:
    name = f"udipick_tryton_t_{os.getpid()}_{next(_counter)}"
    await _admin_exec(pg_admin_url, f"CREATE DATABASE {name} TEMPLATE {tryton_template}")
    yield name
    await _admin_exec(pg_admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def udipick_server(database_url: str) -> Iterator[str]:
    """``udipick serve`` in its own process on ``database_url`` (the connector is a client over HTTP)."""
    port = free_port()
    env = {**ENV, "DATABASE_URL": database_url, "UDIPICK_RUN_RELAY": "0", "UDIPICK_DB_POOL_WARM": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "udipick.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"udipick serve exited: {proc.stderr.read() if proc.stderr else ''}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            assert time.monotonic() < deadline, "udipick serve did not start"
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def erp_key(database_url: str) -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "udipick.cli",
            "api-keys",
            "add",
            "tryton",
            "--scope",
            "erp:read",
            "--scope",
            "erp:write",
        ],
        env={**ENV, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()
