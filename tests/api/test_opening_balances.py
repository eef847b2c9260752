"""Go-live opening balances (issue 19): booked through the ledger, all or nothing, dry run, replace, repeat."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import text

from tests.conftest import login

URL = "/api/v1/erp/stock/opening-balances"


def ndjson(*lines: dict) -> bytes:
    return ("\n".join(json.dumps(line) for line in lines) + "\n").encode()


@pytest.fixture
async def admin(client):
    return {**await login(client, "admin"), "content-type": "application/x-ndjson"}


async def post(client, headers, body: bytes, **params):
    return await client.post(
        URL,
        content=body,
        headers=headers,
        params={k: str(v).lower() if isinstance(v, bool) else v for k, v in params.items()},
    )


async def stock_at(demo_db, location: str) -> list[tuple]:
    async with demo_db() as s:
        return [
            tuple(r)
            for r in await s.execute(
                text(
                    "SELECT i.erp_id, l.lot, se.serial, st.status, st.quantity FROM stock st JOIN items i ON i.id = st.item_id"
                    " LEFT JOIN lots l ON l.id = st.lot_id LEFT JOIN serials se ON se.id = st.serial_id"
                    " JOIN locations loc ON loc.id = st.location_id WHERE loc.code = :c AND st.quantity > 0"
                    " ORDER BY 1, 2, 3, 4"
                ),
                {"c": location},
            )
        ]


async def test_a_load_books_lots_serials_and_expired_units_through_the_ledger(client, admin, demo_db, today):
    past = (today - dt.timedelta(days=3)).isoformat()
    later = (today + dt.timedelta(days=400)).isoformat()
    body = ndjson(
        {"item": "SYR-10ML", "location": "A-01-04", "lot": "GO-OLD", "expiry": past, "quantity": 30},
        {
            "item": "SYR-10ML",
            "location": "A-01-05",
            "lot": "GO-NEW",
            "expiry": later,
            "productionDate": "2026-01-02",
            "quantity": 25,
        },
        {
            "item": "STENT-DES-3018",
            "location": "A-01-06",
            "lot": "GO-ST",
            "expiry": later,
            "quantity": 2,
            "serials": ["GOS1", "GOS2"],
            "status": "hold",
            "reason": "awaiting QA in the old system",
        },
        {
            "item": "GLOVE-NIT-M",
            "location": "R-01-02",
            "lot": "GO-GL",
            "expiry": later,
            "quantity": 7,
            "status": "quarantine",
        },
    )
    r = await post(client, admin, body, loadId="go-1")
    assert r.status_code == 200, r.text
    s = r.json()
    assert (s["booked"], s["replayed"], s["received"], s["refused"]) == (True, False, 4, 0)
    assert (s["ledgerRows"], s["units"], s["expiredUnits"], s["heldUnits"]) == (5, 64, 30, 2)
    assert (s["lotsCreated"], s["serialsCreated"], s["holdsPlaced"]) == (4, 2, 2)
    assert await stock_at(demo_db, "A-01-04") == [("SYR-10ML", "GO-OLD", None, "expired", 30)]
    assert await stock_at(demo_db, "A-01-05") == [("SYR-10ML", "GO-NEW", None, "available", 25)]
    assert await stock_at(demo_db, "A-01-06") == [
        ("STENT-DES-3018", "GO-ST", "GOS1", "available", 1),
        ("STENT-DES-3018", "GO-ST", "GOS2", "available", 1),
    ]
    assert await stock_at(demo_db, "R-01-02") == [("GLOVE-NIT-M", "GO-GL", None, "quarantine", 7)]
    async with demo_db() as session:
        ledger = (
            await session.execute(
                text(
                    "SELECT count(*), sum(quantity), count(DISTINCT event_id) FROM stock_ledger"
                    " WHERE movement = 'opening' AND document_id = 'go-1'"
                )
            )
        ).one()
        assert tuple(ledger) == (5, 64, 1)
        # stock still equals the ledger, row for row
        diff = await session.scalar(
            text(
                "SELECT count(*) FROM (SELECT item_id, lot_id, serial_id, location_id, status, sum(q) q FROM ("
                " SELECT item_id, lot_id, serial_id, to_location_id location_id, to_status status, quantity q FROM stock_ledger WHERE to_location_id IS NOT NULL"
                " UNION ALL SELECT item_id, lot_id, serial_id, from_location_id, from_status, -quantity FROM stock_ledger WHERE from_location_id IS NOT NULL"
                ") x GROUP BY 1,2,3,4,5 HAVING sum(q) <> 0"
                " EXCEPT SELECT item_id, lot_id, serial_id, location_id, status, quantity FROM stock WHERE quantity > 0) d"
            )
        )
        assert diff == 0
        lot = (await session.execute(text("SELECT expiry, production_date FROM lots WHERE lot = 'GO-NEW'"))).one()
        assert lot.production_date == dt.date(2026, 1, 2)
        holds = (
            await session.execute(
                text(
                    "SELECT h.scope, se.serial, h.reason FROM holds h JOIN serials se ON se.id = h.serial_id"
                    " WHERE h.released_at IS NULL ORDER BY 2"
                )
            )
        ).all()
        assert [tuple(h) for h in holds] == [
            ("serial", "GOS1", "awaiting QA in the old system"),
            ("serial", "GOS2", "awaiting QA in the old system"),
        ]
        events = (
            await session.execute(
                text(
                    "SELECT type, data FROM outbox_events WHERE type IN ('stock.opening-booked.v1', 'hold.placed.v1') ORDER BY id"
                )
            )
        ).all()
    assert [e.type for e in events] == ["stock.opening-booked.v1", "hold.placed.v1", "hold.placed.v1"]
    assert events[0].data["units"] == {"available": 27, "expired": 30, "quarantine": 7}
    assert events[0].data["loadId"] == "go-1"


def _line(today: dt.date, **over) -> dict:
    return {
        "item": "SYR-10ML",
        "location": "A-01-04",
        "lot": "GO-R1",
        "expiry": (today + dt.timedelta(days=300)).isoformat(),
        "quantity": 5,
        **over,
    }


async def test_a_repeat_of_the_same_load_books_nothing_and_another_body_under_its_id_is_refused(
    client, admin, demo_db, today
):
    body = ndjson(_line(today))
    first = await post(client, admin, body, loadId="go-rep")
    assert first.status_code == 200, first.text
    again = await post(client, {**admin, "Idempotency-Key": "go-rep"}, body)
    assert again.status_code == 200, again.text
    assert again.json()["replayed"] is True
    assert {k: v for k, v in again.json().items() if k != "replayed"} == {
        k: v for k, v in first.json().items() if k != "replayed"
    }
    other = await post(client, admin, ndjson(_line(today, quantity=6)), loadId="go-rep")
    assert other.status_code == 409 and other.json()["code"] == "load-id-reused"
    assert await stock_at(demo_db, "A-01-04") == [("SYR-10ML", "GO-R1", None, "available", 5)]
    nameless = await post(client, admin, body)
    assert nameless.status_code == 422 and nameless.json()["pointer"] == "/loadId"


async def test_a_dry_run_reports_every_problem_per_line_and_writes_nothing(client, admin, demo_db, today):
    body = (
        ndjson(
            _line(today),
            _line(today, item="NO-SUCH-ITEM"),
            _line(today, location="NOWHERE", lot=None),
            _line(today, item="STENT-DES-3018", serials=["X1"], quantity=2),
            _line(today, status="hold"),
            _line(today, lot="SY2405B", expiry=(today + dt.timedelta(days=3)).isoformat()),
            _line(today, quantity=0),
        )
        + b"{not json\n"
    )
    async with demo_db() as s:
        before = await s.scalar(text("SELECT count(*) FROM stock_ledger"))
    r = await post(client, admin, body, loadId="go-dry", dryRun=True)
    assert r.status_code == 200, r.text
    s_ = r.json()
    assert (s_["received"], s_["refused"], s_["booked"]) == (8, 7, False)
    found = sorted((p["line"], p["pointer"], p["code"]) for p in s_["problems"])
    assert found == [
        (2, "/item", "not-found"),
        (3, "/location", "not-found"),
        (3, "/lot", "missing-lot"),
        (4, "/serials", "serial-count-mismatch"),
        (5, "/reason", "missing-reason"),
        (6, "/expiry", "lot-expiry-conflict"),
        (7, "/quantity", "invalid-record"),
        (8, "", "invalid-record"),
    ]
    assert all(p["detail"] for p in s_["problems"])
    async with demo_db() as s:
        assert await s.scalar(text("SELECT count(*) FROM stock_ledger")) == before
        assert await s.scalar(text("SELECT count(*) FROM lots WHERE lot = 'GO-R1'")) == 0
        assert await s.scalar(text("SELECT count(*) FROM opening_loads")) == 0
    # the same load for real is refused whole: nothing is booked
    r = await post(client, admin, body, loadId="go-dry")
    assert r.status_code == 422 and r.json()["code"] == "opening-load-refused"
    assert len(r.json()["problems"]) == 8
    async with demo_db() as s:
        assert await s.scalar(text("SELECT count(*) FROM stock_ledger")) == before


async def test_a_load_into_a_location_that_holds_stock_is_refused_unless_it_replaces_it(client, admin, demo_db, today):
    # A-01-01 holds 40 of SY2401A in the demo
    body = ndjson(_line(today, location="A-01-01", lot="GO-REPL", quantity=12))
    r = await post(client, admin, body, loadId="go-repl")
    assert r.status_code == 409, r.text
    assert (r.json()["code"], r.json()["locations"]) == ("location-holds-stock", ["A-01-01"])
    assert await stock_at(demo_db, "A-01-01") == [("SYR-10ML", "SY2401A", None, "available", 40)]
    dry = await post(client, admin, body, loadId="go-repl", dryRun=True)
    assert dry.json()["occupiedLocations"] == ["A-01-01"]
    r = await post(client, admin, body, loadId="go-repl", replace=True)
    assert r.status_code == 200, r.text
    assert await stock_at(demo_db, "A-01-01") == [("SYR-10ML", "GO-REPL", None, "available", 12)]
    async with demo_db() as s:
        out = (
            await s.execute(
                text(
                    "SELECT movement, quantity, from_status, reason FROM stock_ledger"
                    " WHERE document_type = 'opening' AND from_location_id IS NOT NULL"
                )
            )
        ).all()
    assert [tuple(o) for o in out] == [("adjust", 40, "available", "go-live opening balances, load go-repl")]
