"""Putaway location rules one by one, and QC release/reject with an electronic signature."""

from __future__ import annotations

import pytest

from tests.conftest import login
from tests.receiving.helpers import (
    LEDGER_FOR,
    STOCK_AT,
    datamatrix,
    days,
    rows,
    scalar,
    scan_body,
)


async def _receive(client, headers, body: dict, *scans: dict, close_reason: str | None = "short-shipped") -> dict:
    r = await client.post("/api/v1/receipts", json=body, headers=headers)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    for s in scans:
        r = await client.post(f"/api/v1/receipts/{rid}/scans", json=s, headers=headers)
        assert r.status_code == 200, r.text
    r = await client.post(
        f"/api/v1/receipts/{rid}/close", json={"reason": close_reason} if close_reason else {}, headers=headers
    )
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
async def dock(client):
    """ASN-2002 received into four licence plates, plus a blind receipt of bonded catheters."""
    receiver = await login(client, "receiver", device="hh-7")
    closed = await _receive(
        client,
        receiver,
        {"document": "ASN-2002"},
        scan_body(datamatrix("SYR-10ML", lot="SY2502A", expiry=days(400)), quantity=20),
        scan_body(datamatrix("SYR-10ML", lot="SY-SHORT", expiry=days(30)), quantity=10),
        scan_body(datamatrix("PEN-NDL-4MM", lot="PN4001", expiry=days(200)), quantity=30, temperatureC=4),
        scan_body(datamatrix("PEN-NDL-4MM", lot="PN4001", expiry=days(200)), quantity=10, temperatureC=11),
    )
    supervisor = await login(client, "supervisor", device="hh-8")
    blind = await _receive(
        client,
        supervisor,
        {"blind": True, "supplier": "SUP-MEDTEC"},
        scan_body(datamatrix("CATH-IMP-6F", lot="CI-99", expiry=days(400)), quantity=5),
        close_reason=None,
    )
    tasks = {t["needs"]: t for t in closed["putawayTasks"] + blind["putawayTasks"]}
    assert sorted(tasks) == ["bonded", "cold", "cold quarantine", "pick or reserve", "quarantine"]
    return receiver, tasks


# (task needing ..., destination, code of the problem's ``needs``: None fits, "-" refused without a suggestion)
#: (what the plate needs, destination scanned, the refusal's ``needs``, its ``why``: the fact as a code)
RULES = [
    ("cold", "LOC-A-01-06", "cold", "cold-chain"),
    ("cold", "LOC-R-01-02", "cold", "cold-chain"),
    ("cold", "LOC-QC-COLD-01", "-", "released"),
    ("cold quarantine", "LOC-COLD-02", "quarantine", "segregate"),
    ("cold quarantine", "LOC-QC-01", "cold quarantine", "cold-chain"),
    ("quarantine", "LOC-A-01-04", "quarantine", "segregate"),
    ("quarantine", "LOC-BOND-01", "quarantine", "segregate"),
    ("pick or reserve", "LOC-QC-01", "-", "released"),
    ("pick or reserve", "LOC-BOND-01", "-", "not-bonded"),
    ("pick or reserve", "LOC-RCV-01", "storage", "not-storage"),
    ("pick or reserve", "LOC-SHIP-01", "storage", "not-storage"),
    ("bonded", "LOC-A-02-06", "bonded", "bonded"),
    ("bonded", "LOC-COLD-01", "bonded", "bonded"),
]


async def test_putaway_refuses_each_destination_that_does_not_fit(client, demo_db, dock):
    receiver, tasks = dock
    before = await rows(demo_db, STOCK_AT, loc="RCV-01")
    ledger = await scalar(demo_db, "SELECT count(*) FROM stock_ledger")
    for needs, destination, refusal, why in RULES:
        task = tasks[needs]
        r = await client.post(
            f"/api/v1/putaway/tasks/{task['id']}/confirm", json=scan_body(destination), headers=receiver
        )
        assert r.status_code == 422, (needs, destination, r.text)
        problem = r.json()
        assert problem["code"] == "location-unsuitable" and problem["location"] == destination.removeprefix("LOC-")
        assert problem["needs"] == (None if refusal == "-" else refusal), (needs, destination, problem)
        assert problem["why"] == why, (needs, destination, problem)
    assert await rows(demo_db, STOCK_AT, loc="RCV-01") == before
    assert await scalar(demo_db, "SELECT count(*) FROM stock_ledger") == ledger
    assert len((await client.get("/api/v1/putaway/tasks", headers=receiver)).json()) == 5


