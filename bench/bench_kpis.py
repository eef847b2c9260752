"""``GET /api/v1/kpis`` for 30 days over 10,000,000 ledger rows (issue 17: p95 <= 1 s).

Seeds a fresh database in SQL (``INSERT ... SELECT generate_series``), then times the report through a real
``udipick serve``. The data: two warehouses (WH2 has a tenth of the flow), 200 items with 3 lots each
(expiries from 30 days ago to a year ahead), 450 storage locations; over 66 days, ``rows / 5`` order lines
each go through receipt, putaway, pick, pack and ship (five ledger rows), ten lines to an order. Around
them, as production writes them: an order, its line and a pick task per line, one confirmed pick, one
accepted scan answer and one ``pick.confirmed.v1`` event per pick; refused scans (2 % FEFO, 0.6 % wrong
item); a short pick, a count block and its count for 1 % of lines; a receipt per 50 lines, a licence plate and
its putaway per five lines; one wave a day.

Triggers: the ledger rows are inserted with ``stock_ledger_apply`` disabled, and ``stock`` is then written
once as the ledger's sums with ``stock_guard`` disabled (both on this bench's own database only, enabled
again afterwards): the same stock the trigger would have left, without ten million single-row upserts.
Every check constraint stays on.

    python bench/bench_kpis.py [--rows 10000000] [--requests 25] [--cold 3] [--keep NAME]

``--keep NAME`` seeds database NAME once and keeps it, so a second run only measures.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import ADMIN_DSN, fresh_database, machine, server  # noqa: E402

PASSWORDS = {
    "picker": "bench-lantern-quartz-42",
    "supervisor": "bench-quarry-maple-17",
    "admin": "bench-orchid-harbour-tram-5",
}
PICKERS = 20

SEED = """
SET work_mem = '512MB';
SET maintenance_work_mem = '1GB';
SET synchronous_commit = off;
INSERT INTO warehouses (id, code, name) VALUES (1, 'WH1', 'Main'), (2, 'WH2', 'Annex');
-- WH1: dock 1, storage 2..401, staging 402; WH2: dock 403, storage 404..453, staging 454
INSERT INTO locations (id, warehouse_id, code, barcode, zone, type)
SELECT g, CASE WHEN g <= 402 THEN 1 ELSE 2 END, 'L' || g, 'LOC-' || g, 'Z',
       CASE WHEN g IN (1, 403) THEN 'receiving' WHEN g IN (402, 454) THEN 'shipping' ELSE 'pick' END
  FROM generate_series(1, 454) g;
INSERT INTO items (id, erp_id, erp_version, gtin, name, base_unit, lot_tracked, serial_tracked, expiry_tracked)
SELECT g, 'ITEM-' || g, 1, lpad((9900000000000 + g)::text, 14, '0'), 'Item ' || g, 'EA', true, false, true
  FROM generate_series(1, 200) g;
INSERT INTO lots (id, item_id, lot, expiry)
SELECT (i - 1) * 3 + k, i, 'LOT-' || i || '-' || k, current_date + ((i * 37 + k * 101) % 400 - 30)
  FROM generate_series(1, 200) i, generate_series(1, 3) k;
INSERT INTO customers (id, erp_id, erp_version, name) VALUES (1, 'CUST-1', 1, 'Hospital');
SELECT setval(pg_get_serial_sequence(t, 'id'), (SELECT max(id) FROM warehouses) + 1000)
  FROM unnest(ARRAY['warehouses', 'locations', 'items', 'lots', 'customers']) t;

