"""Cycle counts over HTTP on real PostgreSQL (issue 19): count tasks, blind counts, recount by another
user, a supervisor's approval through the ledger, and the location closed to picking meanwhile."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import text

from tests.api.test_counts import books_balance
from tests.api.test_picking import GLOVE_BOX, events, gs1, scan, task_for
from tests.conftest import login


@pytest.fixture
async def picker(client):
    return await login(client, "picker", device="tc52-01")


@pytest.fixture
async def sup(client):
    return await login(client, "supervisor", device="desk-01")


async def create(client, headers, **body):
    return await client.post("/api/v1/count-tasks", json=body, headers=headers)


async def count_line(client, headers, line_id: int, lines: list[dict], scan_id: str | None = None):
    body = {"clientScanId": scan_id or str(uuid.uuid4()), "lines": lines}
    return await client.post(f"/api/v1/count-tasks/lines/{line_id}/count", json=body, headers=headers)


async def bucket(db, location: str, lot: str) -> dict[str, int]:
    """Loose units of ``lot`` at ``location`` by stock status."""
    async with db() as s:
        rows = (
            await s.execute(
                text(
                    "SELECT s.status, s.quantity FROM stock s JOIN locations loc ON loc.id = s.location_id"
                    " JOIN lots l ON l.id = s.lot_id WHERE loc.code = :loc AND l.lot = :lot AND s.quantity <> 0"
                    " AND s.container_id IS NULL ORDER BY s.status"
                ),
                {"loc": location, "lot": lot},
            )
        ).all()
    return {r.status: r.quantity for r in rows}


async def frozen(db, location: str) -> bool:
    async with db() as s:
        return await s.scalar(text("SELECT frozen FROM locations WHERE code = :c"), {"c": location})


async def test_a_blind_count_with_a_variance_is_recounted_by_another_user_and_approved_through_the_ledger(
    client, picker, sup, demo_db
):
    r = await create(client, sup, kind="location", location="A-02-01", note="cycle count")
    assert r.status_code == 201, r.text
    task = r.json()
    assert (task["kind"], task["target"], task["origin"], task["status"]) == (
        "location",
        "A-02-01",
        "supervisor",
        "open",
    )
    (line,) = task["lines"]
    assert (line["location"], line["item"], line["status"]) == ("A-02-01", "GLOVE-NIT-M", "open")
    assert await frozen(demo_db, "A-02-01")

    # the handheld's list is blind: no expected quantity anywhere
    listed = (await client.get("/api/v1/count-tasks", headers=picker)).json()
    mine = next(t for t in listed if t["taskId"] == task["taskId"])
    assert mine["lines"][0]["compared"] is None and mine["lines"][0]["unitsOff"] is None
    assert "200" not in str(mine)

    # first count: 190 of 200 (quantity entry after one scan): beyond the tolerance, so a recount
    r = await count_line(client, picker, line["lineId"], [{"lot": "GL-77-01", "quantity": 190}])
    assert r.status_code == 200, r.text
    assert r.json() == {
        "lineId": line["lineId"],
        "taskId": task["taskId"],
        "status": "recount",
        "adjusted": 0,
        "taskStatus": "open",
    }
    assert await bucket(demo_db, "A-02-01", "GL-77-01") == {"available": 200}

    # the same user may not recount: the handheld's list says so, and the server refuses it
    listed = (await client.get("/api/v1/count-tasks", headers=picker)).json()
    assert next(t for t in listed if t["taskId"] == task["taskId"])["lines"][0]["countedFirst"] is True
    listed = (await client.get("/api/v1/count-tasks", headers=sup)).json()
    assert next(t for t in listed if t["taskId"] == task["taskId"])["lines"][0]["countedFirst"] is False
    r = await count_line(client, picker, line["lineId"], [{"lot": "GL-77-01", "quantity": 190}])
    assert r.status_code == 409 and r.json()["code"] == "recount-same-user"

    # another user recounts, blind too: 192; a supervisor reviews and approves with a reason code
    r = await count_line(client, sup, line["lineId"], [{"lot": "GL-77-01", "quantity": 192}])
    assert r.status_code == 200 and r.json()["status"] == "review"
    review = (await client.get(f"/api/v1/count-tasks/{task['taskId']}", headers=sup)).json()["lines"][0]
    assert review["compared"] == [
        {"lot": "GL-77-01", "serial": None, "expected": 200, "counted": 192, "difference": -8}
    ]
    assert (review["firstBy"], review["recountBy"], review["unitsOff"]) == ("picker", "supervisor", 8)
    r = await client.post(
        f"/api/v1/count-tasks/lines/{line['lineId']}/approve", json={"reason": "nonsense"}, headers=sup
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid-count"
    r = await client.post(f"/api/v1/count-tasks/lines/{line['lineId']}/approve", json={"reason": "other"}, headers=sup)
    assert r.status_code == 422 and r.json()["code"] == "missing-reason"
    r = await client.post(
        f"/api/v1/count-tasks/lines/{line['lineId']}/approve",
        json={"reason": "theft-loss", "note": "box torn open"},
        headers=sup,
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "lineId": line["lineId"],
        "taskId": task["taskId"],
        "adjusted": 1,
        "reason": "theft-loss: box torn open",
        "taskStatus": "closed",
    }
    assert await bucket(demo_db, "A-02-01", "GL-77-01") == {"available": 192}
    assert await books_balance(demo_db)
    assert not await frozen(demo_db, "A-02-01")  # the count ended: the location is open again
    (adjusted,) = await events(demo_db, "count.adjusted.v1")
    assert adjusted == {
        "location": "A-02-01",
        "item": "GLOVE-NIT-M",
        "gtin": adjusted["gtin"],
        "lot": "GL-77-01",
        "expiry": adjusted["expiry"],
        "serial": None,
        "status": "available",
        "bookQuantity": 200,
        "countedQuantity": 192,
        "delta": -8,
        "reason": "theft-loss: box torn open",
        "countId": f"count-line:{line['lineId']}",
    }
    async with demo_db() as s:
        ledger = (
            await s.execute(text("SELECT quantity, from_status, reason FROM stock_ledger WHERE movement = 'count'"))
        ).all()
        audited = await s.scalar(
            text(
                "SELECT count(*) FROM audit_log WHERE action = 'count.approved' AND reason = 'theft-loss: box torn open'"
            )
        )
    assert [(m.quantity, m.from_status) for m in ledger] == [(8, "available")]
    assert ledger[0].reason.startswith("theft-loss: box torn open")
    assert audited == 1


async def test_a_recount_that_agrees_with_the_books_ends_the_line_with_nothing_booked(client, picker, sup, demo_db):
    line = (await create(client, sup, kind="lot", item="GLOVE-NIT-M", lot="GL-77-02")).json()["lines"][0]
    assert line["location"] == "A-02-02"
    assert (await count_line(client, picker, line["lineId"], [{"lot": "GL-77-02", "quantity": 5}])).json()[
        "status"
    ] == "recount"
    r = await count_line(client, sup, line["lineId"], [{"lot": "GL-77-02", "quantity": 500}])
    assert r.json()["status"] == "done" and r.json()["taskStatus"] == "closed"
    assert await bucket(demo_db, "A-02-02", "GL-77-02") == {"available": 500}
    assert await events(demo_db, "count.adjusted.v1") == []


async def test_a_pick_at_a_location_under_count_is_refused_and_allocation_plans_elsewhere(client, picker, sup, demo_db):
    assert (await client.post("/api/v1/waves", json={"orders": ["SO-5002"]}, headers=sup)).status_code == 201
    task = await task_for(client, picker, "SO-5002", "GLOVE-NIT-M")
    assert task["location"]["code"] == "A-02-01"
    r = await create(client, sup, kind="location", location="A-02-01")
    assert r.status_code == 201, r.text
    r = await scan(client, picker, task, gs1(GLOVE_BOX, "GL-77-01"))
    assert r.status_code == 409, r.text
    problem = r.json()
    assert problem["code"] == "location-under-count" and problem["location"] == "A-02-01"
    assert "count" in problem["detail"]
    # the count ends (cancelled here): the location opens again and the same scan is accepted
    task_id = (await client.get("/api/v1/count-tasks", headers=sup)).json()[0]["taskId"]
    r2 = await client.post(f"/api/v1/count-tasks/{task_id}/cancel", json={"note": "recount tomorrow"}, headers=sup)
    assert r2.status_code == 200 and r2.json()["status"] == "cancelled"
    assert not await frozen(demo_db, "A-02-01")
    assert (await scan(client, picker, task, gs1(GLOVE_BOX, "GL-77-01"))).status_code == 200


async def test_allocation_plans_no_pick_at_a_location_under_count(client, picker, sup, demo_db):
    assert (await create(client, sup, kind="location", location="A-02-01")).status_code == 201
    assert (await client.post("/api/v1/waves", json={"orders": ["SO-5002"]}, headers=sup)).status_code == 201
    task = await task_for(client, picker, "SO-5002", "GLOVE-NIT-M")
    assert task["location"]["code"] == "A-02-02" and task["lot"] == "GL-77-02"


async def test_a_short_pick_creates_a_count_task_and_its_count_lifts_the_block(client, picker, sup, demo_db):
    assert (await client.post("/api/v1/waves", json={"orders": ["SO-5002"]}, headers=sup)).status_code == 201
    task = await task_for(client, picker, "SO-5002", "GLOVE-NIT-M")
    r = await client.post(
        f"/api/v1/picking/tasks/{task['taskId']}/short", json={"clientScanId": str(uuid.uuid4())}, headers=picker
    )
    assert r.status_code == 200, r.text
    (made,) = (await client.get("/api/v1/count-tasks", headers=sup)).json()
    assert (made["origin"], made["kind"], made["target"]) == ("short-pick", "location", "A-02-01")
    (line,) = made["lines"]
    assert (line["location"], line["item"]) == ("A-02-01", "GLOVE-NIT-M")
    assert not await frozen(demo_db, "A-02-01")  # the item block closes the location for the item only
    r = await count_line(client, picker, line["lineId"], [{"lot": "GL-77-01", "quantity": 200}])
    assert r.json()["status"] == "done"  # 200 on the books (the short released its reservation), 200 counted
    async with demo_db() as s:
        blocks = await s.scalar(text("SELECT count(*) FROM location_blocks WHERE cleared_at IS NULL"))
    assert blocks == 0


async def test_the_abc_schedule_creates_item_tasks_and_not_twice(client, sup, demo_db):
    r = await client.post("/api/v1/count-tasks/schedule", headers=sup)
    assert r.status_code == 200, r.text
    run = r.json()
    assert set(run["classes"].values()) <= {"A", "B", "C"} and "GLOVE-NIT-M" in run["classes"]
    assert len(run["created"]) == len(run["classes"])  # nothing was ever counted: every item is due
    tasks = (await client.get("/api/v1/count-tasks", headers=sup)).json()
    assert {t["origin"] for t in tasks} == {"abc"} and {t["kind"] for t in tasks} == {"item"}
    again = (await client.post("/api/v1/count-tasks/schedule", headers=sup)).json()
    assert again["created"] == []  # each item has an open task (and was just counted)


async def test_an_expired_lot_counted_lands_expired_never_available(client, picker, sup, demo_db):
    # SY2312X expired ten days ago and is still booked available at A-01-03
    assert await bucket(demo_db, "A-01-03", "SY2312X") == {"available": 15}
    line = (await create(client, sup, kind="location", location="A-01-03")).json()["lines"][0]
    r = await count_line(client, picker, line["lineId"], [{"lot": "SY2312X", "quantity": 15}])
    # all 15 are there: no difference to recount, but they are booked where they belong, in ``expired``
    assert r.json()["status"] == "done" and r.json()["adjusted"] == 1, r.text
    assert await bucket(demo_db, "A-01-03", "SY2312X") == {"expired": 15}
    assert await books_balance(demo_db)
    (ev,) = await events(demo_db, "count.adjusted.v1")
    assert (ev["status"], ev["bookQuantity"], ev["countedQuantity"], ev["delta"]) == ("expired", 15, 15, 0)


async def test_a_lot_never_received_is_counted_in_when_its_barcode_carries_the_expiry(client, picker, sup, demo_db):
    line = (await create(client, sup, kind="location", location="A-01-03")).json()["lines"][0]
    found = [{"lot": "SY2312X", "quantity": 15}, {"lot": "SY9999Z", "quantity": 4}]
    r = await count_line(client, picker, line["lineId"], found)
    assert r.status_code == 422 and r.json()["code"] == "unknown-lot"  # no expiry: the lot cannot be created
    expiry = dt.date.today() + dt.timedelta(days=300)
    found[1]["expiry"] = expiry.isoformat()
    assert (await count_line(client, picker, line["lineId"], found)).json()["status"] == "recount"
    await count_line(client, sup, line["lineId"], found)
    r = await client.post(
        f"/api/v1/count-tasks/lines/{line['lineId']}/approve", json={"reason": "unrecorded-receipt"}, headers=sup
    )
    assert r.status_code == 200, r.text
    assert await bucket(demo_db, "A-01-03", "SY9999Z") == {"available": 4}
    assert await bucket(demo_db, "A-01-03", "SY2312X") == {"expired": 15}
    async with demo_db() as s:
        assert await s.scalar(text("SELECT expiry FROM lots WHERE lot = 'SY9999Z'")) == expiry
    assert await books_balance(demo_db)


async def test_the_short_picks_count_sent_as_before_also_ends_its_count_task(client, picker, sup, demo_db):
    assert (await client.post("/api/v1/waves", json={"orders": ["SO-5002"]}, headers=sup)).status_code == 201
    task = await task_for(client, picker, "SO-5002", "GLOVE-NIT-M")
    short = {"clientScanId": str(uuid.uuid4())}
    assert (
        await client.post(f"/api/v1/picking/tasks/{task['taskId']}/short", json=short, headers=picker)
    ).status_code == 200
    assert len((await client.get("/api/v1/count-tasks", headers=sup)).json()) == 1
    body = {
        "clientScanId": str(uuid.uuid4()),
        "location": "A-02-01",
        "item": "GLOVE-NIT-M",
        "lines": [{"lot": "GL-77-01", "quantity": 200}],
    }
    assert (await client.post("/api/v1/counts", json=body, headers=picker)).status_code == 200
    assert (await client.get("/api/v1/count-tasks", headers=sup)).json() == []
    (closed,) = (await client.get("/api/v1/count-tasks?status=closed", headers=sup)).json()
    assert closed["origin"] == "short-pick" and closed["lines"][0]["status"] == "done"


async def test_a_count_task_for_nothing_on_the_books_or_by_a_picker_is_refused(client, picker, sup):
    r = await create(client, sup, kind="zone", zone="NO-SUCH-ZONE")
    assert r.status_code == 404 and r.json()["code"] == "not-found"
    r = await create(client, sup, kind="lot", item="GLOVE-NIT-M")
    assert r.status_code == 422 and r.json()["code"] == "invalid-count"
    assert (await create(client, picker, kind="location", location="A-02-01")).status_code == 403


async def test_the_erps_abc_class_decides_over_picks(client, sup, demo_db):
    admin = await login(client, "admin", device="admin-pc")
    item = {
        "erpId": "TEST-ITEM-ABC",
        "version": 1,
        "gtin": "4006381333931",
        "name": "Test catheter",
        "baseUnit": "EA",
        "lotTracked": True,
        "expiryTracked": True,
        "abcClass": "A",
    }
    assert (await client.post("/api/v1/erp/items", json=item, headers=admin)).status_code == 201
    r = await client.post("/api/v1/erp/items", json={**item, "version": 2, "abcClass": "D"}, headers=admin)
    assert r.status_code == 400  # not a class: refused by the schema
    async with demo_db.begin() as s:
        assert await s.scalar(text("SELECT abc_class FROM items WHERE erp_id = 'TEST-ITEM-ABC'")) == "A"
        # never picked, so C by picks; the ERP says A
        await s.execute(text("UPDATE items SET abc_class = 'A' WHERE erp_id = 'SCREW-CORT-45'"))
    run = (await client.post("/api/v1/count-tasks/schedule", headers=sup)).json()
    assert run["classes"]["SCREW-CORT-45"] == "A" and run["classes"]["GLOVE-NIT-M"] == "C"


async def test_units_of_an_expired_lot_found_by_the_short_picks_count_are_booked_expired(client, picker, demo_db):
    body = {
        "clientScanId": str(uuid.uuid4()),
        "location": "A-01-03",
        "item": "SYR-10ML",
        "lines": [{"lot": "SY2312X", "quantity": 20}],
    }
    r = await client.post("/api/v1/counts", json=body, headers=picker)
    assert r.status_code == 200, r.text
    assert await bucket(demo_db, "A-01-03", "SY2312X") == {"available": 15, "expired": 5}
    assert await books_balance(demo_db)
