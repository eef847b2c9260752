"""Start a real ``udipick serve`` on a fresh database for a benchmark, and tear it down."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import asyncpg
import httpx

#: the machine's PostgreSQL over its unix socket (as the embedded server is reached); TCP loopback costs the
#: server a syscall-heavy send per statement. Override with UDIPICK_BENCH_DATABASE_URL.
ADMIN_DSN = os.environ.get("UDIPICK_BENCH_DATABASE_URL", "postgresql://postgres@/postgres?host=/var/run/postgresql")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    import asyncio

    name = f"udipick_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f"CREATE DATABASE {name}"))
    try:
        base, _, query = ADMIN_DSN.partition("?")
        yield base.rsplit("/", 1)[0] + "/" + name + ("?" + query if query else "")
    finally:
        asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@contextlib.contextmanager
def server(
    database_url: str, *, demo: bool = False, extra_env: dict[str, str] | None = None, workers: int = 1
) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "UDIPICK_RUN_RELAY": "0", **(extra_env or {})}
    args = [sys.executable, "-m", "udipick.cli", "serve", "--port", str(port), "--workers", str(workers)] + (
        ["--demo"] if demo else []
    )
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"udipick serve exited: {proc.stderr.read() if proc.stderr else ''}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit("udipick serve did not start")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def api_key(database_url: str, name: str = "bench", scope: str = "erp:write") -> str:
    env = {**os.environ, "DATABASE_URL": database_url}
    out = subprocess.run(
        [sys.executable, "-m", "udipick.cli", "api-keys", "add", name, "--scope", scope],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def machine() -> str:
    import platform

    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"
