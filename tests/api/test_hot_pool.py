"""``udipick serve`` opens its scan connections at start, ready for the first scans of a shift."""

from __future__ import annotations

import uuid

from litestar.testing import AsyncTestClient

from tests.api.test_picking import SYR, gs1, lot_expiry, task_for
from tests.conftest import login
from tests.conftest import test_settings as settings_for_tests
from udipick.api.app import create_app
from udipick.db.pg import hot_pool
from udipick.services import identity
from udipick.services import picking as picking_service

HOT = {*picking_service._SNAPSHOTS.values(), identity._DEVICE_TOKEN, identity._API_KEY}


async def _prepared(pool) -> list[int]:
    """How many of the hot statements each of the pool's idle connections has prepared."""
    counts = []
    conns = [await pool.acquire() for _ in range(pool.get_idle_size())]
    try:
        for conn in conns:
            prepared = {r[0] for r in await conn.fetch("SELECT statement FROM pg_prepared_statements")}
            counts.append(len(HOT & prepared))
    finally:
        for conn in conns:
            await pool.release(conn)
    return counts


async def test_a_warm_pool_opens_every_connection_at_start_with_the_scan_reads_prepared(demo_database_url, demo_db):
    app = create_app(settings_for_tests(db_pool_warm=True, db_pool_size=6), database_url=demo_database_url)
    async with AsyncTestClient(app=app) as client:
        pool = hot_pool(app.state.engine)
        assert pool.get_size() == 6 and pool.get_idle_size() == 6
        # each shape of the pick scan's read and the two bearer look-ups, on every connection
        assert client.blocking_portal.call(_prepared, pool) == [len(HOT)] * 6  # the pool lives on the app's loop
        # and a scan on such a connection is answered as on any other
        sup, picker = await login(client, "supervisor"), await login(client, "picker", device="tc52-01")
        assert (await client.post("/api/v1/waves", json={}, headers=sup)).status_code == 201
        task = await task_for(client, picker, "SO-5001", "SYR-10ML")
        body = {
            "clientScanId": str(uuid.uuid4()),
            "raw": gs1(SYR, "SY2405B", await lot_expiry(demo_db, "SY2405B")),
            "locationRaw": task["location"]["barcode"],
        }
        r = await client.post(f"/api/v1/picking/tasks/{task['taskId']}/scans", json=body, headers=picker)
        assert r.status_code == 200 and r.json()["verdict"] == "accepted"


async def test_without_warming_a_few_connections_open_at_start_and_prepare_nothing(demo_database_url):
    app = create_app(settings_for_tests(db_pool_warm=False, db_pool_size=6), database_url=demo_database_url)
    async with AsyncTestClient(app=app) as client:
        pool = hot_pool(app.state.engine)
        assert pool.get_size() == 4
        assert client.blocking_portal.call(_prepared, pool) == [0] * 4