async def test_a_frozen_location_takes_nothing(client, demo_db, dock):
    receiver, tasks = dock
    async with demo_db.begin() as s:
        from sqlalchemy import text

        await s.execute(text("UPDATE locations SET frozen = true WHERE code = 'R-01-03'"))
    r = await client.post(
        f"/api/v1/putaway/tasks/{tasks['pick or reserve']['id']}/confirm",
        json=scan_body("LOC-R-01-03"),
        headers=receiver,
    )
    assert (r.status_code, r.json()["code"], r.json()["reason"], r.json()["why"]) == (
        422,
        "location-unsuitable",
        "the location is frozen",
        "frozen",
    )


FITS = [
    ("pick or reserve", "LOC-R-01-02"),
    ("cold", "LOC-COLD-02"),
    ("cold quarantine", "LOC-QC-COLD-01"),
    ("quarantine", "LOC-QC-01"),
    ("bonded", "LOC-BOND-01"),
]


async def test_putaway_to_a_fitting_location_moves_the_whole_plate_once(client, demo_db, dock):
    receiver, tasks = dock
    for done, (needs, destination) in enumerate(FITS, start=1):
        task = tasks[needs]
        code = destination.removeprefix("LOC-")
        before = await rows(demo_db, STOCK_AT, loc=code)
        body = scan_body(destination)
        r = await client.post(f"/api/v1/putaway/tasks/{task['id']}/confirm", json=body, headers=receiver)
        assert r.status_code == 200, r.text
        assert (r.json()["lpn"], r.json()["from"], r.json()["to"]) == (task["lpn"], "RCV-01", code)
        replay = await client.post(f"/api/v1/putaway/tasks/{task['id']}/confirm", json=body, headers=receiver)
        assert replay.json() == r.json() and replay.headers["idempotent-replayed"] == "true"
        again = await client.post(
            f"/api/v1/putaway/tasks/{task['id']}/confirm", json=scan_body(destination), headers=receiver
        )
        assert again.status_code == 409 and again.json()["location"] == code

        # a saleable location takes the units off the plate; quarantine keeps the plate together for QC
        plate = task["lpn"] if "quarantine" in needs else None
        moved = sorted((c["item"], c["lot"], c["serial"], c["status"], c["quantity"], plate) for c in task["contents"])
        assert sorted(await rows(demo_db, STOCK_AT, loc=code)) == sorted(before + moved)
        assert [r_ for r_ in await rows(demo_db, STOCK_AT, loc="RCV-01") if r_[5] == task["lpn"]] == []
        putaways = [
            x for x in await rows(demo_db, LEDGER_FOR, doc=task["receipt"]) if x[0] == "putaway" and x[7] == code
        ]
        assert sorted((x[1], x[2], x[4], x[5], x[6], x[8], x[9]) for x in putaways) == sorted(
            (m[0], m[1], m[4], "RCV-01", m[3], m[3], "receiver") for m in moved
        )
        events = await rows(demo_db, "SELECT data FROM outbox_events WHERE type = 'putaway.completed.v1' ORDER BY id")
        assert len(events) == done and (events[-1][0]["lpn"], events[-1][0]["toLocation"]) == (task["lpn"], code)
        located = "SELECT l.code FROM containers c JOIN locations l ON l.id = c.location_id WHERE c.code = :c"
        assert await scalar(demo_db, located, c=task["lpn"]) == code
        left = [t["lpn"] for t in (await client.get("/api/v1/putaway/tasks", headers=receiver)).json()]
        assert task["lpn"] not in left and len(left) == 5 - done
    assert await rows(demo_db, STOCK_AT, loc="RCV-01") == []


async def test_the_first_putaway_scan_finds_the_plate_or_the_plates_holding_an_item(client, dock):
    receiver, tasks = dock
    r = await client.post("/api/v1/putaway/identify", json={"raw": tasks["cold"]["lpn"]}, headers=receiver)
    assert [t["id"] for t in r.json()] == [tasks["cold"]["id"]]
    r = await client.post(
        "/api/v1/putaway/identify",
        json={"raw": datamatrix("PEN-NDL-4MM", lot="PN4001", expiry=days(200))},
        headers=receiver,
    )
    assert sorted(t["needs"] for t in r.json()) == ["cold", "cold quarantine"]


# ---- QC ------------------------------------------------------------------------------------------


async def _snapshot(db) -> dict:
    return {
        "ledger": await scalar(db, "SELECT count(*) FROM stock_ledger"),
        "outbox": await scalar(db, "SELECT count(*) FROM outbox_events"),
        "stock": sorted(await rows(db, "SELECT id, status, quantity FROM stock")),
        "lots": sorted(await rows(db, "SELECT id, status FROM lots")),
        "serials": sorted(await rows(db, "SELECT id, status FROM serials")),
    }


