"""Replenishment over HTTP on real PostgreSQL: a wave that outruns the pick face, the task it creates
from the earliest-expiring eligible reserve lot, the confirm scans, replays, cancel, and reservations."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import msgspec
import pytest
from sqlalchemy import select, text

from tests.api.test_counts import books_balance, stock
from tests.api.test_picking import GLOVE, SYR, SYR_BOX, events, gs1
from tests.conftest import login
from udipick.db.ledger import Movement, post_movements
from udipick.db.models import Item, Location, Lot
from udipick.domain.access import Actor
from udipick.domain.site import SiteIds
from udipick.services import epcis
from udipick.services import replenishment as svc
from udipick.services.demo import demo_gtin
from udipick.services.picking import ReleasedWave

#: reserve lots added to the demo's (SY2409C, 500 days, 1000 at R-01-01): one expired, one held, one
#: eligible and earlier than SY2409C
RESERVE = [("SY-OLD", -5, "R-01-02", 200), ("SY-HELD", 210, "R-01-03", 200), ("SY-EARLY", 450, "R-01-04", 500)]


async def receive(db, item: str, lot: str, expiry_days: int, location: str, quantity: int) -> None:
    async with db.begin() as s:
        item_id = await s.scalar(select(Item.id).where(Item.erp_id == item))
        loc_id = await s.scalar(select(Location.id).where(Location.code == location))
        lot_id = await s.scalar(
            Lot.__table__.insert()
            .values(item_id=item_id, lot=lot, expiry=dt.date.today() + dt.timedelta(days=expiry_days))
            .returning(Lot.id)
        )
        admin = await s.scalar(text("SELECT id FROM users WHERE username = 'admin'"))
        await post_movements(
            s,
            Actor(user_id=admin, username="admin"),
            [
                Movement(
                    "receipt",
                    item_id=item_id,
                    quantity=quantity,
                    lot_id=lot_id,
                    to_location_id=loc_id,
                    to_status="available",
                    document_type="test",
                    document_id="RESERVE",
                )
            ],
        )


async def sales_order(client, erp_id: str, item: str, quantity: int) -> None:
    admin = await login(client, "admin")
    so = {
        "erpId": erp_id,
        "version": 1,
        "number": erp_id,
        "customer": "CUST-RIVER",
        "shipTo": {"name": "x"},
        "lines": [{"lineNo": 1, "item": item, "quantity": quantity}],
    }
    r = await client.post("/api/v1/erp/sales-orders", json=so, headers=admin)
    assert r.status_code == 201, r.text


@pytest.fixture
async def sup(client):
    return await login(client, "supervisor")


@pytest.fixture
async def mover(client):
    return await login(client, "picker", device="tc52-09")


@pytest.fixture
async def reserve_stocked(client, demo_db, sup):
    for lot, days, location, qty in RESERVE:
        await receive(demo_db, "SYR-10ML", lot, days, location, qty)
    r = await client.post(
        "/api/v1/holds", json={"scope": "lot", "item": "SYR-10ML", "lot": "SY-HELD", "reason": "complaint"}, headers=sup
    )
    assert r.status_code == 201, r.text


@pytest.fixture
async def big_wave(client, reserve_stocked, sup):
    """300 syringes: the pick face has 230 eligible (SY2405B 120, SY2405C 50, SY2409C 60 at A-01-02), but FEFO takes
    SY-EARLY from reserve (450 days) before SY2409C (500 days): 130 are picked from R-01-04."""
    await sales_order(client, "SO-BIG", "SYR-10ML", 300)
    r = await client.post("/api/v1/waves", json={"orders": ["SO-BIG"]}, headers=sup)
    assert r.status_code == 201 and r.json()["shortLines"] == [], r.text
    return r.json()


@pytest.fixture
async def planned(client, big_wave, sup):
    """The wave's own answer plans replenishment; planning again on demand adds nothing."""
    r = await client.post("/api/v1/replenishment/plan", json={"waveId": big_wave["waveId"]}, headers=sup)
    assert r.status_code == 200 and r.json()["tasks"] == [], r.text
    return big_wave["replenishment"]


