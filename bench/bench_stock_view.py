"""``GET /api/v1/stock`` grouped by lot and expiry bucket over 1,000,000 stock rows (issue 19: p95 <= 200 ms).

Seeds a fresh database in SQL (``generate_series``), then times the view through a real ``udipick serve``
with an ``erp:read`` key (the ERP's purchasing is the reader the target is for). The data: two warehouses,
5,000 locations (60 % pick, 30 % reserve, cold, bonded, quarantine, receiving), 2,000 items with ten lots each
(expiries from 60 days ago to two years ahead; some lots held, in quarantine or recalled), each lot at 50
locations: ``rows`` stock rows, 0.5 % damaged and 0.4 % on hold; 20 location holds and 10 item holds.

The ledger's rule holds: every stock row is the sum of its ``opening`` ledger rows. As in
``bench_kpis.py``, the ledger rows are inserted with ``stock_ledger_apply`` disabled and ``stock`` is written
once as the ledger's sums with ``stock_guard`` disabled (this bench's own database only, enabled again after);
a check at the end of seeding compares the two.

    python bench/bench_stock_view.py [--rows 1000000] [--requests 50] [--keep NAME]

``--keep NAME`` seeds database NAME once and keeps it, so a second run only measures (drop it yourself).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import ADMIN_DSN, api_key, fresh_database, machine, server  # noqa: E402

LOTS_AT = 50  # locations per lot

SEED = """
SET work_mem = '512MB';
SET maintenance_work_mem = '1GB';
SET synchronous_commit = off;
INSERT INTO warehouses (id, code, name) VALUES (1, 'WH1', 'Main'), (2, 'WH2', 'Annex');
INSERT INTO locations (id, warehouse_id, code, barcode, zone, type, pick_sequence)
SELECT g, 1 + (g % 10 = 0)::int, 'L' || g, 'LOC-' || g, 'Z' || g % 20,
       CASE WHEN g % 100 < 60 THEN 'pick' WHEN g % 100 < 90 THEN 'reserve' WHEN g % 100 < 94 THEN 'cold'
            WHEN g % 100 < 97 THEN 'bonded' WHEN g % 100 < 99 THEN 'quarantine' ELSE 'receiving' END, g
  FROM generate_series(1, 5000) g;
INSERT INTO items (id, erp_id, erp_version, gtin, name, base_unit, lot_tracked, serial_tracked, expiry_tracked, bonded)
SELECT g, 'ITEM-' || g, 1, lpad((9900000000000 + g)::text, 14, '0'), 'Item ' || g, 'EA', true, false, true, g % 200 = 0
  FROM generate_series(1, $items) g;
INSERT INTO lots (id, item_id, lot, expiry, status)
SELECT (i - 1) * 10 + k, i, 'LOT-' || i || '-' || k, current_date + ((i * 37 + k * 101) % 790 - 60),
       CASE WHEN (i + k) % 97 = 0 THEN 'hold' WHEN (i + k) % 89 = 0 THEN 'quarantine'
            WHEN (i + k) % 293 = 0 THEN 'recalled' ELSE 'released' END
  FROM generate_series(1, $items) i, generate_series(1, 10) k;
INSERT INTO users (id, username, display_name, password_hash, roles) VALUES (900000, 'bench-seed', 'Bench', 'x', '{admin}');
ALTER TABLE stock_ledger DISABLE TRIGGER stock_ledger_apply;
INSERT INTO stock_ledger (movement, item_id, lot_id, quantity, to_location_id, to_status, user_id, document_type,
                          document_id)
SELECT 'opening', (l - 1) / 10 + 1, l, 1 + (l * 7 + j) % 40, 1 + (l * 7919 + j * 101) % 5000,
       CASE WHEN j % 200 = 1 THEN 'damaged' WHEN j % 250 = 2 THEN 'hold' ELSE 'available' END, 900000, 'opening', 'bench-seed'
  FROM generate_series(1, $items * 10) l, generate_series(0, $lots_at - 1) j;
ALTER TABLE stock_ledger ENABLE TRIGGER stock_ledger_apply;
ALTER TABLE stock DISABLE TRIGGER stock_guard;
INSERT INTO stock (item_id, lot_id, location_id, status, quantity, reserved)
SELECT item_id, lot_id, to_location_id, to_status, sum(quantity), 0 FROM stock_ledger GROUP BY 1, 2, 3, 4;
ALTER TABLE stock ENABLE TRIGGER stock_guard;
INSERT INTO holds (scope, item_id, lot_id, location_id, reason, placed_by)
SELECT 'location', NULL::int, NULL::int, g * 50, 'bench', 900000 FROM generate_series(1, 20) g
UNION ALL SELECT 'item', g * 7, NULL, NULL, 'bench', 900000 FROM generate_series(1, 10) g;
SELECT setval(pg_get_serial_sequence(t, 'id'), 10000000)
  FROM unnest(ARRAY['warehouses', 'locations', 'items', 'lots', 'users']) t;
