"""Stock equals the sum of the append-only ledger, whatever sequence of movements happens."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.ledger_check import LEDGER_MISMATCHES
from udipick.db.engine import make_engine, make_sessionmaker
from udipick.db.ledger import Movement, post_movements
from udipick.domain.access import Actor
from udipick.domain.errors import InsufficientStock

STATUSES = ["available", "quarantine", "hold"]


async def _world(db):
    """Two items (one lot-tracked), three locations, one container, one user."""
    async with db.begin() as s:
        uid = await s.scalar(
            text(
                "INSERT INTO users (username, display_name, password_hash, roles) VALUES ('t','t','x','{admin}') RETURNING id"
            )
        )
        wid = await s.scalar(text("INSERT INTO warehouses (code, name) VALUES ('W','W') RETURNING id"))
        locs = [
            await s.scalar(
                text(
                    f"INSERT INTO locations (warehouse_id, code, barcode, zone, type) VALUES ({wid}, 'L{i}', 'B{i}', 'Z', 'pick') RETURNING id"
                )
            )
            for i in range(3)
        ]
        items = [
            await s.scalar(
                text(
                    f"INSERT INTO items (erp_id, erp_version, gtin, name, base_unit, lot_tracked, serial_tracked, expiry_tracked) VALUES ('I{i}', 1, '0000000000000{i}', 'i', 'EA', true, false, false) RETURNING id"
                )
            )
            for i in range(2)
        ]
        lots = [
            await s.scalar(text(f"INSERT INTO lots (item_id, lot) VALUES ({items[0]}, 'LOT{i}') RETURNING id"))
            for i in range(2)
        ]
        box = await s.scalar(text("INSERT INTO containers (kind, code) VALUES ('lpn', 'LPN1') RETURNING id"))
    return uid, locs, items, lots, box


bucket = st.tuples(st.integers(0, 2), st.sampled_from(STATUSES), st.booleans())  # location, status, in container
op = st.tuples(
    st.sampled_from(["receipt", "move", "pick", "adjust"]),
    st.integers(0, 1),  # item
    st.integers(0, 1),  # lot (item 0 only)
    st.integers(1, 30),
    bucket,
    bucket,
)


@pytest.fixture
def world(database_url):
    async def setup():
        engine = make_engine(database_url, pool_size=2)
        try:
            return await _world(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    return database_url, asyncio.run(setup())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(op, min_size=1, max_size=30))
def test_stock_always_equals_the_sum_of_the_ledger(world, ops):
    url, (uid, locs, items, lots, box) = world
    actor = Actor(user_id=uid, username="t", device_id="hyp")

    async def run() -> tuple[int, int]:
        engine = make_engine(url, pool_size=2)
        db = make_sessionmaker(engine)
        refused = applied = 0
        try:
            for kind, item_i, lot_i, qty, src, dst in ops:
                item = items[item_i]
                lot = lots[lot_i] if item_i == 0 else None
                frm = dict(from_location_id=locs[src[0]], from_status=src[1], from_container_id=box if src[2] else None)
                to = dict(to_location_id=locs[dst[0]], to_status=dst[1], to_container_id=box if dst[2] else None)
                sides = {"receipt": to, "move": {**frm, **to}, "pick": frm, "adjust": frm}[kind]
                try:
                    async with db.begin() as s:
                        await post_movements(
                            s, actor, [Movement(kind, item_id=item, lot_id=lot, quantity=qty, **sides)]
                        )
                    applied += 1
                except InsufficientStock:
                    refused += 1
            async with db() as s:
                mismatches = await s.scalar(text(LEDGER_MISMATCHES))
                negative = await s.scalar(text("SELECT count(*) FROM stock WHERE quantity < 0"))
            assert mismatches == 0
            assert negative == 0
            return applied, refused
        finally:
            await engine.dispose()

    asyncio.run(run())


async def test_stock_cannot_be_edited_in_place_and_the_ledger_cannot_be_rewritten(demo_db):
    async with demo_db() as s:
        for sql in (
            "UPDATE stock SET quantity = quantity + 1",
            "INSERT INTO stock (item_id, location_id, status, quantity) SELECT item_id, location_id, 'available', 5 FROM stock LIMIT 1",
            "DELETE FROM stock",
            "UPDATE stock_ledger SET quantity = 1",
            "DELETE FROM stock_ledger",
            "DELETE FROM audit_log",
        ):
            with pytest.raises(DBAPIError):
                async with s.begin_nested():
                    await s.execute(text(sql))


@pytest.mark.parametrize(
    ("extra", "from_status"),
    [(1, "available"), (0, "damaged")],
    ids=["more-than-the-row-holds (table check)", "no-such-row (ledger trigger)"],
)
async def test_a_movement_from_stock_that_is_not_there_is_insufficient_stock(demo_db, extra, from_status):
    async with demo_db() as s:
        row = (
            await s.execute(
                text("SELECT item_id, lot_id, location_id, quantity FROM stock WHERE serial_id IS NULL LIMIT 1")
            )
        ).first()
        uid = await s.scalar(text("SELECT id FROM users LIMIT 1"))
    with pytest.raises(InsufficientStock):
        async with demo_db.begin() as s:
            await post_movements(
                s,
                Actor(user_id=uid, username="x"),
                [
                    Movement(
                        "pick",
                        item_id=row.item_id,
                        lot_id=row.lot_id,
                        quantity=row.quantity + extra,
                        from_location_id=row.location_id,
                        from_status=from_status,
                    )
                ],
            )


async def test_master_data_a_record_names_is_never_deleted(demo_db):
    """The ledger and picks name items, lots, locations, users... without foreign keys (migration 0005):
    deleting any of those rows is refused, even one no current stock row points at."""
    async with demo_db() as s:
        loc = await s.scalar(
            text(
                "INSERT INTO locations (warehouse_id, code, barcode, zone, type)"
                " SELECT id, 'EMPTY-1', 'LOC-EMPTY-1', 'Z', 'pick' FROM warehouses LIMIT 1 RETURNING id"
            )
        )
        await s.execute(
            text("INSERT INTO api_keys (name, prefix, key_hash, scopes) VALUES ('gone', 'gone', 'x', '{erp:read}')")
        )
        await s.execute(text("INSERT INTO containers (kind, code) VALUES ('tote', 'TOTE-GONE')"))
        await s.commit()
        for table, where in (
            ("locations", f"id = {loc}"),
            ("items", "true"),
            ("lots", "true"),
            ("users", "true"),
            ("api_keys", "true"),
            ("serials", "true"),
            ("containers", "true"),
        ):
            assert await s.scalar(text(f"SELECT count(*) FROM {table} WHERE {where}")), table  # the demo has some
            with pytest.raises(DBAPIError, match="deactivate instead of deleting"):
                async with s.begin_nested():
                    await s.execute(text(f"DELETE FROM {table} WHERE {where}"))
        assert await s.scalar(text("SELECT count(*) FROM locations WHERE id = :id"), {"id": loc}) == 1
