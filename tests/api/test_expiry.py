"""Expiry (issue 19): expired stock is never allocated, the barcode's own expiry refuses a scan whatever the
books say, and the sweep moves stock past its expiry to ``expired`` with ``stock.expired.v1``."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import text

from tests.api.test_picking import SYR, gs1, scan, task_for
from tests.conftest import login
from udipick.services import expiry
from udipick.services.demo import demo_gtin

GO_GTIN = demo_gtin(1099)


@pytest.fixture
async def admin(client):
    return await login(client, "admin")


@pytest.fixture
async def picker(client):
    return await login(client, "picker", device="tc52-01")


async def opening(client, admin, *lines: dict, load_id: str = "go"):
    body = ("\n".join(json.dumps(line) for line in lines) + "\n").encode()
    return await client.post(
        "/api/v1/erp/stock/opening-balances",
        content=body,
        headers={**admin, "content-type": "application/x-ndjson"},
        params={"loadId": load_id},
    )


async def sales_order(client, admin, erp_id: str, item: str, quantity: int) -> None:
    r = await client.post(
        "/api/v1/erp/sales-orders",
        json={
            "erpId": erp_id,
            "version": 1,
            "number": erp_id,
            "customer": "CUST-RIVER",
            "shipTo": {"name": "Riverside Clinic"},
            "lines": [{"lineNo": 1, "item": item, "quantity": quantity}],
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text


async def test_an_opening_balance_of_an_expired_lot_is_never_allocated(client, admin, demo_db, today):
    r = await client.post(
        "/api/v1/erp/items",
        json={
            "erpId": "GO-ITEM",
            "version": 1,
            "gtin": GO_GTIN,
            "name": "Go-live device",
            "baseUnit": "EA",
            "lotTracked": True,
            "expiryTracked": True,
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    # the old system still said "available"; the expiry passed three days ago
    r = await opening(
        client,
        admin,
        {
            "item": "GO-ITEM",
            "location": "A-01-04",
            "lot": "GO-X1",
            "expiry": str(today - dt.timedelta(days=3)),
            "quantity": 10,
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["expiredUnits"] == 10
    await sales_order(client, admin, "SO-GO-1", "GO-ITEM", 4)
    sup = await login(client, "supervisor")
    r = await client.post("/api/v1/waves", json={"orders": ["SO-GO-1"]}, headers=sup)
    assert r.status_code == 201, r.text
    wave = r.json()
    assert wave["tasks"] == 0
    assert [(s["order"], s["missing"]) for s in wave["shortLines"]] == [("SO-GO-1", 4)]
    async with demo_db() as s:
        row = (
            await s.execute(
                text(
                    "SELECT st.status, st.quantity, st.reserved FROM stock st JOIN lots l ON l.id = st.lot_id WHERE l.lot = 'GO-X1'"
                )
            )
        ).one()
    assert tuple(row) == ("expired", 10, 0)


async def test_a_booked_expired_lot_is_refused_at_the_pick_scan_as_lot_expired(client, admin, picker, today):
    past = today - dt.timedelta(days=3)
    r = await opening(
        client, admin, {"item": "SYR-10ML", "location": "A-01-04", "lot": "GO-OLD", "expiry": str(past), "quantity": 30}
    )
    assert r.status_code == 200, r.text
    sup = await login(client, "supervisor")
    assert (await client.post("/api/v1/waves", json={}, headers=sup)).status_code == 201
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    assert task["lot"] != "GO-OLD"
    r = await scan(client, picker, task, gs1(SYR, "GO-OLD", past))
    assert r.status_code == 422, r.text
    p = r.json()
    assert (p["code"], p["lot"], p["expiry"]) == ("lot-expired", "GO-OLD", past.isoformat())
    assert "quarantine" in p["detail"] and "report" in p["detail"]


async def test_an_unbooked_expired_unit_is_refused_as_lot_expired_not_as_lot_not_at_location(client, picker, today):
    sup = await login(client, "supervisor")
    assert (await client.post("/api/v1/waves", json={}, headers=sup)).status_code == 201
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    past = today - dt.timedelta(days=3)
    r = await scan(client, picker, task, gs1(SYR, "NEVER-SEEN", past))
    assert r.status_code == 422, r.text
    assert (r.json()["code"], r.json()["lot"]) == ("lot-expired", "NEVER-SEEN")
    # the same unknown lot, not expired, is still the lot that is not there
    r = await scan(client, picker, task, gs1(SYR, "NEVER-SEEN", today + dt.timedelta(days=300)))
    assert r.json()["code"] == "lot-not-at-location"


async def test_the_sweep_moves_expired_stock_to_expired_and_reallocates_its_tasks(client, picker, demo_db, today):
    sup = await login(client, "supervisor")
    assert (await client.post("/api/v1/waves", json={}, headers=sup)).status_code == 201
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    assert task["lot"] == "SY2405B"
    yesterday = today - dt.timedelta(days=1)
    async with demo_db.begin() as s:
        await s.execute(text("UPDATE lots SET expiry = :d WHERE lot = 'SY2405B'"), {"d": yesterday})
        on_lot = await s.scalar(
            text(
                "SELECT count(*) FROM pick_tasks t JOIN stock st ON st.id = t.stock_id JOIN lots l ON l.id = st.lot_id"
                " WHERE t.status = 'open' AND l.lot = 'SY2405B'"
            )
        )
    assert on_lot >= 1
    done = await expiry.sweep(demo_db, today=today)
    # SY2405B at A-01-02 (120, its reservations freed) and the demo's expired SY2312X at A-01-03 (15)
    assert (done.rows, done.units, done.reallocated_tasks) == (2, 135, on_lot)
    async with demo_db() as s:
        stock = (
            await s.execute(
                text(
                    "SELECT l.lot, st.status, st.quantity, st.reserved FROM stock st JOIN lots l ON l.id = st.lot_id"
                    " WHERE l.lot IN ('SY2405B', 'SY2312X') AND st.quantity > 0 ORDER BY 1"
                )
            )
        ).all()
        ledger = (
            await s.execute(
                text(
                    "SELECT l.lot, sl.from_status, sl.to_status, sl.quantity, sl.from_location_id = sl.to_location_id,"
                    " sl.user_id, sl.device_id FROM stock_ledger sl JOIN lots l ON l.id = sl.lot_id"
                    " WHERE sl.movement = 'expire' ORDER BY 1"
                )
            )
        ).all()
        events = [
            r[0]
            for r in await s.execute(text("SELECT data FROM outbox_events WHERE type = 'stock.expired.v1' ORDER BY id"))
        ]
        old_task = await s.scalar(text("SELECT status FROM pick_tasks WHERE id = :id"), {"id": task["taskId"]})
    assert [tuple(r) for r in stock] == [("SY2312X", "expired", 15, 0), ("SY2405B", "expired", 120, 0)]
    assert [tuple(r) for r in ledger] == [
        ("SY2312X", "available", "expired", 15, True, None, "udipick:expiry-sweep"),
        ("SY2405B", "available", "expired", 120, True, None, "udipick:expiry-sweep"),
    ]
    assert sorted((e["lot"], e["location"], e["quantity"], e["expiry"], e["gtin"]) for e in events) == [
        ("SY2312X", "A-01-03", 15, (today - dt.timedelta(days=10)).isoformat(), SYR),
        ("SY2405B", "A-01-02", 120, yesterday.isoformat(), SYR),
    ]
    # the picker's task on the expired lot is gone; the line is allocated again from another lot
    assert old_task == "cancelled"
    again = await task_for(client, picker, "SO-5001", "SYR-10ML")
    assert again["taskId"] != task["taskId"] and again["lot"] not in ("SY2405B", "SY2312X")
    # a second sweep finds nothing left
    assert (await expiry.sweep(demo_db, today=today)).rows == 0


async def test_the_cli_runs_one_sweep(demo_database_url, demo_db, today):
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "udipick.cli", "stock", "expire"],
        env={**__import__("os").environ, "DATABASE_URL": demo_database_url},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "15 unit(s) in 1 stock row(s) moved to expired" in out.stdout, out.stdout + out.stderr
    async with demo_db() as s:
        assert await s.scalar(text("SELECT count(*) FROM stock_ledger WHERE movement = 'expire'")) == 1


async def test_the_scan_lookup_says_a_unit_whose_barcode_expiry_passed_is_expired(client, picker, today):
    r = await client.post(
        "/api/v1/scans/interpret", json={"raw": gs1(SYR, "GO-OLD", today - dt.timedelta(days=1))}, headers=picker
    )
    assert r.status_code == 200, r.text
    assert (r.json()["expired"], r.json()["lot"]) == (True, "GO-OLD")
    r = await client.post("/api/v1/scans/interpret", json={"raw": gs1(SYR, "GO-OLD", today)}, headers=picker)
    assert "expired" not in r.json()


async def test_putaway_refuses_to_identify_a_unit_whose_barcode_expiry_passed(client, today):
    receiver = await login(client, "receiver")
    past = today - dt.timedelta(days=2)
    r = await client.post("/api/v1/putaway/identify", json={"raw": gs1(SYR, "OLD-9", past)}, headers=receiver)
    assert r.status_code == 422, r.text
    assert (r.json()["code"], r.json()["lot"], r.json()["expiry"]) == ("lot-expired", "OLD-9", past.isoformat())
    assert "do not put it away" in r.json()["detail"] and "quarantine" in r.json()["detail"]
