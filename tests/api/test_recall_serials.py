"""A recall of single serials on real PostgreSQL: only those units freeze, the rest of their lot stays.

Five stents of one lot come in; one ships to a customer; then a recall names two serials, the shipped
one and one on the shelf that an open pick task holds. The trace covers exactly those two (the customer
and SSCC of the shipped one, the location of the other), the open task is re-allocated to another unit
of the same lot, a pick scan of the recalled unit is refused with ``serial-recalled`` naming the
recall while another serial of the same lot is picked, and a ``released`` close makes it pickable again.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text

from tests.api.test_picking import events, gs1, scan
from tests.api.test_recalls import _order, _receive, _tasks
from tests.conftest import login, wait_until
from tests.receiving.helpers import datamatrix, days, scan_body
from udipick.services.demo import demo_gtin
from udipick.services.identity import add_api_key

STENT = demo_gtin(1002)
ITEM = "STENT-DES-3018"
# expires before the demo's lot ST-A1, so FEFO takes it first
LOT = ("RS-L1", days(120), [f"RS-{i:02d}" for i in range(1, 6)])


async def test_a_recall_of_two_serials_freezes_only_them_and_a_release_gives_them_back(client, demo_db):
    admin = await login(client, "admin")
    receiver = await login(client, "receiver", device="hh-dock")
    sup = await login(client, "supervisor", device="hh-sup")
    picker = await login(client, "picker", device="hh-pick")
    qa = await login(client, "qa", device="hh-qa")
    po = {"erpId": "PO-RS", "version": 1, "number": "N-PO-RS", "supplier": "SUP-MEDTEC"}
    po["lines"] = [{"lineNo": 1, "item": ITEM, "quantity": 5}]
    assert (await client.post("/api/v1/erp/purchase-orders", json=po, headers=admin)).status_code == 201
    await _receive(client, receiver, "PO-RS", LOT, "A-02-03")

    # one unit ships to a customer
    await _order(client, admin, "SO-S1", "CUST-RIVER", 1)
    assert (await client.post("/api/v1/waves", json={"orders": ["SO-S1"]}, headers=sup)).status_code == 201
    (t1,) = await _tasks(client, picker, "SO-S1")
    assert t1["lot"] == "RS-L1"
    assert (await scan(client, picker, t1, gs1(STENT, "RS-L1", serial=t1["serial"]))).status_code == 200
    r = await client.post("/api/v1/packing/packages", json={"order": "SO-S1"}, headers=picker)
    sscc = r.json()["sscc"]
    r = await client.post(
        f"/api/v1/packing/packages/{sscc}/scans",
        json={"clientScanId": str(uuid.uuid4()), "raw": gs1(STENT, "RS-L1", serial=t1["serial"])},
        headers=picker,
    )
    assert r.status_code == 200, r.text
    assert (await client.post(f"/api/v1/packing/packages/{sscc}/close", headers=picker)).status_code == 200
    r = await client.post("/api/v1/shipments", json={"order": "SO-S1"}, headers=picker)
    assert r.status_code == 200, r.text
    shipped = t1["serial"]

    # two more units are allocated to an order, not picked yet
    await _order(client, admin, "SO-S2", "CUST-SH-01", 2)
    assert (await client.post("/api/v1/waves", json={"orders": ["SO-S2"]}, headers=sup)).status_code == 201
    held, other = sorted(await _tasks(client, picker, "SO-S2"), key=lambda t: t["serial"])
    assert held["lot"] == other["lot"] == "RS-L1"
    on_shelf = held["serial"]

    r = await client.post(
        "/api/v1/recalls",
        json={
            "item": ITEM,
            "serials": [on_shelf, shipped],
            "recallClass": "I",
            "reason": "delamination on two units",
            "password": "qa-demo",
        },
        headers=qa,
    )
    assert r.status_code == 201, r.text
    opened = r.json()
    recall = opened["recall"]
    number, recall_id = recall["recall"], recall["recallId"]
    assert recall["scope"] == "serials" and recall["lots"] == []
    assert sorted((s["serial"], s["lot"], s["priorStatus"], s["frozen"]) for s in recall["serials"]) == sorted(
        [(on_shelf, "RS-L1", "in_stock", True), (shipped, "RS-L1", "shipped", True)]
    )
    # the lot itself is not recalled
    assert await _scalar(demo_db, "SELECT status FROM lots WHERE lot = 'RS-L1'") == "released"
    # the task that held the recalled unit is re-allocated, to another unit of the same lot
    assert opened["reallocatedTasks"] == 1
    open_tasks = [t for t in await _tasks(client, picker, "SO-S2") if t["status"] == "open"]
    assert on_shelf not in {t["serial"] for t in open_tasks}
    (realloc,) = [t for t in open_tasks if t["taskId"] != other["taskId"]]
    assert realloc["lot"] == "RS-L1"

    # the trace: exactly the two serials, forward to the customer, now on the shelf
    trace = opened["trace"]
    assert trace == (await client.get(f"/api/v1/recalls/{recall_id}/trace", headers=qa)).json()
    assert [(f["order"], f["customer"]["erpId"], f["serials"], f["sscc"]) for f in trace["forward"]] == [
        ("SO-S1", "CUST-RIVER", [shipped], sscc)
    ]
    assert [(n["location"], n["status"], n["serials"]) for n in trace["now"]] == [("A-02-03", "available", [on_shelf])]
    assert sorted(s for b in trace["backward"] for s in b["serials"]) == sorted([on_shelf, shipped])
    assert (trace["totals"]["shipped"], trace["totals"]["inStock"]) == (1, 1)

    # a pick scan of the recalled unit is refused, naming the recall; another unit of the lot is picked
    r = await scan(client, picker, realloc, gs1(STENT, "RS-L1", serial=on_shelf))
    assert r.status_code == 409, r.text
    assert (r.json()["code"], r.json()["recall"], r.json()["serial"]) == ("serial-recalled", number, on_shelf)
    assert number in r.json()["detail"]
    r = await scan(client, picker, other, gs1(STENT, "RS-L1", serial=other["serial"]))
    assert r.status_code == 200, r.text
    # nor is the unit received again
    r = await client.post("/api/v1/receipts", json={"blind": True, "supplier": "SUP-MEDTEC"}, headers=sup)
    r = await client.post(
        f"/api/v1/receipts/{r.json()['id']}/scans",
        json=scan_body(datamatrix(ITEM, lot="RS-L1", expiry=LOT[1], serial=shipped)),
        headers=sup,
    )
    assert r.status_code == 409 and (r.json()["code"], r.json()["recall"]) == ("serial-recalled", number), r.text
    # only the recall releases its holds
    hold_id = await _scalar(demo_db, "SELECT hold_id FROM recall_serials WHERE recall_id = :r LIMIT 1", r=recall_id)
    r = await client.post(
        f"/api/v1/holds/{hold_id}/release", json={"reason": "try", "password": "supervisor-demo"}, headers=sup
    )
    assert r.status_code == 409, r.text

    # on the ERP stream with the serials, and in EPCIS one SGTIN per serial
    (ev,) = await events(demo_db, "recall.opened.v1")
    assert ev["lots"] == [] and sorted(s["serial"] for s in ev["serials"]) == sorted([on_shelf, shipped])

    async def epcis_recall_events():
        r = await client.get("/api/v1/epcis/events", params={"after": "0", "limit": 5000}, headers=admin)
        assert r.status_code == 200, r.text
        return [x for x in r.json()["epcisBody"]["eventList"] if x["udipick:eventType"] == "recall.opened.v1"]

    (epcis,) = await wait_until(epcis_recall_events)
    assert sorted(epcis["epcList"]) == sorted(f"https://id.gs1.org/01/{STENT}/21/{s}" for s in (on_shelf, shipped))

    # closed as released: the serial is pickable again
    r = await client.post(
        f"/api/v1/recalls/{recall_id}/close", json={"disposition": "released", "password": "qa-demo"}, headers=qa
    )
    assert r.status_code == 200, r.text
    assert {s["serial"]: s["frozen"] for s in r.json()["serials"]} == {on_shelf: False, shipped: False}
    (ev,) = await events(demo_db, "recall.closed.v1")
    assert sorted(s["serial"] for s in ev["serials"]) == sorted([on_shelf, shipped])
    r = await scan(client, picker, realloc, gs1(STENT, "RS-L1", serial=on_shelf))
    assert r.status_code == 200, r.text


async def test_a_recalled_serial_is_not_packed_and_its_packed_carton_does_not_ship(client, demo_db):
    admin = await login(client, "admin")
    receiver = await login(client, "receiver", device="hh-dock")
    sup = await login(client, "supervisor", device="hh-sup")
    picker = await login(client, "picker", device="hh-pick")
    qa = await login(client, "qa", device="hh-qa")
    po = {"erpId": "PO-RS", "version": 1, "number": "N-PO-RS", "supplier": "SUP-MEDTEC"}
    po["lines"] = [{"lineNo": 1, "item": ITEM, "quantity": 5}]
    assert (await client.post("/api/v1/erp/purchase-orders", json=po, headers=admin)).status_code == 201
    await _receive(client, receiver, "PO-RS", LOT, "A-02-03")
    # SO-P1: picked, packed, carton closed; SO-P2: picked, not packed
    await _order(client, admin, "SO-P1", "CUST-RIVER", 1)
    await _order(client, admin, "SO-P2", "CUST-SH-01", 1)
    assert (await client.post("/api/v1/waves", json={"orders": ["SO-P1", "SO-P2"]}, headers=sup)).status_code == 201
    (p1,) = await _tasks(client, picker, "SO-P1")
    (p2,) = await _tasks(client, picker, "SO-P2")
    for t in (p1, p2):
        assert (await scan(client, picker, t, gs1(STENT, t["lot"], serial=t["serial"]))).status_code == 200
    sscc = (await client.post("/api/v1/packing/packages", json={"order": "SO-P1"}, headers=picker)).json()["sscc"]
    r = await client.post(
        f"/api/v1/packing/packages/{sscc}/scans",
        json={"clientScanId": str(uuid.uuid4()), "raw": gs1(STENT, p1["lot"], serial=p1["serial"])},
        headers=picker,
    )
    assert r.status_code == 200, r.text
    assert (await client.post(f"/api/v1/packing/packages/{sscc}/close", headers=picker)).status_code == 200

    body = {"item": ITEM, "serials": [p1["serial"], p2["serial"]], "recallClass": "II", "reason": "seal"}
    r = await client.post("/api/v1/recalls", json={**body, "password": "qa-demo"}, headers=qa)
    assert r.status_code == 201, r.text
    recall = r.json()["recall"]
    assert recall["flaggedSsccs"] == [sscc]
    # the carton does not ship
    r = await client.post("/api/v1/shipments", json={"order": "SO-P1"}, headers=picker)
    assert r.status_code == 409, r.text
    assert (r.json()["code"], r.json()["recall"], r.json()["sscc"], r.json()["serial"]) == (
        "serial-recalled",
        recall["recall"],
        sscc,
        p1["serial"],
    )
    assert await _scalar(demo_db, "SELECT status FROM outbound_documents WHERE erp_id = 'SO-P1'") != "shipped"
    # the picked unit is not packed
    other_sscc = (await client.post("/api/v1/packing/packages", json={"order": "SO-P2"}, headers=picker)).json()
    r = await client.post(
        f"/api/v1/packing/packages/{other_sscc['sscc']}/scans",
        json={"clientScanId": str(uuid.uuid4()), "raw": gs1(STENT, p2["lot"], serial=p2["serial"])},
        headers=picker,
    )
    assert r.status_code == 409 and (r.json()["code"], r.json()["recall"]) == ("serial-recalled", recall["recall"])
    # destroyed: frozen for good
    r = await client.post(
        f"/api/v1/recalls/{recall['recallId']}/close",
        json={"disposition": "destroyed", "password": "qa-demo"},
        headers=qa,
    )
    assert r.status_code == 200, r.text
    assert all(s["frozen"] for s in r.json()["serials"])
    r = await client.post("/api/v1/shipments", json={"order": "SO-P1"}, headers=picker)
    assert r.status_code == 409 and r.json()["code"] == "serial-recalled", r.text


async def test_a_recall_of_serials_names_known_serials_and_one_scope(client, demo_db):
    qa = await login(client, "qa")
    base = {"item": ITEM, "recallClass": "II", "reason": "sterility", "password": "qa-demo"}
    r = await client.post("/api/v1/recalls", json={**base, "serials": []}, headers=qa)
    assert r.status_code == 422 and r.json()["pointer"] == "/serials", r.text
    r = await client.post("/api/v1/recalls", json={**base, "serials": ["STN000101", "NOPE"]}, headers=qa)
    assert r.status_code == 422 and (r.json()["code"], r.json()["serial"]) == ("unknown-serial", "NOPE"), r.text
    r = await client.post("/api/v1/recalls", json={**base, "serials": ["STN000101"], "lots": ["ST-A1"]}, headers=qa)
    assert r.status_code == 422 and r.json()["pointer"] == "/serials", r.text
    r = await client.post(
        "/api/v1/recalls",
        json={**base, "serials": ["STN000101"], "producedFrom": "2026-01-01", "producedTo": "2026-02-01"},
        headers=qa,
    )
    assert r.status_code == 422 and r.json()["pointer"] == "/serials", r.text
    r = await client.post("/api/v1/recalls", json={**base, "serials": ["STN000101", "STN000101"]}, headers=qa)
    assert r.status_code == 422 and r.json()["pointer"] == "/serials", r.text
    # the ERP opens one with its key (no person: the recall's hold has no placer)
    key = await add_api_key(demo_db, "erp-recalls", ["erp:write", "erp:read"])
    body = {k: v for k, v in base.items() if k != "password"}
    r = await client.post(
        "/api/v1/erp/recalls", json={**body, "serials": ["STN000102"]}, headers={"Authorization": f"Bearer {key}"}
    )
    assert r.status_code == 201, r.text
    assert [(x["serial"], x["lot"], x["frozen"]) for x in r.json()["recall"]["serials"]] == [
        ("STN000102", "ST-A1", True)
    ]
    assert r.json()["trace"]["totals"]["inStock"] == 1


async def _scalar(db, sql: str, **params):
    async with db() as s:
        return (await s.execute(text(sql), params)).scalar()