async def test_qc_release_with_a_wrong_password_leaves_only_the_failed_attempt(client, demo_db, dock):
    qa = await login(client, "qa", device="qa-tablet")
    lots = {q["lot"]: q for q in (await client.get("/api/v1/qc/quarantine", headers=qa)).json()}
    assert lots["SY-SHORT"]["quantity"] == 10 and lots["SY-SHORT"]["reasons"] == [
        "short shelf life: 30 days left, 60 required"
    ]
    assert lots["PN4001"]["reasons"] == ["temperature 11 °C outside 2–8 °C"]
    lot_id = lots["SY-SHORT"]["lotId"]
    audit_before = await scalar(demo_db, "SELECT max(id) FROM audit_log")
    before = await _snapshot(demo_db)

    r = await client.post(
        f"/api/v1/qc/lots/{lot_id}/release", json={"reason": "retested, fit for use", "password": "wrong"}, headers=qa
    )
    assert r.status_code == 403 and r.json()["code"] == "signature-rejected"
    assert await _snapshot(demo_db) == before
    assert await rows(
        demo_db,
        "SELECT username, device_id, action, outcome, target, detail FROM audit_log WHERE id > :b",
        b=audit_before,
    ) == [
        (
            "qa",
            "qa-tablet",
            "signature",
            "failed",
            "lot:SYR-10ML/SY-SHORT",
            {"meaning": "qc.release", "address": "testclient"},
        )
    ]

    r = await client.post(
        f"/api/v1/qc/lots/{lot_id}/release", json={"reason": "retested, fit for use", "password": "qa-demo"}, headers=qa
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["lotStatus"], r.json()["quantity"], r.json()["signedBy"]) == (
        "available",
        "released",
        10,
        "qa",
    )
    assert await rows(
        demo_db,
        "SELECT s.status, s.quantity FROM stock s JOIN lots l ON l.id = s.lot_id WHERE l.lot = 'SY-SHORT' AND s.quantity > 0",
    ) == [("available", 10)]
    ledger = await rows(demo_db, LEDGER_FOR, doc="SYR-10ML/SY-SHORT")
    assert ledger == [
        ("release", "SYR-10ML", "SY-SHORT", None, 10, "RCV-01", "quarantine", "RCV-01", "available", "qa", "qa-tablet")
    ]
    events = await rows(demo_db, "SELECT type, data FROM outbox_events WHERE type LIKE 'qc.%'")
    assert events == [
        (
            "qc.released.v1",
            {
                "item": "SYR-10ML",
                "gtin": "00614141010011",
                "lot": "SY-SHORT",
                "expiry": days(30).isoformat(),
                "quantity": 10,
                "serials": [],
                "reason": "retested, fit for use",
                "signedBy": "qa",
            },
        )
    ]
    assert ("signature", "ok") in await rows(
        demo_db, "SELECT action, outcome FROM audit_log WHERE id > :b", b=audit_before
    )

    r = await client.post(
        f"/api/v1/qc/lots/{lot_id}/release", json={"reason": "again", "password": "qa-demo"}, headers=qa
    )
    assert r.status_code == 409 and r.json()["code"] == "not-in-quarantine"


async def test_qc_reject_of_a_warm_delivery_rejects_that_stock_not_the_whole_lot(client, demo_db, dock):
    qa = await login(client, "qa")
    lot_id = next(
        q["lotId"] for q in (await client.get("/api/v1/qc/quarantine", headers=qa)).json() if q["lot"] == "PN4001"
    )
    r = await client.post(
        f"/api/v1/qc/lots/{lot_id}/reject", json={"reason": "cold chain broken", "password": "qa-demo"}, headers=qa
    )
    assert r.status_code == 200, r.text
    assert await rows(
        demo_db,
        "SELECT s.status, s.quantity FROM stock s JOIN lots l ON l.id = s.lot_id WHERE l.lot = 'PN4001' AND s.quantity > 0 ORDER BY 1",
    ) == [("available", 30), ("rejected", 10)]
    assert await scalar(demo_db, "SELECT status FROM lots WHERE lot = 'PN4001'") == "released"
    assert [t for (t,) in await rows(demo_db, "SELECT type FROM outbox_events WHERE type LIKE 'qc.%'")] == [
        "qc.rejected.v1"
    ]


async def test_only_qa_signs_qc_decisions(client, dock):
    receiver, _ = dock
    r = await client.post(
        "/api/v1/qc/lots/1/release", json={"reason": "x", "password": "receiver-demo"}, headers=receiver
    )
    assert r.status_code == 403 and r.json()["code"] == "permission-denied"
