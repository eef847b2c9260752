"""PostgreSQL killed and restarted under a running server: 503 problems while it is away, then back to work.

The test runs its own throwaway PostgreSQL (the embedded binaries, on a temporary data directory), never
the machine's server that other test runs share: it kills that postmaster with SIGKILL, as the OOM killer
or a crash would, and starts it again on the same data directory (crash recovery included).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.api.test_picking import SYR, gs1
from tests.conftest import _run_in_thread
from tests.outbox.conftest import connect, live_server, wait_until
from udipick.config import Settings
from udipick.db.engine import (
    embedded_url,
    make_engine,
    make_sessionmaker,
    start_embedded,
)


class ThrowawayPostgres:
    """An embedded PostgreSQL this test alone uses, that it may kill and start again."""

    def __init__(self, pgdata: Path) -> None:
        self.server = start_embedded(pgdata)
        self.url = embedded_url(self.server.get_uri())

    def kill(self) -> None:
        """SIGKILL the postmaster; wait until its backends noticed and left (they hold its shared memory)."""
        postmaster = psutil.Process(self.server.get_pid())
        backends = postmaster.children(recursive=True)
        os.kill(postmaster.pid, signal.SIGKILL)
        _gone, alive = psutil.wait_procs([postmaster, *backends], timeout=30)
        assert not alive, f"PostgreSQL processes still running after the kill: {alive}"

    def start(self) -> None:
        """Start it again on the same data directory and socket (it recovers from the crash first)."""
        with self.server._lock:
            self.server.ensure_postgres_running()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.server._cleanup()


@pytest.fixture
async def throwaway_pg() -> AsyncIterator[ThrowawayPostgres]:
    with tempfile.TemporaryDirectory(prefix="udipick-restart-") as tmp:
        pg = await asyncio.to_thread(ThrowawayPostgres, Path(tmp) / "pgdata")
        try:
            from udipick.db.migrate import upgrade
            from udipick.services import demo

            _run_in_thread(lambda: upgrade(pg.url))
            engine = make_engine(pg.url, pool_size=2)
            try:
                await demo.load(make_sessionmaker(engine), Settings(), today=None)
            finally:
                await engine.dispose()
            yield pg
        finally:
            await asyncio.to_thread(pg.stop)


async def _login(http: httpx.AsyncClient, user: str, device: str) -> dict[str, str]:
    r = await http.post("/api/v1/auth/login", json={"username": user, "password": f"{user}-demo", "deviceId": device})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}", "X-Device-Id": device}  # the sign-in is bound to it


def _assert_database_unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "database-unavailable"
    assert int(r.headers["retry-after"]) >= 1


async def test_the_server_answers_503_while_postgresql_is_down_and_recovers_when_it_is_back(throwaway_pg):
    from udipick.services.identity import add_api_key

    engine = make_engine(throwaway_pg.url, pool_size=2)
    db = make_sessionmaker(engine)
    erp_key = await add_api_key(db, "erp-restart", ["erp:read"])
    await engine.dispose()
    # the scan connections warmed and prepared as in production
    async with live_server(throwaway_pg.url, db_pool_warm=True, db_pool_size=4) as (host, _app):
        async with httpx.AsyncClient(base_url=f"http://{host}", timeout=10) as http:
            sup = await _login(http, "supervisor", "desk-1")
            picker = await _login(http, "picker", "tc52-01")
            assert (await http.get("/readyz")).status_code == 200
            async with await connect(host, erp_key, "?subscriber=restart") as ws:
                hello = json.loads(await ws.recv())
                assert hello["type"] == "hello"

                throwaway_pg.kill()

                # every kind of request gets a problem it can retry on, not a 500
                _assert_database_unavailable(await http.get("/api/v1/picking/tasks", headers=picker))
                _assert_database_unavailable(await http.post("/api/v1/waves", json={}, headers=sup))
                ready = await http.get("/readyz")
                assert ready.status_code == 503
                assert ready.json()["code"] == "database-unavailable"
                assert {"database", "scan-pool"} <= set(ready.json()["unavailable"])  # says which dependency is down

                throwaway_pg.start()

                # back without restarting udipick: the first requests after PostgreSQL accepts connections
                # again succeed, because the pools drop their dead connections instead of handing them out
                r = await http.get("/api/v1/picking/tasks", headers=picker)
                assert r.status_code == 200, r.text
                r = await http.post("/api/v1/waves", json={}, headers=sup)
                assert r.status_code == 201, r.text
                tasks = (await http.get("/api/v1/picking/tasks", headers=picker)).json()
                task = next(t for t in tasks if t["order"] == "SO-5001" and t["item"]["erpId"] == "SYR-10ML")
                # the pick scan runs on the hot asyncpg pool
                scan = {
                    "clientScanId": str(uuid.uuid4()),
                    "raw": gs1(SYR, task["lot"]),
                    "locationRaw": task["location"]["barcode"],
                }
                r = await http.post(f"/api/v1/picking/tasks/{task['taskId']}/scans", json=scan, headers=picker)
                assert r.status_code == 200, r.text
                assert r.json()["verdict"] == "accepted"

                # the subscriber that stayed connected through the outage gets what was written after it
                async def wave_released() -> dict | None:
                    async with asyncio.timeout(30):
                        while True:
                            msg = json.loads(await ws.recv())
                            if msg.get("type") == "wave.released.v1":
                                return msg

                released = await wave_released()
                assert released["position"] >= 1 and released["data"]["orders"]

                # and /readyz says so once the outbox listener is back too (it reconnects with backoff)
                async def ready_again() -> bool:
                    return (await http.get("/readyz")).status_code == 200

                await wait_until(ready_again, timeout=30)
                assert (await http.get("/readyz")).json()["checks"] == {
                    "database": "up",
                    "scan-pool": "up",
                    "outbox-listener": "up",
                }

                # a restart while nobody asked (no request failed to tell the pools) costs no request an error:
                # connections whose socket PostgreSQL closed are replaced when they are checked out
                throwaway_pg.kill()
                throwaway_pg.start()
                r = await http.get("/api/v1/picking/tasks", headers=picker)
                assert r.status_code == 200, r.text
                await _login(http, "picker", "tc52-02")  # a write