async def confirm(
    client,
    headers,
    task: dict,
    *,
    source: str | None = None,
    raw: str | None = None,
    to: str | None = None,
    quantity: int | None = None,
    scan_id: str | None = None,
):
    body = {
        "clientScanId": scan_id or str(uuid.uuid4()),
        "fromLocationRaw": source or task["from"]["barcode"],
        "raw": raw or gs1(SYR, task["lot"], dt.date.fromisoformat(task["expiry"])),
        "toLocationRaw": to or task["to"]["barcode"],
    }
    if quantity is not None:
        body["quantity"] = quantity
    return await client.post(f"/api/v1/replenishment/tasks/{task['taskId']}/confirm", json=body, headers=headers)


async def moves(db) -> int:
    async with db() as s:
        return await s.scalar(text("SELECT count(*) FROM stock_ledger WHERE movement = 'move'"))


async def test_a_wave_that_outruns_the_pick_face_gets_a_task_from_the_earliest_eligible_reserve_lot(
    client, big_wave, planned, mover, demo_db
):
    (task,) = planned["tasks"]
    # 130 picked from reserve, 60 still free on the face (SY2409C): 70 to move. SY-OLD (expired) and SY-HELD (on hold)
    # expire earlier than SY-EARLY and are never chosen. The face: the first pick location holding syringes.
    assert (task["lot"], task["from"]["code"], task["to"]["code"], task["quantity"], task["status"]) == (
        "SY-EARLY",
        "R-01-04",
        "A-01-01",
        70,
        "open",
    )
    assert (
        task["waveId"] == big_wave["waveId"]
        and "60 free" in task["reason"]
        and "need 130 from reserve" in task["reason"]
    )
    assert planned["noPickFace"] == [] and planned["notCovered"] == []
    # reserved at the source: 130 for the picks, 70 for the replenishment
    assert await stock(demo_db, "R-01-04", "SY-EARLY") == (500, 200)
    (created,) = await events(demo_db, "replenishment.created.v1")
    assert (
        created.items()
        >= {
            "taskId": task["taskId"],
            "item": "SYR-10ML",
            "gtin": SYR,
            "lot": "SY-EARLY",
            "fromLocation": "R-01-04",
            "toLocation": "A-01-01",
            "quantity": 70,
            "waveId": big_wave["waveId"],
        }.items()
    )
    listed = (await client.get("/api/v1/replenishment/tasks?status=open", headers=mover)).json()
    assert [t["taskId"] for t in listed] == [task["taskId"]]
    receiver = await login(client, "receiver")
    assert (await client.get("/api/v1/replenishment/tasks", headers=receiver)).status_code == 200


async def test_planning_again_never_duplicates_an_open_task(client, planned, sup, demo_db):
    again = await client.post("/api/v1/replenishment/plan", json={}, headers=sup)
    assert again.status_code == 200 and again.json()["tasks"] == []
    async with demo_db() as s:
        assert await s.scalar(text("SELECT count(*) FROM replenishment_tasks")) == 1
    assert await stock(demo_db, "R-01-04", "SY-EARLY") == (500, 200)
    assert len(await events(demo_db, "replenishment.created.v1")) == 1


