"""A blind receipt of a lot that is on hold (issue 19): its units join the hold in quarantine, and the
scan reply says why, instead of landing available without a word."""

from __future__ import annotations

from tests.conftest import login
from tests.receiving.helpers import datamatrix, days, rows, scan_body


async def test_a_blind_receipt_of_a_held_lot_lands_in_quarantine_with_the_hold_named(client, demo_db):
    supervisor = await login(client, "supervisor")
    r = await client.post(
        "/api/v1/holds",
        json={"scope": "lot", "item": "SYR-10ML", "lot": "SY2409C", "reason": "customer complaint 42"},
        headers=supervisor,
    )
    assert r.status_code == 201, r.text
    expiry = (await rows(demo_db, "SELECT expiry FROM lots WHERE lot = 'SY2409C'"))[0][0]
    r = await client.post("/api/v1/receipts", json={"blind": True}, headers=supervisor)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    r = await client.post(
        f"/api/v1/receipts/{rid}/scans",
        json=scan_body(datamatrix("SYR-10ML", lot="SY2409C", expiry=expiry), quantity=5),
        headers=supervisor,
    )
    assert r.status_code == 200, r.text
    accepted = r.json()
    assert accepted["status"] == "quarantine"
    assert any("on hold (customer complaint 42)" in reason for reason in accepted["reasons"]), accepted["reasons"]
    booked = await rows(
        demo_db,
        "SELECT sl.to_status, sl.quantity FROM stock_ledger sl WHERE sl.document_type = 'receipt'",
    )
    assert booked == [("quarantine", 5)]


async def test_a_blind_receipt_of_a_lot_without_a_hold_is_available(client, demo_db):
    supervisor = await login(client, "supervisor")
    r = await client.post("/api/v1/receipts", json={"blind": True}, headers=supervisor)
    rid = r.json()["id"]
    r = await client.post(
        f"/api/v1/receipts/{rid}/scans",
        json=scan_body(datamatrix("GLOVE-NIT-M", lot="GL-NEW-1", expiry=days(400)), quantity=1),
        headers=supervisor,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["reasons"]) == ("available", [])