-- one order line's journey per g: its item, lot, warehouse, places, quantities, start and order
CREATE UNLOGGED TABLE bench_cycle AS
SELECT g, item, (item - 1) * 3 + 1 + (g / 200) % 3 AS lot, wh,
       CASE wh WHEN 1 THEN 1 ELSE 403 END AS dock,
       CASE wh WHEN 1 THEN 2 + ((item * 3 + (g / 200) % 3) * 13 + g % 4) % 400
               ELSE 404 + ((item * 3 + (g / 200) % 3) * 13 + g % 4) % 50 END AS spot,
       CASE wh WHEN 1 THEN 402 ELSE 454 END AS staging,
       10 + g % 5 AS received, 10 + g % 5 - g % 3 AS shipped,
       now() - interval '66 days' + (g::float8 / :cycles) * interval '63 days' AS t0,
       floor(g::float8 / :cycles * 63)::int AS wave, g / 10 AS order_no
  FROM (SELECT g, 1 + g % 200 AS item, CASE WHEN (g / 10) % 10 = 0 THEN 2 ELSE 1 END AS wh
          FROM generate_series(0, :cycles - 1) g) c;

ALTER TABLE stock_ledger DISABLE TRIGGER stock_ledger_apply;
INSERT INTO stock_ledger (occurred_at, movement, item_id, lot_id, quantity, from_location_id, from_status,
                          to_location_id, to_status, user_id, document_type, document_id)
SELECT * FROM (
  SELECT t0, 'receipt', item, lot, received, NULL::int, NULL, dock, 'available', 1, 'receipt', 'R-' || (g / 50)
    FROM bench_cycle
  UNION ALL
  SELECT t0 + interval '1 hour', 'putaway', item, lot, received, dock, 'available', spot, 'available', 1, 'receipt',
         'R-' || (g / 50) FROM bench_cycle
  UNION ALL
  SELECT t0 + interval '2 days', 'pick', item, lot, shipped, spot, 'available', staging, 'picked', 4 + g % :pickers,
         'sales_order', 'SO-' || order_no FROM bench_cycle
  UNION ALL
  SELECT t0 + interval '2 days 1 hour', 'pack', item, lot, shipped, staging, 'picked', staging, 'packed', 1,
         'sales_order', 'SO-' || order_no FROM bench_cycle
  UNION ALL
  SELECT t0 + interval '2 days 3 hours', 'ship', item, lot, shipped, staging, 'packed', NULL, NULL, 1, 'sales_order',
         'SO-' || order_no FROM bench_cycle
) r ORDER BY 1;
ALTER TABLE stock_ledger ENABLE TRIGGER stock_ledger_apply;

ALTER TABLE stock DISABLE TRIGGER stock_guard;
INSERT INTO stock (item_id, lot_id, location_id, status, quantity)
SELECT item_id, lot_id, location_id, status, sum(q) FROM (
  SELECT item_id, lot_id, to_location_id AS location_id, to_status AS status, quantity AS q
    FROM stock_ledger WHERE to_location_id IS NOT NULL
  UNION ALL
  SELECT item_id, lot_id, from_location_id, from_status, -quantity FROM stock_ledger WHERE from_location_id IS NOT NULL
) m GROUP BY 1, 2, 3, 4;
ALTER TABLE stock ENABLE TRIGGER stock_guard;

INSERT INTO waves (id, status, allocation_date, released_at)
SELECT d, 'done', (now() - interval '66 days')::date + d, now() - interval '66 days' + d * interval '1 day'
  FROM generate_series(0, 70) d;
INSERT INTO outbound_documents (id, erp_id, erp_version, number, customer_id, warehouse_id, ship_to, status)
SELECT order_no + 1, 'SO-' || order_no, 1, 'SO-' || order_no, 1, min(wh), '{}', 'shipped'
  FROM bench_cycle GROUP BY order_no;
-- one line in 97 was ordered one unit more than was shipped: those orders did not ship accurately
INSERT INTO outbound_lines (id, document_id, line_no, item_id, quantity, quantity_allocated, quantity_picked,
                            quantity_shipped)
SELECT g + 1, order_no + 1, g % 10 + 1, item, shipped + (g % 97 = 0)::int, shipped, shipped, shipped FROM bench_cycle;
INSERT INTO pick_tasks (id, wave_id, document_id, line_id, item_id, stock_id, lot_id, location_id, quantity, picked,
                        status, sequence, min_shelf_life_days, allow_bonded, created_at)
