"""Wave and order control over HTTP on real PostgreSQL: the wave board's figures against a scripted wave,
cancels (reservations released, put-back tasks that move stock back through the ledger, events), the ERP's
cancel and change of a released order, task assignment and wave priority, and who may do what."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from tests.api.test_picking import STENT, SYR, events, gs1, lot_expiry, scan
from tests.api.test_replenishment import sales_order
from tests.conftest import login


@pytest.fixture
async def sup(client):
    return await login(client, "supervisor")


@pytest.fixture
async def picker(client):
    return await login(client, "picker", device="tc52-01")


@pytest.fixture
async def wave(client, sup):
    """The demo's two orders and SO-9001 (60 screws, 50 on hand: a short line) in one wave."""
    await sales_order(client, "SO-9001", "SCREW-CORT-45", 60)
    r = await client.post("/api/v1/waves", json={}, headers=sup)
    assert r.status_code == 201, r.text
    return r.json()


async def tasks_of(client, headers, order: str, item: str) -> list[dict]:
    tasks = (await client.get("/api/v1/picking/tasks", headers=headers)).json()
    return [t for t in tasks if t["order"] == order and t["item"]["erpId"] == item]


async def pick_script(client, picker, demo_db) -> None:
    """3 syringes of SO-5001's 30, and both of its stents (the line is then picked)."""
    (syr,) = await tasks_of(client, picker, "SO-5001", "SYR-10ML")
    raw = gs1(SYR, "SY2405B", await lot_expiry(demo_db, "SY2405B"))
    for _ in range(3):
        r = await scan(client, picker, syr, raw)
        assert r.status_code == 200, r.text
    for t in await tasks_of(client, picker, "SO-5001", "STENT-DES-3018"):
        r = await scan(client, picker, t, gs1(STENT, t["lot"], serial=t["serial"]))
        assert r.status_code == 200, r.text


async def reserved_at(db, location: str, lot: str) -> tuple[int, int]:
    async with db() as s:
        row = (
            await s.execute(
                text(
                    "SELECT s.quantity, s.reserved FROM stock s JOIN locations loc ON loc.id = s.location_id"
                    " JOIN lots l ON l.id = s.lot_id WHERE loc.code = :loc AND l.lot = :lot AND s.status = 'available'"
                ),
                {"loc": location, "lot": lot},
            )
        ).one()
    return tuple(row)


async def line(db, order: str, line_no: int) -> tuple[int, int, bool]:
    async with db() as s:
        row = (
            await s.execute(
                text(
                    "SELECT ol.quantity_allocated, ol.quantity_picked, ol.cancelled_at IS NOT NULL FROM outbound_lines ol"
                    " JOIN outbound_documents d ON d.id = ol.document_id WHERE d.erp_id = :o AND ol.line_no = :n"
                ),
                {"o": order, "n": line_no},
            )
        ).one()
    return tuple(row)


async def order_status(db, order: str) -> str:
    async with db() as s:
        return await s.scalar(text("SELECT status FROM outbound_documents WHERE erp_id = :o"), {"o": order})


# ---- the board ---------------------------------------------------------------------------------------


