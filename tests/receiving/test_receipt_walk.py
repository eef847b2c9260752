"""A full receipt of the demo ASN-2002 through the API, on real PostgreSQL: every scan gets its
verdict, and stock, ledger and outbox rows are exactly what the verdicts say afterwards."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from tests.conftest import login
from tests.conftest import test_settings as app_settings
from tests.receiving.helpers import (
    LEDGER_FOR,
    STOCK_AT,
    datamatrix,
    days,
    rows,
    scalar,
    scan_body,
)
from udipick.api.app import create_app


async def test_a_full_receipt_of_a_demo_asn_gets_every_verdict_right(client, demo_db, demo_database_url):
    h = await login(client, "receiver", device="hh-dock-1")
    outbox_before = await scalar(demo_db, "SELECT coalesce(max(id), 0) FROM outbox_events")

    r = await client.post("/api/v1/receipts", json={"document": "ASN-2002"}, headers=h)
    assert r.status_code == 201, r.text
    receipt = r.json()
    rid, number = receipt["id"], receipt["number"]
    assert receipt["document"]["status"] == "receiving" and receipt["location"] == "RCV-01"
    assert [(ln["lineNo"], ln["item"]["erpId"], ln["ordered"], ln["open"]) for ln in receipt["lines"]] == [
        (1, "SYR-10ML", 300, 300),
        (2, "GLOVE-NIT-M", 100, 100),
        (3, "PEN-NDL-4MM", 50, 50),
        (4, "STENT-DES-3018", 2, 2),
    ]

    async def scan(body: dict, client_=client, headers=h):
        return await client_.post(f"/api/v1/receipts/{rid}/scans", json=body, headers=headers)

    # good units, each level, counted by hand
    first = scan_body(datamatrix("SYR-10ML", lot="SY2502A", expiry=days(400)), quantity=20)
    r = await scan(first)
    assert r.status_code == 200, r.text
    good = r.json()
    assert (good["units"], good["status"], good["reasons"], good["asnMismatches"]) == (20, "available", [], [])
    assert good["line"]["received"] == 20 and good["line"]["open"] == 280
    assert good["label"]["status"] == "no_printer" and good["lpn"].startswith("LPN")
    lpn_ambient = good["lpn"]

    # a pack-level GTIN (box of 100) converts to base units
    r = await scan(scan_body(datamatrix("SYR-10ML", indicator=1, lot="SY2502A", expiry=days(400))))
    assert r.status_code == 200, r.text
    assert (r.json()["units"], r.json()["packLevel"], r.json()["line"]["received"], r.json()["label"]) == (
        100,
        "box",
        120,
        None,
    )

    # a short-dated lot under the "quarantine" policy: accepted into quarantine, ASN mismatch reported
    r = await scan(scan_body(datamatrix("SYR-10ML", lot="SY-SHORT", expiry=days(30)), quantity=10))
    assert r.status_code == 200, r.text
    short = r.json()
    assert short["status"] == "quarantine" and short["reasons"] == ["short shelf life: 30 days left, 60 required"]
    # the same reason as facts, which the handheld words in its user's language
    assert short["why"] == [{"code": "short-shelf-life", "remainingDays": 30, "requiredDays": 60}]
    assert short["asnMismatches"] == ["lot SY-SHORT is not on the ASN (expected SY2502A)"]
    lpn_quarantine = short["lpn"]
    assert lpn_quarantine != lpn_ambient and short["label"]["status"] == "no_printer"

    # the same kind of lot under the "refuse" policy: refused, nothing written
    refuse_app = create_app(app_settings(short_shelf_life_policy="refuse"), database_url=demo_database_url)
    async with AsyncTestClient(app=refuse_app) as strict:
        r = await scan(scan_body(datamatrix("SYR-10ML", lot="SY-SHORT2", expiry=days(30)), quantity=10), client_=strict)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert (r.json()["code"], r.json()["remainingDays"], r.json()["requiredDays"]) == ("shelf-life-too-short", 30, 60)
    assert r.json()["action"] == "refuse-goods"  # at the dock: the goods go back, they are not put anywhere
    assert await scalar(demo_db, "SELECT count(*) FROM lots WHERE lot = 'SY-SHORT2'") == 0

    # an expired lot
    r = await scan(scan_body(datamatrix("SYR-10ML", lot="SY-OLD", expiry=days(-1)), quantity=5))
    assert r.status_code == 422 and r.json()["code"] == "lot-expired" and r.json()["expiry"] == days(-1).isoformat()
    # an expired device is refused at the dock, not quarantined: the server and the handheld say the same
    assert r.json()["action"] == "refuse-goods" and "refuse the goods" in r.json()["detail"]

    # serialised stents: one good, the same serial again, and a serial already in stock elsewhere
    r = await scan(scan_body(datamatrix("STENT-DES-3018", lot="ST-D4", expiry=days(700), serial="STN000401")))
    assert r.status_code == 200 and r.json()["serial"] == "STN000401" and r.json()["status"] == "available"
    r = await scan(scan_body(datamatrix("STENT-DES-3018", lot="ST-D4", expiry=days(700), serial="STN000401")))
    assert r.status_code == 409 and r.json()["code"] == "serial-already-received" and r.json()["inThisReceipt"] is True
    r = await scan(scan_body(datamatrix("STENT-DES-3018", lot="ST-D4", expiry=days(700), serial="STN000101")))
    assert r.status_code == 409 and r.json()["code"] == "serial-already-received"
    assert (r.json()["inThisReceipt"], r.json()["location"], r.json()["serialStatus"]) == (False, "A-02-03", "in_stock")

    # a cold-chain item without a temperature is asked for it; with a good one it is released
    pen = datamatrix("PEN-NDL-4MM", lot="PN4001", expiry=days(200))
    r = await scan(scan_body(pen, quantity=30))
    assert r.status_code == 422
    assert (r.json()["code"], r.json()["needs"]) == ("missing-temperature", ["temperature"])
    r = await scan(scan_body(pen, quantity=30, temperatureC=5.0))
    assert r.status_code == 200 and (r.json()["status"], r.json()["units"]) == ("available", 30)
    lpn_cold = r.json()["lpn"]
    r = await scan(scan_body(pen, quantity=10, temperatureC=12.5))
    assert r.status_code == 200 and r.json()["status"] == "quarantine"
    assert r.json()["reasons"] == ["temperature 12.5 °C outside 2–8 °C"]
    lpn_cold_q = r.json()["lpn"]
    assert len({lpn_ambient, lpn_quarantine, lpn_cold, lpn_cold_q}) == 4

    # gloves: a case of 100 fills the line; one more box is over the 5 % tolerance
    r = await scan(scan_body(datamatrix("GLOVE-NIT-M", indicator=2, lot="GL-88", expiry=days(500))))
    assert r.status_code == 200 and r.json()["units"] == 100 and r.json()["line"]["open"] == 0
    over = scan_body(datamatrix("GLOVE-NIT-M", indicator=1, lot="GL-88", expiry=days(500)))
    r = await scan(over)
    assert r.status_code == 409
    assert {k: r.json()[k] for k in ("code", "ordered", "received", "units", "maxAcceptable")} == {
        "code": "over-receipt",
        "ordered": 100,
        "received": 100,
        "units": 10,
        "maxAcceptable": 5,
    }

    # a bare GTIN carries no lot or expiry: both are asked for
    r = await scan(scan_body(f"01{datamatrix('GLOVE-NIT-M')[5:]}"))
    assert (r.status_code, r.json()["code"], r.json()["needs"]) == (422, "missing-lot", ["lot", "expiry"])
    r = await scan(
        scan_body(f"01{datamatrix('GLOVE-NIT-M')[5:]}", lot="GL-89", expiry=days(300).isoformat(), quantity=6)
    )
    assert r.status_code == 409 and r.json()["code"] == "over-receipt"  # typed data accepted, quantity judged

    # damaged goods: recorded with a reason, never stock
    r = await scan(scan_body(datamatrix("GLOVE-NIT-M", indicator=1, lot="GL-88", expiry=days(500)), damaged=True))
    assert (r.status_code, r.json()["code"], r.json()["needs"]) == (422, "missing-reason", ["reason"])
    r = await scan(
        scan_body(
            datamatrix("GLOVE-NIT-M", indicator=1, lot="GL-88", expiry=days(500)), damaged=True, reason="crushed box"
        )
    )
    assert r.status_code == 200 and r.json()["damaged"] is True and r.json()["units"] == 10

    # replays answer the first verdict, accepted or refused, and receive nothing twice
    r = await scan(first)
    assert r.status_code == 200 and r.json() == good and r.headers["idempotent-replayed"] == "true"
    r = await scan(over)
    assert r.status_code == 409 and r.json()["code"] == "over-receipt" and r.headers["idempotent-replayed"] == "true"

    # line progress, before closing
    progress = (await client.get(f"/api/v1/receipts/{rid}", headers=h)).json()
    assert [(ln["lineNo"], ln["received"], ln["open"]) for ln in progress["lines"]] == [
        (1, 130, 170),
        (2, 100, 0),
        (3, 40, 10),
        (4, 1, 1),
    ]
    assert [(lp["lpn"], lp["label"]["status"]) for lp in progress["lpns"]] == [
        (lpn_ambient, "no_printer"),
        (lpn_quarantine, "no_printer"),
        (lpn_cold, "no_printer"),
        (lpn_cold_q, "no_printer"),
    ]

    # stock at the dock and the ledger, exactly
    assert sorted(await rows(demo_db, STOCK_AT, loc="RCV-01")) == sorted(
        [
            ("SYR-10ML", "SY2502A", None, "available", 120, lpn_ambient),
            ("SYR-10ML", "SY-SHORT", None, "quarantine", 10, lpn_quarantine),
            ("STENT-DES-3018", "ST-D4", "STN000401", "available", 1, lpn_ambient),
            ("PEN-NDL-4MM", "PN4001", None, "available", 30, lpn_cold),
            ("PEN-NDL-4MM", "PN4001", None, "quarantine", 10, lpn_cold_q),
            ("GLOVE-NIT-M", "GL-88", None, "available", 100, lpn_ambient),
        ]
    )
    dock = ("receipt",)
    who = ("receiver", "hh-dock-1")
    assert await rows(demo_db, LEDGER_FOR, doc=number) == [
        (*dock, "SYR-10ML", "SY2502A", None, 20, None, None, "RCV-01", "available", *who),
        (*dock, "SYR-10ML", "SY2502A", None, 100, None, None, "RCV-01", "available", *who),
        (*dock, "SYR-10ML", "SY-SHORT", None, 10, None, None, "RCV-01", "quarantine", *who),
        (*dock, "STENT-DES-3018", "ST-D4", "STN000401", 1, None, None, "RCV-01", "available", *who),
        (*dock, "PEN-NDL-4MM", "PN4001", None, 30, None, None, "RCV-01", "available", *who),
        (*dock, "PEN-NDL-4MM", "PN4001", None, 10, None, None, "RCV-01", "quarantine", *who),
        (*dock, "GLOVE-NIT-M", "GL-88", None, 100, None, None, "RCV-01", "available", *who),
    ]
    assert await rows(
        demo_db, "SELECT lot, status FROM lots WHERE lot IN ('SY-SHORT', 'PN4001', 'SY2502A') ORDER BY lot"
    ) == [("PN4001", "released"), ("SY-SHORT", "quarantine"), ("SY2502A", "released")]
    assert await scalar(demo_db, "SELECT count(*) FROM outbox_events WHERE id > :b", b=outbox_before) == 0

    # closing: shorts need a reason
    r = await client.post(f"/api/v1/receipts/{rid}/close", json={}, headers=h)
    assert r.status_code == 422 and r.json()["code"] == "missing-reason"
    assert r.json()["shortLines"] == [
        {"lineNo": 1, "item": "SYR-10ML", "short": 170},
        {"lineNo": 3, "item": "PEN-NDL-4MM", "short": 10},
        {"lineNo": 4, "item": "STENT-DES-3018", "short": 1},
    ]
    r = await client.post(f"/api/v1/receipts/{rid}/close", json={"reason": "supplier short-shipped"}, headers=h)
    assert r.status_code == 200, r.text
    closed = r.json()
    assert closed["status"] == "closed" and closed["document"]["status"] == "open"
    assert sorted((t["lpn"], t["needs"]) for t in closed["putawayTasks"]) == sorted(
        [
            (lpn_ambient, "pick or reserve"),
            (lpn_quarantine, "quarantine"),
            (lpn_cold, "cold"),
            (lpn_cold_q, "cold quarantine"),
        ]
    )

    events = await rows(
        demo_db, "SELECT type, data, username, device_id FROM outbox_events WHERE id > :b ORDER BY id", b=outbox_before
    )
    assert all(e[2:] == ("receiver", "hh-dock-1") for e in events)
    confirmed = [e[1] for e in events if e[0] == "receipt.confirmed.v1"]
    assert len(confirmed) == 6 and len(events) == 6 + 5
    assert sorted(
        (d["lineNo"], d["item"], d["lot"], d["status"], d["quantity"], d["serials"], d["lpn"]) for d in confirmed
    ) == sorted(
        [
            (1, "SYR-10ML", "SY2502A", "available", 120, [], lpn_ambient),
            (1, "SYR-10ML", "SY-SHORT", "quarantine", 10, [], lpn_quarantine),
            (2, "GLOVE-NIT-M", "GL-88", "available", 100, [], lpn_ambient),
            (3, "PEN-NDL-4MM", "PN4001", "available", 30, [], lpn_cold),
            (3, "PEN-NDL-4MM", "PN4001", "quarantine", 10, [], lpn_cold_q),
            (4, "STENT-DES-3018", "ST-D4", "available", 1, ["STN000401"], lpn_ambient),
        ]
    )
    stent = next(d for d in confirmed if d["item"] == "STENT-DES-3018")
    assert stent == {
        "receipt": number,
        "document": "ASN-2002",
        "lineNo": 4,
        "item": "STENT-DES-3018",
        "gtin": "00614141010028",
        "lot": "ST-D4",
        "expiry": days(700).isoformat(),
        "productionDate": None,
        "serials": ["STN000401"],
        "quantity": 1,
        "status": "available",
        "reasons": [],
        "location": "RCV-01",
        "lpn": lpn_ambient,
    }
    discrepancies = sorted(
        (d["kind"], d["lineNo"], d["item"], d["quantity"], d["reason"])
        for t, d, *_ in events
        if t == "receipt.discrepancy-recorded.v1"
    )
    assert discrepancies == sorted(
        [
            ("asn_mismatch", 1, "SYR-10ML", 10, "lot SY-SHORT is not on the ASN (expected SY2502A)"),
            ("damaged", 2, "GLOVE-NIT-M", 10, "crushed box"),
            ("short", 1, "SYR-10ML", 170, "supplier short-shipped"),
            ("short", 3, "PEN-NDL-4MM", 10, "supplier short-shipped"),
            ("short", 4, "STENT-DES-3018", 1, "supplier short-shipped"),
        ]
    )

    # a closed receipt takes no more scans
    r = await scan(scan_body(datamatrix("SYR-10ML", lot="SY2502A", expiry=days(400)), quantity=1))
    assert r.status_code == 409 and r.json()["code"] == "receipt-not-open"