async def test_confirming_with_scans_moves_the_stock_through_the_ledger_and_closes_the_task(
    client, planned, mover, demo_db
):
    (task,) = planned["tasks"]
    scan_id = str(uuid.uuid4())
    r = await confirm(client, mover, task, scan_id=scan_id)
    assert r.status_code == 200, r.text
    assert (
        r.json().items()
        >= {
            "taskId": task["taskId"],
            "taskStatus": "done",
            "lot": "SY-EARLY",
            "from": "R-01-04",
            "to": "A-01-01",
            "units": 70,
            "moved": 70,
            "remaining": 0,
        }.items()
    )
    assert await stock(demo_db, "R-01-04", "SY-EARLY") == (430, 130)  # the picks' reservation stays
    assert await stock(demo_db, "A-01-01", "SY-EARLY") == (70, 0)
    assert await books_balance(demo_db)
    async with demo_db() as s:
        (move,) = (
            await s.execute(
                text(
                    "SELECT m.quantity, f.code AS src, t.code AS dst, m.from_status, m.to_status, m.document_type, m.document_id, m.device_id,"
                    " m.event_id FROM stock_ledger m JOIN locations f ON f.id = m.from_location_id JOIN locations t ON t.id = m.to_location_id"
                    " WHERE m.movement = 'move'"
                )
            )
        ).all()
        done = (
            await s.execute(text("SELECT status, moved, done_at IS NOT NULL, done_device FROM replenishment_tasks"))
        ).one()
        event_id = await s.scalar(text("SELECT event_id FROM outbox_events WHERE type = 'replenishment.confirmed.v1'"))
    assert (
        move.quantity,
        move.src,
        move.dst,
        move.from_status,
        move.to_status,
        move.document_type,
        move.document_id,
        move.device_id,
    ) == (70, "R-01-04", "A-01-01", "available", "available", "replenishment", f"RPL-{task['taskId']:06d}", "tc52-09")
    assert move.event_id == event_id
    assert tuple(done) == ("done", 70, True, "tc52-09")
    assert (await client.get("/api/v1/replenishment/tasks", headers=mover)).json() == []
    (ev,) = await events(demo_db, "replenishment.confirmed.v1")
    assert (
        ev.items()
        >= {
            "taskId": task["taskId"],
            "lot": "SY-EARLY",
            "quantity": 70,
            "moved": 70,
            "remaining": 0,
            "taskStatus": "done",
            "clientScanId": scan_id,
        }.items()
    )
    doc = epcis.epcis_event(
        {
            "position": 1,
            "eventId": "e",
            "type": "replenishment.confirmed.v1",
            "occurredAt": "2026-01-02T03:04:05Z",
            "data": ev,
        },
        site=SiteIds.parse("0614141000005", "0614141"),
    )
    # was urn:udipick:location:A-01-01 (no GLN): now the site's SGLN with the location code as extension
    assert doc["bizStep"] == "stocking" and doc["readPoint"] == {"id": "urn:epc:id:sgln:0614141.00000.A-01-01"}
    assert doc["quantityList"] == [{"epcClass": f"https://id.gs1.org/01/{SYR}/10/SY-EARLY", "quantity": 70}]
    # the face holds what the picks need now: the next planning adds nothing
    sup = await login(client, "supervisor")
    assert (await client.post("/api/v1/replenishment/plan", json={}, headers=sup)).json()["tasks"] == []


async def test_a_partial_confirm_leaves_the_rest_open_and_reserved(client, planned, mover, demo_db):
    (task,) = planned["tasks"]
    r = await confirm(client, mover, task, quantity=30)
    assert r.status_code == 200 and r.json()["taskStatus"] == "open" and r.json()["remaining"] == 40, r.text
    assert await stock(demo_db, "R-01-04", "SY-EARLY") == (470, 170)
    r = await confirm(client, mover, task)  # the rest
    assert r.status_code == 200 and r.json()["taskStatus"] == "done" and r.json()["units"] == 40
    assert await stock(demo_db, "A-01-01", "SY-EARLY") == (70, 0) and await books_balance(demo_db)


