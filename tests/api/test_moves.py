"""Moves over HTTP on real PostgreSQL: by quantity, lot and serial; plate split, merge and whole-plate moves;
the refusals; replays. Every move is booked through the ledger (status kept) with ``stock.moved.v1``."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import text

from tests.api.test_counts import books_balance
from tests.api.test_replenishment import sales_order
from tests.conftest import login
from tests.receiving.helpers import LEDGER_FOR, STOCK_AT, datamatrix, days, rows, scalar, scan_body


@pytest.fixture
async def mover(client):
    return await login(client, "picker", device="tc52-11")


async def move(client, headers, source: str, to: str, *units: dict, scan_id: str | None = None):
    body = {"clientScanId": scan_id or str(uuid.uuid4()), "from": source, "to": to, "units": list(units)}
    return await client.post("/api/v1/moves", json=body, headers=headers)


def unit(item: str, lot: str | None = None, quantity: int | None = None, *, serial=None, expiry=None, indicator=0):
    raw = datamatrix(item, indicator=indicator, lot=lot, serial=serial, expiry=expiry)
    return {"raw": raw, **({"quantity": quantity} if quantity is not None else {})}


async def moved_events(db) -> list[dict]:
    return [r[0] for r in await rows(db, "SELECT data FROM outbox_events WHERE type = 'stock.moved.v1' ORDER BY id")]


async def test_a_quantity_of_a_lot_moves_between_locations_once(client, demo_db, mover):
    r = await move(
        client, mover, "LOC-R-01-01", "LOC-R-01-02", unit("SYR-10ML", "SY2409C", 25), scan_id=(sid := str(uuid.uuid4()))
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["kind"], body["fromLocation"], body["toLocation"], body["fromLpn"], body["toLpn"]) == (
        "units", "R-01-01", "R-01-02", None, None
    )  # fmt: skip
    assert [(x["item"], x["lot"], x["quantity"], x["status"]) for x in body["lines"]] == [
        ("SYR-10ML", "SY2409C", 25, "available")
    ]
    assert await rows(demo_db, STOCK_AT, loc="R-01-02") == [("SYR-10ML", "SY2409C", None, "available", 25, None)]
    assert await rows(demo_db, STOCK_AT, loc="R-01-01") == [("SYR-10ML", "SY2409C", None, "available", 975, None)]
    assert await rows(demo_db, LEDGER_FOR, doc=body["move"]) == [
        ("move", "SYR-10ML", "SY2409C", None, 25, "R-01-01", "available", "R-01-02", "available", "picker", "tc52-11")
    ]
    events = await moved_events(demo_db)
    assert len(events) == 1 and (events[0]["kind"], events[0]["lines"][0]["quantity"]) == ("units", 25)

    replay = await move(client, mover, "LOC-R-01-01", "LOC-R-01-02", unit("SYR-10ML", "SY2409C", 25), scan_id=sid)
    assert replay.json() == body and replay.headers["idempotent-replayed"] == "true"
    assert len(await moved_events(demo_db)) == 1
    assert await books_balance(demo_db)


async def test_a_box_scan_moves_the_box_and_a_serial_moves_alone(client, demo_db, mover):
    r = await move(client, mover, "LOC-A-02-01", "LOC-R-01-03", unit("GLOVE-NIT-M", "GL-77-01", indicator=1))
    assert r.status_code == 200, r.text
    assert await rows(demo_db, STOCK_AT, loc="R-01-03") == [("GLOVE-NIT-M", "GL-77-01", None, "available", 10, None)]

    stent = unit("STENT-DES-3018", "ST-A1", serial="STN000102", expiry=days(300))
    r = await move(client, mover, "LOC-A-02-03", "LOC-A-02-06", stent)
    assert r.status_code == 200, r.text
    assert await rows(demo_db, STOCK_AT, loc="A-02-06") == [
        ("STENT-DES-3018", "ST-A1", "STN000102", "available", 1, None)
    ]
    assert sorted(x[2] for x in await rows(demo_db, STOCK_AT, loc="A-02-03")) == ["STN000101", "STN000103"]
    where = "SELECT l.code FROM serials s JOIN locations l ON l.id = s.location_id WHERE s.serial = 'STN000102'"
    assert await scalar(demo_db, where) == "A-02-06"
    assert await books_balance(demo_db)


# (case, source, destination, the goods, HTTP status, problem code, the problem's reason)
REFUSALS = [
    ("cold item to ambient", "LOC-COLD-01", "LOC-R-01-02", unit("PEN-NDL-4MM", "PN3001", 10), 422, "location-unsuitable",
     "PEN-NDL-4MM is cold-chain"),
    ("bonded item to non-bonded", "LOC-BOND-01", "LOC-R-01-02", unit("CATH-IMP-6F", "CI-88", 1), 422,
     "location-unsuitable", "CATH-IMP-6F is bonded (customs not cleared)"),
    ("available stock into quarantine", "LOC-A-01-02", "LOC-QC-01", unit("SYR-10ML", "SY2405B", 5), 422,
     "location-unsuitable", "SYR-10ML is released stock; quarantine is for stock awaiting a decision"),
    ("to the shipping lane", "LOC-A-01-02", "LOC-SHIP-01", unit("SYR-10ML", "SY2405B", 5), 422, "location-unsuitable",
     "a shipping location is not a storage place"),
    ("expired stock", "LOC-A-01-03", "LOC-R-01-02", unit("SYR-10ML", "SY2312X", 1), 422, "lot-expired", None),
    ("not enough at the source", "LOC-A-01-01", "LOC-A-01-04", unit("SYR-10ML", "SY2401A", 41), 409,
     "insufficient-stock", None),
    ("a lot that is not there", "LOC-A-01-01", "LOC-A-01-04", unit("SYR-10ML", "SY2405B", 1), 409,
     "insufficient-stock", None),
    ("goods without a source plate", "LOC-A-01-01", "LOC-A-01-04", None, 422, "invalid-record", None),
    ("a goods barcode as destination", "LOC-A-01-01", datamatrix("SYR-10ML"), unit("SYR-10ML", "SY2401A", 1), 422,
     "invalid-record", None),
    ("an unknown location", "LOC-A-01-01", "LOC-NOWHERE", unit("SYR-10ML", "SY2401A", 1), 404, "not-found", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "source", "to", "goods", "status", "code", "reason"), REFUSALS, ids=[c[0] for c in REFUSALS]
)
async def test_a_move_is_refused_with_a_problem_and_changes_nothing(
    client, demo_db, mover, case, source, to, goods, status, code, reason
):
    ledger = await scalar(demo_db, "SELECT count(*) FROM stock_ledger")
    r = await move(client, mover, source, to, *([goods] if goods else []))
    assert (r.status_code, r.json()["code"]) == (status, code), r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    if reason is not None:
        assert r.json()["reason"] == reason
    assert await scalar(demo_db, "SELECT count(*) FROM stock_ledger") == ledger
    assert await moved_events(demo_db) == []


async def test_held_recalled_frozen_and_reserved_stock_stays(client, demo_db, mover):
    sup = await login(client, "supervisor")
    r = await client.post(
        "/api/v1/holds",
        json={"scope": "lot", "item": "GLOVE-NIT-M", "lot": "GL-77-02", "reason": "complaint"},
        headers=sup,
    )
    assert r.status_code == 201, r.text
    r = await move(client, mover, "LOC-A-02-02", "LOC-R-01-02", unit("GLOVE-NIT-M", "GL-77-02", 5))
    assert (r.status_code, r.json()["code"], r.json()["reason"]) == (409, "stock-on-hold", "complaint")

    async with demo_db.begin() as s:
        await s.execute(text("UPDATE lots SET status = 'recalled' WHERE lot = 'PN3002'"))
        await s.execute(text("UPDATE locations SET frozen = true WHERE code = 'A-01-01'"))
    r = await move(client, mover, "LOC-COLD-02", "LOC-COLD-01", unit("PEN-NDL-4MM", "PN3002", 5))
    assert (r.status_code, r.json()["code"]) == (409, "lot-recalled")
    r = await move(client, mover, "LOC-A-01-01", "LOC-R-01-02", unit("SYR-10ML", "SY2401A", 1))
    assert (r.status_code, r.json()["code"]) == (409, "location-frozen"), r.text

    # a wave promises GL-77-01's units at A-02-01 to a pick task: only the free rest may move
    await sales_order(client, "SO-MOVE", "GLOVE-NIT-M", 150)
    r = await client.post("/api/v1/waves", json={"orders": ["SO-MOVE"]}, headers=sup)
    assert r.status_code == 201, r.text
    reserved = await scalar(
        demo_db,
        "SELECT s.reserved FROM stock s JOIN locations l ON l.id = s.location_id WHERE l.code = 'A-02-01'",
    )
    assert reserved == 150
    r = await move(client, mover, "LOC-A-02-01", "LOC-R-01-02", unit("GLOVE-NIT-M", "GL-77-01", 51))
    assert (r.status_code, r.json()["code"], r.json()["reserved"], r.json()["available"]) == (
        409, "stock-reserved", 150, 50
    )  # fmt: skip
    r = await move(client, mover, "LOC-A-02-01", "LOC-R-01-02", unit("GLOVE-NIT-M", "GL-77-01", 50))
    assert r.status_code == 200, r.text
    assert await books_balance(demo_db)


async def _receive_blind(client, headers, *scans: dict) -> list[dict]:
    r = await client.post("/api/v1/receipts", json={"blind": True, "supplier": "SUP-MEDTEC"}, headers=headers)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    for s in scans:
        r = await client.post(f"/api/v1/receipts/{rid}/scans", json=s, headers=headers)
        assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/receipts/{rid}/close", json={}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["putawayTasks"]


def short_dated(lot: str, quantity: int) -> dict:
    """Syringes with 30 days left (the item needs 60): received into quarantine."""
    return scan_body(datamatrix("SYR-10ML", lot=lot, expiry=days(30)), quantity=quantity)


@pytest.fixture
async def quarantine_plates(client, demo_db):
    """Two quarantine plates put away (whole) to QC-01: P1 with lots Q1, Q2, Q3 (20 each), P2 with Q4 (10)."""
    sup = await login(client, "supervisor", device="hh-8")
    (p1,) = await _receive_blind(client, sup, short_dated("Q1", 20), short_dated("Q2", 20), short_dated("Q3", 20))
    (p2,) = await _receive_blind(client, sup, short_dated("Q4", 10))
    for task in (p1, p2):
        assert task["needs"] == "quarantine" and task["suggestion"]["location"] == "QC-01", task
        r = await client.post(f"/api/v1/putaway/tasks/{task['id']}/confirm", json=scan_body("LOC-QC-01"), headers=sup)
        assert r.status_code == 200, r.text
    return p1["lpn"], p2["lpn"]


async def test_plates_split_merge_and_move_whole_keeping_quarantine(client, demo_db, mover, quarantine_plates):
    p1, p2 = quarantine_plates
    # split: one lot of P1 onto P2
    r = await move(client, mover, p1, p2, unit("SYR-10ML", "Q2", 20, expiry=days(30)))
    assert r.status_code == 200, r.text
    assert (r.json()["kind"], r.json()["fromLpn"], r.json()["toLpn"]) == ("split", p1, p2)
    on = sorted((x[1], x[3], x[4]) for x in await rows(demo_db, STOCK_AT, loc="QC-01") if x[5] == p2)
    assert on == [("Q2", "quarantine", 20), ("Q4", "quarantine", 10)]

    # split to a location: part of a lot, loose in the cold room's quarantine cage
    r = await move(client, mover, p1, "LOC-QC-COLD-01", unit("SYR-10ML", "Q3", 5, expiry=days(30)))
    assert r.status_code == 200 and r.json()["kind"] == "units", r.text
    assert await rows(demo_db, STOCK_AT, loc="QC-COLD-01") == [("SYR-10ML", "Q3", None, "quarantine", 5, None)]

    # merge: all of P2 onto P1
    r = await move(client, mover, p2, p1)
    assert r.status_code == 200 and r.json()["kind"] == "merge", r.text
    on_p1 = sorted((x[1], x[4]) for x in await rows(demo_db, STOCK_AT, loc="QC-01") if x[5] == p1)
    assert on_p1 == [("Q1", 20), ("Q2", 20), ("Q3", 15), ("Q4", 10)]
    assert [x for x in await rows(demo_db, STOCK_AT, loc="QC-01") if x[5] == p2] == []

    # the whole plate to another quarantine location: it keeps together
    r = await move(client, mover, p1, "LOC-QC-COLD-01")
    assert r.status_code == 200 and r.json()["kind"] == "plate", r.text
    located = "SELECT l.code FROM containers c JOIN locations l ON l.id = c.location_id WHERE c.code = :c"
    assert await scalar(demo_db, located, c=p1) == "QC-COLD-01"
    assert sorted(x[4] for x in await rows(demo_db, STOCK_AT, loc="QC-COLD-01") if x[5] == p1) == [10, 15, 20, 20]

    # quarantine never reaches a saleable place by a move
    r = await move(client, mover, p1, "LOC-R-01-02", unit("SYR-10ML", "Q1", 1, expiry=days(30)))
    assert (r.status_code, r.json()["code"], r.json()["needs"]) == (422, "location-unsuitable", "quarantine")
    statuses = await rows(demo_db, "SELECT DISTINCT to_status FROM stock_ledger WHERE movement = 'move'")
    assert statuses == [("quarantine",)]
    assert [e["kind"] for e in await moved_events(demo_db)] == ["split", "units", "merge", "plate"]
    assert await books_balance(demo_db)


async def test_a_plate_takes_only_stock_of_its_status(client, demo_db, mover, quarantine_plates):
    p1, _ = quarantine_plates
    r = await move(client, mover, "LOC-R-01-01", p1, unit("SYR-10ML", "SY2409C", 5))
    assert (r.status_code, r.json()["code"]) == (422, "location-unsuitable"), r.text
    assert r.json()["reason"] == f"{p1} holds quarantine stock"


async def test_two_movers_racing_for_the_last_units_one_wins(client, demo_db):
    a = await login(client, "picker", device="tc52-21")
    b = await login(client, "receiver", device="tc52-22")
    first, second = await asyncio.gather(
        move(client, a, "LOC-A-01-01", "LOC-A-01-04", unit("SYR-10ML", "SY2401A", 40)),
        move(client, b, "LOC-A-01-01", "LOC-A-01-05", unit("SYR-10ML", "SY2401A", 40)),
    )
    assert sorted([first.status_code, second.status_code]) == [200, 409]
    loser = first if first.status_code == 409 else second
    assert loser.json()["code"] == "insufficient-stock"
    assert await rows(demo_db, STOCK_AT, loc="A-01-01") == []
    assert len(await moved_events(demo_db)) == 1
    assert await books_balance(demo_db)
