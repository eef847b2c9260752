"""Allocation reads only part of the stock (``services.picking.plan_needs``): the SQL narrows the rows to a
superset of what FEFO planning can take, and the rules stay in ``domain.allocation``. Proved here on random
warehouses, with the narrowing SQL run for real: the plan from the narrowed reads equals ``plan_wave`` over
every stock row there is (any status, container, location type, quantity), and the SQL helpers that give a
row its facts (``udipick_stock_hold``, ``udipick_location_block``) are planned inline, keeping the indexes."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from udipick.db.engine import make_engine, make_sessionmaker
from udipick.db.ledger import Movement, post_movements
from udipick.db.models import LOCATION_TYPES, LOT_STATUSES, STOCK_STATUSES
from udipick.domain.access import Actor
from udipick.domain.allocation import Need, plan_wave
from udipick.services import picking

TODAY = dt.date(2026, 11, 25)

#: lot numbers that tie and differ only by case, so FEFO's tie-break by lot is exercised
LOT_NAMES = ["A", "a", "B", "b", "A1", "a1", "Z", "0"]

#: Mostly stock a line can take, so that the first, narrowed read often serves every line (the case where
#: the narrowing alone decides the plan), with every kind of stock it must leave out or that must be refused.
location = st.tuples(
    st.sampled_from(LOCATION_TYPES + ("pick", "reserve") * 3),
    st.integers(0, 9).map(lambda n: n == 0),  # frozen, now and then
    st.integers(0, 4),  # pick sequence
)
lot = st.tuples(
    st.sampled_from(LOT_NAMES),
    st.one_of(st.none(), st.integers(-5, 400)),
    st.sampled_from(LOT_STATUSES + ("released",) * 8),
)  # mostly released
receipt = st.tuples(
    st.integers(0, 2),  # item
    st.one_of(st.none(), st.integers(0, 7), st.integers(0, 7)),  # lot (index into the item's lots; none: without a lot)
    st.integers(0, 5).map(lambda n: n == 0),  # a serialised unit
    st.integers(0, 5),  # location
    st.sampled_from(STOCK_STATUSES + ("available",) * 10),  # mostly available
    st.integers(0, 9).map(lambda n: n == 0),  # on a licence plate, now and then
    st.integers(1, 12),  # quantity
    st.sampled_from([0, 0, 0, 1, 2, 5, 12]),  # reserved (at most the quantity)
    st.integers(0, 9).map(lambda n: n == 0),  # then taken away again: a row with nothing left
)
hold = st.tuples(
    st.sampled_from(["item", "lot", "lot", "serial", "location"]), st.integers(0, 20), st.booleans()
)  # scope, target, released
block = st.tuples(st.integers(0, 5), st.integers(0, 2), st.booleans())  # location, item, cleared
line = st.tuples(st.integers(0, 2), st.integers(1, 6), st.sampled_from([0, 0, 0, 30, 180]), st.booleans())


async def _build(session, uid: int, locations, lots, receipts, holds, blocks) -> tuple[list[int], int]:
    """The warehouse: three items, the locations, each item's lots, stock through the ledger, holds, blocks."""
    run = lambda sql, **p: session.execute(text(sql), p)  # noqa: E731
    wid = (await run("INSERT INTO warehouses (code, name) VALUES ('W', 'W') RETURNING id")).scalar_one()
    locs = [
        (
            await run(
                "INSERT INTO locations (warehouse_id, code, barcode, zone, type, frozen, pick_sequence)"
                " VALUES (:w, :c, :b, 'Z', :t, :f, :q) RETURNING id",
                w=wid,
                c=f"L{i}",
                b=f"LOC-L{i}",
                t=kind,
                f=frozen,
                q=seq,
            )
        ).scalar_one()
        for i, (kind, frozen, seq) in enumerate(locations)
    ]
    items = [
        (
            await run(
                "INSERT INTO items (erp_id, erp_version, gtin, name, base_unit, lot_tracked, serial_tracked, expiry_tracked)"
                " VALUES (:e, 1, :g, 'x', 'EA', false, false, false) RETURNING id",
                e=f"I{i}",
                g=f"0000000000001{i}",
            )
        ).scalar_one()
        for i in range(3)
    ]
    lot_ids: dict[int, list[int]] = {i: [] for i in range(3)}
    for i in range(3):
        for name, expiry, status in {name: (name, exp, status) for name, exp, status in lots[i]}.values():
            lot_ids[i].append(
                (
                    await run(
                        "INSERT INTO lots (item_id, lot, expiry, status) VALUES (:i, :l, :e, :s) RETURNING id",
                        i=items[i],
                        l=name,
                        e=TODAY + dt.timedelta(days=expiry) if expiry is not None else None,
                        s=status,
                    )
                ).scalar_one()
            )
    box = (await run("INSERT INTO containers (kind, code) VALUES ('lpn', 'LPN-1') RETURNING id")).scalar_one()
    serial_ids: list[int] = []
    actor = Actor(user_id=uid, username="t", device_id="hyp")
    reserve: list[tuple[dict, int]] = []
    for n, (item_i, lot_i, serialised, loc_i, status, boxed, qty, reserved, emptied) in enumerate(receipts):
        lot_id = lot_ids[item_i][lot_i % len(lot_ids[item_i])] if lot_i is not None and lot_ids[item_i] else None
        serial_id = None
        if serialised:
            qty = 1
            serial_id = (
                await run(
                    "INSERT INTO serials (item_id, serial, lot_id) VALUES (:i, :s, :l) RETURNING id",
                    i=items[item_i],
                    s=f"S{n}",
                    l=lot_id,
                )
            ).scalar_one()
            serial_ids.append(serial_id)
        bucket = dict(item_id=items[item_i], lot_id=lot_id, serial_id=serial_id)
        place = dict(location_id=locs[loc_i % len(locs)], container_id=box if boxed else None, status=status)
        await post_movements(
            session,
            actor,
            [
                Movement(
                    "receipt",
                    quantity=qty,
                    to_location_id=place["location_id"],
                    to_container_id=place["container_id"],
                    to_status=status,
                    **bucket,
                )
            ],
        )
        if emptied:
            await post_movements(
                session,
                actor,
                [
                    Movement(
                        "adjust",
                        quantity=qty,
                        from_location_id=place["location_id"],
                        from_container_id=place["container_id"],
                        from_status=status,
                        **bucket,
                    )
                ],
            )
        else:
            reserve.append(({**bucket, **place}, reserved))
    for where, reserved in reserve:  # a bucket received twice adds up; its reservation stays within it
        await run(
            "UPDATE stock SET reserved = least(quantity, reserved + :r) WHERE item_id = :item_id"
            " AND lot_id IS NOT DISTINCT FROM :lot_id AND serial_id IS NOT DISTINCT FROM :serial_id"
            " AND location_id = :location_id AND container_id IS NOT DISTINCT FROM :container_id AND status = :status",
            r=reserved,
            **where,
        )
    every_lot = [x for i in range(3) for x in lot_ids[i]]
    targets = {"item": items, "lot": every_lot, "serial": serial_ids, "location": locs}
    for scope, target, released in holds:
        if not targets[scope]:
            continue
        ids = {k: None for k in ("item_id", "lot_id", "serial_id", "location_id")}
        ids[f"{scope}_id"] = targets[scope][target % len(targets[scope])]
        await run(
            "INSERT INTO holds (scope, item_id, lot_id, serial_id, location_id, reason, placed_by, released_at)"
            " VALUES (:scope, :item_id, :lot_id, :serial_id, :location_id, :reason, :u, :released)",
            scope=scope,
            reason=f"{scope} hold",
            u=uid,
            released=dt.datetime.now(dt.UTC) if released else None,
            **ids,
        )
    for loc_i, item_i, cleared in blocks:
        await run(
            "INSERT INTO location_blocks (location_id, item_id, reason, cleared_at) VALUES (:l, :i, 'short', :c)"
            " ON CONFLICT DO NOTHING",
            l=locs[loc_i % len(locs)],
            i=items[item_i],
            c=dt.datetime.now(dt.UTC) if cleared else None,
        )
    return items, wid


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    locations=st.lists(location, min_size=1, max_size=6),
    lots=st.lists(st.lists(lot, min_size=1, max_size=7), min_size=3, max_size=3),
    receipts=st.lists(receipt, min_size=15, max_size=40),
    holds=st.lists(hold, max_size=2),
    blocks=st.lists(block, max_size=2),
    lines=st.lists(line, min_size=1, max_size=5),
)
def test_the_plan_from_the_narrowed_reads_is_the_plan_from_every_stock_row(
    database_url, locations, lots, receipts, holds, blocks, lines
):
    async def run() -> None:
        engine = make_engine(database_url, pool_size=1)
        try:
            async with make_sessionmaker(engine)() as session:
                async with session.begin():
                    uid = (
                        await session.execute(
                            text(
                                "INSERT INTO users (username, display_name, password_hash, roles) VALUES ('t', 't', 'x', '{admin}')"
                                " RETURNING id"
                            )
                        )
                    ).scalar_one()
                    items, _ = await _build(session, uid, locations, lots, receipts, holds, blocks)
                    needs = [Need(k + 1, items[i], qty, days, bonded) for k, (i, qty, days, bonded) in enumerate(lines)]
                    narrowed = await picking.plan_needs(session, needs, TODAY)
                    first = await picking._wave_candidates(session, needs, TODAY, limited=True)
                    event(
                        "the first, narrowed read served every line"
                        if not plan_wave(first, needs, today=TODAY)[1]
                        else "a line fell short on the first read"
                    )
                    every_row = picking.candidates_of(
                        await session.execute(text(picking.STOCK_FACTS + " ORDER BY s.id"))
                    )
                    assert narrowed == plan_wave(every_row, needs, today=TODAY)
                    await session.rollback()
        finally:
            await engine.dispose()

    asyncio.run(run())


