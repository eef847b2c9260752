"""A recall end to end on real PostgreSQL, through the same API flows the warehouse uses.

Two lots of one serialised item (stents) come in from two suppliers against two purchase orders, are
put away, picked, packed and shipped to three customers; one carton stays packed, one unit stays picked,
one on the shelf, allocated to an order not yet picked. Then a recall of one lot: the trace must name exactly
the receipt, supplier, PO, customers, quantities, serials, SSCCs and locations that the flows produced
(read from their own answers, not restated), the next pick scan of the lot is refused with
``lot-recalled`` naming the recall (and so are packing and receiving it), the packed carton cannot ship,
and the events are on the ERP stream.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text

from tests.api.test_picking import events, gs1, scan
from tests.conftest import login, wait_until
from tests.receiving.helpers import datamatrix, days, scan_body
from udipick.services.demo import demo_gtin
from udipick.services.identity import add_api_key

STENT = demo_gtin(1002)
ITEM = "STENT-DES-3018"
# lot RB expires first (so FEFO ships it first), RA is the lot recalled
RB = ("RC-RB", days(150), ["RB-01", "RB-02"])
RA = ("RC-RA", days(250), [f"RA-{i:02d}" for i in range(1, 8)])


async def _receive(client, headers, po: str, lot: tuple, location: str) -> dict:
    name, expiry, serials = lot
    r = await client.post("/api/v1/receipts", json={"document": po}, headers=headers)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    for s in serials:
        r = await client.post(
            f"/api/v1/receipts/{rid}/scans",
            json=scan_body(datamatrix(ITEM, lot=name, expiry=expiry, serial=s)),
            headers=headers,
        )
        assert r.status_code == 200, r.text
    closed = await client.post(f"/api/v1/receipts/{rid}/close", json={}, headers=headers)
    assert closed.status_code == 200, closed.text
    for task in closed.json()["putawayTasks"]:
        r = await client.post(
            f"/api/v1/putaway/tasks/{task['id']}/confirm", json=scan_body(f"LOC-{location}"), headers=headers
        )
        assert r.status_code == 200, r.text
    return closed.json()


async def _order(client, admin, erp_id: str, customer: str, quantity: int) -> None:
    so = {
        "erpId": erp_id,
        "version": 1,
        "number": f"N-{erp_id}",
        "customer": customer,
        "shipTo": {"name": f"Ward of {customer}", "addressLines": ["1 Recall Road"], "city": "Shanghai"},
        "lines": [{"lineNo": 1, "item": ITEM, "quantity": quantity}],
    }
    r = await client.post("/api/v1/erp/sales-orders", json=so, headers=admin)
    assert r.status_code == 201, r.text


async def _tasks(client, picker, order: str) -> list[dict]:
    return [t for t in (await client.get("/api/v1/picking/tasks", headers=picker)).json() if t["order"] == order]


async def _pick_and_pack(client, picker, order: str) -> str:
    """Pick every task of the order (each task's own serial), pack them into one carton and close it."""
    picked = []
    for task in await _tasks(client, picker, order):
        r = await scan(client, picker, task, gs1(STENT, task["lot"], serial=task["serial"]))
        assert r.status_code == 200, r.text
        picked.append((task["lot"], task["serial"]))
    r = await client.post("/api/v1/packing/packages", json={"order": order}, headers=picker)
    assert r.status_code == 201, r.text
    sscc = r.json()["sscc"]
    for lot, serial in picked:
        r = await client.post(
            f"/api/v1/packing/packages/{sscc}/scans",
            json={"clientScanId": str(uuid.uuid4()), "raw": gs1(STENT, lot, serial=serial)},
            headers=picker,
        )
        assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/packing/packages/{sscc}/close", headers=picker)
    assert r.status_code == 200, r.text
    return sscc


async def test_a_recall_of_one_lot_freezes_it_traces_it_and_reaches_the_erp(client, demo_db):
    admin = await login(client, "admin")
    receiver = await login(client, "receiver", device="hh-dock")
    sup = await login(client, "supervisor", device="hh-sup")
    picker = await login(client, "picker", device="hh-pick")
    qa = await login(client, "qa", device="hh-qa")

    # master data and documents, as the ERP sends them
    r = await client.post(
        "/api/v1/erp/customers",
        json={"erpId": "CUST-NORTH", "version": 1, "name": "North Hospital", "gln": "6901234000023"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    for po, supplier, lot in (("PO-RA", "SUP-MEDTEC", RA), ("PO-RB", "SUP-ORTHO", RB)):
        body = {
            "erpId": po,
            "version": 1,
            "number": f"N-{po}",
            "supplier": supplier,
            "lines": [{"lineNo": 1, "item": ITEM, "quantity": len(lot[2])}],
        }
        assert (await client.post("/api/v1/erp/purchase-orders", json=body, headers=admin)).status_code == 201

    # two lots from two suppliers, put away on the shelf where the demo's lot ST-A1 of the item lies
    receipt_ra = await _receive(client, receiver, "PO-RA", RA, "A-02-03")
    await _receive(client, receiver, "PO-RB", RB, "A-02-03")

    # three customers get parts of both lots; a fourth order stays packed; a fifth is allocated, not picked
    for order, customer, qty in (
        ("SO-R1", "CUST-SH-01", 3),
        ("SO-R2", "CUST-RIVER", 2),
        ("SO-R3", "CUST-NORTH", 1),
        ("SO-R4", "CUST-NORTH", 1),
    ):
        await _order(client, admin, order, customer, qty)
    wave = await client.post("/api/v1/waves", json={"orders": ["SO-R1", "SO-R2", "SO-R3", "SO-R4"]}, headers=sup)
    assert wave.status_code == 201 and wave.json()["shortLines"] == [], wave.text
    shipped_lines = []
    for order in ("SO-R1", "SO-R2", "SO-R3"):
        await _pick_and_pack(client, picker, order)
        r = await client.post("/api/v1/shipments", json={"order": order}, headers=picker)
        assert r.status_code == 200, r.text
        shipped_lines += [(order, ln["lot"], ln["serial"], ln["sscc"]) for ln in r.json()["lines"]]
    packed_sscc = await _pick_and_pack(client, picker, "SO-R4")
    # a sixth order is picked, not yet packed
    await _order(client, admin, "SO-R6", "CUST-SH-01", 1)
    assert (await client.post("/api/v1/waves", json={"orders": ["SO-R6"]}, headers=sup)).status_code == 201
    (r6,) = await _tasks(client, picker, "SO-R6")
    assert r6["lot"] == "RC-RA"
    assert (await scan(client, picker, r6, gs1(STENT, "RC-RA", serial=r6["serial"]))).status_code == 200
    await _order(client, admin, "SO-R5", "CUST-RIVER", 1)
    assert (await client.post("/api/v1/waves", json={"orders": ["SO-R5"]}, headers=sup)).status_code == 201
    (allocated,) = await _tasks(client, picker, "SO-R5")
    assert allocated["lot"] == "RC-RA"
    # both lots went out (FEFO: RB first), and RA went to all three customers
    assert {lot for _, lot, _, _ in shipped_lines} == {"RC-RA", "RC-RB"}
    ra_shipped = sorted((o, s, c) for o, lot, s, c in shipped_lines if lot == "RC-RA")
    assert {o for o, _, _ in ra_shipped} == {"SO-R1", "SO-R2", "SO-R3"}
    ra_packed = [
        s
        for (s,) in (
            await _rows(
                demo_db,
                "SELECT se.serial FROM stock s JOIN serials se ON se.id = s.serial_id JOIN containers c ON c.id = s.container_id"
                " WHERE c.sscc = :sscc AND s.quantity > 0",
                sscc=packed_sscc,
            )
        )
    ]
    ra_left = sorted(set(RA[2]) - {s for _, s, _ in ra_shipped} - set(ra_packed) - {r6["serial"]})
    assert len(ra_packed) == 1 and len(ra_left) == 1  # SO-R5's allocation

    # a wrong password: one answer, nothing recalled
    bad = {"item": ITEM, "lots": ["RC-RA"], "recallClass": "II", "reason": "seal defect", "password": "wrong"}
    r = await client.post("/api/v1/recalls", json=bad, headers=qa)
    assert r.status_code == 403 and r.json()["code"] == "signature-rejected"
    assert await _scalar(demo_db, "SELECT status FROM lots WHERE lot = 'RC-RA'") == "released"
    # a picker may not open one
    r = await client.post("/api/v1/recalls", json={**bad, "password": "picker-demo"}, headers=picker)
    assert r.status_code == 403 and r.json()["code"] == "permission-denied"

    r = await client.post(
        "/api/v1/recalls", json={**bad, "password": "qa-demo", "reference": "FSCA-2026-17"}, headers=qa
    )
    assert r.status_code == 201, r.text
    opened = r.json()
    recall = opened["recall"]
    number, recall_id = recall["recall"], recall["recallId"]
    assert (recall["status"], recall["recallClass"], recall["openedBy"]) == ("open", "II", "qa")
    assert [(x["lot"], x["priorStatus"], x["status"]) for x in recall["lots"]] == [("RC-RA", "released", "recalled")]
    assert recall["flaggedSsccs"] == [packed_sscc]
    assert opened["reallocatedTasks"] == 1
    # SO-R5 was re-allocated from the next lot in FEFO order, never from the recalled one
    (realloc,) = [t for t in await _tasks(client, picker, "SO-R5") if t["status"] == "open"]
    assert realloc["lot"] == "ST-A1"
    assert await _scalar(demo_db, "SELECT status FROM lots WHERE lot = 'RC-RB'") == "released"

    # the trace: exactly what the flows did with lot RC-RA
    trace = opened["trace"]
    assert trace == (await client.get(f"/api/v1/recalls/{recall_id}/trace", headers=qa)).json()
    (received,) = trace["backward"]
    assert received["receipt"] == receipt_ra["number"]
    assert (received["supplier"]["erpId"], received["document"], received["documentKind"]) == (
        "SUP-MEDTEC",
        "N-PO-RA",
        "purchase_order",
    )
    assert (received["lot"], received["quantity"], received["serials"], received["receivers"]) == (
        "RC-RA",
        7,
        RA[2],
        ["receiver"],
    )
    forward = sorted((f["order"], s, f["sscc"]) for f in trace["forward"] for s in f["serials"])
    assert forward == ra_shipped
    assert all(f["quantity"] == len(f["serials"]) and f["lot"] == "RC-RA" for f in trace["forward"])
    customers = {f["order"]: (f["customer"]["erpId"], f["shipTo"]["name"]) for f in trace["forward"]}
    assert customers == {
        "SO-R1": ("CUST-SH-01", "Ward of CUST-SH-01"),
        "SO-R2": ("CUST-RIVER", "Ward of CUST-RIVER"),
        "SO-R3": ("CUST-NORTH", "Ward of CUST-NORTH"),
    }
    now = sorted((n["location"], n["status"], n["sscc"], n["order"], tuple(n["serials"])) for n in trace["now"])
    assert now == [
        ("A-02-03", "available", None, None, tuple(ra_left)),
        ("SHIP-01", "packed", packed_sscc, "SO-R4", tuple(ra_packed)),
        ("SHIP-01", "picked", None, None, (r6["serial"],)),
    ]
    assert trace["totals"] == {
        "received": 7,
        "shipped": len(ra_shipped),
        "inStock": 3,
        "customers": ["CUST-NORTH", "CUST-RIVER", "CUST-SH-01"],
        "suppliers": ["SUP-MEDTEC"],
    }

    # the next pick scan of the lot is refused, naming the recall
    r = await scan(client, picker, realloc, gs1(STENT, "RC-RA", serial=ra_left[0]))
    assert r.status_code == 409, r.text
    assert (r.json()["code"], r.json()["recall"], r.json()["lot"]) == ("lot-recalled", number, "RC-RA")
    assert number in r.json()["detail"]
    # the packed carton does not ship
    r = await client.post("/api/v1/shipments", json={"order": "SO-R4"}, headers=picker)
    assert r.status_code == 409, r.text
    assert (r.json()["code"], r.json()["recall"], r.json()["sscc"]) == ("lot-recalled", number, packed_sscc)
    assert await _scalar(demo_db, "SELECT status FROM outbound_documents WHERE erp_id = 'SO-R4'") != "shipped"
    # nor are picked units of it packed
    r = await client.post("/api/v1/packing/packages", json={"order": "SO-R6"}, headers=picker)
    assert r.status_code == 201, r.text
    r = await client.post(
        f"/api/v1/packing/packages/{r.json()['sscc']}/scans",
        json={"clientScanId": str(uuid.uuid4()), "raw": gs1(STENT, "RC-RA", serial=r6["serial"])},
        headers=picker,
    )
    assert r.status_code == 409 and (r.json()["code"], r.json()["recall"]) == ("lot-recalled", number), r.text
    # nor is the lot received again
    r = await client.post("/api/v1/receipts", json={"blind": True, "supplier": "SUP-MEDTEC"}, headers=sup)
    assert r.status_code == 201, r.text
    r = await client.post(
        f"/api/v1/receipts/{r.json()['id']}/scans",
        json=scan_body(datamatrix(ITEM, lot="RC-RA", expiry=RA[1], serial="RA-99")),
        headers=sup,
    )
    assert r.status_code == 409 and (r.json()["code"], r.json()["recall"]) == ("lot-recalled", number), r.text

    # on the ERP stream (the outbox), with the trace's figures; and in EPCIS
    (ev,) = await events(demo_db, "recall.opened.v1")
    assert (ev["recall"], ev["recallClass"], ev["reference"], ev["flaggedSsccs"]) == (
        number,
        "II",
        "FSCA-2026-17",
        [packed_sscc],
    )
    assert ev["lots"] == [{"gtin": STENT, "lot": "RC-RA", "expiry": RA[1].isoformat(), "priorStatus": "released"}]
    assert (ev["shippedTo"], ev["shipped"], ev["inStock"]) == (trace["totals"]["customers"], len(ra_shipped), 3)

    async def epcis_recall_events():
        r = await client.get("/api/v1/epcis/events", params={"after": "0", "limit": 5000}, headers=admin)
        assert r.status_code == 200, r.text
        found = [x for x in r.json()["epcisBody"]["eventList"] if x["udipick:eventType"] == "recall.opened.v1"]
        return found

    (epcis,) = await wait_until(epcis_recall_events)
    assert (epcis["disposition"], epcis["quantityList"]) == (
        "recalled",
        [{"epcClass": f"https://id.gs1.org/01/{STENT}/10/RC-RA"}],
    )

    # plain traces answer the same facts
    lot = (await client.get(f"/api/v1/trace/lot/{STENT}/RC-RA", headers=sup)).json()
    assert (lot["kind"], lot["backward"], lot["forward"], lot["now"]) == (
        "lot",
        trace["backward"],
        trace["forward"],
        trace["now"],
    )
    order, serial, sscc = ra_shipped[0]
    one = (await client.get(f"/api/v1/trace/serial/{STENT}/{serial}", headers=qa)).json()
    assert [(f["order"], f["serials"], f["sscc"]) for f in one["forward"]] == [(order, [serial], sscc)]
    assert [b["serials"] for b in one["backward"]] == [[serial]] and one["now"] == []
    carton = (await client.get(f"/api/v1/trace/sscc/{packed_sscc}", headers=qa)).json()
    assert [(n["serials"], n["status"]) for n in carton["now"]] == [(ra_packed, "packed")] and carton["forward"] == []
    assert [b["receipt"] for b in carton["backward"]] == [receipt_ra["number"]]

    # CSV and a printable page in Chinese
    r = await client.get(f"/api/v1/recalls/{recall_id}/trace", params={"format": "csv"}, headers=qa)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.text.splitlines()
    assert lines[0].startswith("direction,date,party") and len(lines) == 1 + 1 + len(trace["forward"]) + 3
    r = await client.get(f"/api/v1/recalls/{recall_id}/trace", params={"format": "html", "lang": "zh-CN"}, headers=qa)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "召回" in r.text and "上海市第一人民医院" in r.text and packed_sscc in r.text and number in r.text

    # closing: a signature, the disposition and the response time
    r = await client.post(
        f"/api/v1/recalls/{recall_id}/close", json={"disposition": "destroyed", "password": "qa-demo"}, headers=qa
    )
    assert r.status_code == 200, r.text
    closed = r.json()
    assert (closed["status"], closed["disposition"], closed["closedBy"]) == ("closed", "destroyed", "qa")
    assert closed["responseSeconds"] >= 0 and closed["lots"][0]["status"] == "recalled"
    (ev,) = await events(demo_db, "recall.closed.v1")
    assert (ev["disposition"], ev["signedBy"], ev["lots"]) == (
        "destroyed",
        "qa",
        [{"gtin": STENT, "lot": "RC-RA", "status": "recalled"}],
    )
    r = await client.post(
        f"/api/v1/recalls/{recall_id}/close", json={"disposition": "released", "password": "qa-demo"}, headers=qa
    )
    assert r.status_code == 409
    assert await _scalar(demo_db, "SELECT count(*) FROM audit_log WHERE action = 'signature' AND outcome = 'ok'") == 2
    listed = (await client.get("/api/v1/recalls", headers=sup)).json()
    assert [x["recall"] for x in listed] == [number]


async def test_the_erp_opens_a_recall_by_production_dates_and_a_release_gives_the_lots_back(client, demo_db):
    key = await add_api_key(demo_db, "erp-recalls", ["erp:write", "erp:read"])
    erp = {"Authorization": f"Bearer {key}"}
    qa = await login(client, "qa", device="hh-qa")
    # the demo's syringes: the lots produced in the last 200 days (SY2405B, SY2405C, SY2409C), not SY2401A
    body = {
        "item": "SYR-10ML",
        "recallClass": "III",
        "reason": "labelling error",
        "producedFrom": days(-200).isoformat(),
        "producedTo": days(0).isoformat(),
    }
    r = await client.post("/api/v1/erp/recalls", json=body, headers=erp)
    assert r.status_code == 201, r.text
    recall = r.json()["recall"]
    assert recall["openedBy"] == "api-key:erp-recalls" and recall["scope"] == "production_dates"
    assert sorted(x["lot"] for x in recall["lots"]) == ["SY2405B", "SY2405C", "SY2409C"]
    assert await _scalar(demo_db, "SELECT status FROM lots WHERE lot = 'SY2401A'") == "released"
    # a person's route needs the signature; the ERP's route is not open to people
    r = await client.post("/api/v1/erp/recalls", json=body, headers=qa)
    assert r.status_code == 403
    # the ERP reads it; it may not close it (a person signs the disposition)
    assert (await client.get(f"/api/v1/recalls/{recall['recallId']}", headers=erp)).status_code == 200
    close = {"disposition": "released", "note": "investigation cleared the lots", "password": "qa-demo"}
    assert (
        await client.post(f"/api/v1/recalls/{recall['recallId']}/close", json=close, headers=erp)
    ).status_code == 403
    r = await client.post(f"/api/v1/recalls/{recall['recallId']}/close", json=close, headers=qa)
    assert r.status_code == 200, r.text
    assert {x["lot"]: x["status"] for x in r.json()["lots"]} == {
        "SY2405B": "released",
        "SY2405C": "released",
        "SY2409C": "released",
    }


async def test_a_recall_request_names_lots_or_dates_and_known_lots(client):
    qa = await login(client, "qa")
    base = {"item": "SYR-10ML", "recallClass": "I", "reason": "sterility", "password": "qa-demo"}
    r = await client.post("/api/v1/recalls", json=base, headers=qa)
    assert r.status_code == 422 and r.json()["pointer"] == "/lots"
    r = await client.post("/api/v1/recalls", json={**base, "lots": ["NOPE"]}, headers=qa)
    assert r.status_code == 422 and r.json()["code"] == "unknown-lot" and r.json()["lot"] == "NOPE"
    r = await client.post(
        "/api/v1/recalls",
        json={**base, "lots": ["SY2405B"], "producedFrom": "2026-01-01", "producedTo": "2026-02-01"},
        headers=qa,
    )
    assert r.status_code == 422
    r = await client.post("/api/v1/recalls", json={**base, "recallClass": "IV", "lots": ["SY2405B"]}, headers=qa)
    assert r.status_code == 400
    r = await client.get(f"/api/v1/trace/lot/{STENT}/NOPE", headers=qa)
    assert r.status_code == 422 and r.json()["code"] == "unknown-lot"
    r = await client.get("/api/v1/trace/sscc/000000000000000000", headers=qa)
    assert r.status_code == 404
    r = await client.get(f"/api/v1/trace/lot/{STENT}/ST-A1", headers=await login(client, "picker"))
    assert r.status_code == 403


async def _rows(db, sql: str, **params) -> list[tuple]:
    async with db() as s:
        return [tuple(r) for r in (await s.execute(text(sql), params)).all()]


async def _scalar(db, sql: str, **params):
    async with db() as s:
        return (await s.execute(text(sql), params)).scalar()