"""

CASES = {
    "lot + expiry bucket": {"groupBy": ["lot", "expiry_bucket"], "limit": "100000"},
    "expiry bucket + status": {"groupBy": ["expiry_bucket", "status"]},
    "one item, lot + status": {"groupBy": ["lot", "status"], "item": "ITEM-77"},
}


def _url_for(name: str) -> str:
    base, _, query = ADMIN_DSN.partition("?")
    return base.rsplit("/", 1)[0] + "/" + name + ("?" + query if query else "")


async def seed(url: str, rows: int) -> None:
    items = max(1, rows // (10 * LOTS_AT))
    conn = await asyncpg.connect(url)
    try:
        t0 = time.perf_counter()
        await conn.execute(SEED.replace("$items", str(items)).replace("$lots_at", str(LOTS_AT)))
        # the stock rows were written in one statement: sum them into the view's summaries as a fold would
        await conn.execute("SELECT udipick_rebuild_stock_summary()")
        await conn.execute("VACUUM ANALYZE")
        n = await conn.fetchval("SELECT count(*) FROM stock")
        off = await conn.fetchval(
            "SELECT count(*) FROM stock s FULL JOIN (SELECT item_id, lot_id, to_location_id, to_status, sum(quantity) q"
            " FROM stock_ledger GROUP BY 1, 2, 3, 4) l ON l.item_id = s.item_id AND l.lot_id = s.lot_id"
            " AND l.to_location_id = s.location_id AND l.to_status = s.status WHERE s.quantity IS DISTINCT FROM l.q"
        )
        assert off == 0, f"{off} stock rows differ from the ledger's sums"
        print(f"seeded  : {n:,} stock rows in {time.perf_counter() - t0:.0f} s (stock = ledger sums)")
    finally:
        await conn.close()


def prepare(url: str, rows: int) -> None:
    subprocess.run(
        [sys.executable, "-m", "udipick.cli", "db", "upgrade"], env={**os.environ, "DATABASE_URL": url}, check=True
    )
    asyncio.run(seed(url, rows))


async def pend(url: str, rows: int) -> None:
    """Fold what is pending, then change ``rows`` stock rows and leave the changes in the delta."""
    if not rows:
        return
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SELECT udipick_fold_stock_summary()")
        for _ in range(0, rows, 100):
            await conn.execute(
                "UPDATE stock SET reserved = reserved + 1 WHERE quantity > reserved AND id = ANY(ARRAY("
                "SELECT (1 + floor(random() * (SELECT max(id) FROM stock)))::bigint FROM generate_series(1, 100)))"
            )
        n = await conn.fetchval("SELECT count(*) FROM stock_summary_delta")
        print(f"pending : {rows:,} stock rows changed, {n:,} delta rows not folded")
    finally:
        await conn.close()


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def measure(base: str, url: str, requests: int) -> None:
    key = api_key(url, f"bench-read-{uuid.uuid4().hex[:6]}", scope="erp:read")
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        for label, params in CASES.items():
            r = client.get("/api/v1/stock", params=params)
            r.raise_for_status()  # warm: the first request also loads the tables into the cache
            groups = len(r.json()["groups"])
            took = []
            for _ in range(requests):
                t0 = time.perf_counter()
                r = client.get("/api/v1/stock", params=params)
                took.append((time.perf_counter() - t0) * 1000)
                r.raise_for_status()
            print(
                f"{label:<24}: {groups:>6} groups, {len(r.content) / 1e6:5.1f} MB; p50 {pct(took, 50):6.0f} ms"
                f"  p95 {pct(took, 95):6.0f} ms  p99 {pct(took, 99):6.0f} ms  (mean {statistics.mean(took):.0f})"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="stock rows")
    ap.add_argument("--requests", type=int, default=50)
    ap.add_argument("--keep", help="seed this database once and keep it; later runs only measure")
    ap.add_argument(
        "--pending",
        type=int,
        default=0,
        help="first change this many stock rows (reserved +1, in statements of 100) and measure with them not yet"
        " folded into the summaries (the server's fold off): the view reads them from the delta",
    )
    args = ap.parse_args()
    print(f"machine : {machine()}")
    env = {"UDIPICK_LOG_JSON": "0"}
    if args.pending:
        env["UDIPICK_STOCK_SUMMARY_EVERY_SECONDS"] = "0"
    if args.keep:
        url = _url_for(args.keep)
        asyncio.run(_create_if_missing(args.keep, url, args.rows))
        asyncio.run(pend(url, args.pending))
        with server(url, extra_env=env) as base:
            measure(base, url, args.requests)
        return
    with fresh_database() as url:
        prepare(url, args.rows)
        asyncio.run(pend(url, args.pending))
        with server(url, extra_env=env) as base:
            measure(base, url, args.requests)


async def _create_if_missing(name: str, url: str, rows: int) -> None:
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    if not exists:
        await asyncio.to_thread(prepare, url, rows)


if __name__ == "__main__":
    main()