async def test_the_wave_board_adds_up_a_scripted_wave(client, wave, sup, picker, demo_db):
    await pick_script(client, picker, demo_db)
    r = await client.get("/api/v1/waves", headers=sup)
    assert r.status_code == 200, r.text
    (w,) = r.json()["waves"]
    assert r.json()["nextBefore"] is None
    # lines: SO-5001 2, SO-5002 3, SO-9001 1; picked: SO-5001's stents; short: the screws (50 of 60)
    # units: 30 + 2 + 20 + 10 + 10 + 50 allocated, 3 + 2 picked
    assert {k: w[k] for k in ("waveId", "status", "priority", "orders", "linesTotal", "linesPicked", "shortLines")} == {
        "waveId": wave["waveId"],
        "status": "released",
        "priority": 5,
        "orders": 3,
        "linesTotal": 6,
        "linesPicked": 1,
        "shortLines": 1,
    }
    assert (w["units"], w["unitsPicked"], w["pickers"], w["releasedBy"]) == (122, 5, 1, "supervisor")
    assert w["startedAt"] is not None and w["finishedAt"] is None
    assert w["tasksOpen"] == wave["tasks"] - 2  # the two stent tasks are done

    d = (await client.get(f"/api/v1/waves/{wave['waveId']}", headers=sup)).json()
    orders = {o["order"]: o for o in d["orderLines"]}
    assert (orders["SO-5001"]["linesTotal"], orders["SO-5001"]["linesPicked"], orders["SO-5001"]["unitsPicked"]) == (
        2,
        1,
        5,
    )
    assert (orders["SO-9001"]["shortLines"], orders["SO-9001"]["units"]) == (1, 50)
    assert [(s["order"], s["lineNo"], s["missing"]) for s in d["short"]] == [("SO-9001", 1, 10)]
    (p,) = d["pickerList"]
    assert (p["username"], p["scans"], p["units"]) == ("picker", 5, 5)

    # filters: by status and by the release day; a page at a time
    assert (await client.get("/api/v1/waves?status=cancelled", headers=sup)).json()["waves"] == []
    assert len((await client.get("/api/v1/waves?status=released", headers=sup)).json()["waves"]) == 1
    assert (await client.get("/api/v1/waves?date=2001-01-01", headers=sup)).json()["waves"] == []
    qa = await login(client, "qa")
    assert (await client.get(f"/api/v1/waves?date={w['allocationDate']}", headers=qa)).json()["waves"][0][
        "waveId"
    ] == w["waveId"]


async def test_waves_page_newest_first(client, sup):
    ids = []
    for n in range(3):
        await sales_order(client, f"SO-P{n}", "GLOVE-NIT-M", 1)
        ids.append((await client.post("/api/v1/waves", json={"orders": [f"SO-P{n}"]}, headers=sup)).json()["waveId"])
    first = (await client.get("/api/v1/waves?limit=2", headers=sup)).json()
    assert [w["waveId"] for w in first["waves"]] == ids[::-1][:2] and first["nextBefore"] == ids[1]
    rest = (await client.get(f"/api/v1/waves?limit=2&before={first['nextBefore']}", headers=sup)).json()
    assert [w["waveId"] for w in rest["waves"]] == [ids[0]] and rest["nextBefore"] is None


async def test_unknown_ids_are_problems_with_a_code(client, sup):
    r = await client.get("/api/v1/waves/999", headers=sup)
    assert (r.status_code, r.json()["code"], r.json()["waveId"]) == (404, "wave-not-found", 999)
    r = await client.post("/api/v1/waves/999/cancel", json={"reason": "x"}, headers=sup)
    assert (r.status_code, r.json()["code"]) == (404, "wave-not-found")
    r = await client.post("/api/v1/orders/SO-NOPE/cancel", json={"reason": "x"}, headers=sup)
    assert (r.status_code, r.json()["code"]) == (404, "order-not-found")
    r = await client.post("/api/v1/orders/SO-5001/lines/9/cancel", json={"reason": "x"}, headers=sup)
    assert (r.status_code, r.json()["code"]) == (404, "order-line-not-found")
    r = await client.post(
        "/api/v1/put-backs/999/confirm",
        json={"clientScanId": str(uuid.uuid4()), "locationRaw": "LOC-A-01-02"},
        headers=sup,
    )
    assert (r.status_code, r.json()["code"]) == (404, "put-back-not-found")
    r = await client.post("/api/v1/picking/tasks/999999/assign", json={"picker": "picker"}, headers=sup)
    assert (r.status_code, r.json()["code"]) == (404, "not-found")


