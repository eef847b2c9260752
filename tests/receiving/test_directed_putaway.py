"""Directed putaway on real PostgreSQL: each task suggests a destination with its reason; the receiver may
take another suitable one; unsuitable ones are refused with why. QC release of stock in a quarantine
location opens its putaway task, found by the first putaway scan; a plate with three lots goes partly."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.api.test_counts import books_balance
from tests.conftest import login
from tests.receiving.helpers import LEDGER_FOR, STOCK_AT, datamatrix, days, rows, scalar, scan_body


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


def syringes(lot: str, quantity: int, expiry_days: int = 400) -> dict:
    return scan_body(datamatrix("SYR-10ML", lot=lot, expiry=days(expiry_days)), quantity=quantity)


@pytest.fixture
async def sup(client):
    return await login(client, "supervisor", device="hh-8")


async def confirm(client, headers, task_id: int, location: str, **extra):
    return await client.post(
        f"/api/v1/putaway/tasks/{task_id}/confirm", json=scan_body(location, **extra), headers=headers
    )


async def test_a_task_suggests_the_pick_face_when_it_needs_stock_else_a_place_by_the_rules(client, demo_db, sup):
    (task,) = await _receive_blind(client, sup, syringes("NEW-1", 30))
    # the syringe faces (A-01-01..03) hold stock and keep no minimum: an empty slot in their zone comes first
    assert (task["to"], task["suggestion"]["reason"]) == ("A-01-04", "item-zone")
    assert [a["location"] for a in task["alternatives"]][:2] == ["A-01-05", "A-01-06"]

    async with demo_db.begin() as s:
        await s.execute(text("UPDATE items SET replenish_min = 100 WHERE erp_id = 'SYR-10ML'"))
    (view,) = (await client.post("/api/v1/putaway/identify", json={"raw": task["lpn"]}, headers=sup)).json()
    # A-01-01 holds 40 free, below the minimum of 100: the face needs stock
    assert (view["to"], view["suggestion"]["reason"]) == ("A-01-01", "pick-face")

    r = await confirm(client, sup, task["id"], "LOC-A-01-01")
    assert r.status_code == 200, r.text
    assert (r.json()["to"], r.json()["suggested"], r.json()["status"]) == ("A-01-01", "A-01-01", "done")
    assert ("SYR-10ML", "NEW-1", None, "available", 30, None) in await rows(demo_db, STOCK_AT, loc="A-01-01")


async def test_same_lot_consolidation_and_capacity(client, demo_db, sup):
    (task,) = await _receive_blind(client, sup, syringes("SY2409C", 30, 500))
    # R-01-01 already holds lot SY2409C (as does the face A-01-02, which is not short)
    assert (task["to"], task["suggestion"]["reason"]) == ("A-01-02", "same-lot")
    assert task["alternatives"][0] == {
        "location": "R-01-01",
        "reason": "same-lot",
        "detail": "already holds this lot (1000 units there)",
    }
    async with demo_db.begin() as s:
        await s.execute(text("UPDATE locations SET capacity = 250 WHERE code = 'A-01-02'"))
    (view,) = (await client.post("/api/v1/putaway/identify", json={"raw": task["lpn"]}, headers=sup)).json()
    assert view["to"] == "R-01-01"
    r = await confirm(client, sup, task["id"], "LOC-A-01-02")
    assert (r.status_code, r.json()["code"], r.json()["reason"]) == (
        422,
        "location-unsuitable",
        "full: room for 20 of 30 units",
    )


async def test_the_receiver_may_choose_another_suitable_bin_but_not_an_unsuitable_one(client, demo_db, sup):
    (task,) = await _receive_blind(client, sup, syringes("NEW-2", 12))
    for where, reason in [
        ("LOC-QC-01", "SYR-10ML is released stock; quarantine is for stock awaiting a decision"),
        ("LOC-BOND-01", "SYR-10ML is not bonded; the bonded area holds only goods under customs control"),
        ("LOC-SHIP-01", "a shipping location is not a storage place"),
    ]:
        r = await confirm(client, sup, task["id"], where)
        assert (r.status_code, r.json()["code"], r.json()["reason"]) == (422, "location-unsuitable", reason)
    r = await confirm(client, sup, task["id"], "LOC-R-01-03")
    assert r.status_code == 200, r.text
    assert (r.json()["to"], r.json()["suggested"]) == ("R-01-03", None)
    assert await rows(demo_db, STOCK_AT, loc="R-01-03") == [("SYR-10ML", "NEW-2", None, "available", 12, None)]


async def test_a_plate_with_three_lots_is_put_away_one_lot_at_a_time(client, demo_db, sup):
    (task,) = await _receive_blind(client, sup, syringes("L1", 10), syringes("L2", 20), syringes("L3", 30))
    assert sorted((c["lot"], c["quantity"]) for c in task["contents"]) == [("L1", 10), ("L2", 20), ("L3", 30)]
    lot2 = datamatrix("SYR-10ML", lot="L2", expiry=days(400))
    r = await confirm(client, sup, task["id"], "LOC-R-01-02", units=lot2)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], [(c["lot"], c["quantity"]) for c in r.json()["contents"]]) == ("open", [("L2", 20)])
    r = await confirm(client, sup, task["id"], "LOC-R-01-03", units=datamatrix("SYR-10ML", lot="L3"), quantity=12)
    assert r.status_code == 200 and r.json()["status"] == "open", r.text
    r = await confirm(client, sup, task["id"], "LOC-R-01-03", units=datamatrix("SYR-10ML", lot="L3"), quantity=99)
    assert (r.status_code, r.json()["code"]) == (409, "insufficient-stock")

    (left,) = (await client.post("/api/v1/putaway/identify", json={"raw": task["lpn"]}, headers=sup)).json()
    assert sorted((c["lot"], c["quantity"]) for c in left["contents"]) == [("L1", 10), ("L3", 18)]
    r = await confirm(client, sup, task["id"], "LOC-R-01-04")
    assert (r.status_code, r.json()["status"]) == (200, "done"), r.text
    assert sorted(x[1:5] for x in await rows(demo_db, STOCK_AT, loc="R-01-04")) == [
        ("L1", None, "available", 10),
        ("L3", None, "available", 18),
    ]
    assert await rows(demo_db, STOCK_AT, loc="RCV-01") == []
    assert await books_balance(demo_db)


async def test_qc_release_in_quarantine_opens_a_putaway_task_that_identify_finds(client, demo_db, sup):
    (task,) = await _receive_blind(client, sup, syringes("Q1", 20, 30), syringes("Q2", 15, 30), syringes("Q3", 5, 30))
    assert task["needs"] == "quarantine" and task["to"] == "QC-01"
    r = await confirm(client, sup, task["id"], "LOC-QC-01")
    assert r.status_code == 200, r.text
    r = await client.post("/api/v1/putaway/identify", json={"raw": task["lpn"]}, headers=sup)
    assert (r.status_code, r.json()["detail"]) == (404, f"{task['lpn']} has nothing left to put away")

    qa = await login(client, "qa")
    lots = {q["lot"]: q for q in (await client.get("/api/v1/qc/quarantine", headers=qa)).json()}
    r = await client.post(
        f"/api/v1/qc/lots/{lots['Q2']['lotId']}/release",
        json={"reason": "retested, fit for use", "password": "qa-demo"},
        headers=qa,
    )
    assert r.status_code == 200, r.text

    # the plate (found by its licence plate or by the goods) has a task for the released lot only
    receiver = await login(client, "receiver")
    (found,) = (await client.post("/api/v1/putaway/identify", json={"raw": task["lpn"]}, headers=receiver)).json()
    by_goods = await client.post(
        "/api/v1/putaway/identify", json={"raw": datamatrix("SYR-10ML", lot="Q2", expiry=days(30))}, headers=receiver
    )
    assert [t["id"] for t in by_goods.json()] == [found["id"]]
    assert (found["receipt"], found["from"], found["needs"]) == (None, "QC-01", "pick or reserve")
    assert [(c["lot"], c["quantity"], c["status"]) for c in found["contents"]] == [("Q2", 15, "available")]
    assert found["suggestion"]["location"] == "A-01-04"

    r = await confirm(client, receiver, found["id"], "LOC-QC-01")
    assert (r.status_code, r.json()["code"]) == (422, "location-unsuitable")
    r = await confirm(client, receiver, found["id"], f"LOC-{found['to']}")
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["suggested"], r.json()["lpn"]) == ("done", "A-01-04", task["lpn"])
    assert await rows(demo_db, STOCK_AT, loc="A-01-04") == [("SYR-10ML", "Q2", None, "available", 15, None)]
    # the rest of the plate stays in quarantine, together
    assert sorted(x[1:] for x in await rows(demo_db, STOCK_AT, loc="QC-01")) == [
        ("Q1", None, "quarantine", 20, task["lpn"]),
        ("Q3", None, "quarantine", 5, task["lpn"]),
    ]
    doc = f"PUT-{found['id']:06d}"
    assert await rows(demo_db, LEDGER_FOR, doc=doc) == [
        ("putaway", "SYR-10ML", "Q2", None, 15, "QC-01", "available", "A-01-04", "available", "receiver", "test-device")
    ]
    event = await scalar(
        demo_db, "SELECT data FROM outbox_events WHERE type = 'putaway.completed.v1' ORDER BY id DESC LIMIT 1"
    )
    assert (event["lpn"], event["receipt"], event["toLocation"]) == (task["lpn"], None, "A-01-04")
    assert await scalar(demo_db, "SELECT count(*) FROM putaway_tasks WHERE status = 'open'") == 0
    assert await books_balance(demo_db)


async def test_a_release_of_stock_outside_quarantine_opens_no_second_task(client, demo_db, sup):
    (task,) = await _receive_blind(client, sup, syringes("Q9", 10, 30))
    qa = await login(client, "qa")
    lots = {q["lot"]: q for q in (await client.get("/api/v1/qc/quarantine", headers=qa)).json()}
    r = await client.post(
        f"/api/v1/qc/lots/{lots['Q9']['lotId']}/release", json={"reason": "ok", "password": "qa-demo"}, headers=qa
    )
    assert r.status_code == 200, r.text
    # still on the dock: its receipt's task carries it, now as released stock
    (view,) = (await client.get("/api/v1/putaway/tasks", headers=sup)).json()
    assert (view["id"], view["needs"], view["contents"][0]["status"]) == (task["id"], "pick or reserve", "available")


async def test_the_erp_location_master_sends_capacity_and_a_full_location_is_not_suggested(client, demo_db, sup):
    admin = await login(client, "admin")
    loc = {"code": "A-01-04", "version": 2, "zone": "A", "type": "pick", "pickSequence": 104, "capacity": 10}
    r = await client.post("/api/v1/erp/locations", json=loc, headers=admin)
    assert r.status_code in (200, 201), r.text
    assert await scalar(demo_db, "SELECT capacity FROM locations WHERE code = 'A-01-04'") == 10
    r = await client.post("/api/v1/erp/locations", json={**loc, "version": 3, "capacity": 0}, headers=admin)
    assert r.status_code == 400 and r.json()["errors"][0]["pointer"] == "/capacity"

    (task,) = await _receive_blind(client, sup, syringes("NEW-3", 30))
    # A-01-04 (10 units) cannot take 30: the next empty slot in the face's zone comes first
    assert (task["to"], task["suggestion"]["reason"]) == ("A-01-05", "item-zone")
    assert "A-01-04" not in [a["location"] for a in task["alternatives"]]
