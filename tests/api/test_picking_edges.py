"""Edges a second reviewer found: shipping with open tasks, spare cartons, untraceable scans, tote reuse,
overrides that override nothing, replays of signed approvals, scan-id reuse, backorders, absurd ids."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from tests.api.test_picking import GLOVE_BOX, STENT, SYR, events, gs1, lot_expiry, scan, task_for
from tests.conftest import login
from udipick.db.ledger import Movement, post_movements
from udipick.domain.access import Actor


async def _release(client, orders=None):
    sup = await login(client, "supervisor")
    return await client.post("/api/v1/waves", json={} if orders is None else {"orders": orders}, headers=sup)


async def test_an_order_with_open_pick_tasks_does_not_ship_and_a_spare_carton_does_not_block_it(client):
    await _release(client, ["SO-5002"])
    picker = await login(client, "picker")
    glove = await task_for(client, picker, "SO-5002", "GLOVE-NIT-M")
    for _ in range(2):
        assert (await scan(client, picker, glove, gs1(GLOVE_BOX, "GL-77-01"))).status_code == 200
    sscc = (await client.post("/api/v1/packing/packages", json={"order": "SO-5002"}, headers=picker)).json()["sscc"]
    for _ in range(2):
        r = await client.post(
            f"/api/v1/packing/packages/{sscc}/scans",
            json={"clientScanId": str(uuid.uuid4()), "raw": gs1(GLOVE_BOX, "GL-77-01")},
            headers=picker,
        )
        assert r.status_code == 200, r.text
    assert (await client.post(f"/api/v1/packing/packages/{sscc}/close", headers=picker)).status_code == 200
    spare = (await client.post("/api/v1/packing/packages", json={"order": "SO-5002"}, headers=picker)).json()["sscc"]
    again = (await client.post("/api/v1/packing/packages", json={"order": "SO-5002"}, headers=picker)).json()["sscc"]
    assert spare == again != sscc  # a double tap gets the same empty carton
    r = await client.post("/api/v1/shipments", json={"order": "SO-5002"}, headers=picker)
    assert r.status_code == 409 and r.json()["openTasks"] == 2  # pen needles and syringes not picked yet
    for erp_id in ("PEN-NDL-4MM", "SYR-10ML"):
        t = await task_for(client, picker, "SO-5002", erp_id)
        assert (
            await client.post(
                f"/api/v1/picking/tasks/{t['taskId']}/short", json={"clientScanId": str(uuid.uuid4())}, headers=picker
            )
        ).status_code == 200
    # shorted lines were re-allocated elsewhere: report those short too, until nothing is open
    while tasks := [
        t for t in (await client.get("/api/v1/picking/tasks", headers=picker)).json() if t["order"] == "SO-5002"
    ]:
        await client.post(
            f"/api/v1/picking/tasks/{tasks[0]['taskId']}/short",
            json={"clientScanId": str(uuid.uuid4())},
            headers=picker,
        )
    r = await client.post("/api/v1/shipments", json={"order": "SO-5002"}, headers=picker)
    assert r.status_code == 200, r.text
    assert r.json()["ssccs"] == [sscc]  # the empty spare carton was discarded, not shipped


async def test_serialised_and_lot_tracked_units_must_name_their_serial_and_lot(client):
    await _release(client)
    picker = await login(client, "picker")
    stent = await task_for(client, picker, "SO-5001", "STENT-DES-3018")
    r = await scan(client, picker, stent, gs1(STENT, "ST-A1"))
    assert r.status_code == 422 and r.json()["code"] == "missing-serial" and r.json()["needs"] == ["serial"]
    syr = await task_for(client, picker, "SO-5001", "SYR-10ML")
    r = await scan(client, picker, syr, gs1(SYR))
    assert r.status_code == 422 and r.json()["code"] == "missing-lot"


async def test_an_empty_order_list_releases_nothing(client):
    r = await _release(client, [])
    assert r.status_code == 400


async def test_a_tote_still_holding_another_orders_goods_is_refused(client):
    wave = (await _release(client)).json()
    picker = await login(client, "picker")
    assert (
        await client.post(
            f"/api/v1/waves/{wave['waveId']}/totes", json={"order": "SO-5002", "raw": "TOTE-0001"}, headers=picker
        )
    ).status_code == 200
    glove = await task_for(client, picker, "SO-5002", "GLOVE-NIT-M")
    for _ in range(2):
        assert (await scan(client, picker, glove, gs1(GLOVE_BOX, "GL-77-01"))).status_code == 200
    # SO-5002's glove task is done, its goods still sit unpacked in the tote
    for erp_id in ("PEN-NDL-4MM", "SYR-10ML"):
        t = await task_for(client, picker, "SO-5002", erp_id)
        await client.post(
            f"/api/v1/picking/tasks/{t['taskId']}/short", json={"clientScanId": str(uuid.uuid4())}, headers=picker
        )
    r = await client.post(
        f"/api/v1/waves/{wave['waveId']}/totes", json={"order": "SO-5001", "raw": "TOTE-0001"}, headers=picker
    )
    assert r.status_code == 409 and r.json()["order"] == "SO-5002"


async def test_an_override_that_overrides_nothing_records_no_override_and_a_replay_is_not_signed_again(client, demo_db):
    await _release(client)
    picker = await login(client, "picker")
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    body = {
        "clientScanId": str(uuid.uuid4()),
        "raw": gs1(SYR, "SY2405B", await lot_expiry(demo_db, "SY2405B")),
        "reason": "checking",
        "supervisor": {"username": "supervisor", "password": "supervisor-demo"},
    }
    first = await client.post(f"/api/v1/picking/tasks/{task['taskId']}/override", json=body, headers=picker)
    assert first.status_code == 200 and first.json()["fefoOverridden"] is False
    assert await events(demo_db, "pick.override.approved.v1") == []
    async with demo_db() as s:
        assert await s.scalar(text("SELECT fefo_override_by FROM picks")) is None
    replay = await client.post(
        f"/api/v1/picking/tasks/{task['taskId']}/override",
        json={**body, "supervisor": {"username": "supervisor", "password": "changed-since"}},
        headers=picker,
    )
    assert replay.status_code == 200 and replay.json() == first.json()


async def test_a_scan_id_cannot_be_reused_on_another_task(client, demo_db):
    await _release(client)
    picker = await login(client, "picker")
    syr = await task_for(client, picker, "SO-5001", "SYR-10ML")
    glove = await task_for(client, picker, "SO-5002", "GLOVE-NIT-M")
    scan_id = str(uuid.uuid4())
    assert (await scan(client, picker, syr, gs1(SYR, "SY2405B"), scan_id=scan_id)).status_code == 200
    r = await scan(client, picker, glove, gs1(GLOVE_BOX, "GL-77-01"), scan_id=scan_id)
    assert r.status_code == 409 and r.json()["code"] == "conflict"


async def test_a_backordered_line_is_allocated_by_a_later_release_once_stock_arrives(client, demo_db):
    admin = await login(client, "admin")
    so = {
        "erpId": "SO-BACK",
        "version": 1,
        "number": "SO-BACK",
        "customer": "CUST-RIVER",
        "shipTo": {"name": "x"},
        "lines": [{"lineNo": 1, "item": "SCREW-CORT-45", "quantity": 60}],
    }
    assert (await client.post("/api/v1/erp/sales-orders", json=so, headers=admin)).status_code == 201
    first = (await _release(client, ["SO-BACK"])).json()
    assert first["shortLines"] == [{"order": "SO-BACK", "lineNo": 1, "missing": 10, "reason": "no-stock"}]
    still = (await _release(client, ["SO-BACK"])).json()  # no new stock: still short, nothing promised twice
    assert still["tasks"] == 0 and still["shortLines"] == first["shortLines"]
    async with demo_db.begin() as s:
        row = (
            await s.execute(
                text(
                    "SELECT s.item_id, s.lot_id, s.location_id FROM stock s JOIN items i ON i.id = s.item_id"
                    " WHERE i.erp_id = 'SCREW-CORT-45'"
                )
            )
        ).first()
        uid = await s.scalar(text("SELECT id FROM users WHERE username = 'admin'"))
        await post_movements(
            s,
            Actor(user_id=uid, username="admin"),
            [
                Movement(
                    "receipt",
                    item_id=row.item_id,
                    lot_id=row.lot_id,
                    quantity=10,
                    to_location_id=row.location_id,
                    to_status="available",
                )
            ],
        )
    again = await _release(client, ["SO-BACK"])
    assert again.status_code == 201 and again.json()["shortLines"] == [] and again.json()["tasks"] == 1


async def test_absurd_ids_in_the_path_are_problems_not_crashes(client):
    picker = await login(client, "picker")
    sup = await login(client, "supervisor")
    big = 10**20
    r = await client.post(
        f"/api/v1/picking/tasks/{big}/scans",
        json={"clientScanId": str(uuid.uuid4()), "raw": gs1(SYR, "X")},
        headers=picker,
    )
    # beyond PostgreSQL's bigint: the request is malformed (422), not a search that found nothing
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "invalid-request", r.text
    r = await client.post(
        f"/api/v1/holds/{big}/release", json={"reason": "x", "password": "supervisor-demo"}, headers=sup
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid-request", r.text


async def test_an_hibc_labelled_unit_is_picked_by_its_hibc_code_and_lot(client, demo_db):
    """HIBC labels (LIC + product code + unit of measure, lot in the secondary data) are matched to the item
    without a GTIN, like GS1 labels; the wrong lot is refused as for GS1."""
    from udipick.domain.barcodes import hibc_check_character

    def hibc(lot: str) -> str:
        data = f"+A123SCREW450/${lot}"
        return data + hibc_check_character(data)

    admin = await login(client, "admin")
    so = {
        "erpId": "SO-HIBC",
        "version": 1,
        "number": "SO-HIBC",
        "customer": "CUST-RIVER",
        "shipTo": {"name": "x"},
        "lines": [{"lineNo": 1, "item": "SCREW-CORT-45", "quantity": 2}],
    }
    assert (await client.post("/api/v1/erp/sales-orders", json=so, headers=admin)).status_code == 201
    assert (await _release(client, ["SO-HIBC"])).status_code == 201
    picker = await login(client, "picker")
    task = await task_for(client, picker, "SO-HIBC", "SCREW-CORT-45")
    assert task["lot"] == "SC0042"
    r = await scan(client, picker, task, hibc("SC0042"))
    assert r.status_code == 200, r.text
    assert r.json()["picked"] == 1
    r = await scan(client, picker, task, hibc("SC9999"))
    assert r.status_code == 409 and (r.json()["code"], r.json()["takeLot"]) == ("lot-not-at-location", "SC0042"), r.text
    async with demo_db() as s:
        rows = (
            await s.execute(
                text(
                    "SELECT l.lot, p.quantity FROM picks p JOIN lots l ON l.id = p.lot_id JOIN items i ON i.id = p.item_id"
                    " WHERE i.erp_id = 'SCREW-CORT-45'"
                )
            )
        ).all()
    assert [tuple(r) for r in rows] == [("SC0042", 1)]


async def test_a_short_pick_waits_for_its_items_lock_before_it_locks_its_task(client, demo_database_url):
    """Cancels and replenishment take an item's lock, then its tasks' rows: a short pick must take them in the
    same order, or a short pick racing a cancel of its task deadlocks (PostgreSQL aborts one of them)."""
    import asyncio
    import threading

    import asyncpg

    from tests.conftest import _dsn

    await _release(client, ["SO-5002"])
    picker = await login(client, "picker")
    task = await task_for(client, picker, "SO-5002", "GLOVE-NIT-M")
    locked = threading.Event()
    seen: list[str] = []

    async def cancel_like() -> None:
        # on its own thread and loop: the test client blocks this test's loop while a request runs
        other = await asyncpg.connect(_dsn(demo_database_url))
        try:
            async with other.transaction():
                item = await other.fetchval("SELECT item_id FROM pick_tasks WHERE id = $1", task["taskId"])
                await other.execute("SELECT pg_advisory_xact_lock(7301, $1)", item)  # as a cancel holds it
                locked.set()
                await asyncio.sleep(1)  # the short pick is now waiting for something
                # the cancel's next step: the task's row. The short pick must not be holding it.
                await other.execute("SET LOCAL lock_timeout = '1s'")
                try:
                    await other.fetchval("SELECT id FROM pick_tasks WHERE id = $1 FOR UPDATE", task["taskId"])
                    seen.append("task row free")
                except asyncpg.LockNotAvailableError:
                    seen.append("task row held by the short pick")
        finally:
            await other.close()

    holder = threading.Thread(target=lambda: asyncio.run(cancel_like()))
    holder.start()
    assert await asyncio.to_thread(locked.wait, 10)
    r = await client.post(
        f"/api/v1/picking/tasks/{task['taskId']}/short", json={"clientScanId": str(uuid.uuid4())}, headers=picker
    )
    await asyncio.to_thread(holder.join, 10)
    assert seen == ["task row free"]
    # the other order deadlocks here: PostgreSQL aborts one side, and the short pick answered 503 busy
    assert r.status_code == 200, r.text