@pytest.mark.parametrize(
    ("change", "status", "code", "members"),
    [
        (
            {"source": "LOC-R-01-01"},
            409,
            "wrong-location",
            {"expectedLocation": "R-01-04", "scannedLocation": "R-01-01"},
        ),
        ({"raw": gs1(GLOVE, "GL-77-01")}, 409, "wrong-item", {"expectedItem": "Sterile syringe 10 ml, Luer lock"}),
        (
            {"raw": gs1(SYR, "SY2409C")},
            409,
            "wrong-lot",
            {"takeLot": "SY-EARLY", "takeLocation": "R-01-04", "scannedLot": "SY2409C"},
        ),
        ({"raw": gs1(SYR)}, 422, "missing-lot", {"needs": ["lot"]}),
        ({"quantity": 71}, 409, "over-pick", {"remaining": 70, "scannedUnits": 71}),
        ({"raw": gs1(SYR_BOX, "SY-EARLY")}, 200, None, {}),  # a box without a quantity: all the task needs
        ({"raw": gs1(SYR_BOX, "SY-EARLY"), "quantity": 1}, 409, "over-pick", {"scannedUnits": 100}),  # one box is 100
        ({"to": "LOC-A-01-02"}, 409, "wrong-location", {"expectedLocation": "A-01-01", "scannedLocation": "A-01-02"}),
        ({"to": "TOTE-0001"}, 409, "wrong-location", {"scannedLocation": "TOTE-0001"}),
        ({"raw": "]d201" + SYR[:-1] + str((int(SYR[-1]) + 1) % 10) + "10SY-EARLY"}, 422, "unreadable-barcode", {}),
    ],
)
async def test_wrong_scans_are_refused_with_a_problem_and_move_nothing(
    client, planned, mover, demo_db, change, status, code, members
):
    (task,) = planned["tasks"]
    r = await confirm(client, mover, task, **change)
    assert r.status_code == status, r.text
    if code is None:
        return
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code and r.json().items() >= members.items(), r.json()
    assert await moves(demo_db) == 0
    assert await stock(demo_db, "R-01-04", "SY-EARLY") == (500, 200)


async def test_a_wrong_lot_problem_names_the_lot_to_take(client, planned, mover):
    (task,) = planned["tasks"]
    r = await confirm(client, mover, task, raw=gs1(SYR, "SY2409C"))
    assert "take lot SY-EARLY from R-01-04" in r.json()["detail"]


async def test_stock_that_became_ineligible_is_not_moved(client, planned, mover, sup, demo_db):
    (task,) = planned["tasks"]
    r = await client.post(
        "/api/v1/holds",
        json={"scope": "lot", "item": "SYR-10ML", "lot": "SY-EARLY", "reason": "sterility doubt"},
        headers=sup,
    )
    assert r.status_code == 201, r.text
    r = await confirm(client, mover, task)
    assert r.status_code == 409 and r.json()["code"] == "stock-on-hold" and r.json()["reason"] == "sterility doubt"
    assert await moves(demo_db) == 0
    # the held units cannot arrive: planning covers the face from the next eligible lot (the hold re-allocated the
    # picks too: 60 from the face's SY2409C, 70 from reserve's)
    (fresh,) = (await client.post("/api/v1/replenishment/plan", json={}, headers=sup)).json()["tasks"]
    assert (fresh["lot"], fresh["from"]["code"], fresh["to"]["code"], fresh["quantity"]) == (
        "SY2409C",
        "R-01-01",
        "A-01-01",
        70,
    )


async def test_a_replayed_confirm_returns_the_first_answer_and_moves_nothing_twice(client, planned, mover, demo_db):
    (task,) = planned["tasks"]
    scan_id = str(uuid.uuid4())
    first = await confirm(client, mover, task, quantity=10, scan_id=scan_id)
    again = await confirm(client, mover, task, quantity=10, scan_id=scan_id)
    assert first.status_code == again.status_code == 200 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await moves(demo_db) == 1 and await stock(demo_db, "A-01-01", "SY-EARLY") == (10, 0)
    refused_id = str(uuid.uuid4())
    r1 = await confirm(client, mover, task, raw=gs1(SYR, "SY2409C"), scan_id=refused_id)
    r2 = await confirm(client, mover, task, scan_id=refused_id)  # the same id with a good scan: still the first answer
    assert r1.status_code == r2.status_code == 409 and r1.json() == r2.json()
    assert len(await events(demo_db, "replenishment.confirmed.v1")) == 1