async def test_stock_without_a_lot_waits_for_every_lot_with_an_expiry(db):
    """Rows without a lot come after every lot that has an expiry (``fefo_key``). The first read took the first
    three lots and every row without a lot: when those three lots had nothing on the shelf, the line was served
    from the rows without a lot, and the fourth lot, expiring first of what is on the shelf, stayed there.
    (Found writing down why the first read is a superset; an item received with and without lot data has both.)"""
    async with db() as session, session.begin():
        uid = (
            await session.execute(
                text(
                    "INSERT INTO users (username, display_name, password_hash, roles) VALUES ('t', 't', 'x', '{admin}') RETURNING id"
                )
            )
        ).scalar_one()
        at_receiving = [
            (0, k, False, 1, "available", False, 5, 0, False) for k in range(3)
        ]  # lots A, B, C: not put away
        on_the_shelf = [
            (0, 3, False, 0, "available", False, 5, 0, False),
            (0, None, False, 0, "available", False, 5, 0, False),
        ]
        items, _ = await _build(
            session,
            uid,
            [("pick", False, 0), ("receiving", False, 0)],
            [[("A", 10, "released"), ("B", 20, "released"), ("C", 30, "released"), ("D", 40, "released")], [], []],
            at_receiving + on_the_shelf,
            [],
            [],
        )
        allocations, shortfalls = await picking.plan_needs(session, [Need(1, items[0], 3, 0, False)], TODAY)
    assert [(a.candidate.lot, a.quantity) for a in allocations] == [("D", 3)] and shortfalls == []


