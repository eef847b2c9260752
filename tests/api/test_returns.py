"""Customer returns and scrap on real PostgreSQL, through the flows the warehouse uses.

Stents and syringes are shipped through the API (wave → pick → pack → ship), then come back: a serial
only from the customer it was shipped to, a lot no more than was shipped, an RMA no more than it
allows. Accepted units land in quarantine (ledger ``return``); QA restocks (a putaway task appears),
scraps or returns them to the supplier with an e-signature, and a unit of a recalled lot is tied to
the recall and never restocked while it is open. Scrap needs a signature and a reason that fits the
stock. Every test ends with stock equal to the ledger.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text

from tests.api.test_picking import STENT, SYR, events, gs1, scan
from tests.conftest import login
from tests.ledger_check import LEDGER_MISMATCHES
from tests.receiving.helpers import scan_body

STENT_ITEM = "STENT-DES-3018"


async def _scalar(db, sql: str, **params):
    async with db() as s:
        return (await s.execute(text(sql), params)).scalar()


async def _rows(db, sql: str, **params) -> list[tuple]:
    async with db() as s:
        return [tuple(r) for r in (await s.execute(text(sql), params)).all()]


async def _ship(client, order: str, customer: str, item: str, quantity: int, raw) -> list[dict]:
    """Send the order from the ERP, release it, pick, pack and ship it; the pick tasks it took."""
    admin = await login(client, "admin")
    sup = await login(client, "supervisor", device="hh-sup")
    picker = await login(client, "picker", device="hh-pick")
    so = {
        "erpId": order,
        "version": 1,
        "number": f"N-{order}",
        "customer": customer,
        "shipTo": {"name": f"Ward of {customer}", "addressLines": ["1 Return Road"], "city": "Shanghai"},
        "lines": [{"lineNo": 1, "item": item, "quantity": quantity}],
    }
    assert (await client.post("/api/v1/erp/sales-orders", json=so, headers=admin)).status_code == 201
    assert (await client.post("/api/v1/waves", json={"orders": [order]}, headers=sup)).status_code == 201
    tasks = [t for t in (await client.get("/api/v1/picking/tasks", headers=picker)).json() if t["order"] == order]
    picked = []
    for task in tasks:
        remaining = task["remaining"]
        while remaining:
            r = await scan(client, picker, task, raw(task))
            assert r.status_code == 200, r.text
            remaining = r.json()["remaining"]
            picked.append(raw(task))
    r = await client.post("/api/v1/packing/packages", json={"order": order}, headers=picker)
    assert r.status_code == 201, r.text
    sscc = r.json()["sscc"]
    for unit in picked:
        r = await client.post(
            f"/api/v1/packing/packages/{sscc}/scans",
            json={"clientScanId": str(uuid.uuid4()), "raw": unit},
            headers=picker,
        )
        assert r.status_code == 200, r.text
    assert (await client.post(f"/api/v1/packing/packages/{sscc}/close", headers=picker)).status_code == 200
    r = await client.post("/api/v1/shipments", json={"order": order}, headers=picker)
    assert r.status_code == 200, r.text
    return tasks


def _stent(task: dict) -> str:
    return gs1(STENT, task["lot"], serial=task["serial"])


async def _start(client, headers, **body) -> dict:
    r = await client.post("/api/v1/returns", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def _return_scan(client, headers, return_id: int, raw: str, **extra):
    return await client.post(f"/api/v1/returns/{return_id}/scans", json=scan_body(raw, **extra), headers=headers)


async def _dispose(client, headers, line_id: int, decision: str, password: str = "qa-demo"):
    return await client.post(
        f"/api/v1/returns/lines/{line_id}/disposition",
        json={"decision": decision, "reason": "inspected", "password": password},
        headers=headers,
    )


async def test_a_shipped_serial_comes_back_only_from_its_customer_and_qa_restocks_or_scraps_it(client, demo_db):
    tasks = await _ship(client, "SO-RET1", "CUST-RIVER", STENT_ITEM, 2, _stent)
    shipped = sorted(t["serial"] for t in tasks)
    assert len(shipped) == 2
    receiver = await login(client, "receiver", device="hh-dock")
    qa = await login(client, "qa", device="hh-qa")

    # another customer cannot send it back: it was not shipped to them
    other = await _start(client, receiver, blind=True, customer="CUST-SH-01")
    r = await _return_scan(client, receiver, other["id"], gs1(STENT, "ST-A1", serial=shipped[0]))
    assert r.status_code == 409, r.text
    assert (r.json()["code"], r.json()["serial"], r.json()["customer"]) == (
        "return-not-shipped-to-customer",
        shipped[0],
        "CUST-SH-01",
    )
    assert "another customer" in r.json()["detail"]

    ret = await _start(client, receiver, blind=True, customer="CUST-RIVER")
    assert ret["number"].startswith("RET-") and ret["location"] == "QC-01" and ret["rma"] is None
    # a serialised unit without its serial is asked for
    r = await _return_scan(client, receiver, ret["id"], gs1(STENT, "ST-A1"))
    assert r.status_code == 422 and r.json()["code"] == "missing-serial", r.text
    body = scan_body(gs1(STENT, "ST-A1", serial=shipped[0]), reason="wrong size")
    r = await client.post(f"/api/v1/returns/{ret['id']}/scans", json=body, headers=receiver)
    assert r.status_code == 200, r.text
    first = r.json()["accepted"]
    assert (first["serial"], first["lot"], first["quantity"], first["status"], first["shippedOn"]) == (
        shipped[0],
        "ST-A1",
        1,
        "quarantine",
        ["SO-RET1"],
    )
    assert [ln["id"] for ln in r.json()["return"]["lines"]] == [first["id"]]
    # a replay answers the first verdict and books nothing twice
    again = await client.post(f"/api/v1/returns/{ret['id']}/scans", json=body, headers=receiver)
    assert again.status_code == 200 and again.headers.get("idempotent-replayed") == "true"
    assert again.json()["accepted"] == first
    # the same serial scanned again with a new id: it is already back
    r = await _return_scan(client, receiver, ret["id"], gs1(STENT, "ST-A1", serial=shipped[0]))
    assert r.status_code == 409 and r.json()["code"] == "return-not-shipped-to-customer", r.text
    # a serial still on the shelf was never shipped at all
    on_shelf = (await _rows(demo_db, "SELECT serial FROM serials WHERE status = 'in_stock' ORDER BY serial"))[0][0]
    r = await _return_scan(client, receiver, ret["id"], gs1(STENT, "ST-A1", serial=on_shelf))
    assert r.status_code == 409 and r.json()["code"] == "return-not-shipped-to-customer", r.text
    r = await _return_scan(client, receiver, ret["id"], gs1(STENT, "ST-A1", serial=shipped[1]))
    assert r.status_code == 200, r.text
    second = r.json()["accepted"]

    # booked in through the ledger into quarantine; the serial is on the books again
    assert await _rows(
        demo_db,
        "SELECT se.serial, s.status, s.quantity, loc.code FROM stock s JOIN serials se ON se.id = s.serial_id"
        " JOIN locations loc ON loc.id = s.location_id WHERE se.serial = ANY(:s) AND s.quantity > 0 ORDER BY 1",
        s=shipped,
    ) == [(shipped[0], "quarantine", 1, "QC-01"), (shipped[1], "quarantine", 1, "QC-01")]
    assert await _scalar(demo_db, "SELECT count(*) FROM stock_ledger WHERE movement = 'return'") == 2
    assert await _scalar(demo_db, "SELECT status FROM serials WHERE serial = :s", s=shipped[0]) == "in_stock"
    received = await events(demo_db, "return.received.v1")
    assert sorted(ev["serial"] for ev in received) == shipped
    assert {(ev["customer"], ev["status"], tuple(ev["shippedOn"])) for ev in received} == {
        ("CUST-RIVER", "quarantine", ("SO-RET1",))
    }

    # returned units are decided one by one, not by a lot's QC release nor by scrapping them past it
    r = await client.post(
        "/api/v1/scrap",
        json={
            "location": "QC-01",
            "raw": gs1(STENT, "ST-A1", serial=shipped[1]),
            "reason": "damaged",
            "password": "qa-demo",
        },
        headers=qa,
    )
    assert r.status_code == 409 and r.json()["code"] == "scrap-not-allowed", r.text
    assert "ST-A1" not in [x["lot"] for x in (await client.get("/api/v1/qc/quarantine", headers=qa)).json()]
    lot_id = await _scalar(demo_db, "SELECT id FROM lots WHERE lot = 'ST-A1'")
    r = await client.post(
        f"/api/v1/qc/lots/{lot_id}/release", json={"reason": "looks fine", "password": "qa-demo"}, headers=qa
    )
    assert r.status_code == 409 and r.json()["code"] == "not-in-quarantine", r.text
    # QA sees both; a receiver may not decide
    awaiting = (await client.get("/api/v1/returns/lines", headers=qa)).json()
    assert sorted(ln["id"] for ln in awaiting) == sorted([first["id"], second["id"]])
    assert (await _dispose(client, receiver, first["id"], "restock", "receiver-demo")).status_code == 403
    # a wrong password signs nothing and changes nothing
    r = await _dispose(client, qa, first["id"], "restock", "wrong")
    assert r.status_code == 403 and r.json()["code"] == "signature-rejected", r.text
    assert await _scalar(demo_db, "SELECT status FROM return_lines WHERE id = :i", i=first["id"]) == "quarantine"

    r = await _dispose(client, qa, first["id"], "restock")
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["disposedBy"]) == ("restocked", "qa")
    assert (await _dispose(client, qa, first["id"], "scrap")).json()["code"] == "return-already-disposed"
    # saleable on a new plate, with a putaway task to stock
    (task,) = [t for t in (await client.get("/api/v1/putaway/tasks", headers=receiver)).json() if t["from"] == "QC-01"]
    assert task["receipt"] == ret["number"]
    assert [(c["serial"], c["status"]) for c in task["contents"]] == [(shipped[0], "available")]
    r = await client.post(
        f"/api/v1/putaway/tasks/{task['id']}/confirm", json=scan_body("LOC-A-02-03"), headers=receiver
    )
    assert r.status_code == 200, r.text
    assert await _rows(
        demo_db,
        "SELECT loc.code, s.status FROM stock s JOIN serials se ON se.id = s.serial_id"
        " JOIN locations loc ON loc.id = s.location_id WHERE se.serial = :s AND s.quantity > 0",
        s=shipped[0],
    ) == [("A-02-03", "available")]

    r = await _dispose(client, qa, second["id"], "scrap")
    assert r.status_code == 200 and r.json()["status"] == "scrapped", r.text
    assert await _scalar(demo_db, "SELECT status FROM serials WHERE serial = :s", s=shipped[1]) == "scrapped"
    assert (
        await _scalar(
            demo_db,
            "SELECT coalesce(sum(quantity), 0) FROM stock s JOIN serials se ON se.id = s.serial_id"
            " WHERE se.serial = :s",
            s=shipped[1],
        )
        == 0
    )
    disposed = await events(demo_db, "return.disposed.v1")
    assert sorted((ev["serial"], ev["decision"], ev["signedBy"]) for ev in disposed) == sorted(
        [(shipped[0], "restock", "qa"), (shipped[1], "scrap", "qa")]
    )
    signatures = await _rows(
        demo_db, "SELECT detail->>'meaning', signature_meaning FROM audit_log WHERE action = 'signature' ORDER BY id"
    )
    assert signatures[-2:] == [("return.restock", "release"), ("return.scrap", "rejection")]
    assert await _scalar(demo_db, LEDGER_MISMATCHES) == 0


async def test_an_rma_from_the_erp_limits_what_comes_back_and_to_supplier_books_it_out(client, demo_db):
    await _ship(client, "SO-RET2", "CUST-RIVER", "SYR-10ML", 3, lambda t: gs1(SYR, t["lot"]))
    (lot,) = {
        r[0]
        for r in await _rows(
            demo_db,
            "SELECT l.lot FROM stock_ledger sl JOIN lots l ON l.id = sl.lot_id"
            " WHERE sl.movement = 'ship' AND sl.document_id = 'SO-RET2'",
        )
    }
    admin = await login(client, "admin")
    receiver = await login(client, "receiver", device="hh-dock")
    qa = await login(client, "qa", device="hh-qa")
    rma = {
        "erpId": "RMA-1",
        "version": 1,
        "number": "R-0001",
        "customer": "CUST-RIVER",
        "salesOrder": "SO-RET2",
        "lines": [{"lineNo": 1, "item": "SYR-10ML", "quantity": 2, "lot": lot, "reason": "ordered too many"}],
    }
    r = await client.post("/api/v1/erp/returns", json=rma, headers=admin)
    assert r.status_code == 201 and r.json()["status"] == "created", r.text
    r = await client.post("/api/v1/erp/returns", json=rma, headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "unchanged", r.text
    r = await client.post("/api/v1/erp/returns", json={**rma, "customer": "CUST-NOBODY", "version": 2}, headers=admin)
    assert r.status_code == 422 and r.json()["pointer"] == "/customer", r.text
    (listed,) = (await client.get("/api/v1/returns/rmas", headers=receiver)).json()
    assert (listed["rma"], listed["customer"], listed["lines"][0]["authorized"]) == ("RMA-1", "CUST-RIVER", 2)

    ret = await _start(client, receiver, rma="R-0001")
    assert (ret["rma"], ret["customer"]) == ("RMA-1", "CUST-RIVER")
    r = await _return_scan(client, receiver, ret["id"], gs1(SYR, lot), quantity=2)
    assert r.status_code == 200, r.text
    line = r.json()["accepted"]
    assert (line["lot"], line["quantity"], r.json()["return"]["authorized"][0]["received"]) == (lot, 2, 2)
    r = await _return_scan(client, receiver, ret["id"], gs1(SYR, lot))
    assert r.status_code == 409 and r.json()["code"] == "return-over-authorized", r.text
    assert (r.json()["authorized"], r.json()["received"]) == (2, 2)
    # a lot no more than was shipped: 3 went, 2 came back, 5 more cannot
    blind = await _start(client, receiver, blind=True, customer="CUST-RIVER")
    r = await _return_scan(client, receiver, blind["id"], gs1(SYR, lot), quantity=5)
    assert r.status_code == 409 and r.json()["code"] == "return-not-shipped-to-customer", r.text
    assert (r.json()["shipped"], r.json()["returned"]) == (3, 2)
    # a lot this customer never received
    r = await _return_scan(client, receiver, blind["id"], gs1(SYR, "SY2409C"))
    assert r.status_code == 409 and r.json()["code"] == "return-not-shipped-to-customer", r.text
    # once goods came back against it the ERP cannot change the RMA
    r = await client.post("/api/v1/erp/returns", json={**rma, "version": 2}, headers=admin)
    assert r.status_code == 409, r.text

    r = await _dispose(client, qa, line["id"], "to_supplier")
    assert r.status_code == 200 and r.json()["status"] == "to_supplier", r.text
    qc = await _scalar(demo_db, "SELECT id FROM locations WHERE code = 'QC-01'")
    assert await _rows(
        demo_db,
        "SELECT movement, quantity, from_status, to_location_id, document_type FROM stock_ledger"
        " WHERE document_type IN ('return', 'return_to_supplier') ORDER BY id",
    ) == [("return", 2, None, qc, "return"), ("return", 2, "quarantine", None, "return_to_supplier")]
    assert await _scalar(demo_db, "SELECT count(*) FROM stock WHERE status = 'quarantine' AND quantity > 0") == 0
    assert await _scalar(demo_db, LEDGER_MISMATCHES) == 0


async def test_a_returned_unit_of_a_recalled_lot_is_tied_to_the_recall_and_never_restocked(client, demo_db):
    (task,) = await _ship(client, "SO-RET3", "CUST-RIVER", STENT_ITEM, 1, _stent)
    qa = await login(client, "qa", device="hh-qa")
    receiver = await login(client, "receiver", device="hh-dock")
    r = await client.post(
        "/api/v1/recalls",
        json={"item": STENT_ITEM, "lots": [task["lot"]], "recallClass": "II", "reason": "seal", "password": "qa-demo"},
        headers=qa,
    )
    assert r.status_code == 201, r.text
    recall = r.json()["recall"]
    ret = await _start(client, receiver, blind=True, customer="CUST-RIVER")
    r = await _return_scan(client, receiver, ret["id"], _stent(task))
    assert r.status_code == 200, r.text
    line = r.json()["accepted"]
    assert (line["recall"], line["recallId"], line["status"]) == (recall["recall"], recall["recallId"], "quarantine")
    (ev,) = await events(demo_db, "return.received.v1")
    assert ev["recall"] == recall["recall"]
    # the recall shows it came back
    shown = (await client.get(f"/api/v1/recalls/{recall['recallId']}", headers=qa)).json()
    assert [(x["serial"], x["customer"], x["status"]) for x in shown["returned"]] == [
        (task["serial"], "CUST-RIVER", "quarantine")
    ]
    trace = (await client.get(f"/api/v1/recalls/{recall['recallId']}/trace", headers=qa)).json()
    assert task["serial"] in [s for n in trace["now"] if n["location"] == "QC-01" for s in n["serials"]]
    # never back to stock while the recall is open
    r = await _dispose(client, qa, line["id"], "restock")
    assert r.status_code == 409 and r.json()["code"] == "lot-recalled", r.text
    r = await _dispose(client, qa, line["id"], "scrap")
    assert r.status_code == 200, r.text
    shown = (await client.get(f"/api/v1/recalls/{recall['recallId']}", headers=qa)).json()
    assert [x["status"] for x in shown["returned"]] == ["scrapped"]
    assert await _scalar(demo_db, LEDGER_MISMATCHES) == 0


async def test_scrap_needs_a_signature_and_a_reason_that_fits_the_stock(client, demo_db):
    qa = await login(client, "qa", device="hh-qa")
    sup = await login(client, "supervisor", device="hh-sup")
    picker = await login(client, "picker", device="hh-pick")
    expired = {"location": "A-01-03", "raw": gs1(SYR, "SY2312X"), "reason": "expired", "quantity": 5}
    before = await _scalar(demo_db, "SELECT count(*) FROM stock_ledger")

    r = await client.post("/api/v1/scrap", json=expired, headers=qa)
    assert r.status_code == 400, r.text  # no signature: the request is refused as it stands
    r = await client.post("/api/v1/scrap", json={**expired, "password": "wrong"}, headers=qa)
    assert r.status_code == 403 and r.json()["code"] == "signature-rejected", r.text
    # another person's password is not this signer's signature
    r = await client.post("/api/v1/scrap", json={**expired, "password": "supervisor-demo"}, headers=qa)
    assert r.status_code == 403 and r.json()["code"] == "signature-rejected", r.text
    r = await client.post("/api/v1/scrap", json={**expired, "password": "picker-demo"}, headers=picker)
    assert r.status_code == 403, r.text
    assert await _scalar(demo_db, "SELECT count(*) FROM stock_ledger") == before

    r = await client.post("/api/v1/scrap", json={**expired, "password": "qa-demo", "note": "found in bin"}, headers=qa)
    assert r.status_code == 200, r.text
    assert (r.json()["quantity"], r.json()["lot"], r.json()["statuses"], r.json()["signedBy"]) == (
        5,
        "SY2312X",
        ["available"],
        "qa",
    )
    assert (
        await _scalar(
            demo_db,
            "SELECT sum(s.quantity) FROM stock s JOIN lots l ON l.id = s.lot_id WHERE l.lot = 'SY2312X'",
        )
        == 10
    )
    (ev,) = await events(demo_db, "stock.scrapped.v1")
    assert (ev["location"], ev["lot"], ev["quantity"], ev["reason"], ev["note"]) == (
        "A-01-03",
        "SY2312X",
        5,
        "expired",
        "found in bin",
    )
    assert await _rows(
        demo_db, "SELECT movement, quantity, to_location_id FROM stock_ledger WHERE movement = 'scrap'"
    ) == [("scrap", 5, None)]
    assert (
        await _scalar(
            demo_db, "SELECT reason FROM audit_log WHERE detail->>'meaning' = 'stock.scrap' AND outcome = 'ok'"
        )
        == "scrap (expired): found in bin"
    )

    # saleable stock that has not expired is not scrapped as expired, only as damaged
    fresh = {"location": "A-01-02", "raw": gs1(SYR, "SY2405B"), "quantity": 2, "password": "supervisor-demo"}
    r = await client.post("/api/v1/scrap", json={**fresh, "reason": "expired"}, headers=sup)
    assert r.status_code == 409 and r.json()["code"] == "scrap-not-allowed", r.text
    r = await client.post("/api/v1/scrap", json={**fresh, "reason": "damaged"}, headers=sup)
    assert r.status_code == 200 and r.json()["signedBy"] == "supervisor", r.text
    # more than is there
    r = await client.post("/api/v1/scrap", json={**fresh, "reason": "damaged", "quantity": 5000}, headers=sup)
    assert r.status_code == 409 and r.json()["code"] == "insufficient-stock", r.text
    # a serialised unit: its serial's last word
    r = await client.post(
        "/api/v1/scrap",
        json={
            "location": "A-02-04",
            "raw": gs1(STENT, "ST-B2", serial="STN000201"),
            "reason": "damaged",
            "password": "qa-demo",
        },
        headers=qa,
    )
    assert r.status_code == 200, r.text
    assert await _scalar(demo_db, "SELECT status FROM serials WHERE serial = 'STN000201'") == "scrapped"
    assert await _scalar(demo_db, LEDGER_MISMATCHES) == 0
