"""Receiving checks the walk does not cover: blind receipts, items not on the document, lot data
conflicts, QC-required items, non-goods labels, hand-counted discrepancies."""

from __future__ import annotations

from tests.conftest import login
from tests.receiving.helpers import datamatrix, days, rows, scalar, scan_body
from udipick.domain.barcodes import hibc_check_character


async def _start(client, headers, body) -> int:
    r = await client.post("/api/v1/receipts", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def test_a_blind_receipt_needs_a_supervisor_and_takes_any_quantity(client, demo_db):
    receiver = await login(client, "receiver")
    r = await client.post("/api/v1/receipts", json={"blind": True}, headers=receiver)
    assert r.status_code == 403 and r.json()["code"] == "permission-denied"
    r = await client.post("/api/v1/receipts", json={}, headers=receiver)
    assert r.status_code == 422 and r.json()["pointer"] == "/document"
    assert await scalar(demo_db, "SELECT count(*) FROM receipts") == 0

    supervisor = await login(client, "supervisor")
    rid = await _start(client, supervisor, {"blind": True})
    r = await client.post(
        f"/api/v1/receipts/{rid}/scans",
        json=scan_body(datamatrix("SYR-10ML", indicator=2, lot="SY-B1", expiry=days(300)), quantity=3),
        headers=supervisor,
    )
    assert r.status_code == 200 and r.json()["units"] == 3000 and r.json()["line"] is None
    r = await client.post(f"/api/v1/receipts/{rid}/close", json={}, headers=supervisor)
    assert r.status_code == 200
    events = await rows(demo_db, "SELECT data FROM outbox_events WHERE type = 'receipt.confirmed.v1'")
    assert [(e[0]["document"], e[0]["lineNo"], e[0]["quantity"]) for e in events] == [(None, None, 3000)]


async def test_an_item_that_is_not_on_the_document_is_refused(client, demo_db):
    h = await login(client, "receiver")
    rid = await _start(client, h, {"document": "ASN-2002"})
    r = await client.post(
        f"/api/v1/receipts/{rid}/scans",
        json=scan_body(datamatrix("CATH-IMP-6F", lot="C1", expiry=days(300))),
        headers=h,
    )
    assert r.status_code == 422
    assert {k: r.json()[k] for k in ("code", "item", "document")} == {
        "code": "item-not-on-document",
        "item": "CATH-IMP-6F",
        "document": "ASN-2002",
    }
    assert await scalar(demo_db, "SELECT count(*) FROM stock_ledger WHERE document_type = 'receipt'") == 0


async def test_a_known_lot_with_another_expiry_is_refused_and_reported_as_a_conflict(client, demo_db):
    h = await login(client, "receiver")
    rid = await _start(client, h, {"document": "PO-1001"})
    known = await scalar(demo_db, "SELECT expiry FROM lots WHERE lot = 'SY2405B'")
    r = await client.post(
        f"/api/v1/receipts/{rid}/scans",
        json=scan_body(datamatrix("SYR-10ML", lot="SY2405B", expiry=days(201)), quantity=5),
        headers=h,
    )
    assert r.status_code == 409 and r.json()["code"] == "lot-expiry-conflict"
    assert (r.json()["knownExpiry"], r.json()["scannedExpiry"]) == (known.isoformat(), days(201).isoformat())
    assert await scalar(demo_db, "SELECT expiry FROM lots WHERE lot = 'SY2405B'") == known  # never overwritten
    assert await rows(demo_db, "SELECT kind, lot, quantity FROM receipt_discrepancies") == [
        ("lot_expiry_conflict", "SY2405B", 5)
    ]
    # the same lot with its known expiry is received normally
    r = await client.post(
        f"/api/v1/receipts/{rid}/scans",
        json=scan_body(datamatrix("SYR-10ML", lot="SY2405B", expiry=known), quantity=5),
        headers=h,
    )
    assert r.status_code == 200 and r.json()["status"] == "available"


async def test_qc_required_items_are_quarantined_with_their_new_lot(client, demo_db):
    h = await login(client, "receiver")
    rid = await _start(client, h, {"document": "ASN-2001"})
    r = await client.post(
        f"/api/v1/receipts/{rid}/scans",
        json=scan_body(datamatrix("IMPLANT-QC", lot="IQ-1", expiry=days(900), serial="IMP0001")),
        headers=h,
    )
    assert r.status_code == 200 and r.json()["status"] == "quarantine"
    assert r.json()["reasons"] == ["QC inspection required on receipt"]
    assert r.json()["why"] == [{"code": "qc-required"}]
    assert await scalar(demo_db, "SELECT status FROM lots WHERE lot = 'IQ-1'") == "quarantine"
    # the ASN's stent expectations: a serial that is not announced is reported, not refused
    r = await client.post(
        f"/api/v1/receipts/{rid}/scans",
        json=scan_body(datamatrix("STENT-DES-3018", lot="ST-C3", expiry=days(720), serial="STN000399")),
        headers=h,
    )
    assert r.status_code == 200 and r.json()["asnMismatches"] == ["serial STN000399 is not on the ASN for lot ST-C3"]


async def test_a_label_that_is_not_goods_gets_a_problem_naming_what_it_is(client):
    h = await login(client, "receiver")
    rid = await _start(client, h, {"document": "PO-1001"})
    r = await client.post(f"/api/v1/receipts/{rid}/scans", json=scan_body("LOC-A-01-01"), headers=h)
    assert r.status_code == 404 and r.json()["code"] == "unknown-gtin" and r.json()["kind"] == "location"
    r = await client.post(f"/api/v1/receipts/{rid}/scans", json=scan_body("]d20109999999999994"), headers=h)
    assert r.status_code == 404 and r.json()["code"] == "unknown-gtin"
    r = await client.post(f"/api/v1/receipts/{rid}/scans", json=scan_body("]d201123"), headers=h)
    assert r.status_code == 422 and r.json()["code"] == "unreadable-barcode"


async def test_hibc_goods_are_received_and_the_missing_lot_is_asked_for(client, demo_db):
    h = await login(client, "receiver")
    rid = await _start(client, h, {"document": "PO-1002"})
    primary = "+A123SCREW450"
    r = await client.post(
        f"/api/v1/receipts/{rid}/scans", json=scan_body(primary + hibc_check_character(primary)), headers=h
    )
    assert (r.status_code, r.json()["code"], r.json()["needs"]) == (422, "missing-lot", ["lot"])
    r = await client.post(
        f"/api/v1/receipts/{rid}/scans",
        json=scan_body(primary + hibc_check_character(primary), lot="SC0099", quantity=20),
        headers=h,
    )
    assert r.status_code == 200 and (r.json()["units"], r.json()["line"]["open"]) == (20, 0)
    r = await client.post(f"/api/v1/receipts/{rid}/close", json={}, headers=h)
    assert r.status_code == 200 and r.json()["document"]["status"] == "closed"


async def test_hand_counted_discrepancies_are_recorded_with_who_and_why(client, demo_db):
    h = await login(client, "receiver", device="hh-3")
    rid = await _start(client, h, {"document": "PO-1001"})
    r = await client.post(
        f"/api/v1/receipts/{rid}/discrepancies",
        json={"kind": "damaged", "quantity": 4, "reason": "wet cartons", "lineNo": 2},
        headers=h,
    )
    assert r.status_code == 201
    d = r.json()["discrepancies"]
    assert [
        (x["kind"], x["lineNo"], x["item"], x["quantity"], x["reason"], x["recordedBy"], x["deviceId"]) for x in d
    ] == [("damaged", 2, "GLOVE-NIT-M", 4, "wet cartons", "receiver", "hh-3")]
    r = await client.post(
        f"/api/v1/receipts/{rid}/discrepancies", json={"kind": "lost", "quantity": 1, "reason": "x"}, headers=h
    )
    assert r.status_code == 400


async def test_a_handheld_can_resume_its_open_receipts(client):
    h = await login(client, "receiver")
    rid = await _start(client, h, {"document": "PO-1001"})
    listed = (await client.get("/api/v1/receipts", params={"document": "PO-1001"}, headers=h)).json()
    assert [(x["id"], x["status"], x["document"], x["createdBy"]) for x in listed] == [
        (rid, "open", "PO-1001", "receiver")
    ]
    assert (await client.get("/api/v1/receipts", params={"status": "closed"}, headers=h)).json() == []
    r = await client.get("/api/v1/receipts/999", headers=h)
    assert r.status_code == 404 and r.json()["code"] == "not-found"
