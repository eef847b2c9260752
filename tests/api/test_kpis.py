"""``GET /api/v1/kpis`` on real PostgreSQL over a scripted month whose answers are worked out by hand below.

The script lives in its own warehouse ``KPI`` inside the demo database, in February 2026 (the period
2026-02-01 .. 2026-02-28, 28 days), with rows before, inside and after the period so that each bound is
exercised. Every ledger row goes through the ledger trigger, as in production.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid

import pytest
from sqlalchemy import text

from tests.conftest import login

PERIOD = {"from": "2026-02-01", "to": "2026-02-28", "warehouse": "KPI"}


def ts(day: str, time: str = "12:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"2026-{day}T{time}:00+00:00")


async def _one(s, sql: str, **params) -> int:
    return (await s.execute(text(sql), params)).scalar_one()


async def script(db) -> None:
    async with db.begin() as s:
        picker = await _one(s, "SELECT id FROM users WHERE username = 'picker'")
        boss = await _one(s, "SELECT id FROM users WHERE username = 'supervisor'")
        customer = await _one(s, "SELECT id FROM customers ORDER BY id LIMIT 1")
        wh = await _one(s, "INSERT INTO warehouses (code, name) VALUES ('KPI', 'KPI test') RETURNING id")
        loc = {}
        for code, kind in (("K-DOCK", "receiving"), ("K-S1", "pick"), ("K-S2", "pick"), ("K-STG", "shipping")):
            loc[code] = await _one(
                s,
                "INSERT INTO locations (warehouse_id, code, barcode, zone, type) VALUES (:w, :c, :c, 'K', :t) RETURNING id",
                w=wh,
                c=code,
                t=kind,
            )
        item = {}
        for n, gtin in (("I1", "09990000000011"), ("I2", "09990000000028")):
            item[n] = await _one(
                s,
                "INSERT INTO items (erp_id, erp_version, gtin, name, base_unit, lot_tracked, serial_tracked, expiry_tracked)"
                " VALUES (:e, 1, :g, :e, 'EA', true, false, true) RETURNING id",
                e=f"KPI-{n}",
                g=gtin,
            )
        lot = {}
        # at the period's end (2026-03-01): L1 expires within 30 days, L2 within 90 (not 60), L3 much later
        for n, it, expiry in (
            ("L1", "I1", dt.date(2026, 3, 20)),
            ("L2", "I1", dt.date(2026, 5, 15)),
            ("L3", "I2", dt.date(2027, 1, 1)),
        ):
            lot[n] = await _one(
                s,
                "INSERT INTO lots (item_id, lot, expiry) VALUES (:i, :l, CAST(:x AS date)) RETURNING id",
                i=item[it],
                l=n,
                x=expiry,
            )

        async def move(at, movement, it, lt, q, frm=None, fs=None, to=None, tst=None, doc=None):
            await s.execute(
                text(
                    "INSERT INTO stock_ledger (occurred_at, movement, item_id, lot_id, quantity, from_location_id,"
                    " from_status, to_location_id, to_status, user_id, document_type, document_id)"
                    " VALUES (CAST(:at AS timestamptz), :m, :i, :l, :q, :f, :fs, :t, :ts, :u, :dt, :d)"
                ),
                {
                    "at": at,
                    "m": movement,
                    "i": item[it],
                    "l": lot[lt],
                    "q": q,
                    "f": loc.get(frm),
                    "fs": fs,
                    "t": loc.get(to),
                    "ts": tst,
                    "u": picker,
                    "dt": "sales_order" if doc else None,
                    "d": doc,
                },
            )

        A, P, K = "available", "picked", "packed"
        # before the period: opening stock 100 of I1/L1 at S1 and 50 of I2/L3 at S2 = 150
        await move(ts("01-20"), "receipt", "I1", "L1", 100, to="K-DOCK", tst=A)
        await move(ts("01-21"), "putaway", "I1", "L1", 100, "K-DOCK", A, "K-S1", A)
        await move(ts("01-20"), "receipt", "I2", "L3", 50, to="K-S2", tst=A)
        # in the period: +40 received (quarantine), 30 + 10 shipped, 5 lost at a count: net -5
        await move(ts("02-05"), "receipt", "I1", "L2", 40, to="K-DOCK", tst="quarantine")
        await move(ts("02-10"), "pick", "I1", "L1", 30, "K-S1", A, "K-STG", P)
        await move(ts("02-11"), "pack", "I1", "L1", 30, "K-STG", P, "K-STG", K)
        await move(ts("02-12"), "ship", "I1", "L1", 30, "K-STG", K, doc="SO-K1")
        await move(ts("02-15"), "pick", "I2", "L3", 10, "K-S2", A, "K-STG", P)
        await move(ts("02-16"), "pack", "I2", "L3", 10, "K-STG", P, "K-STG", K)
        await move(ts("02-17"), "ship", "I2", "L3", 10, "K-STG", K, doc="SO-K2")
        await move(ts("02-20"), "count", "I1", "L1", 5, "K-S1", A)
        await move(ts("02-28", "23:59"), "pick", "I1", "L1", 5, "K-S1", A, "K-STG", P)  # last minute: in
        # after the period (not in the closing stock): 20 received, 10 picked
        await move(ts("03-05"), "receipt", "I2", "L3", 20, to="K-S2", tst=A)
        await move(ts("03-06"), "pick", "I1", "L1", 10, "K-S1", A, "K-STG", P)

        # holds: on L3 across the period's end (counts), on L1 lifted in the period, on L1 after the end
        for lt, placed, released in (("L3", "02-25", "03-03"), ("L1", "02-02", "02-03"), ("L1", "03-02", None)):
            await s.execute(
                text(
                    "INSERT INTO holds (scope, lot_id, reason, placed_by, placed_at, released_by, released_at)"
                    " VALUES ('lot', :l, 'kpi test', :u, CAST(:p AS timestamptz), :rb, CAST(:r AS timestamptz))"
                ),
                {
                    "l": lot[lt],
                    "u": boss,
                    "p": ts(placed),
                    "rb": boss if released else None,
                    "r": released and ts(released),
                },
            )

        # orders: SO-K1 wants 30 of I1 (shipped 30: exact), SO-K2 12 of I2 (shipped 10), SO-K3 5 of I2 (none free)
        doc, line = {}, {}
        for number, it, q in (("SO-K1", "I1", 30), ("SO-K2", "I2", 12), ("SO-K3", "I2", 5)):
            doc[number] = await _one(
                s,
                "INSERT INTO outbound_documents (erp_id, erp_version, number, customer_id, warehouse_id, ship_to)"
                " VALUES (:n, 1, :n, :c, :w, '{}') RETURNING id",
                n=number,
                c=customer,
                w=wh,
            )
            line[number] = await _one(
                s,
                "INSERT INTO outbound_lines (document_id, line_no, item_id, quantity) VALUES (:d, 1, :i, :q) RETURNING id",
                d=doc[number],
                i=item[it],
                q=q,
            )
        wave = await _one(s, "INSERT INTO waves (allocation_date) VALUES ('2026-02-09') RETURNING id")
        stock_s1 = await _one(
            s, "SELECT id FROM stock WHERE location_id = :l AND lot_id = :t", l=loc["K-S1"], t=lot["L1"]
        )
        stock_s2 = await _one(
            s, "SELECT id FROM stock WHERE location_id = :l AND lot_id = :t", l=loc["K-S2"], t=lot["L3"]
        )
        task = {}
        for number, it, lt, where, st, q in (
            ("SO-K1", "I1", "L1", "K-S1", stock_s1, 30),
            ("SO-K2", "I2", "L3", "K-S2", stock_s2, 12),
        ):
            task[number] = await _one(
                s,
                "INSERT INTO pick_tasks (wave_id, document_id, line_id, item_id, stock_id, lot_id, location_id, quantity,"
                " status, sequence, min_shelf_life_days, allow_bonded)"
                " VALUES (:w, :d, :ln, :i, :st, :l, :loc, :q, 'done', 1, 0, false) RETURNING id",
                w=wave,
                d=doc[number],
                ln=line[number],
                i=item[it],
                st=st,
                l=lot[lt],
                loc=loc[where],
                q=q,
            )

        async def event(kind, at, data):
            await s.execute(
                text(
                    "INSERT INTO outbox_events (event_id, type, occurred_at, data)"
                    " VALUES (:id, :t, CAST(:at AS timestamptz), CAST(:d AS jsonb))"
                ),
                {"id": uuid.uuid4(), "t": kind, "at": at, "d": json.dumps(data)},
            )

        short_k3 = {"order": "SO-K3", "lineNo": 1, "missing": 5, "reason": "no stock"}
        await event(
            "wave.released.v1",
            ts("02-09"),
            {"waveId": wave, "orders": ["SO-K1", "SO-K2", "SO-K3"], "tasks": 2, "shortLines": [short_k3]},
        )
        await event("pick.shorted.v1", ts("02-15", "10:00"), {"taskId": task["SO-K2"], "expected": 2})
        await event("pick.shorted.v1", ts("03-02"), {"taskId": task["SO-K1"], "expected": 1})  # after the end

        async def pick(who, tk, at, it, lt, where):
            await s.execute(
                text(
                    "INSERT INTO picks (task_id, document_id, line_id, item_id, lot_id, quantity, from_location_id,"
                    " staging_location_id, client_scan_id, picked_by, picked_at)"
                    " SELECT t.id, t.document_id, t.line_id, :i, :l, 1, :f, :stg, :scan, :u, CAST(:at AS timestamptz)"
                    " FROM pick_tasks t WHERE t.id = :t"
                ),
                {
                    "t": tk,
                    "i": item[it],
                    "l": lot[lt],
                    "f": loc[where],
                    "stg": loc["K-STG"],
                    "scan": uuid.uuid4(),
                    "u": who,
                    "at": at,
                },
            )

        # picker: SO-K1's task twice in the 08:00 hour, SO-K2's at 09:05 another day: 2 lines in 2 hours
        await pick(picker, task["SO-K1"], ts("02-10", "08:10"), "I1", "L1", "K-S1")
        await pick(picker, task["SO-K1"], ts("02-10", "08:40"), "I1", "L1", "K-S1")
        await pick(picker, task["SO-K2"], ts("02-15", "09:05"), "I2", "L3", "K-S2")
        # supervisor: both tasks within the 09:00 hour: 2 lines in 1 hour
        await pick(boss, task["SO-K2"], ts("02-15", "09:30"), "I2", "L3", "K-S2")
        await pick(boss, task["SO-K1"], ts("02-15", "09:50"), "I1", "L1", "K-S1")
        await pick(picker, task["SO-K1"], ts("03-06"), "I1", "L1", "K-S1")  # after the end

        async def reply(action, status, code, at):
            body = {"code": code} if code else {"taskId": 1}
            await s.execute(
                text(
                    "INSERT INTO scan_replies (client_scan_id, action, user_id, status_code, body, created_at)"
                    " VALUES (:id, :a, :u, :s, CAST(:b AS jsonb), CAST(:at AS timestamptz))"
                ),
                {"id": uuid.uuid4(), "a": action, "u": picker, "s": status, "b": json.dumps(body), "at": at},
            )

        k1, k2 = f"pick:{task['SO-K1']}", f"pick:{task['SO-K2']}"
        for i in range(5):  # 5 accepted
            await reply(k1 if i % 2 else k2, 200, None, ts("02-10", f"08:{10 + i}"))
        await reply(k1, 409, "fefo-violation", ts("02-10", "08:20"))
        await reply(k2, 409, "fefo-violation", ts("02-15", "09:00"))
        await reply(k2, 409, "wrong-item", ts("02-15", "09:01"))
        await reply(k1, 200, None, ts("03-06"))  # after the end
        await reply(f"short:{task['SO-K2']}", 200, None, ts("02-15", "10:00"))  # not a pick scan

        # counts: blocks cleared in the period after 26 h and 1.5 h; one cleared after the end, one still open
        for created, cleared, it in (
            (ts("02-19", "08:00"), ts("02-20", "10:00"), "I1"),
            (ts("02-25", "12:00"), ts("02-25", "13:30"), "I1"),
            (ts("02-27"), ts("03-02"), "I1"),
            (ts("02-27"), None, "I2"),
        ):
            await s.execute(
                text(
                    "INSERT INTO location_blocks (location_id, item_id, reason, created_at, cleared_at)"
                    " VALUES (:l, :i, 'short', CAST(:c AS timestamptz), CAST(:x AS timestamptz))"
                ),
                {"l": loc["K-S1"], "i": item[it], "c": created, "x": cleared},
            )

        # dock to stock: receipt R1 opened at the dock 02-05 08:00, its plate put away 14:00 (6 h); R2 opened
        # 02-06 10:00, one plate put away a day later (24 h), one after the period's end
        for opened, plates in (
            (ts("02-05", "08:00"), (("KPI-C1", ts("02-05", "14:00")),)),
            (ts("02-06", "10:00"), (("KPI-C2", ts("02-07", "10:00")), ("KPI-C3", ts("03-03")))),
        ):
            receipt = await _one(
                s,
                "INSERT INTO receipts (location_id, created_by, created_at) VALUES (:l, :u, :at) RETURNING id",
                l=loc["K-DOCK"],
                u=picker,
                at=opened,
            )
            for plate, done in plates:
                container = await _one(
                    s, "INSERT INTO containers (kind, code) VALUES ('lpn', :c) RETURNING id", c=plate
                )
                await s.execute(
                    text(
                        "INSERT INTO putaway_tasks (receipt_id, container_id, from_location_id, status, to_location_id,"
                        " done_at) VALUES (:r, :c, :f, 'done', :t, :at)"
                    ),
                    {"r": receipt, "c": container, "f": loc["K-DOCK"], "t": loc["K-S1"], "at": done},
                )


def by_key(report: dict) -> dict[tuple[str, str | None], dict]:
    return {(f["kpi"], f["subject"]): f for f in report["figures"]}


# Worked out by hand from the script. Stock at the end (2026-03-01 00:00): I1/L1 at S1 100 - 30 - 5 - 5 = 60
# available (its hold was lifted on 02-03; the 03-02 hold and the 03-06 pick are later); 5 of I1/L1 picked at
# the staging location; I1/L2 40 in quarantine at the dock; I2/L3 50 - 10 = 40 at S2 under the 02-25 hold
# (the 03-05 receipt is later). On hand 145, stored (not picked or packed) 140, free 60.
EXPECTED = {
    ("inventory_availability", None): (60 / 140, 60, 140, "ratio"),
    # SO-K1 30 of 30; SO-K2 10 of 12
    ("shipping_accuracy", None): (0.5, 1, 2, "ratio"),
    # 26 h and 1.5 h
    ("count_duration", None): (13.75, 27.5, 2, "hours"),
    # lines the wave handled: SO-K1/1 and SO-K2/1 (tasks), SO-K3/1 (short at release)
    ("stockout_rate", None): (1 / 3, 1, 3, "ratio"),
    # opening 150, closing 145: average 147.5 units; 40 shipped in 28 days
    ("turnover_days", None): (147.5 / (40 / 28), 147.5, 40 / 28, "days"),
    ("recall_response_time", None): (None, 0, 0, "hours"),
    ("lines_per_hour", "picker"): (1.0, 2, 2, "lines/hour"),
    ("lines_per_hour", "supervisor"): (2.0, 2, 1, "lines/hour"),
    ("pick_accuracy", None): (5 / 8, 5, 8, "ratio"),
    ("pick_refusal_rate", "fefo-violation"): (2 / 8, 2, 8, "ratio"),
    ("pick_refusal_rate", "wrong-item"): (1 / 8, 1, 8, "ratio"),
    # tasks worked, counted per day (docs/kpis.md): SO-K1's on 02-10 and again on 02-15 (the supervisor's pick),
    # SO-K2's on 02-15, reported short that day: 3 task-days, 1 short. (1 of 2 before the KPIs were stored per
    # closed day: a task worked on two days now counts on each, as a day's facts are summed once and kept.)
    ("short_pick_rate", None): (1 / 3, 1, 3, "ratio"),
    # C1 6 h, C2 24 h
    ("dock_to_stock_time", None): (15.0, 30, 2, "hours"),
    # L1 (65 on hand: 60 + 5 picked) expires before 03-31; L2 (40) before 05-30, not before 04-30
    ("expiry_exposure", "30d"): (65, 65, 145, "units"),
    ("expiry_exposure", "60d"): (65, 65, 145, "units"),
    ("expiry_exposure", "90d"): (105, 105, 145, "units"),
}


@pytest.fixture
async def supervisor(client, demo_db):
    await script(demo_db)
    return await login(client, "supervisor")


async def test_every_kpi_of_the_scripted_month_is_the_hand_worked_answer(client, supervisor):
    r = await client.get("/api/v1/kpis", params=PERIOD, headers=supervisor)
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["from"], report["to"], report["warehouse"]) == ("2026-02-01", "2026-02-28", "KPI")
    got = {key: (f["value"], f["numerator"], f["denominator"], f["unit"]) for key, f in by_key(report).items()}
    assert set(got) == set(EXPECTED)
    for key, (value, numerator, denominator, unit) in EXPECTED.items():
        g = got[key]
        assert g[0] == (pytest.approx(value) if value is not None else None), key
        assert (g[1], g[2], g[3]) == (pytest.approx(numerator), pytest.approx(denominator), unit), key
    assert by_key(report)[("turnover_days", None)]["nameZh"] == "周转天数"


async def test_all_warehouses_see_the_demo_stock_only_after_it_arrived(client, supervisor):
    # the demo warehouse's stock was received when the demo was loaded, long after February 2026: at the end
    # of February it was not there, so the figures of all warehouses are the KPI warehouse's
    r = await client.get("/api/v1/kpis", params={"from": "2026-02-01", "to": "2026-02-28"}, headers=supervisor)
    assert r.status_code == 200, r.text
    figures = by_key(r.json())
    f = figures[("inventory_availability", None)]
    assert (f["numerator"], f["denominator"]) == (60, 140)
    # nor had anything been picked or shipped there
    for key in (("pick_accuracy", None), ("shipping_accuracy", None), ("turnover_days", None)):
        f, expected = figures[key], EXPECTED[key]
        assert (f["numerator"], f["denominator"]) == (pytest.approx(expected[1]), pytest.approx(expected[2])), key


async def test_a_period_with_nothing_in_it_has_no_rates_rather_than_zero_or_full(client, supervisor):
    r = await client.get(
        "/api/v1/kpis", params={**PERIOD, "from": "2025-06-01", "to": "2025-06-30"}, headers=supervisor
    )
    figures = by_key(r.json())
    assert figures[("shipping_accuracy", None)]["value"] is None
    assert figures[("inventory_availability", None)]["value"] is None  # nothing was stored yet
    assert figures[("pick_accuracy", None)]["denominator"] == 0
    assert not [key for key in figures if key[0] == "lines_per_hour"]


@pytest.mark.parametrize("how", [{"params": {"format": "csv"}}, {"headers": {"Accept": "text/csv"}}])
async def test_the_same_figures_as_csv(client, supervisor, how):
    r = await client.get(
        "/api/v1/kpis", params={**PERIOD, **how.get("params", {})}, headers={**supervisor, **how.get("headers", {})}
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == 'attachment; filename="udipick-kpis-2026-02-01-2026-02-28.csv"'
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == [
        "from", "to", "warehouse", "kpi", "nameZh", "subject", "value", "unit", "numerator", "denominator",
    ]  # fmt: skip
    cells = {(row[3], row[5] or None): row for row in rows[1:]}
    assert set(cells) == set(EXPECTED)
    assert cells[("shipping_accuracy", None)] == [
        "2026-02-01", "2026-02-28", "KPI", "shipping_accuracy", "出货准确率", "", "0.5", "ratio", "1.0", "2.0",
    ]  # fmt: skip
    assert cells[("recall_response_time", None)][6] == ""  # empty until recalls exist
    assert float(cells[("expiry_exposure", "90d")][6]) == 105


@pytest.mark.parametrize(
    ("params", "code", "pointer"),
    [
        ({"from": "2026-03-01", "to": "2026-02-01"}, "invalid-period", "from"),
        ({"from": "2026-02-30"}, "invalid-period", "from"),
        ({"to": "28.02.2026"}, "invalid-period", "to"),
        ({"from": "2024-01-01", "to": "2026-01-01"}, "invalid-period", "from"),
        ({"warehouse": "NOPE"}, "unknown-warehouse", None),
    ],
)
async def test_bad_parameters_are_400_problems_with_a_code(client, params, code, pointer):
    sup = await login(client, "supervisor")
    r = await client.get("/api/v1/kpis", params=params, headers=sup)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == code
    assert body.get("pointer") == pointer


async def test_pickers_may_not_read_kpis_admins_may(client):
    picker = await login(client, "picker")
    r = await client.get("/api/v1/kpis", headers=picker)
    assert (r.status_code, r.json()["code"]) == (403, "permission-denied")
    admin = await login(client, "admin")
    assert (await client.get("/api/v1/kpis", headers=admin)).status_code == 200