async def test_pickers_may_not_read_the_board_or_cancel(client, wave, picker):
    for method, path, body in [
        ("GET", "/api/v1/waves", None),
        ("GET", f"/api/v1/waves/{wave['waveId']}", None),
        ("POST", f"/api/v1/waves/{wave['waveId']}/cancel", {"reason": "x"}),
        ("POST", "/api/v1/orders/SO-5001/cancel", {"reason": "x"}),
        ("POST", "/api/v1/orders/SO-5001/lines/1/cancel", {"reason": "x"}),
        ("POST", f"/api/v1/waves/{wave['waveId']}/priority", {"priority": 1}),
        ("POST", "/api/v1/picking/tasks/1/assign", {"picker": "picker"}),
    ]:
        r = await client.request(method, path, json=body, headers=picker)
        assert (r.status_code, r.json()["code"]) == (403, "permission-denied"), (method, path)


# ---- cancel ------------------------------------------------------------------------------------------


async def test_cancelling_an_order_releases_its_reservations_and_puts_picked_units_back(
    client, wave, sup, picker, demo_db
):
    await pick_script(client, picker, demo_db)
    (syr,) = await tasks_of(client, picker, "SO-5001", "SYR-10ML")
    # SY2405B at A-01-02: 120, 30 reserved for SO-5001 and 10 for SO-5002; 3 picked
    assert await reserved_at(demo_db, "A-01-02", "SY2405B") == (117, 37)

    r = await client.post("/api/v1/orders/SO-5001/cancel", json={"reason": "customer withdrew"}, headers=sup)
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["tasks"], done["released"], done["putBack"]) == (3, 27, 5)
    assert await reserved_at(demo_db, "A-01-02", "SY2405B") == (117, 10)
    assert await line(demo_db, "SO-5001", 1) == (0, 0, False)
    assert await line(demo_db, "SO-5001", 2) == (0, 0, False)
    assert await order_status(demo_db, "SO-5001") == "cancelled"
    backs = {(b["item"]["erpId"], b["serial"]): b for b in done["putBacks"]}
    syr_back = backs[("SYR-10ML", None)]
    assert (syr_back["quantity"], syr_back["lot"], syr_back["from"]["code"], syr_back["to"]["code"]) == (
        3,
        "SY2405B",
        "SHIP-01",
        "A-01-02",
    )
    assert sorted(s for _, s in backs if s) == ["STN000101", "STN000102"]

    (ev,) = await events(demo_db, "order.cancelled.v1")
    assert {k: ev[k] for k in ("order", "reason", "source", "version", "waves", "tasks", "released")} == {
        "order": "SO-5001",
        "reason": "customer withdrew",
        "source": "udipick",
        "version": None,
        "waves": [wave["waveId"]],
        "tasks": 3,
        "released": 27,
    }
    assert sorted((b["item"], b["quantity"], b["toLocation"]) for b in ev["putBacks"])[2] == ("SYR-10ML", 3, "A-01-02")

    # the cancelled task can no longer be picked, and says why
    r = await scan(client, picker, syr, gs1(SYR, "SY2405B", await lot_expiry(demo_db, "SY2405B")))
    assert (r.status_code, r.json()["code"]) == (409, "task-cancelled"), r.text
    # ... and cancelling again, or what is not there, is a problem
    r = await client.post("/api/v1/orders/SO-5001/cancel", json={"reason": "again"}, headers=sup)
    assert (r.status_code, r.json()["code"]) == (409, "already-cancelled")

    # the put-back: listed for the floor, confirmed at the shelf it came from, through the ledger
    listed = (await client.get("/api/v1/put-backs", headers=picker)).json()
    assert {b["putBackId"] for b in listed} == {b["putBackId"] for b in done["putBacks"]}
    body = {"clientScanId": str(uuid.uuid4()), "locationRaw": "LOC-A-02-01"}
    r = await client.post(f"/api/v1/put-backs/{syr_back['putBackId']}/confirm", json=body, headers=picker)
    assert (r.status_code, r.json()["code"]) == (409, "wrong-location"), r.text
    body["locationRaw"] = syr_back["to"]["barcode"]
    body["clientScanId"] = str(uuid.uuid4())
    r = await client.post(f"/api/v1/put-backs/{syr_back['putBackId']}/confirm", json=body, headers=picker)
    assert r.status_code == 200 and r.json()["status"] == "done", r.text
    replay = await client.post(f"/api/v1/put-backs/{syr_back['putBackId']}/confirm", json=body, headers=picker)
    assert replay.status_code == 200 and replay.headers.get("idempotent-replayed") == "true"
    assert await reserved_at(demo_db, "A-01-02", "SY2405B") == (120, 10)
    async with demo_db() as s:
        staged = await s.scalar(
            text(
                "SELECT coalesce(sum(s.quantity), 0) FROM stock s JOIN lots l ON l.id = s.lot_id"
                " WHERE l.lot = 'SY2405B' AND s.status = 'picked'"
            )
        )
        moves = (
            await s.execute(
                text(
                    "SELECT movement, quantity, from_status, to_status FROM stock_ledger WHERE document_type = 'put_back'"
                )
            )
        ).all()
    assert staged == 0 and [tuple(m) for m in moves] == [("move", 3, "picked", "available")]
    (confirmed,) = await events(demo_db, "put-back.confirmed.v1")
    assert (confirmed["order"], confirmed["quantity"], confirmed["toLocation"]) == ("SO-5001", 3, "A-01-02")

    # a serial goes back on the shelf as a unit in stock again
    stent = backs[("STENT-DES-3018", "STN000101")]
    body = {"clientScanId": str(uuid.uuid4()), "locationRaw": stent["to"]["barcode"]}
    r = await client.post(f"/api/v1/put-backs/{stent['putBackId']}/confirm", json=body, headers=picker)
    assert r.status_code == 200, r.text
    async with demo_db() as s:
        assert await s.scalar(text("SELECT status FROM serials WHERE serial = 'STN000101'")) == "in_stock"


