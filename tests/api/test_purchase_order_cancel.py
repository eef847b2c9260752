"""The ERP cancels a purchase order (``POST /api/v1/erp/purchase-orders/{erpId}/cancel``): cancelled, or
closed once units were received; refused while a receipt is open at the dock; a repeat changes nothing."""

from __future__ import annotations

import pytest

from tests.conftest import login
from tests.receiving.helpers import datamatrix, days, rows, scalar, scan_body
from udipick.services.identity import add_api_key

CANCEL = {"reason": "cancelled in the ERP: supplier discontinued the item"}


@pytest.fixture
async def erp(demo_db) -> dict[str, str]:
    return {"Authorization": f"Bearer {await add_api_key(demo_db, 'erp-writer', ['erp:read', 'erp:write'])}"}


async def status_of(db, erp_id: str) -> str:
    return await scalar(db, "SELECT status FROM inbound_documents WHERE erp_id = :e", e=erp_id)


async def cancel_events(db) -> list[dict]:
    return [
        data
        for (data,) in await rows(
            db, "SELECT data FROM outbox_events WHERE type = 'purchase-order.cancelled.v1' ORDER BY position"
        )
    ]


async def audit_rows(db) -> list[tuple]:
    return await rows(
        db,
        "SELECT target, reason, before, after FROM audit_log WHERE action = 'erp.purchase-order.cancelled' ORDER BY id",
    )


async def receive(client, erp_id: str, quantity: int) -> tuple[dict, int]:
    """Open a receipt on ``erp_id`` and scan ``quantity`` syringes; returns the receiver's headers and the receipt id."""
    receiver = await login(client, "receiver", device="hh-dock-1")
    r = await client.post("/api/v1/receipts", json={"document": erp_id}, headers=receiver)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    body = scan_body(datamatrix("SYR-10ML", lot="SY-CXL", expiry=days(400)), quantity=quantity)
    r = await client.post(f"/api/v1/receipts/{rid}/scans", json=body, headers=receiver)
    assert r.status_code == 200, r.text
    return receiver, rid


async def in_transit(client, erp, item: str) -> int:
    r = await client.get("/api/v1/stock", params={"item": item, "status": "in_transit"}, headers=erp)
    assert r.status_code == 200, r.text
    return r.json()["totals"]["in_transit"]


async def test_a_purchase_order_nothing_was_received_on_is_cancelled_once(client, demo_db, erp):
    assert await in_transit(client, erp, "SCREW-CORT-45") == 20
    r = await client.post("/api/v1/erp/purchase-orders/PO-1002/cancel", json=CANCEL, headers=erp)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "erpId": "PO-1002",
        "status": "cancelled",
        "priorStatus": "open",
        "changed": True,
        "ordered": 20,
        "received": 0,
    }
    assert await status_of(demo_db, "PO-1002") == "cancelled"
    assert await in_transit(client, erp, "SCREW-CORT-45") == 0  # no longer expected at the dock
    (event,) = await cancel_events(demo_db)
    assert event == {
        "document": "PO-1002",
        "kind": "purchase_order",
        "number": "PO-1002",
        "status": "cancelled",
        "priorStatus": "open",
        "reason": CANCEL["reason"],
        "lines": [{"lineNo": 1, "item": "SCREW-CORT-45", "ordered": 20, "received": 0}],
    }
    assert await audit_rows(demo_db) == [
        ("purchase-order:PO-1002", CANCEL["reason"], {"status": "open"}, {"status": "cancelled"})
    ]

    # the ERP sends it again (a retry after a lost answer): same answer, nothing written
    again = await client.post("/api/v1/erp/purchase-orders/PO-1002/cancel", json=CANCEL, headers=erp)
    assert again.status_code == 200, again.text
    assert (again.json()["status"], again.json()["priorStatus"], again.json()["changed"]) == (
        "cancelled",
        "cancelled",
        False,
    )
    assert len(await cancel_events(demo_db)) == 1 and len(await audit_rows(demo_db)) == 1

    # nothing more is received against it, and the ERP cannot change it any more
    receiver = await login(client, "receiver", device="hh-dock-1")
    r = await client.post("/api/v1/receipts", json={"document": "PO-1002"}, headers=receiver)
    assert (r.status_code, r.json()["documentStatus"]) == (409, "cancelled")
    po = {
        "erpId": "PO-1002",
        "version": 2,
        "number": "PO-1002",
        "supplier": "SUP-ORTHO",
        "lines": [{"lineNo": 1, "item": "SCREW-CORT-45", "quantity": 30}],
    }
    r = await client.post("/api/v1/erp/purchase-orders", json=po, headers=erp)
    assert (r.status_code, r.json()["code"]) == (409, "conflict")