async def test_cancel_releases_the_reservation(client, planned, sup, mover, demo_db):
    (task,) = planned["tasks"]
    path = f"/api/v1/replenishment/tasks/{task['taskId']}/cancel"
    assert (await client.post(path, json={"reason": "reserve aisle closed"}, headers=mover)).status_code == 403
    assert (await client.post(path, json={"reason": ""}, headers=sup)).status_code == 400
    r = await client.post(path, json={"reason": "reserve aisle closed"}, headers=sup)
    assert r.status_code == 200, r.text
    assert (
        r.json().items()
        >= {"status": "cancelled", "released": 70, "cancelReason": "reserve aisle closed", "remaining": 0}.items()
    )
    assert await stock(demo_db, "R-01-04", "SY-EARLY") == (500, 130)
    (ev,) = await events(demo_db, "replenishment.cancelled.v1")
    assert (
        ev.items() >= {"taskId": task["taskId"], "released": 70, "moved": 0, "reason": "reserve aisle closed"}.items()
    )
    again = await client.post(path, json={"reason": "twice"}, headers=sup)
    assert again.status_code == 409 and again.json()["code"] == "task-not-open"
    r = await confirm(client, mover, task)
    assert r.status_code == 409 and r.json()["code"] == "task-not-open"


async def test_reserved_units_are_not_allocated_to_a_wave_released_while_the_task_is_open(
    client, planned, sup, mover, demo_db
):
    (task,) = planned["tasks"]
    await sales_order(client, "SO-MORE", "SYR-10ML", 2000)
    r = await client.post("/api/v1/waves", json={"orders": ["SO-MORE"]}, headers=sup)
    assert r.status_code == 201, r.text
    # free: 60 on the face, 300 of SY-EARLY (500 - 130 picks - 70 replenishment), 1000 of SY2409C in reserve
    assert [s["missing"] for s in r.json()["shortLines"]] == [2000 - 60 - 300 - 1000]
    async with demo_db() as s:
        picks = await s.scalar(
            text("SELECT sum(t.quantity - t.picked) FROM pick_tasks t WHERE t.status = 'open' AND t.stock_id = :id"),
            {
                "id": await s.scalar(
                    text("SELECT stock_id FROM replenishment_tasks WHERE id = :t"), {"t": task["taskId"]}
                )
            },
        )
    assert await stock(demo_db, "R-01-04", "SY-EARLY") == (500, 500)
    assert picks == 430  # 130 + 300: the replenishment's 70 were not promised twice
    r = await confirm(client, mover, task)
    assert r.status_code == 200 and r.json()["units"] == 70, r.text
    assert await stock(demo_db, "R-01-04", "SY-EARLY") == (430, 430) and await books_balance(demo_db)


async def test_bad_requests_get_problems_not_errors(client, planned, mover, sup):
    r = await client.post(
        "/api/v1/replenishment/tasks/999999/confirm",
        json={
            "clientScanId": str(uuid.uuid4()),
            "fromLocationRaw": "LOC-R-01-04",
            "raw": gs1(SYR, "SY-EARLY"),
            "toLocationRaw": "LOC-A-01-01",
        },
        headers=mover,
    )
    assert r.status_code == 404 and r.json()["code"] == "not-found"
    r = await client.post("/api/v1/replenishment/tasks/1/confirm", json={"raw": "x"}, headers=mover)
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json")
    r = await client.post("/api/v1/replenishment/tasks/999999/cancel", json={"reason": "nothing"}, headers=sup)
    assert r.status_code == 404
    r = await client.post("/api/v1/replenishment/plan", json={"waveId": 999999}, headers=sup)
    assert r.status_code == 404 and r.json()["code"] == "not-found"
    assert (await client.post("/api/v1/replenishment/plan", json={}, headers=mover)).status_code == 403
    r = await client.get("/api/v1/replenishment/tasks?status=nonsense", headers=mover)
    assert r.status_code == 400