async def test_cancelling_a_wave_reopens_its_orders_and_frees_everything_it_reserved(
    client, wave, sup, picker, demo_db
):
    await pick_script(client, picker, demo_db)
    r = await client.post(f"/api/v1/waves/{wave['waveId']}/cancel", json={"reason": "wrong cut-off"}, headers=sup)
    assert r.status_code == 200, r.text
    assert (r.json()["tasks"], r.json()["putBack"], sorted(r.json()["reopened"])) == (
        wave["tasks"] - 0,
        5,
        ["SO-5001", "SO-5002", "SO-9001"],
    )
    async with demo_db() as s:
        reserved_by_picks = await s.scalar(
            text(
                "SELECT coalesce(sum(s.reserved), 0) - (SELECT coalesce(sum(r.quantity - r.moved), 0)"
                " FROM replenishment_tasks r WHERE r.status = 'open') FROM stock s"
            )
        )
        open_tasks = await s.scalar(text("SELECT count(*) FROM pick_tasks WHERE status <> 'cancelled'"))
    assert (reserved_by_picks, open_tasks) == (0, 0)
    (ev,) = await events(demo_db, "wave.cancelled.v1")
    assert (ev["waveId"], ev["reason"], ev["tasks"], sorted(ev["orders"]), len(ev["putBacks"])) == (
        wave["waveId"],
        "wrong cut-off",
        wave["tasks"],
        ["SO-5001", "SO-5002", "SO-9001"],
        3,
    )
    board = (await client.get(f"/api/v1/waves/{wave['waveId']}", headers=sup)).json()
    assert (board["status"], board["cancelReason"]) == ("cancelled", "wrong cut-off")
    r = await client.post(f"/api/v1/waves/{wave['waveId']}/cancel", json={"reason": "again"}, headers=sup)
    assert (r.status_code, r.json()["code"]) == (409, "already-cancelled")
    # the orders can be released again, in a new wave
    r = await client.post("/api/v1/waves", json={"orders": ["SO-5001", "SO-5002"]}, headers=sup)
    assert r.status_code == 201 and r.json()["shortLines"] == [], r.text