SELECT c.g + 1, c.wave, c.order_no + 1, c.g + 1,
       c.item, s.id, c.lot, c.spot, c.shipped, c.shipped, CASE WHEN c.g % 100 = 55 THEN 'short' ELSE 'done' END, 1, 0,
       false, c.t0 + interval '1 day'
  FROM bench_cycle c JOIN stock s ON s.item_id = c.item AND s.lot_id = c.lot AND s.location_id = c.spot
   AND s.status = 'available' AND s.serial_id IS NULL AND s.container_id IS NULL;
INSERT INTO picks (task_id, document_id, line_id, item_id, lot_id, quantity, from_location_id, staging_location_id,
                   client_scan_id, picked_by, picked_at)
SELECT g + 1, order_no + 1, g + 1, item, lot, shipped, spot, staging, gen_random_uuid(), 4 + g % :pickers,
       t0 + interval '2 days'
  FROM bench_cycle ORDER BY g;
INSERT INTO scan_replies (client_scan_id, action, user_id, status_code, body, created_at)
SELECT gen_random_uuid(), 'pick:' || (g + 1), 4 + g % :pickers, s.status,
       CASE s.status WHEN 200 THEN '{"taskId": 1, "quantity": 1}'::jsonb ELSE jsonb_build_object('code', s.code) END,
       t0 + interval '2 days' - s.early
  FROM bench_cycle c
  CROSS JOIN LATERAL (
    SELECT 200 AS status, NULL AS code, interval '0' AS early
    UNION ALL SELECT 409, 'fefo-violation', interval '1 minute' WHERE c.g % 50 = 0
    UNION ALL SELECT 409, 'wrong-item', interval '2 minutes' WHERE c.g % 170 = 0
  ) s ORDER BY 6;
INSERT INTO outbox_events (event_id, type, occurred_at, user_id, data, position)
SELECT gen_random_uuid(), type, at, 1, data, row_number() OVER (ORDER BY at) FROM (
  SELECT 'pick.confirmed.v1' AS type, t0 + interval '2 days' AS at,
         jsonb_build_object('order', 'SO-' || order_no, 'taskId', g + 1, 'quantity', shipped) AS data FROM bench_cycle
  UNION ALL
  SELECT 'pick.shorted.v1', t0 + interval '2 days 5 minutes', jsonb_build_object('taskId', g + 1, 'expected', 1)
    FROM bench_cycle WHERE g % 100 = 55
  UNION ALL
  SELECT 'wave.released.v1', w.released_at, jsonb_build_object('waveId', w.id, 'orders', '[]'::jsonb, 'tasks', 0,
         'shortLines', coalesce(s.lines, '[]'::jsonb))
    FROM waves w LEFT JOIN (
      SELECT wave, jsonb_agg(jsonb_build_object('order', 'SO-' || order_no, 'lineNo', g % 10 + 1, 'missing', 1,
                                                'reason', 'no stock')) AS lines
        FROM bench_cycle WHERE g % 100 = 57 GROUP BY wave
    ) s ON s.wave = w.id
) e ORDER BY at;
INSERT INTO location_blocks (location_id, item_id, reason, created_at, cleared_at)
SELECT spot, item, 'short pick', t0 + interval '2 days 5 minutes', t0 + interval '2 days 5 minutes' + (g % 48) * interval '1 hour'
  FROM bench_cycle WHERE g % 100 = 55;
INSERT INTO receipts (id, location_id, status, created_by, created_at, closed_at)
SELECT g / 50 + 1, min(dock), 'closed', 1, min(t0), max(t0) + interval '1 hour' FROM bench_cycle GROUP BY g / 50;
INSERT INTO containers (id, kind, code) SELECT g / 5 + 1, 'lpn', 'LPN-' || g / 5 FROM bench_cycle WHERE g % 5 = 0;
INSERT INTO putaway_tasks (receipt_id, container_id, from_location_id, status, to_location_id, created_at, done_at)
SELECT g / 50 + 1, g / 5 + 1, dock, 'done', spot, t0, t0 + interval '1 hour' + (g % 7) * interval '10 minutes'
  FROM bench_cycle WHERE g % 5 = 0 ORDER BY g;
