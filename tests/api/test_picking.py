"""Picking over HTTP on real PostgreSQL: wave release, every scan verdict, replays, holds mid-wave."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import text

from tests.conftest import login
from udipick.services.demo import demo_gtin

GS = "\x1d"
SYR, SYR_BOX = demo_gtin(1001), demo_gtin(1001, 1)
STENT = demo_gtin(1002)
GLOVE, GLOVE_BOX = demo_gtin(1004), demo_gtin(1004, 1)


def gs1(gtin: str, lot: str | None = None, expiry: dt.date | None = None, serial: str | None = None) -> str:
    raw = f"]d201{gtin}"
    if expiry:
        raw += f"17{expiry:%y%m%d}"
    if lot:
        raw += f"10{lot}"
    if serial:
        raw += (GS if lot else "") + f"21{serial}"
    return raw


async def lot_expiry(db, lot: str) -> dt.date:
    async with db() as s:
        return await s.scalar(text("SELECT expiry FROM lots WHERE lot = :l"), {"l": lot})


@pytest.fixture
async def wave(client):
    sup = await login(client, "supervisor")
    r = await client.post("/api/v1/waves", json={}, headers=sup)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
async def picker(client):
    return await login(client, "picker", device="tc52-01")


async def task_for(client, headers, order: str, item: str) -> dict:
    tasks = (await client.get("/api/v1/picking/tasks", headers=headers)).json()
    return next(t for t in tasks if t["order"] == order and t["item"]["erpId"] == item)


async def scan(client, headers, task: dict, raw: str, *, location: str | None = "same", scan_id: str | None = None):
    body = {"clientScanId": scan_id or str(uuid.uuid4()), "raw": raw}
    if location == "same":
        body["locationRaw"] = task["location"]["barcode"]
    elif location:
        body["locationRaw"] = location
    return await client.post(f"/api/v1/picking/tasks/{task['taskId']}/scans", json=body, headers=headers)


async def events(db, type_: str) -> list[dict]:
    async with db() as s:
        return [
            r[0]
            for r in (
                await s.execute(text("SELECT data FROM outbox_events WHERE type = :t ORDER BY id"), {"t": type_})
            ).all()
        ]


async def test_release_allocates_fefo_respecting_item_and_customer_shelf_life(client, wave, picker, demo_db):
    assert sorted(wave["orders"]) == ["SO-5001", "SO-5002"] and wave["shortLines"] == []
    syr = await task_for(client, picker, "SO-5001", "SYR-10ML")
    # SY2401A expires first but is under the item's 60-day minimum: the FEFO lot is SY2405B (ties: by lot name)
    assert (syr["lot"], syr["location"]["code"], syr["quantity"]) == ("SY2405B", "A-01-02", 30)
    pen = await task_for(client, picker, "SO-5002", "PEN-NDL-4MM")
    assert pen["lot"] == "PN3001"
    async with demo_db() as s:
        reserved = await s.scalar(text("SELECT sum(reserved) FROM stock"))
    assert reserved == 30 + 2 + 20 + 10 + 10
    assert len(await events(demo_db, "wave.released.v1")) == 1
    sup = await login(client, "supervisor")
    r = await client.post("/api/v1/waves", json={}, headers=sup)
    assert r.status_code == 409 and r.json()["code"] == "conflict"


async def test_the_allocated_lot_is_picked_into_staging_with_ledger_and_event(client, wave, picker, demo_db):
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    r = await scan(client, picker, task, gs1(SYR, "SY2405B", await lot_expiry(demo_db, "SY2405B")))
    assert r.status_code == 200, r.text
    assert (
        r.json().items()
        >= {"verdict": "accepted", "lot": "SY2405B", "units": 1, "picked": 1, "remaining": 29, "swapped": False}.items()
    )
    async with demo_db() as s:
        rows = (
            await s.execute(
                text(
                    "SELECT loc.code, s.status, s.quantity, s.reserved FROM stock s JOIN locations loc ON loc.id = s.location_id"
                    " JOIN lots l ON l.id = s.lot_id WHERE l.lot = 'SY2405B' ORDER BY loc.code"
                )
            )
        ).all()
        ledger = (
            await s.execute(
                text("SELECT movement, quantity, device_id FROM stock_ledger WHERE document_id = 'SO-5001'")
            )
        ).all()
    # 30 reserved for SO-5001 and 10 for SO-5002; one picked
    assert [tuple(r) for r in rows] == [("A-01-02", "available", 119, 39), ("SHIP-01", "picked", 1, 0)]
    assert [tuple(r) for r in ledger] == [("pick", 1, "tc52-01")]
    (ev,) = await events(demo_db, "pick.confirmed.v1")
    assert ev["order"] == "SO-5001" and ev["lot"] == "SY2405B" and ev["gtin"] == SYR and ev["quantity"] == 1


async def test_a_replayed_scan_returns_the_first_verdict_and_never_decrements_twice(client, wave, picker, demo_db):
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    raw = gs1(SYR, "SY2405B", await lot_expiry(demo_db, "SY2405B"))
    scan_id = str(uuid.uuid4())
    first = await scan(client, picker, task, raw, scan_id=scan_id)
    again = await scan(client, picker, task, raw, scan_id=scan_id)
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    refused_id = str(uuid.uuid4())
    r1 = await scan(client, picker, task, gs1(GLOVE), scan_id=refused_id)
    r2 = await scan(client, picker, task, gs1(GLOVE), scan_id=refused_id)
    assert r1.status_code == r2.status_code == 409 and r1.json() == r2.json()
    async with demo_db() as s:
        assert await s.scalar(text("SELECT count(*) FROM stock_ledger WHERE movement = 'pick'")) == 1
        assert await s.scalar(text("SELECT picked FROM pick_tasks WHERE id = :id"), {"id": task["taskId"]}) == 1
    assert len(await events(demo_db, "pick.refused.v1")) == 1


async def test_a_lot_with_the_same_expiry_is_accepted_and_swapped(client, wave, picker, demo_db):
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    r = await scan(client, picker, task, gs1(SYR, "SY2405C", await lot_expiry(demo_db, "SY2405C")))
    assert r.status_code == 200 and r.json()["swapped"] is True and r.json()["lot"] == "SY2405C"
    async with demo_db() as s:
        rows = dict(
            (
                await s.execute(
                    text(
                        "SELECT l.lot, s.quantity FROM stock s JOIN lots l ON l.id = s.lot_id JOIN locations loc ON loc.id = s.location_id"
                        " WHERE loc.code = 'A-01-02' AND s.status = 'available'"
                    )
                )
            ).all()
        )
        reserved = await s.scalar(
            text("SELECT reserved FROM stock WHERE id = (SELECT stock_id FROM pick_tasks WHERE id = :t)"),
            {"t": task["taskId"]},
        )
    assert rows["SY2405C"] == 49 and rows["SY2405B"] == 120 and reserved == 39


async def test_a_later_expiring_lot_is_refused_as_fefo_violation_naming_what_to_take(client, wave, picker, demo_db):
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    r = await scan(client, picker, task, gs1(SYR, "SY2409C", await lot_expiry(demo_db, "SY2409C")))
    assert r.status_code == 409
    p = r.json()
    assert p["code"] == "fefo-violation" and p["takeLot"] == "SY2405B" and p["takeLocation"] == "A-01-02"
    assert "Take lot SY2405B from A-01-02" in p["detail"]
    (refused,) = await events(demo_db, "pick.refused.v1")
    assert refused["code"] == "fefo-violation"


async def test_a_supervisor_override_with_e_signature_takes_the_later_lot(client, wave, picker, demo_db):
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    raw = gs1(SYR, "SY2409C", await lot_expiry(demo_db, "SY2409C"))
    body = {
        "clientScanId": str(uuid.uuid4()),
        "raw": raw,
        "reason": "customer asked for one lot",
        "supervisor": {"username": "supervisor", "password": "wrong"},
    }
    r = await client.post(f"/api/v1/picking/tasks/{task['taskId']}/override", json=body, headers=picker)
    assert r.status_code == 403 and r.json()["code"] == "signature-rejected"
    body["supervisor"] = {"username": "picker", "password": "picker-demo"}
    r = await client.post(f"/api/v1/picking/tasks/{task['taskId']}/override", json=body, headers=picker)
    assert r.status_code == 403  # a picker cannot approve their own exception
    body["supervisor"] = {"username": "supervisor", "password": "supervisor-demo"}
    r = await client.post(f"/api/v1/picking/tasks/{task['taskId']}/override", json=body, headers=picker)
    assert r.status_code == 200 and r.json()["fefoOverridden"] is True and r.json()["lot"] == "SY2409C"
    (ov,) = await events(demo_db, "pick.override.approved.v1")
    assert ov["approvedBy"] == "supervisor" and ov["allocatedLot"] == "SY2405B"
    async with demo_db() as s:
        reason = await s.scalar(text("SELECT reason FROM stock_ledger WHERE movement = 'pick'"))
        audit = (
            await s.execute(text("SELECT username, outcome FROM audit_log WHERE action = 'signature' ORDER BY id"))
        ).all()
    assert "FEFO override approved by supervisor" in reason
    assert [tuple(a) for a in audit] == [("supervisor", "failed"), ("picker", "failed"), ("supervisor", "ok")]


@pytest.mark.parametrize(
    ("sql", "status", "code"),
    [
        ("UPDATE lots SET expiry = current_date - 1 WHERE lot = 'SY2405B'", 422, "lot-expired"),
        ("UPDATE lots SET expiry = current_date + 20 WHERE lot = 'SY2405B'", 422, "shelf-life-too-short"),
        ("UPDATE lots SET status = 'quarantine' WHERE lot = 'SY2405B'", 409, "lot-quarantined"),
        ("UPDATE lots SET status = 'recalled' WHERE lot = 'SY2405B'", 409, "lot-recalled"),
        ("UPDATE locations SET frozen = true WHERE code = 'A-01-02'", 409, "location-frozen"),
    ],
)
async def test_stock_that_became_ineligible_after_allocation_is_refused_at_the_scan(
    client, wave, picker, demo_db, sql, status, code
):
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    async with demo_db.begin() as s:
        await s.execute(text(sql))
    r = await scan(client, picker, task, gs1(SYR, "SY2405B"))
    assert r.status_code == status and r.json()["code"] == code, r.text
    alerts = await events(demo_db, "stock.alert.raised.v1")
    assert len(alerts) == (1 if code == "lot-recalled" else 0)


@pytest.mark.parametrize(
    ("raw", "location", "code"),
    [
        (gs1(GLOVE, "GL-77-01"), "same", "wrong-item"),
        (gs1(SYR, "SY2405B"), "LOC-A-01-01", "wrong-location"),
        (gs1(SYR_BOX, "SY2405B"), "same", "over-pick"),  # a box is 100 units; 30 needed
        (gs1(SYR, "NOSUCH"), "same", "lot-not-at-location"),
        (gs1(SYR, "SY2401A"), "same", "lot-not-at-location"),
    ],
)
async def test_wrong_scans_are_refused_with_their_reason(client, wave, picker, raw, location, code):
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    r = await scan(client, picker, task, raw, location=location)
    assert r.status_code == 409 and r.json()["code"] == code, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_an_unreadable_scan_is_a_422_problem(client, wave, picker):
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    r = await scan(client, picker, task, f"01{SYR}17261399")
    assert r.status_code == 422 and r.json()["code"] == "unreadable-barcode"


async def test_a_pack_level_gtin_counts_its_pack_quantity(client, wave, picker):
    task = await task_for(client, picker, "SO-5002", "GLOVE-NIT-M")
    r = await scan(client, picker, task, gs1(GLOVE_BOX, "GL-77-01"))
    assert r.status_code == 200 and r.json()["units"] == 10 and r.json()["remaining"] == 10


async def test_serials_cannot_be_picked_twice_or_after_shipping(client, wave, picker, demo_db):
    tasks = [
        t
        for t in (await client.get("/api/v1/picking/tasks", headers=picker)).json()
        if t["order"] == "SO-5001" and t["item"]["erpId"] == "STENT-DES-3018"
    ]
    # one task per serialised unit, each with its allocated serial
    assert sorted((t["quantity"], t["serial"]) for t in tasks) == [(1, "STN000101"), (1, "STN000102")]
    a, b = sorted(tasks, key=lambda t: t["serial"])
    # the unit reserved for the other task of the same line: the two tasks trade units
    first = await scan(client, picker, b, gs1(STENT, "ST-A1", serial="STN000101"))
    assert first.status_code == 200 and first.json()["serial"] == "STN000101", first.text
    a = next(
        t for t in (await client.get("/api/v1/picking/tasks", headers=picker)).json() if t["taskId"] == a["taskId"]
    )
    assert a["serial"] == "STN000102"
    again = await scan(client, picker, a, gs1(STENT, "ST-A1", serial="STN000101"))
    assert again.status_code == 409 and again.json()["code"] == "serial-already-picked"
    async with demo_db.begin() as s:
        await s.execute(text("UPDATE serials SET status = 'shipped' WHERE serial = 'STN000103'"))
    shipped = await scan(client, picker, a, gs1(STENT, "ST-A1", serial="STN000103"))
    assert shipped.status_code == 409 and shipped.json()["code"] == "serial-already-shipped"
    async with demo_db() as s:
        assert await s.scalar(text("SELECT status FROM serials WHERE serial = 'STN000101'")) == "picked"


async def test_a_hold_placed_mid_wave_fails_the_next_scan_and_reallocates(client, wave, picker, demo_db):
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    sup = await login(client, "supervisor")
    r = await client.post(
        "/api/v1/holds", json={"scope": "lot", "item": "SYR-10ML", "lot": "SY2405B", "reason": "complaint"}, headers=sup
    )
    assert r.status_code == 201, r.text
    assert r.json()["reallocatedTasks"] >= 1
    # the old task is gone; the line was re-allocated to the next FEFO lot
    new = await task_for(client, picker, "SO-5001", "SYR-10ML")
    assert new["taskId"] != task["taskId"] and new["lot"] == "SY2405C"
    r = await scan(client, picker, new, gs1(SYR, "SY2405B"))
    assert r.status_code == 409 and r.json()["code"] == "stock-on-hold" and r.json()["reason"] == "complaint"
    (alert,) = await events(demo_db, "stock.alert.raised.v1")
    assert alert["code"] == "stock-on-hold"
    # release needs the releaser's e-signature
    hold_id = (await client.get("/api/v1/holds", headers=sup)).json()[0]["holdId"]
    bad = await client.post(
        f"/api/v1/holds/{hold_id}/release", json={"reason": "checked", "password": "nope"}, headers=sup
    )
    assert bad.status_code == 403
    ok = await client.post(
        f"/api/v1/holds/{hold_id}/release", json={"reason": "checked", "password": "supervisor-demo"}, headers=sup
    )
    assert ok.status_code == 200 and ok.json()["active"] is False
    assert len(await events(demo_db, "hold.released.v1")) == 1


async def test_a_short_pick_blocks_the_location_and_reallocates_the_rest(client, wave, picker, demo_db):
    task = await task_for(client, picker, "SO-5002", "GLOVE-NIT-M")
    assert (task["lot"], task["location"]["code"]) == ("GL-77-01", "A-02-01")
    ok = await scan(client, picker, task, gs1(GLOVE_BOX, "GL-77-01"))
    assert ok.status_code == 200
    r = await client.post(
        f"/api/v1/picking/tasks/{task['taskId']}/short", json={"clientScanId": str(uuid.uuid4())}, headers=picker
    )
    assert r.status_code == 200, r.text
    assert r.json().items() >= {"shortBy": 10, "backordered": 0, "locationBlocked": "A-02-01"}.items()
    new = await task_for(client, picker, "SO-5002", "GLOVE-NIT-M")
    assert (new["lot"], new["location"]["code"], new["quantity"]) == ("GL-77-02", "A-02-02", 10)
    (ev,) = await events(demo_db, "pick.shorted.v1")
    assert ev["expected"] == 10 and ev["reallocated"] == 10


async def test_totes_collect_an_orders_picks(client, wave, picker, demo_db):
    r = await client.post(
        f"/api/v1/waves/{wave['waveId']}/totes", json={"order": "SO-5002", "raw": "TOTE-0007"}, headers=picker
    )
    assert r.status_code == 200 and r.json()["tasks"] == 3
    r = await client.post(
        f"/api/v1/waves/{wave['waveId']}/totes", json={"order": "SO-5001", "raw": "TOTE-0007"}, headers=picker
    )
    assert r.status_code == 409
    task = await task_for(client, picker, "SO-5002", "GLOVE-NIT-M")
    assert task["tote"] == "TOTE-0007"
    await scan(client, picker, task, gs1(GLOVE_BOX, "GL-77-01"))
    async with demo_db() as s:
        tote = await s.scalar(
            text("SELECT c.code FROM stock s JOIN containers c ON c.id = s.container_id WHERE s.status = 'picked'")
        )
    assert tote == "TOTE-0007"


async def test_a_site_that_requires_totes_refuses_an_orders_first_pick_until_a_tote_is_scanned(
    client, wave, picker, demo_db
):
    async with demo_db() as s:
        await s.execute(text("UPDATE site_record SET pick_requires_tote = true"))
        await s.commit()
    task = await task_for(client, picker, "SO-5002", "GLOVE-NIT-M")
    assert (task["toteRequired"], task["tote"], task["totePrefix"]) == (True, None, "TOTE-")
    refused = await scan(client, picker, task, gs1(GLOVE_BOX, "GL-77-01"))
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "tote-required" and refused.json()["order"] == "SO-5002"
    r = await client.post(
        f"/api/v1/waves/{wave['waveId']}/totes", json={"order": "SO-5002", "raw": "TOTE-0042"}, headers=picker
    )
    assert r.status_code == 200, r.text
    accepted = await scan(client, picker, task, gs1(GLOVE_BOX, "GL-77-01"))
    assert accepted.status_code == 200, accepted.text


async def test_a_line_that_cannot_be_filled_is_reported_short_with_its_reason(client):
    admin = await login(client, "admin")
    so = {
        "erpId": "SO-LONG",
        "version": 1,
        "number": "SO-LONG",
        "customer": "CUST-RIVER",
        "shipTo": {"name": "x"},
        "lines": [
            {"lineNo": 1, "item": "PEN-NDL-4MM", "quantity": 5, "minShelfLifeDays": 400},
            {"lineNo": 2, "item": "SCREW-CORT-45", "quantity": 500},
        ],
    }
    assert (await client.post("/api/v1/erp/sales-orders", json=so, headers=admin)).status_code == 201
    sup = await login(client, "supervisor")
    wave = (await client.post("/api/v1/waves", json={"orders": ["SO-LONG"]}, headers=sup)).json()
    assert sorted((s["lineNo"], s["missing"], s["reason"]) for s in wave["shortLines"]) == [
        (1, 5, "short-dated"),
        (2, 450, "no-stock"),
    ]


async def test_the_pickers_wave_progress_counts_units_picked_and_stops_left(client, wave, picker, demo_db):
    url = f"/api/v1/picking/waves/{wave['waveId']}/progress"
    tasks = [
        t for t in (await client.get("/api/v1/picking/tasks", headers=picker)).json() if t["waveId"] == wave["waveId"]
    ]
    before = (await client.get(url, headers=picker)).json()
    assert before == {
        "waveId": wave["waveId"],
        "tasks": len(tasks),
        "tasksOpen": len(tasks),
        "units": sum(t["quantity"] for t in tasks),
        "unitsPicked": 0,
        "stopsLeft": len({t["location"]["code"] for t in tasks}),
    }
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    assert (await scan(client, picker, task, gs1(SYR, task["lot"]))).status_code == 200
    after = (await client.get(url, headers=picker)).json()
    assert after["unitsPicked"] == 1 and after["units"] == before["units"]
    missing = await client.get("/api/v1/picking/waves/999999/progress", headers=picker)
    assert (missing.status_code, missing.json()["code"]) == (404, "wave-not-found")