async def test_cancelling_a_line_leaves_the_rest_of_the_order(client, wave, sup, picker, demo_db):
    r = await client.post("/api/v1/orders/SO-5002/lines/1/cancel", json={"reason": "item discontinued"}, headers=sup)
    assert r.status_code == 200 and (r.json()["tasks"], r.json()["released"]) == (1, 20), r.text
    assert await line(demo_db, "SO-5002", 1) == (0, 0, True)
    assert await line(demo_db, "SO-5002", 2) == (10, 0, False)
    assert await order_status(demo_db, "SO-5002") == "released"
    (ev,) = await events(demo_db, "order.line-cancelled.v1")
    assert (ev["order"], ev["lineNo"], ev["released"], ev["putBacks"]) == ("SO-5002", 1, 20, [])
    r = await client.post("/api/v1/orders/SO-5002/lines/1/cancel", json={"reason": "again"}, headers=sup)
    assert (r.status_code, r.json()["code"]) == (409, "already-cancelled")
    assert await tasks_of(client, picker, "SO-5002", "GLOVE-NIT-M") == []
    # a cancelled line is not allocated again: the order has nothing else left to release
    r = await client.post("/api/v1/waves", json={"orders": ["SO-5002"]}, headers=sup)
    assert (r.status_code, r.json()["code"]) == (409, "conflict"), r.text


async def test_a_shipped_order_cannot_be_cancelled(client, sup, demo_db):
    await sales_order(client, "SO-SHIPPED", "GLOVE-NIT-M", 1)
    async with demo_db.begin() as s:  # shipping itself is tested in test_packing; here only its status matters
        await s.execute(text("UPDATE outbound_documents SET status = 'shipped' WHERE erp_id = 'SO-SHIPPED'"))
    r = await client.post("/api/v1/orders/SO-SHIPPED/cancel", json={"reason": "too late"}, headers=sup)
    assert (r.status_code, r.json()["code"], r.json()["state"]) == (409, "not-cancellable", "shipped")


# ---- the ERP -----------------------------------------------------------------------------------------

SO_5001_V2 = {
    "erpId": "SO-5001",
    "version": 2,
    "number": "SO-5001",
    "customer": "CUST-SH-01",
    "shipTo": {"name": "x"},
    "lines": [{"lineNo": 1, "item": "SYR-10ML", "quantity": 12}],
}


async def test_after_a_cancel_the_erps_change_is_accepted(client, wave, sup, picker, demo_db):
    await pick_script(client, picker, demo_db)
    admin = await login(client, "admin")
    r = await client.post("/api/v1/orders/SO-5001/cancel", json={"reason": "ERP will resend"}, headers=sup)
    assert r.status_code == 200, r.text
    r = await client.post("/api/v1/erp/sales-orders", json=SO_5001_V2, headers=admin)
    assert (r.status_code, r.json()["status"]) == (200, "updated"), r.text
    assert await order_status(demo_db, "SO-5001") == "open"
    # line 1 takes the new quantity; line 2 is gone from the order (kept, cancelled, for its tasks' history)
    assert await line(demo_db, "SO-5001", 1) == (0, 0, False)
    assert (await line(demo_db, "SO-5001", 2))[2] is True
    r = await client.post("/api/v1/waves", json={"orders": ["SO-5001"]}, headers=sup)
    assert r.status_code == 201 and r.json()["tasks"] == 1, r.text
    (syr,) = await tasks_of(client, picker, "SO-5001", "SYR-10ML")
    assert syr["quantity"] == 12


async def test_the_erps_change_of_a_released_order_cancels_its_picking_first(client, wave, sup, picker, demo_db):
    await pick_script(client, picker, demo_db)
    admin = await login(client, "admin")
    r = await client.post("/api/v1/erp/sales-orders", json=SO_5001_V2, headers=admin)
    assert (r.status_code, r.json()["status"]) == (200, "updated"), r.text
    assert await reserved_at(demo_db, "A-01-02", "SY2405B") == (117, 10)
    (ev,) = await events(demo_db, "order.cancelled.v1")
    assert (ev["source"], ev["version"], ev["released"], len(ev["putBacks"])) == ("erp-change", 2, 27, 3)
    assert await order_status(demo_db, "SO-5001") == "open"


