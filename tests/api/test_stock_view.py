"""The stock view, available to promise, the reorder point and the allocation tie-break over HTTP on real
PostgreSQL (issue 19), against a scenario computed by hand: one item with lots in every status."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text

from tests.api.test_picking import events
from tests.api.test_replenishment import sales_order
from tests.conftest import login
from udipick.db.ledger import Movement, post_movements
from udipick.db.models import Item, Location, Lot
from udipick.domain.access import Actor
from udipick.services import identity
from udipick.services.demo import demo_gtin
from udipick.services.stock_view import reorder_round

KIT = "SV-KIT"


async def add_item(client, admin, erp_id: str) -> None:
    item = {
        "erpId": erp_id,
        "version": 1,
        "gtin": demo_gtin(90000 + sum(map(ord, erp_id)) % 9999),
        "name": erp_id,
        "baseUnit": "EA",
        "lotTracked": True,
        "expiryTracked": True,
    }
    r = await client.post("/api/v1/erp/items", json=item, headers=admin)
    assert r.status_code == 201, r.text


async def book(
    db, item: str, lot: str, expiry_days: int, location: str, quantity: int, status="available", lot_status="released"
) -> None:
    async with db.begin() as s:
        item_id = await s.scalar(select(Item.id).where(Item.erp_id == item))
        loc_id = await s.scalar(select(Location.id).where(Location.code == location))
        lot_id = await s.scalar(select(Lot.id).where(Lot.item_id == item_id, Lot.lot == lot))
        if lot_id is None:
            lot_id = await s.scalar(
                Lot.__table__.insert()
                .values(
                    item_id=item_id, lot=lot, status=lot_status, expiry=dt.date.today() + dt.timedelta(days=expiry_days)
                )
                .returning(Lot.id)
            )
        admin = await s.scalar(text("SELECT id FROM users WHERE username = 'admin'"))
        await post_movements(
            s,
            Actor(user_id=admin, username="admin"),
            [
                Movement(
                    "adjust",
                    item_id=item_id,
                    quantity=quantity,
                    lot_id=lot_id,
                    to_location_id=loc_id,
                    to_status=status,
                    document_type="test",
                    document_id="STOCK-VIEW",
                )
            ],
        )


@pytest.fixture
async def admin(client):
    return await login(client, "admin")


@pytest.fixture
async def sup(client):
    return await login(client, "supervisor")


@pytest.fixture
async def scenario(client, admin, sup, demo_db):
    """SV-KIT in MAIN:
    L1 (+20 d): 30 at A-01-04 (12 allocated by SO-SV1), 3 damaged there, 7 at BOND-01 (bonded location);
    L2 (+100 d): 40 at A-01-05 under a lot hold (booked available);
    L3 (+400 d): 25 at R-01-02, the lot recalled;
    L4 (-3 d): 10 at A-01-06 booked available (past its expiry), 5 booked expired;
    L5 (+60 d): 8 at QC-01 in quarantine;
    an open ASN of 50 (in transit); SO-SV2 for 20, not yet released (open demand)."""
    await add_item(client, admin, KIT)
    await book(demo_db, KIT, "L1", 20, "A-01-04", 30)
    await book(demo_db, KIT, "L1", 20, "A-01-04", 3, status="damaged")
    await book(demo_db, KIT, "L1", 20, "BOND-01", 7)
    await book(demo_db, KIT, "L2", 100, "A-01-05", 40)
    await book(demo_db, KIT, "L3", 400, "R-01-02", 25, lot_status="recalled")
    await book(demo_db, KIT, "L4", -3, "A-01-06", 10)
    await book(demo_db, KIT, "L4", -3, "A-01-06", 5, status="expired")
    await book(demo_db, KIT, "L5", 60, "QC-01", 8, status="quarantine")
    r = await client.post(
        "/api/v1/holds", json={"scope": "lot", "item": KIT, "lot": "L2", "reason": "complaint"}, headers=sup
    )
    assert r.status_code == 201, r.text
    asn = {
        "erpId": "ASN-SV1",
        "version": 1,
        "number": "ASN-SV1",
        "kind": "asn",
        "supplier": "SUP-MEDTEC",
        "lines": [{"lineNo": 1, "item": KIT, "quantity": 50}],
    }
    r = await client.post("/api/v1/erp/purchase-orders", json=asn, headers=admin)
    assert r.status_code == 201, r.text
    await sales_order(client, "SO-SV1", KIT, 12)
    r = await client.post("/api/v1/waves", json={}, headers=sup)
    assert r.status_code == 201, r.text
    await sales_order(client, "SO-SV2", KIT, 20)


async def view(client, headers, **params) -> dict:
    r = await client.get("/api/v1/stock", params={"item": KIT, **params}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


EXPECTED_TOTALS = {
    "available": 18,
    "allocated": 12,
    "picked": 0,
    "packed": 0,
    "quarantine": 8,
    "hold": 40,
    "recalled": 25,
    "expired": 15,
    "bonded": 7,
    "damaged": 3,
    "rejected": 0,
    "in_transit": 50,
}


async def test_the_stock_view_matches_the_hand_computed_scenario(client, scenario, sup):
    v = await view(client, sup, groupBy=["lot", "status"])
    assert v["totals"] == EXPECTED_TOTALS
    got = {(g.get("lot"), g["status"]): g["quantity"] for g in v["groups"]}  # in transit: no lot
    assert got == {
        ("L1", "available"): 18,
        ("L1", "allocated"): 12,
        ("L1", "damaged"): 3,
        ("L1", "bonded"): 7,
        ("L2", "hold"): 40,
        ("L3", "recalled"): 25,
        ("L4", "expired"): 15,
        ("L5", "quarantine"): 8,
        (None, "in_transit"): 50,
    }
    assert all(g["item"] == KIT for g in v["groups"])


async def test_grouped_by_expiry_bucket_and_location_type(client, scenario, sup):
    v = await view(client, sup, groupBy=["expiry_bucket"])
    assert {g["expiryBucket"]: g["quantity"] for g in v["groups"]} == {
        "30d": 30 + 3 + 7,
        "90d": 8,
        "180d": 40,
        "later": 25,
        "expired": 15,
        "none": 50,
    }
    v = await view(client, sup, groupBy="location_type", status="available")
    assert [(g["locationType"], g["quantity"]) for g in v["groups"]] == [("pick", 18)]


async def test_filters_narrow_the_view(client, scenario, sup):
    v = await view(client, sup, groupBy="lot", expiryBefore=dt.date.today().isoformat())
    assert [(g["lot"], g["quantity"]) for g in v["groups"]] == [("L4", 15)]
    v = await view(client, sup, groupBy="status", locationType="quarantine")
    assert [(g["status"], g["quantity"]) for g in v["groups"]] == [("quarantine", 8)]
    v = await view(client, sup, groupBy="warehouse", status="in_transit")
    assert [(g["warehouse"], g["quantity"]) for g in v["groups"]] == [("MAIN", 50)]


async def test_csv_and_who_may_read(client, scenario, sup, demo_db):
    r = await client.get("/api/v1/stock", params={"item": KIT, "groupBy": "status", "format": "csv"}, headers=sup)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.text.strip().splitlines()
    assert lines[0].split(",") == ["status", "quantity"] and "hold,40" in lines
    key = {"Authorization": f"Bearer {await identity.add_api_key(demo_db, 'erp-sv', ['erp:read'])}"}
    assert (await client.get("/api/v1/stock", params={"item": KIT}, headers=key)).status_code == 200
    picker = await login(client, "picker")
    assert (await client.get("/api/v1/stock", headers=picker)).status_code == 403
    r = await client.get("/api/v1/stock", params={"groupBy": "colour"}, headers=sup)
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json")


async def test_available_to_promise(client, scenario, sup):
    r = await client.get("/api/v1/stock/atp", params={"item": KIT, "warehouse": "MAIN"}, headers=sup)
    assert r.status_code == 200, r.text
    assert r.json() == [
        {
            "item": KIT,
            "warehouse": "MAIN",
            "onHandAvailable": 30,
            "allocated": 12,
            "openDemand": 20,
            "inTransit": 50,
            "atp": 30 - 12 - 20,
        }
    ]


async def test_the_snapshot_shows_a_held_lot_as_hold(client, scenario, admin, demo_db):
    key = {"Authorization": f"Bearer {await identity.add_api_key(demo_db, 'erp-snap', ['erp:read'])}"}
    r = await client.get("/api/v1/erp/stock", headers=key)
    assert r.status_code == 200, r.text
    import json

    rows = [json.loads(line) for line in r.text.splitlines() if KIT in line]
    assert {(x["lot"], x["status"]) for x in rows if x["lot"] == "L2"} == {("L2", "hold")}


async def test_a_fall_below_the_minimum_is_suggested_once_per_crossing(client, scenario, admin, sup, demo_db):
    level = {"erpId": "SL-KIT-MAIN", "version": 1, "item": KIT, "warehouse": "MAIN", "minimum": 25, "maximum": 100}
    r = await client.post("/api/v1/erp/stock-levels", json=level, headers=admin)
    assert r.status_code == 201, r.text
    today = dt.date.today()
    assert await reorder_round(demo_db, today=today) == 1  # 18 available < 25
    assert await reorder_round(demo_db, today=today) == 0  # still below: not again
    (sent,) = await events(demo_db, "replenishment.suggested.v1")
    assert {k: sent[k] for k in ("item", "warehouse", "available", "inTransit", "minimum", "maximum")} == {
        "item": KIT,
        "warehouse": "MAIN",
        "available": 18,
        "inTransit": 50,
        "minimum": 25,
        "maximum": 100,
    }
    assert sent["suggestedQuantity"] == 100 - 18 - 50
    await book(demo_db, KIT, "L1", 20, "A-01-04", 20)  # 38 available: back above the minimum
    assert await reorder_round(demo_db, today=today) == 0
    r = await client.post(
        "/api/v1/holds", json={"scope": "location", "location": "A-01-04", "reason": "leak"}, headers=sup
    )
    assert r.status_code == 201, r.text
    assert await reorder_round(demo_db, today=today) == 1  # a new fall below it
    assert [e["available"] for e in await events(demo_db, "replenishment.suggested.v1")] == [18, 0]
    # the ERP's versions: a replay is unchanged, an older version refused
    r = await client.post("/api/v1/erp/stock-levels", json=level, headers=admin)
    assert (r.status_code, r.json()["status"]) == (200, "unchanged")
    r = await client.post("/api/v1/erp/stock-levels", json={**level, "version": 2, "maximum": 10}, headers=admin)
    assert r.status_code == 422 and r.json()["code"] == "invalid-record", r.text


async def test_equal_expiry_is_picked_from_the_one_location_that_fills_the_line(client, admin, sup, demo_db):
    """The reported case: TA at A-01-05 (10, earlier on the path); TA and TB at A-02-06 (10 + 10), one expiry:
    a 15-unit line takes both from A-02-06, not 10 from A-01-05 and 5 from A-02-06."""
    await add_item(client, admin, "TB-KIT")
    await book(demo_db, "TB-KIT", "TA", 200, "A-01-05", 10)
    await book(demo_db, "TB-KIT", "TA", 200, "A-02-06", 10)
    await book(demo_db, "TB-KIT", "TB", 200, "A-02-06", 10)
    await sales_order(client, "SO-TB", "TB-KIT", 15)
    r = await client.post("/api/v1/waves", json={}, headers=sup)
    assert r.status_code == 201, r.text
    async with demo_db() as s:
        tasks = (
            await s.execute(
                text(
                    "SELECT loc.code, l.lot, t.quantity FROM pick_tasks t JOIN locations loc ON loc.id = t.location_id"
                    " JOIN lots l ON l.id = t.lot_id JOIN items i ON i.id = t.item_id WHERE i.erp_id = 'TB-KIT'"
                    " ORDER BY l.lot"
                )
            )
        ).all()
    assert [tuple(t) for t in tasks] == [("A-02-06", "TA", 10), ("A-02-06", "TB", 5)]