async def test_a_stock_row_gets_the_first_active_hold_that_covers_it_and_its_block(db):
    """The facts the narrowing reads, checked against the tables they come from."""
    async with db() as session, session.begin():
        uid = (
            await session.execute(
                text(
                    "INSERT INTO users (username, display_name, password_hash, roles) VALUES ('t', 't', 'x', '{admin}') RETURNING id"
                )
            )
        ).scalar_one()
        receipts = [
            (0, 0, False, 0, "available", False, 5, 0, False),
            (0, None, False, 1, "available", False, 5, 0, False),
            (1, 0, True, 0, "available", False, 1, 0, False),
        ]
        items, _ = await _build(
            session,
            uid,
            [("pick", False, 0), ("reserve", False, 1)],
            [[("A", 10, "released")], [("B", 20, "released")], []],
            receipts,
            [("location", 1, True), ("serial", 0, False), ("location", 0, False)],
            [(1, 0, False)],
        )
        rows = {
            (c.item_id, c.lot, c.location): c
            for c in picking.candidates_of(await session.execute(text(picking.STOCK_FACTS + " ORDER BY s.id")))
        }
    assert rows[(items[0], "A", "L0")].hold == "location hold" and not rows[(items[0], "A", "L0")].blocked
    assert (
        rows[(items[0], None, "L1")].hold is None and rows[(items[0], None, "L1")].blocked
    )  # the released hold is no hold
    assert rows[(items[1], "B", "L0")].hold == "serial hold"  # placed before the location hold: the first one is named


async def test_the_hold_and_block_functions_are_inlined_into_the_pick_reads(db):
    """A SQL function the planner does not inline is called once per row, and hides its tables' indexes from the
    plan; inlined, the pick candidates keep their index scans, also in the generic plan of a prepared statement."""
    async with db() as session:
        conn = await (await session.connection()).get_raw_connection()
        pg = conn.driver_connection
        await pg.execute("SET plan_cache_mode = force_generic_plan")
        snapshot = picking._SNAPSHOTS[False, "gtin"]
        await pg.execute("PREPARE snap(bigint, uuid, text, text, text, text, int, text, text, text) AS " + snapshot)
        plan = "\n".join(
            r[0]
            for r in await pg.fetch(
                "EXPLAIN (VERBOSE, COSTS OFF) EXECUTE snap(1, '00000000-0000-0000-0000-000000000000', '00000000000017',"
                " NULL, NULL, NULL, NULL, 'L1', NULL, NULL)"
            )
        )
        await pg.execute(
            f"PREPARE wave(int[], int[], int[], int[], bool, date) AS {_numbered(picking._WAVE_CANDIDATES)}"
        )
        wave = "\n".join(
            r[0]
            for r in await pg.fetch(
                "EXPLAIN (VERBOSE, COSTS OFF) EXECUTE wave('{1,2}', '{0,0}', '{20,20}', '{3,3}', true, '2026-11-25')"
            )
        )
    for p in (plan, wave):
        assert "udipick_stock_hold" not in p and "udipick_location_block" not in p, p  # no Function Scan: inlined
        assert "on ix_holds_active" in p or "using ix_holds_active" in p, p
        assert "using uq_location_blocks_active" in p, p
    assert "using ix_stock_location_item on public.stock s" in plan, plan
    # the wave's lots are found by item: through either index that leads with it (expiry for FEFO, production
    # date for recalls); on these small tables the planner's pick between the two is a toss-up
    assert re.search(r"(on|using) ix_lots_item_(expiry|production)\b", wave), wave
    assert "using ix_stock_lot on public.stock s" in wave, wave


def _numbered(sql: str) -> str:
    names = ["items", "min_days", "rows", "lots", "strict", "today"]
    for i, name in enumerate(names, 1):
        sql = re.sub(rf"(?<!:):{name}\b", f"${i}", sql)
    return sql