SELECT setval(pg_get_serial_sequence(t, 'id'), 10000000)
  FROM unnest(ARRAY['waves', 'outbound_documents', 'outbound_lines', 'pick_tasks', 'receipts', 'containers']) t;
DROP TABLE bench_cycle;
"""


def _url_for(name: str) -> str:
    base, _, query = ADMIN_DSN.partition("?")
    return base.rsplit("/", 1)[0] + "/" + name + ("?" + query if query else "")


async def seeded(url: str) -> bool:
    try:
        conn = await asyncpg.connect(url)
    except asyncpg.InvalidCatalogNameError:
        return False
    try:
        return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM pg_tables WHERE tablename = 'stock_ledger')"))
    finally:
        await conn.close()


async def seed(url: str, rows: int) -> None:
    cycles = rows // 5
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "INSERT INTO users (username, display_name, password_hash, roles)"
            " SELECT 'picker-' || g, 'Picker ' || g, password_hash, roles FROM users, generate_series(0, $1 - 1) g"
            " WHERE username = 'picker'",
            PICKERS,
        )
        ids = await conn.fetch("SELECT id, username FROM users ORDER BY id")
        assert [r["id"] for r in ids[3:]] == list(range(4, 4 + PICKERS)), ids
        sql = SEED.replace(":cycles", str(cycles)).replace(":pickers", str(PICKERS))
        for statement in sql.split(";\n"):
            if not statement.strip():
                continue
            t0 = time.perf_counter()
            status = await conn.execute(statement)
            took = time.perf_counter() - t0
            if took > 1:
                print(f"  {took:6.1f} s  {status[:40]:40s} {statement.strip().splitlines()[0][:70]}", flush=True)
        t0 = time.perf_counter()
        await conn.execute("VACUUM (ANALYZE)")
        print(f"  {time.perf_counter() - t0:6.1f} s  VACUUM (ANALYZE)", flush=True)
        n = await conn.fetchval("SELECT count(*) FROM stock_ledger")
        span = await conn.fetchrow("SELECT min(occurred_at) AS a, max(occurred_at) AS b FROM stock_ledger")
        print(f"ledger  : {n:,} rows from {span['a']:%Y-%m-%d} to {span['b']:%Y-%m-%d}")
        # the bench's data keeps the ledger's rule: stock is the ledger's sum (what tests/ledger_check checks)
        off = await conn.fetchval(
            "SELECT count(*) FROM (SELECT item_id, lot_id, location_id, status, sum(q) AS q FROM ("
            " SELECT item_id, lot_id, to_location_id AS location_id, to_status AS status, quantity AS q FROM stock_ledger"
            " WHERE to_location_id IS NOT NULL UNION ALL SELECT item_id, lot_id, from_location_id, from_status, -quantity"
            " FROM stock_ledger WHERE from_location_id IS NOT NULL) m GROUP BY 1, 2, 3, 4) l"
            " FULL JOIN stock s USING (item_id, lot_id, location_id, status) WHERE coalesce(l.q, 0) <> coalesce(s.quantity, 0)"
        )
        assert off == 0, f"{off} stock rows differ from the ledger's sums"
    finally:
        await conn.close()


def prepare(url: str, rows: int) -> None:
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([sys.executable, "-m", "udipick.cli", "db", "upgrade"], env=env, check=True, capture_output=True)
    for name in ("picker", "supervisor", "admin"):
        subprocess.run(
            [sys.executable, "-m", "udipick.cli", "users", "add", name, "--role", name],
            env=env,
            input=PASSWORDS[name] + "\n",
            text=True,
            check=True,
            capture_output=True,
        )
    t0 = time.perf_counter()
    asyncio.run(seed(url, rows))
    print(f"seeded  : {time.perf_counter() - t0:.0f} s")


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


async def _forget_days(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DELETE FROM kpi_days")
    finally:
        await conn.close()


def _line(label: str, took: list[float]) -> str:
    return (
        f"{label}: {len(took)} requests, p50 {statistics.median(took) * 1000:.0f} ms,"
        f" p95 {pct(took, 0.95) * 1000:.0f} ms, max {max(took) * 1000:.0f} ms (target p95 <= 1000 ms)"
    )


def measure(base: str, requests: int, cases: int, *, url: str, cold: int = 0) -> None:
    with httpx.Client(base_url=base, timeout=120) as c:
        r = c.post(
            "/api/v1/auth/login",
            json={"username": "supervisor", "password": PASSWORDS["supervisor"], "deviceId": "bench"},
        )
        r.raise_for_status()
        headers = {"Authorization": f"Bearer {r.json()['token']}", "X-Device-Id": "bench"}
        today = dt.datetime.now(dt.UTC).date()
        first = today - dt.timedelta(days=29)
        how_many, cases = (
            cases,
            [
                ("30 days, all warehouses", {"from": str(first), "to": str(today)}),
                ("30 days, warehouse WH1", {"from": str(first), "to": str(today), "warehouse": "WH1"}),
                (
                    "30 days ending 30 days ago, WH1",
                    {
                        "from": str(first - dt.timedelta(days=30)),
                        "to": str(first - dt.timedelta(days=1)),
                        "warehouse": "WH1",
                    },
                ),
            ],
        )
        for label, params in cases[:how_many]:
            # cold: no day stored yet (every closed day of the period computed and stored by the request)
            took = []
            for _ in range(cold):
                asyncio.run(_forget_days(url))
                t0 = time.perf_counter()
                r = c.get("/api/v1/kpis", params=params, headers=headers)
                took.append(time.perf_counter() - t0)
                assert r.status_code == 200, r.text[:300]
            if took:
                print(f"load    : {os.getloadavg()}")
                print("kpis    : " + _line(f"{label}, cold (kpi_days emptied before each)", took))
            r = c.get("/api/v1/kpis", params=params, headers=headers)  # warm-up, and the figures once
            r.raise_for_status()
            took = []
            for _ in range(requests):
                t0 = time.perf_counter()
                r = c.get("/api/v1/kpis", params=params, headers=headers)
                took.append(time.perf_counter() - t0)
                assert r.status_code == 200, r.text[:300]
            print(f"load    : {os.getloadavg()}")
            print("kpis    : " + _line(f"{label}, warm (days stored)", took))
        figures = {(f["kpi"], f["subject"]): f["value"] for f in r.json()["figures"]}
        shown = ", ".join(
            f"{k[0]}{'/' + k[1] if k[1] else ''}={v:.3g}" if v is not None else f"{k[0]}=null"
            for k, v in figures.items()
            if k[0] not in ("lines_per_hour", "pick_refusal_rate")
        )
        print(f"figures : (last case) {shown}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000, help="ledger rows (five per order line)")
    ap.add_argument("--requests", type=int, default=25)
    ap.add_argument(
        "--cases", type=int, default=3, help="how many of the three periods to time (the first: 30 days, all)"
    )
    ap.add_argument("--keep", help="seed this database once and keep it; later runs only measure")
    ap.add_argument("--cold", type=int, default=3, help="requests timed with no KPI day stored (emptied before each)")
    args = ap.parse_args()
    print(f"machine : {machine()}")
    if args.keep:
        url = _url_for(args.keep)
        if not asyncio.run(seeded(url)):
            asyncio.run(_create(args.keep))
            prepare(url, args.rows)
        subprocess.run(  # a kept database from an earlier schema: bring it to head
            [sys.executable, "-m", "udipick.cli", "db", "upgrade"], env={**os.environ, "DATABASE_URL": url}, check=True
        )
        with server(url, extra_env={"UDIPICK_LOG_JSON": "0"}) as base:
            measure(base, args.requests, args.cases, url=url, cold=args.cold)
        return
    with fresh_database() as url:
        prepare(url, args.rows)
        with server(url, extra_env={"UDIPICK_LOG_JSON": "0"}) as base:
            measure(base, args.requests, args.cases, url=url, cold=args.cold)


async def _create(name: str) -> None:
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()


if __name__ == "__main__":
    main()
