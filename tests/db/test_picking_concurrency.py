"""Real concurrent sessions racing for the same units: nobody takes or promises more than exists."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import text

from tests.api.test_picking import SYR, gs1
from tests.ledger_check import LEDGER_MISMATCHES
from udipick.config import Settings
from udipick.db.engine import make_engine, make_sessionmaker
from udipick.db.ledger import Movement, post_movements
from udipick.domain.access import Actor
from udipick.services import erp_inbound as erp
from udipick.services import picking

PICKERS = 8


async def _actor(db, name: str) -> Actor:
    async with db() as s:
        uid = await s.scalar(text("SELECT id FROM users WHERE username = :u"), {"u": name})
    return Actor(user_id=uid, username=name, roles=frozenset({"picker", "supervisor"}), device_id=f"{name}-device")


async def _sessions(url: str, n: int):
    engines = [make_engine(url, pool_size=1) for _ in range(n)]
    return engines, [make_sessionmaker(e) for e in engines]


async def _tasks(db) -> dict[str, picking.PickingTask]:
    rows = await picking.list_tasks(db, wave_id=None)
    return {f"{t.order}/{t.item.erp_id}": t for t in rows}


async def test_eight_pickers_racing_for_the_last_free_units_never_take_more_than_exists(
    demo_db, demo_database_url, today
):
    sup = await _actor(demo_db, "supervisor")
    await picking.release_wave(demo_db, sup, orders=None, today=today)
    tasks = await _tasks(demo_db)
    # leave only 3 free units of SY2405C (same expiry as the allocated SY2405B, so pickers may swap to it)
    async with demo_db.begin() as s:
        row = (
            await s.execute(
                text(
                    "SELECT s.item_id, s.lot_id, s.location_id FROM stock s JOIN lots l ON l.id = s.lot_id"
                    " WHERE l.lot = 'SY2405C' AND s.status = 'available'"
                )
            )
        ).first()
        await post_movements(
            s,
            sup,
            [
                Movement(
                    "adjust",
                    item_id=row.item_id,
                    lot_id=row.lot_id,
                    quantity=47,
                    from_location_id=row.location_id,
                    from_status="available",
                    reason="test",
                )
            ],
        )
    settings = Settings()
    engines, dbs = await _sessions(demo_database_url, PICKERS)
    try:
        targets = [tasks["SO-5001/SYR-10ML"], tasks["SO-5002/SYR-10ML"]]

        async def picker(i: int):
            t = targets[i % 2]
            return await picking.confirm_pick(
                dbs[i],
                await _actor(dbs[i], "picker"),
                settings,
                task_id=t.task_id,
                client_scan_id=uuid.uuid4(),
                raw=gs1(SYR, "SY2405C"),
                location_raw=None,
                today=today,
            )

        replies = await asyncio.gather(*(picker(i) for i in range(PICKERS)))
    finally:
        for e in engines:
            await e.dispose()
    accepted = [r for r in replies if r.status == 200]
    refused = [r.body["code"] for r in replies if r.status != 200]
    assert len(accepted) == 3 and set(refused) == {"insufficient-stock"}
    async with demo_db() as s:
        left = await s.scalar(
            text(
                "SELECT s.quantity FROM stock s JOIN lots l ON l.id = s.lot_id JOIN locations loc ON loc.id = s.location_id"
                " WHERE l.lot = 'SY2405C' AND loc.code = 'A-01-02' AND s.status = 'available'"
            )
        )
        assert left == 0
        assert await s.scalar(text("SELECT count(*) FROM stock WHERE quantity < 0 OR reserved > quantity")) == 0
        assert await s.scalar(text(LEDGER_MISMATCHES)) == 0


async def test_eight_pickers_on_one_task_never_over_pick(demo_db, demo_database_url, today):
    sup = await _actor(demo_db, "supervisor")
    await picking.release_wave(demo_db, sup, orders=["SO-5002"], today=today)
    task = (await _tasks(demo_db))["SO-5002/SYR-10ML"]
    assert task.remaining == 10
    settings = Settings()
    engines, dbs = await _sessions(demo_database_url, PICKERS)
    try:

        async def picker(i: int):
            actor = await _actor(dbs[i], "picker")
            results = []
            for _ in range(3):
                reply = await picking.confirm_pick(
                    dbs[i],
                    actor,
                    settings,
                    task_id=task.task_id,
                    client_scan_id=uuid.uuid4(),
                    raw=gs1(SYR, "SY2405B"),
                    location_raw=None,
                    today=today,
                )
                results.append(reply.status)
            return results

        statuses = [s for r in await asyncio.gather(*(picker(i) for i in range(PICKERS))) for s in r]
    finally:
        for e in engines:
            await e.dispose()
    assert statuses.count(200) == 10 and len(statuses) == 24
    async with demo_db() as s:
        assert await s.scalar(text("SELECT picked FROM pick_tasks WHERE id = :t"), {"t": task.task_id}) == 10
        assert await s.scalar(text("SELECT count(*) FROM picks WHERE task_id = :t"), {"t": task.task_id}) == 10
        assert await s.scalar(text(LEDGER_MISMATCHES)) == 0


async def test_two_waves_released_at_once_never_promise_the_same_units(demo_db, demo_database_url, today):
    sup = await _actor(demo_db, "supervisor")
    ship_to = erp.ShipToIn(name="Clinic")
    await erp.upsert_sales_orders(
        demo_db,
        [
            (
                i,
                erp.SalesOrderIn(
                    erp_id=f"SO-RACE-{i}",
                    version=1,
                    number=f"R{i}",
                    customer="CUST-RIVER",
                    ship_to=ship_to,
                    lines=[erp.OutboundLineIn(line_no=1, item="SCREW-CORT-45", quantity=40)],
                ),
            )
            for i in range(2)
        ],
        sup,
    )
    engines, dbs = await _sessions(demo_database_url, 2)
    try:
        waves = await asyncio.gather(
            *(picking.release_wave(dbs[i], sup, orders=[f"SO-RACE-{i}"], today=today) for i in range(2))
        )
    finally:
        for e in engines:
            await e.dispose()
    shorts = [s for w in waves for s in w.short_lines]
    assert len(shorts) == 1 and shorts[0].missing == 30  # 50 in stock: 40 to the first, 10 to the second
    async with demo_db() as s:
        reserved = await s.scalar(
            text(
                "SELECT sum(s.reserved) FROM stock s JOIN items i ON i.id = s.item_id WHERE i.erp_id = 'SCREW-CORT-45'"
            )
        )
    assert reserved == 50