async def test_an_item_without_a_pick_face_is_reported(client, demo_db, sup):
    # pen needles live in the cold room (COLD-01, COLD-02), both frozen for a count: nowhere to put a minimum
    async with demo_db.begin() as s:
        await s.execute(text("UPDATE items SET replenish_min = 10 WHERE erp_id = 'PEN-NDL-4MM'"))
        await s.execute(text("UPDATE locations SET frozen = true WHERE code IN ('COLD-01', 'COLD-02')"))
    r = await client.post("/api/v1/replenishment/plan", json={}, headers=sup)
    assert r.status_code == 200
    assert r.json()["noPickFace"] == [
        {"item": "PEN-NDL-4MM", "gtin": demo_gtin(1003), "needed": 10, "reason": "pick-face-unusable"}
    ]
    assert r.json()["tasks"] == []


async def test_a_minimum_from_the_erp_is_kept_on_the_pick_face(client, demo_db, sup):
    await receive(demo_db, "GLOVE-NIT-M", "GL-R-01", 200, "R-01-02", 400)
    admin = await login(client, "admin")
    item = {
        "erpId": "GLOVE-NIT-M",
        "version": 2,
        "gtin": GLOVE,
        "name": "Nitrile examination gloves, size M",
        "baseUnit": "EA",
        "lotTracked": True,
        "expiryTracked": True,
        "replenishMin": 800,
        "packLevels": [
            {"level": "box", "gtin": demo_gtin(1004, 1), "quantity": 10},
            {"level": "case", "gtin": demo_gtin(1004, 2), "quantity": 100},
        ],
    }
    r = await client.post("/api/v1/erp/items", json=item, headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "updated", r.text  # the demo's item, version 1 before
    r = await client.post("/api/v1/replenishment/plan", json={}, headers=sup)
    (task,) = r.json()["tasks"]
    # 700 free on the faces (GL-77-01 200 at A-02-01, GL-77-02 500 at A-02-02): 100 short of the minimum
    assert (task["lot"], task["from"]["code"], task["to"]["code"], task["quantity"], task["waveId"]) == (
        "GL-R-01",
        "R-01-02",
        "A-02-01",
        100,
        None,
    )


async def test_after_wave_and_the_periodic_planner_create_the_same_tasks(client, big_wave, demo_db, today):
    async with demo_db() as s:
        user_id = await s.scalar(text("SELECT id FROM users WHERE username = 'supervisor'"))
    actor = Actor(user_id=user_id, username="supervisor", roles=frozenset({"supervisor"}))
    assert [t["quantity"] for t in big_wave["replenishment"]["tasks"]] == [70]  # the wave route planned it
    wave = msgspec.convert({k: v for k, v in big_wave.items() if k != "replenishment"}, ReleasedWave)
    again = await svc.after_wave(demo_db, actor, wave, today=today)
    assert again.wave_id == big_wave["waveId"] and again.replenishment.tasks == []  # nothing twice
    async with demo_db.begin() as s:  # undo it, and let the background planner find the same need
        await s.execute(
            text("UPDATE stock SET reserved = reserved - 70 WHERE id = (SELECT stock_id FROM replenishment_tasks)")
        )
        await s.execute(text("DELETE FROM replenishment_tasks"))
    async with svc.planner_in_background(demo_db, 0.05):
        for _ in range(200):
            async with demo_db() as s:
                found = (await s.execute(text("SELECT quantity, wave_id, created_by FROM replenishment_tasks"))).all()
            if found:
                break
            await asyncio.sleep(0.05)
    assert [tuple(f) for f in found] == [(70, None, None)]
    assert await stock(demo_db, "R-01-04", "SY-EARLY") == (500, 200)