async def test_a_partly_received_purchase_order_is_closed_and_its_received_units_stay(client, demo_db, erp):
    receiver, rid = await receive(client, "PO-1001", 20)
    r = await client.post(f"/api/v1/receipts/{rid}/close", json={"reason": "supplier short-shipped"}, headers=receiver)
    assert r.status_code == 200, r.text
    assert await status_of(demo_db, "PO-1001") == "open"
    stock_before = await scalar(demo_db, "SELECT sum(quantity) FROM stock")

    r = await client.post("/api/v1/erp/purchase-orders/PO-1001/cancel", json=CANCEL, headers=erp)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "erpId": "PO-1001",
        "status": "closed",
        "priorStatus": "open",
        "changed": True,
        "ordered": 400,
        "received": 20,
    }
    assert await status_of(demo_db, "PO-1001") == "closed"
    assert await scalar(demo_db, "SELECT sum(quantity) FROM stock") == stock_before
    (event,) = await cancel_events(demo_db)
    assert (event["status"], event["lines"][0]) == (
        "closed",
        {"lineNo": 1, "item": "SYR-10ML", "ordered": 200, "received": 20},
    )

    again = await client.post("/api/v1/erp/purchase-orders/PO-1001/cancel", json=CANCEL, headers=erp)
    assert (again.status_code, again.json()["status"], again.json()["changed"]) == (200, "closed", False)
    assert len(await cancel_events(demo_db)) == 1


async def test_a_cancel_while_a_receipt_is_open_at_the_dock_is_refused_and_changes_nothing(client, demo_db, erp):
    receiver, rid = await receive(client, "PO-1001", 5)
    r = await client.post("/api/v1/erp/purchase-orders/PO-1001/cancel", json=CANCEL, headers=erp)
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert (problem["code"], problem["document"], problem["receipts"]) == (
        "receipt-in-progress",
        "PO-1001",
        [f"RCV-{rid:06d}"],
    )
    assert await status_of(demo_db, "PO-1001") == "receiving"
    assert await cancel_events(demo_db) == [] and await audit_rows(demo_db) == []

    # the receiver carries on; once the receipt is closed the ERP's retry closes the order
    body = scan_body(datamatrix("SYR-10ML", lot="SY-CXL", expiry=days(400)), quantity=3)
    r = await client.post(f"/api/v1/receipts/{rid}/scans", json=body, headers=receiver)
    assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/receipts/{rid}/close", json={"reason": "supplier short-shipped"}, headers=receiver)
    assert r.status_code == 200, r.text
    r = await client.post("/api/v1/erp/purchase-orders/PO-1001/cancel", json=CANCEL, headers=erp)
    assert (r.status_code, r.json()["status"], r.json()["received"]) == (200, "closed", 8), r.text


async def test_an_unknown_purchase_order_or_a_missing_reason_is_a_problem(client, demo_db, erp):
    r = await client.post("/api/v1/erp/purchase-orders/PO-NOPE/cancel", json=CANCEL, headers=erp)
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    assert (r.json()["code"], r.json()["document"]) == ("purchase-order-not-found", "PO-NOPE")
    r = await client.post("/api/v1/erp/purchase-orders/PO-1002/cancel", json={"reason": "   "}, headers=erp)
    assert (r.status_code, r.json()["code"]) == (422, "missing-reason")
    r = await client.post("/api/v1/erp/purchase-orders/PO-1002/cancel", json={}, headers=erp)
    assert (r.status_code, r.json()["code"]) == (400, "invalid-request")
    assert await status_of(demo_db, "PO-1002") == "open"


async def test_the_cancel_needs_erp_write(client, demo_db):
    reader = {"Authorization": f"Bearer {await add_api_key(demo_db, 'erp-reader', ['erp:read'])}"}
    r = await client.post("/api/v1/erp/purchase-orders/PO-1002/cancel", json=CANCEL, headers=reader)
    assert (r.status_code, r.json()["code"]) == (403, "permission-denied")
    picker = await login(client, "picker")
    r = await client.post("/api/v1/erp/purchase-orders/PO-1002/cancel", json=CANCEL, headers=picker)
    assert r.status_code == 403
    assert await status_of(demo_db, "PO-1002") == "open"