async def test_the_erp_cancels_an_order_through_the_inbound_api(client, wave, demo_db):
    admin = await login(client, "admin")
    r = await client.post("/api/v1/erp/sales-orders/SO-5002/cancel", json={"reason": "cancelled in ERP"}, headers=admin)
    assert r.status_code == 200 and r.json()["released"] == 40, r.text
    (ev,) = await events(demo_db, "order.cancelled.v1")
    assert (ev["order"], ev["source"], ev["released"]) == ("SO-5002", "erp", 40)
    r = await client.post("/api/v1/erp/sales-orders/SO-NOPE/cancel", json={"reason": "x"}, headers=admin)
    assert (r.status_code, r.json()["code"]) == (404, "order-not-found")


# ---- assignment and priority ------------------------------------------------------------------------


async def audit_rows(db, action: str) -> list[tuple]:
    async with db() as s:
        return [
            tuple(r)
            for r in (
                await s.execute(
                    text("SELECT username, target, detail FROM audit_log WHERE action = :a ORDER BY id"), {"a": action}
                )
            ).all()
        ]


async def test_an_assigned_task_leaves_other_pickers_lists_and_is_audited(client, wave, sup, picker, demo_db):
    (glove,) = await tasks_of(client, picker, "SO-5002", "GLOVE-NIT-M")
    r = await client.post(f"/api/v1/picking/tasks/{glove['taskId']}/assign", json={"picker": "admin"}, headers=sup)
    assert r.status_code == 200 and r.json() == {
        "taskId": glove["taskId"],
        "waveId": wave["waveId"],
        "assignedTo": "admin",
        "previous": None,
    }
    assert await tasks_of(client, picker, "SO-5002", "GLOVE-NIT-M") == []
    admin = await login(client, "admin")
    mine = (await client.get("/api/v1/picking/tasks", headers=admin)).json()
    assert (mine[0]["taskId"], mine[0]["assignedTo"]) == (glove["taskId"], "admin")
    assert await audit_rows(demo_db, "pick-task.assign") == [
        ("supervisor", f"pick-task:{glove['taskId']}", {"assignedTo": "admin", "previous": None})
    ]
    r = await client.post(f"/api/v1/picking/tasks/{glove['taskId']}/assign", json={"picker": "qa"}, headers=sup)
    assert (r.status_code, r.json()["code"]) == (409, "conflict")
    r = await client.post(f"/api/v1/picking/tasks/{glove['taskId']}/assign", json={"picker": None}, headers=sup)
    assert r.status_code == 200 and r.json()["previous"] == "admin"
    assert len(await tasks_of(client, picker, "SO-5002", "GLOVE-NIT-M")) == 1


async def test_a_wave_given_priority_comes_first_in_the_pickers_list(client, wave, sup, picker, demo_db):
    await sales_order(client, "SO-LATER", "PEN-NDL-4MM", 1)
    later = (await client.post("/api/v1/waves", json={"orders": ["SO-LATER"]}, headers=sup)).json()
    first = (await client.get("/api/v1/picking/tasks", headers=picker)).json()
    assert first[0]["waveId"] == wave["waveId"]  # both at priority 5: the pick path decides
    r = await client.post(f"/api/v1/waves/{later['waveId']}/priority", json={"priority": 1}, headers=sup)
    assert r.status_code == 200 and r.json() == {"waveId": later["waveId"], "priority": 1, "previous": 5}
    now = (await client.get("/api/v1/picking/tasks", headers=picker)).json()
    assert now[0]["waveId"] == later["waveId"] and now[0]["order"] == "SO-LATER"
    assert await audit_rows(demo_db, "wave.priority") == [
        ("supervisor", f"wave:{later['waveId']}", {"priority": 1, "previous": 5})
    ]
    r = await client.post("/api/v1/waves/999/priority", json={"priority": 1}, headers=sup)
    assert (r.status_code, r.json()["code"]) == (404, "wave-not-found")
