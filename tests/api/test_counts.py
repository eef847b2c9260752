"""Counting a location over HTTP on real PostgreSQL: the count that lifts a short pick's block."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from tests.api.test_picking import GLOVE, GLOVE_BOX, events, gs1, scan, task_for
from tests.conftest import login
from tests.ledger_check import LEDGER_MISMATCHES


@pytest.fixture
async def picker(client):
    return await login(client, "picker", device="tc52-01")


async def count(client, headers, location: str, item: str, lines: list[dict], scan_id: str | None = None):
    body = {"clientScanId": scan_id or str(uuid.uuid4()), "location": location, "item": item, "lines": lines}
    return await client.post("/api/v1/counts", json=body, headers=headers)


async def stock(db, location: str, lot: str) -> tuple[int, int]:
    """(quantity, reserved) of the loose available bucket of ``lot`` at ``location``."""
    async with db() as s:
        row = (
            await s.execute(
                text(
                    "SELECT coalesce(sum(s.quantity), 0), coalesce(sum(s.reserved), 0) FROM stock s JOIN locations loc ON loc.id = s.location_id"
                    " JOIN lots l ON l.id = s.lot_id WHERE loc.code = :loc AND l.lot = :lot AND s.status = 'available'"
                    " AND s.container_id IS NULL"
                ),
                {"loc": location, "lot": lot},
            )
        ).one()
    return int(row[0]), int(row[1])


async def books_balance(db) -> bool:
    async with db() as s:
        return await s.scalar(text(LEDGER_MISMATCHES)) == 0


async def active_blocks(db, location: str) -> int:
    async with db() as s:
        return await s.scalar(
            text(
                "SELECT count(*) FROM location_blocks b JOIN locations l ON l.id = b.location_id"
                " WHERE l.code = :c AND b.cleared_at IS NULL"
            ),
            {"c": location},
        )


async def test_a_count_after_a_short_pick_books_the_loss_clears_the_block_and_the_location_is_picked_again(
    client, picker, demo_db
):
    sup = await login(client, "supervisor")
    assert (await client.post("/api/v1/waves", json={"orders": ["SO-5002"]}, headers=sup)).status_code == 201
    task = await task_for(client, picker, "SO-5002", "GLOVE-NIT-M")
    assert (task["lot"], task["location"]["code"]) == ("GL-77-01", "A-02-01")
    assert (await scan(client, picker, task, gs1(GLOVE_BOX, "GL-77-01"))).status_code == 200
    r = await client.post(
        f"/api/v1/picking/tasks/{task['taskId']}/short", json={"clientScanId": str(uuid.uuid4())}, headers=picker
    )
    assert r.status_code == 200 and r.json()["locationBlocked"] == "A-02-01"
    assert await active_blocks(demo_db, "A-02-01") == 1
    booked, reserved = await stock(demo_db, "A-02-01", "GL-77-01")
    assert (booked, reserved) == (190, 0)  # 10 picked; the short released the rest of the task's reservation

    # the counter finds 150 gloves of GL-77-01: 40 are gone. Scanned by location barcode and the item's GTIN
    scan_id = str(uuid.uuid4())
    r = await count(client, picker, task["location"]["barcode"], GLOVE, [{"lot": "GL-77-01", "quantity": 150}], scan_id)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "location": "A-02-01",
        "item": "GLOVE-NIT-M",
        "gtin": GLOVE,
        "adjusted": 1,
        "blocksCleared": 1,
        "lines": [{"lot": "GL-77-01", "serial": None, "expected": 190, "counted": 150, "difference": -40}],
    }
    assert await stock(demo_db, "A-02-01", "GL-77-01") == (150, 0)
    assert await books_balance(demo_db)
    async with demo_db() as s:
        ledger = (
            await s.execute(
                text(
                    "SELECT m.quantity, f.code AS from_loc, m.from_status, m.to_location_id, m.document_type, m.document_id, m.event_id"
                    " FROM stock_ledger m JOIN locations f ON f.id = m.from_location_id WHERE m.movement = 'count'"
                )
            )
        ).all()
        cleared = await s.scalar(text("SELECT cleared_at FROM location_blocks"))
    assert [
        (m.quantity, m.from_loc, m.from_status, m.to_location_id, m.document_type, m.document_id) for m in ledger
    ] == [(40, "A-02-01", "available", None, "count", scan_id)]
    assert cleared is not None and await active_blocks(demo_db, "A-02-01") == 0
    (counted,) = await events(demo_db, "stock.counted.v1")
    assert (
        counted["blocksCleared"] == 1
        and counted["lines"][0]["difference"] == -40
        and counted["clientScanId"] == scan_id
    )
    (adjusted,) = await events(demo_db, "stock.adjusted.v1")
    assert adjusted == {
        "location": "A-02-01",
        "item": "GLOVE-NIT-M",
        "gtin": GLOVE,
        "lot": "GL-77-01",
        "expiry": adjusted["expiry"],
        "serial": None,
        "status": "available",
        "difference": -40,
        "quantity": 40,
        "reason": "count",
        "clientScanId": scan_id,
    }
    async with demo_db() as s:
        linked = await s.scalar(text("SELECT type FROM outbox_events WHERE event_id = :e"), {"e": ledger[0].event_id})
    assert linked == "stock.adjusted.v1"

    # a replay (Wi-Fi dropped the answer) gets the first answer and moves nothing
    again = await count(
        client, picker, task["location"]["barcode"], GLOVE, [{"lot": "GL-77-01", "quantity": 150}], scan_id
    )
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true" and again.json() == r.json()
    assert await stock(demo_db, "A-02-01", "GL-77-01") == (150, 0)
    assert len(await events(demo_db, "stock.counted.v1")) == 1 and len(await events(demo_db, "stock.adjusted.v1")) == 1

    # the same scan id sent for another location or item is a reused id, not a replay
    reused = await count(client, picker, "A-02-01", "GLOVE-NIT-M", [], scan_id)
    assert reused.status_code == 409 and reused.json()["code"] == "conflict"

    # unblocked: a new wave allocates FEFO from A-02-01 again, and the picker may pick there
    admin = await login(client, "admin")
    so = {
        "erpId": "SO-CNT",
        "version": 1,
        "number": "SO-CNT",
        "customer": "CUST-RIVER",
        "shipTo": {"name": "x"},
        "lines": [{"lineNo": 1, "item": "GLOVE-NIT-M", "quantity": 20}],
    }
    assert (await client.post("/api/v1/erp/sales-orders", json=so, headers=admin)).status_code == 201
    wave = await client.post("/api/v1/waves", json={"orders": ["SO-CNT"]}, headers=sup)
    assert wave.status_code == 201 and wave.json()["shortLines"] == []
    new = await task_for(client, picker, "SO-CNT", "GLOVE-NIT-M")
    assert (new["lot"], new["location"]["code"], new["quantity"]) == ("GL-77-01", "A-02-01", 20)
    assert (await scan(client, picker, new, gs1(GLOVE_BOX, "GL-77-01"))).status_code == 200
    assert await books_balance(demo_db)


async def test_a_gain_of_a_lot_received_elsewhere_is_booked_at_the_counted_location(client, picker, demo_db):
    r = await count(
        client,
        picker,
        "A-02-01",
        "GLOVE-NIT-M",
        [{"lot": "GL-77-01", "quantity": 200}, {"lot": "GL-77-02", "quantity": 5}],
    )
    assert r.status_code == 200, r.text
    assert r.json()["lines"] == [
        {"lot": "GL-77-01", "serial": None, "expected": 200, "counted": 200, "difference": 0},
        {"lot": "GL-77-02", "serial": None, "expected": 0, "counted": 5, "difference": 5},
    ]
    assert r.json()["blocksCleared"] == 0 and r.json()["adjusted"] == 1
    assert await stock(demo_db, "A-02-01", "GL-77-02") == (5, 0)
    assert await stock(demo_db, "A-02-02", "GL-77-02") == (500, 0)  # the lot's other stock is untouched
    assert await books_balance(demo_db)
    (adjusted,) = await events(demo_db, "stock.adjusted.v1")
    assert (adjusted["lot"], adjusted["difference"], adjusted["quantity"]) == ("GL-77-02", 5, 5)
    async with demo_db() as s:
        to = await s.scalar(
            text(
                "SELECT l.code FROM stock_ledger m JOIN locations l ON l.id = m.to_location_id"
                " WHERE m.movement = 'count' AND m.from_location_id IS NULL"
            )
        )
    assert to == "A-02-01"


async def test_an_empty_count_means_nothing_was_there(client, picker, demo_db):
    r = await count(client, picker, "A-02-05", "SCREW-CORT-45", [])
    assert r.status_code == 200, r.text
    assert r.json()["lines"] == [{"lot": "SC0042", "serial": None, "expected": 50, "counted": 0, "difference": -50}]
    assert await stock(demo_db, "A-02-05", "SC0042") == (0, 0)
    assert await books_balance(demo_db)


async def test_serials_are_counted_one_by_one_and_a_unit_found_again_comes_back(client, picker, demo_db):
    r = await count(
        client,
        picker,
        "A-02-03",
        "STENT-DES-3018",
        [{"serial": "STN000101", "quantity": 1}, {"serial": "STN000102", "quantity": 1}],
    )
    assert r.status_code == 200, r.text
    assert [(ln["serial"], ln["difference"]) for ln in r.json()["lines"]] == [
        ("STN000101", 0),
        ("STN000102", 0),
        ("STN000103", -1),
    ]
    async with demo_db() as s:
        where = await s.scalar(text("SELECT location_id FROM serials WHERE serial = 'STN000103'"))
    assert where is None
    assert await stock(demo_db, "A-02-03", "ST-A1") == (2, 0)
    back = await count(
        client,
        picker,
        "A-02-03",
        "STENT-DES-3018",
        [{"serial": s, "quantity": 1, "lot": "ST-A1"} for s in ("STN000101", "STN000102", "STN000103")],
    )
    assert back.status_code == 200, back.text
    assert [ln for ln in back.json()["lines"] if ln["difference"]] == [
        {"lot": "ST-A1", "serial": "STN000103", "expected": 0, "counted": 1, "difference": 1}
    ]
    assert await stock(demo_db, "A-02-03", "ST-A1") == (3, 0)
    assert await books_balance(demo_db)
    # a serial on the books at another location is a misplaced unit, not a new one
    r = await count(
        client,
        picker,
        "A-02-03",
        "STENT-DES-3018",
        [{"serial": s, "quantity": 1} for s in ("STN000101", "STN000102", "STN000103", "STN000201")],
    )
    assert r.status_code == 409 and r.json()["code"] == "serial-booked-elsewhere" and r.json()["bookedAt"] == "A-02-04"
    assert await stock(demo_db, "A-02-03", "ST-A1") == (3, 0)


async def test_a_count_below_what_open_picks_hold_is_refused_naming_the_tasks(client, picker, demo_db):
    sup = await login(client, "supervisor")
    assert (await client.post("/api/v1/waves", json={"orders": ["SO-5001"]}, headers=sup)).status_code == 201
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    assert (task["lot"], task["location"]["code"], task["quantity"]) == ("SY2405B", "A-01-02", 30)
    others = [{"lot": "SY2405C", "quantity": 50}, {"lot": "SY2409C", "quantity": 60}]
    r = await count(client, picker, "A-01-02", "SYR-10ML", [{"lot": "SY2405B", "quantity": 10}, *others])
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["code"] == "count-below-reserved" and (body["lot"], body["counted"], body["reserved"]) == (
        "SY2405B",
        10,
        30,
    )
    assert [t["taskId"] for t in body["tasks"]] == [task["taskId"]] and str(task["taskId"]) in body["detail"]
    assert await stock(demo_db, "A-01-02", "SY2405B") == (120, 30)
    # a loss that leaves what the task holds is booked
    ok = await count(client, picker, "A-01-02", "SYR-10ML", [{"lot": "SY2405B", "quantity": 30}, *others])
    assert ok.status_code == 200, ok.text
    assert await stock(demo_db, "A-01-02", "SY2405B") == (30, 30)
    assert await books_balance(demo_db)


@pytest.mark.parametrize(
    ("location", "item", "lines", "status", "code", "member"),
    [
        ("NOWHERE", "GLOVE-NIT-M", [], 404, "not-found", ("location", "NOWHERE")),
        ("A-02-01", "NO-SUCH-ITEM", [], 404, "not-found", ("item", "NO-SUCH-ITEM")),
        ("A-02-01", "00000000000000", [], 404, "unknown-gtin", ("gtin", "00000000000000")),
        ("A-02-01", "GLOVE-NIT-M", [{"lot": "GL-99-99", "quantity": 3}], 422, "unknown-lot", ("lot", "GL-99-99")),
        (
            "A-02-01",
            "GLOVE-NIT-M",
            [{"lot": "GL-77-01", "quantity": -1}],
            422,
            "invalid-count",
            ("pointer", "/lines/0/quantity"),
        ),
        ("A-02-01", "GLOVE-NIT-M", [{"quantity": 3}], 422, "missing-lot", ("needs", ["lot"])),
        (
            "A-02-01",
            "GLOVE-NIT-M",
            [{"lot": "GL-77-01", "serial": "X1", "quantity": 1}],
            422,
            "invalid-count",
            ("serial", "X1"),
        ),
        ("A-02-01", GLOVE_BOX, [], 422, "invalid-count", ("gtin", GLOVE)),  # a box GTIN: counts are in base units
        (
            "A-02-03",
            "STENT-DES-3018",
            [{"serial": "STN000101", "quantity": 2}],
            422,
            "serial-count-mismatch",
            ("serial", "STN000101"),
        ),
        (
            "A-02-03",
            "STENT-DES-3018",
            [{"serial": "STN999999", "quantity": 1}],
            422,
            "unknown-serial",
            ("serial", "STN999999"),
        ),
        ("A-02-03", "STENT-DES-3018", [{"lot": "ST-A1", "quantity": 3}], 422, "missing-serial", ("needs", ["serial"])),
    ],
)
async def test_bad_counts_are_problems_that_change_nothing(
    client, picker, demo_db, location, item, lines, status, code, member
):
    scan_id = str(uuid.uuid4())
    r = await count(client, picker, location, item, lines, scan_id)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == code and body[member[0]] == member[1]
    assert await events(demo_db, "stock.counted.v1") == []
    async with demo_db() as s:
        assert await s.scalar(text("SELECT count(*) FROM stock_ledger WHERE movement = 'count'")) == 0
    replayed = await count(client, picker, location, item, lines, scan_id)  # the refusal is the scan id's answer
    assert replayed.status_code == status and replayed.json() == body


async def test_a_receiver_may_not_count(client):
    receiver = await login(client, "receiver")
    r = await count(client, receiver, "A-02-01", "GLOVE-NIT-M", [])
    assert r.status_code == 403


async def test_counts_appear_in_the_epcis_export_as_valid_cycle_counting_and_stock_taking_events(
    client, picker, demo_db
):
    import json

    import jsonschema

    from tests.conftest import CONFORMANCE
    from udipick.services.identity import add_api_key

    assert (
        await count(
            client,
            picker,
            "A-02-03",
            "STENT-DES-3018",
            [{"serial": "STN000101", "quantity": 1}, {"serial": "STN000102", "quantity": 1}],
        )
    ).status_code == 200
    assert (
        await count(client, picker, "A-02-01", "GLOVE-NIT-M", [{"lot": "GL-77-01", "quantity": 190}])
    ).status_code == 200
    assert (await count(client, picker, "A-02-05", "SCREW-CORT-45", [])).status_code == 200  # found nothing: no objects
    erp = {"Authorization": f"Bearer {await add_api_key(demo_db, 'erp-pull', ['erp:read'])}"}
    r = await client.get("/api/v1/epcis/events", headers=erp)
    assert r.status_code == 200, r.text
    doc = r.json()
    schema = json.loads((CONFORMANCE / "epcis" / "EPCIS-JSON-Schema.json").read_text())
    errors = list(
        jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER).iter_errors(doc)
    )
    assert not errors, errors[0]
    steps = [(e["udipick:eventType"], e["bizStep"], e["disposition"]) for e in doc["epcisBody"]["eventList"]]
    assert steps == [
        ("stock.counted.v1", "cycle_counting", "sellable_accessible"),
        ("stock.adjusted.v1", "stock_taking", "available"),
        ("stock.counted.v1", "cycle_counting", "sellable_accessible"),
        ("stock.adjusted.v1", "stock_taking", "available"),
        ("stock.adjusted.v1", "stock_taking", "available"),
    ]
    stents = doc["epcisBody"]["eventList"][0]
    assert stents["epcList"] == [
        f"https://id.gs1.org/01/{stents['epcList'][0].split('/')[4]}/21/STN00010{i}" for i in (1, 2)
    ]
    gloves = doc["epcisBody"]["eventList"][2]
    assert gloves["quantityList"] == [{"epcClass": f"https://id.gs1.org/01/{GLOVE}/10/GL-77-01", "quantity": 190}]


async def test_a_count_racing_a_wave_release_queues_on_the_item_lock_and_one_consistent_outcome_wins(
    client, picker, demo_db
):
    import asyncio

    sup = await login(client, "supervisor")
    lines = [{"lot": "SY2405B", "quantity": 20}, {"lot": "SY2405C", "quantity": 50}, {"lot": "SY2409C", "quantity": 60}]
    counted, wave = await asyncio.gather(
        count(client, picker, "A-01-02", "SYR-10ML", lines),
        client.post("/api/v1/waves", json={"orders": ["SO-5001"]}, headers=sup),
    )
    assert wave.status_code == 201, wave.text
    quantity, reserved = await stock(demo_db, "A-01-02", "SY2405B")
    if counted.status_code == 200:  # the count went first: the wave planned on the counted 20
        assert quantity == 20 and reserved <= 20
    else:  # the wave went first and holds 30 of SY2405B: the count is refused, nothing booked
        assert counted.status_code == 409 and counted.json()["code"] == "count-below-reserved"
        assert (quantity, reserved) == (120, 30)
    assert await books_balance(demo_db)


async def test_a_count_names_its_item_by_a_scanned_ma_or_ahm_code_as_every_scan_path_does(client, picker, demo_db):
    from tests.api.test_ahm_flow import ahm
    from tests.api.test_ma_flow import BOX_DI, EACH_DI, EARLY, ITEM, UNKNOWN_DI, _register, ma, receive_and_put_away
    from udipick.services.demo import demo_gtin

    admin = await login(client, "admin")
    receiver = await login(client, "receiver", device="hh-dock")
    await _register(client, admin)
    await receive_and_put_away(client, admin, receiver, "PO-MA-C", ITEM, 10, [ma(BOX_DI, EARLY)])

    r = await count(client, picker, "A-02-03", ma(EACH_DI, EARLY), [{"lot": "MAE1", "quantity": 9}])
    assert r.status_code == 200, r.text
    assert (r.json()["item"], r.json()["lines"]) == (
        ITEM,
        [{"lot": "MAE1", "serial": None, "expected": 10, "counted": 9, "difference": -1}],
    )
    assert await stock(demo_db, "A-02-03", "MAE1") == (9, 0)
    r = await count(client, picker, "A-02-03", ma(BOX_DI), [])  # a box's code: counts are in base units
    assert r.status_code == 422 and (r.json()["code"], r.json()["item"]) == ("invalid-count", ITEM), r.text
    r = await count(client, picker, "A-02-03", ma(UNKNOWN_DI), [])
    assert r.status_code == 404, r.text
    assert (r.json()["code"], r.json()["di"], r.json()["agency"]) == ("unknown-gtin", UNKNOWN_DI, "ma")

    item = {
        "erpId": "AHM-GAUZE",
        "version": 1,
        "gtin": demo_gtin(1098),
        "name": "医用纱布 (AHM)",
        "baseUnit": "EA",
        "lotTracked": True,
        "udiAgency": "ahm",
        "ahmDi": "AHM.1000001.2000001",
    }
    assert (await client.post("/api/v1/erp/items", json=item, headers=admin)).status_code == 201
    r = await count(client, picker, "A-02-03", ahm("AHM.1000001.2000001", ("G1", EARLY[1])), [])
    assert r.status_code == 200 and (r.json()["item"], r.json()["lines"]) == ("AHM-GAUZE", []), r.text
    assert await books_balance(demo_db)
