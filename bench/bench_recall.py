"""Opening a recall with its full trace, and a plain lot trace, against a large stock ledger.

    .venv/bin/python bench/bench_recall.py [--rows 10000000] [--recalls 20] [--traces 200]

Builds its own database (migrations, then master data and a ledger of ``--rows`` movements seeded with
``INSERT ... SELECT generate_series``) and calls the services in process:
  - ``services.recalls.open_recall`` as the ERP opens one (its key, no password: the electronic
    signature's argon2 check is the sign-in's cost, not the recall's), each for another lot; the answer
    carries the full trace (backward, forward, now). Target: <= 1 s.
  - ``services.trace.lot_trace`` for random lots. Target: <= 100 ms.
Prints p50/p95/max of each, and how long seeding took.

The seed writes the ledger and the stock rows with ``session_replication_role = replica`` (triggers off:
the ledger trigger would apply 10 million movements one by one); the figures a trace reads are whatever
the seed wrote, which is enough to time the reads. 20 lots per item, 1,000 items; one movement in five is
a shipment of one of 100,000 orders to one of 500 customers, so with 10,000,000 rows each lot has shipped
in 100 movements to about 100 orders.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import statistics
import sys
import time

import asyncpg

sys.path.insert(0, os.path.dirname(__file__))
from _server import fresh_database, machine  # noqa: E402
from udipick.config import normalize_database_url  # noqa: E402
from udipick.db.engine import make_engine, make_sessionmaker  # noqa: E402
from udipick.db.migrate import upgrade  # noqa: E402
from udipick.domain.access import Actor  # noqa: E402
from udipick.domain.gs1_numbers import gs1_check_digit  # noqa: E402
from udipick.services import recalls, trace  # noqa: E402

ITEMS = 1000
LOTS_PER_ITEM = 20
LOTS = ITEMS * LOTS_PER_ITEM
ORDERS = 100_000
CUSTOMERS = 500
CARTONS = 100_000
LOCATIONS = 2000


def _gtin(n: int) -> str:
    digits = f"{4_000_000_000_000 + n * 10:013d}"[-13:]
    return digits + str(gs1_check_digit(digits))


async def seed(dsn: str, rows: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SET session_replication_role = replica")
        await conn.execute("INSERT INTO warehouses (code, name) VALUES ('MAIN', 'Main')")
        await conn.execute(
            "INSERT INTO locations (warehouse_id, code, barcode, zone, type, pick_sequence)"
            " SELECT 1, 'P-' || g, 'LOC-P-' || g, 'Z', CASE WHEN g = 1 THEN 'shipping' ELSE 'pick' END, g"
            " FROM generate_series(1, $1) g",
            LOCATIONS,
        )
        await conn.executemany(
            "INSERT INTO items (erp_id, erp_version, gtin, name, base_unit, lot_tracked, serial_tracked, expiry_tracked)"
            " VALUES ($1, 1, $2, $3, 'EA', true, false, true)",
            [(f"IT-{i}", _gtin(i), f"Device {i}") for i in range(1, ITEMS + 1)],
        )
        await conn.execute(
            "INSERT INTO item_gtins (gtin, item_id, pack_level, quantity) SELECT gtin, id, 'each', 1 FROM items"
        )
        # lot n belongs to item (n - 1) / 20 + 1
        await conn.execute(
            "INSERT INTO lots (item_id, lot, expiry, production_date)"
            " SELECT (g - 1) / $1 + 1, 'L' || g, current_date + 200 + g % 300, current_date - g % 300"
            " FROM generate_series(1, $2) g",
            LOTS_PER_ITEM,
            LOTS,
        )
        await conn.execute(
            "INSERT INTO users (username, display_name, password_hash, roles) VALUES ('bench', 'Bench', 'x', ARRAY['qa'])"
        )
        await conn.execute(
            "INSERT INTO api_keys (name, prefix, key_hash, scopes) VALUES ('bench', 'bench', 'x', ARRAY['erp:write'])"
        )
        await conn.execute(
            "INSERT INTO suppliers (erp_id, erp_version, name, gln) SELECT 'SUP-' || g, 1, 'Supplier ' || g,"
            " lpad(g::text, 13, '4') FROM generate_series(1, 20) g"
        )
        await conn.execute(
            "INSERT INTO customers (erp_id, erp_version, name) SELECT 'CUST-' || g, 1, 'Hospital ' || g"
            " FROM generate_series(1, $1) g",
            CUSTOMERS,
        )
        await conn.execute(
            "INSERT INTO outbound_documents (erp_id, erp_version, number, customer_id, warehouse_id, ship_to, status)"
            " SELECT 'SO-' || g, 1, 'N-' || g, g % $2 + 1, 1, jsonb_build_object('name', 'Ward ' || g), 'shipped'"
            " FROM generate_series(0, $1 - 1) g",
            ORDERS,
            CUSTOMERS,
        )
        await conn.execute(
            "INSERT INTO containers (kind, code, sscc) SELECT 'carton', 'C' || g, lpad(g::text, 18, '0')"
            " FROM generate_series(1, $1) g",
            CARTONS,
        )
        # a receipt per 10 lots, one scan per lot, on licence plates of their own
        await conn.execute(
            "INSERT INTO containers (kind, code) SELECT 'lpn', 'LPN' || g FROM generate_series(1, $1) g", LOTS // 10
        )
        await conn.execute(
            "INSERT INTO receipts (supplier_id, location_id, status, created_by, closed_at)"
            " SELECT g % 20 + 1, 2, 'closed', 1, now() FROM generate_series(1, $1) g",
            LOTS // 10,
        )
        await conn.execute(
            "INSERT INTO receipt_scans (receipt_id, client_scan_id, item_id, pack_level, lot_id, quantity, status,"
            " container_id, raw, user_id) SELECT (g - 1) / 10 + 1, gen_random_uuid(), (g - 1) / $1 + 1, 'each', g, 500,"
            " 'available', $3 + (g - 1) / 10 + 1, 'raw', 1 FROM generate_series(1, $2) g",
            LOTS_PER_ITEM,
            LOTS,
            CARTONS,
        )
        # what is left: each lot at a pick location, and some of it packed in a carton not yet shipped
        await conn.execute(
            "INSERT INTO stock (item_id, lot_id, location_id, status, quantity)"
            " SELECT (g - 1) / $1 + 1, g, g % ($3 - 1) + 2, 'available', 20 FROM generate_series(1, $2) g",
            LOTS_PER_ITEM,
            LOTS,
            LOCATIONS,
        )
        await conn.execute(
            "INSERT INTO stock (item_id, lot_id, location_id, container_id, status, quantity)"
            " SELECT (g - 1) / $1 + 1, g, 1, g % $3 + 1, 'packed', 2 FROM generate_series(1, $2, 7) g",
            LOTS_PER_ITEM,
            LOTS,
            CARTONS,
        )
        await conn.execute(
            "INSERT INTO packages (container_id, document_id, status)"
            " SELECT DISTINCT s.container_id, s.container_id % $1 + 1, 'closed' FROM stock s WHERE s.container_id IS NOT NULL",
            ORDERS,
        )
        # the ledger: receipt, putaway, pick, pack, ship in turn, lot by lot; orders and cartons scattered (hashint4)
        await conn.execute(
            """
INSERT INTO stock_ledger (occurred_at, movement, item_id, lot_id, quantity, from_location_id, from_container_id,
                          from_status, to_location_id, to_container_id, to_status, user_id, document_type, document_id)
SELECT now() - (g % 500000) * interval '1 minute', m.movement, (l - 1) / $2 + 1, l, 1 + g % 5,
       CASE WHEN m.movement = 'receipt' THEN NULL ELSE 2 + g % 1000 END,
       CASE WHEN m.movement = 'ship' THEN (hashint4(g) & 2147483647) % $4 + 1 END,
       CASE WHEN m.movement = 'receipt' THEN NULL WHEN m.movement = 'ship' THEN 'packed' ELSE 'available' END,
       CASE WHEN m.movement = 'ship' THEN NULL ELSE 2 + g % 1000 END,
       CASE WHEN m.movement = 'pack' THEN (hashint4(g) & 2147483647) % $4 + 1 END,
       CASE WHEN m.movement = 'ship' THEN NULL WHEN m.movement = 'pack' THEN 'packed' ELSE 'available' END,
       1,
       CASE WHEN m.movement IN ('pack', 'ship') THEN 'sales_order' ELSE 'receipt' END,
       CASE WHEN m.movement IN ('pack', 'ship') THEN 'SO-' || (hashint4(g) & 2147483647) % $5 ELSE 'R' || l END
  FROM generate_series(1, $1) g
 CROSS JOIN LATERAL (SELECT (g / 5) % $3 + 1 AS l) lot
 CROSS JOIN LATERAL (SELECT (ARRAY['receipt', 'putaway', 'pick', 'pack', 'ship'])[g % 5 + 1] AS movement) m
""",
            rows,
            LOTS_PER_ITEM,
            LOTS,
            CARTONS,
            ORDERS,
        )
        await conn.execute("RESET session_replication_role")
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


def _figures(name: str, ms: list[float], target: float) -> str:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    verdict = "met" if p95 <= target else "NOT met"
    return (
        f"{name}: n={len(ms)} p50 {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, max {ms[-1]:.1f} ms"
        f" (target <= {target:.0f} ms at p95: {verdict})"
    )


async def measure(url: str, n_recalls: int, n_traces: int) -> None:
    engine = make_engine(url, pool_size=2)
    db = make_sessionmaker(engine)
    erp = Actor(api_key_id=1, api_key_name="bench", scopes=frozenset({"erp:write"}))
    rng = random.Random(7)
    lots = rng.sample(range(1, LOTS + 1), n_recalls)
    opened: list[float] = []
    sizes = []
    try:
        for n in lots:
            item = (n - 1) // LOTS_PER_ITEM + 1
            req = recalls.RecallIn(item=f"IT-{item}", recall_class="II", reason="bench", lots=[f"L{n}"])
            t = time.perf_counter()
            answer = await recalls.open_recall(
                db, None, erp, req, password=None, address="bench", today=dt.date.today()
            )
            opened.append((time.perf_counter() - t) * 1000)
            tr = answer.trace
            sizes.append((len(tr.backward), len(tr.forward), len(tr.now), tr.totals.shipped))
        traced: list[float] = []
        for _ in range(n_traces):
            n = rng.randrange(1, LOTS + 1)
            t = time.perf_counter()
            tr = await trace.lot_trace(db, _gtin((n - 1) // LOTS_PER_ITEM + 1), f"L{n}")
            traced.append((time.perf_counter() - t) * 1000)
    finally:
        await engine.dispose()
    b, f, w, s = sizes[0]
    print(f"a recalled lot's trace: {b} receipt group(s), {f} shipment group(s), {w} stock group(s), {s} units shipped")
    print(_figures("open a recall + its full trace", opened, 1000))
    print(_figures("plain lot trace", traced, 100))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000, help="stock ledger rows to seed")
    ap.add_argument("--recalls", type=int, default=20)
    ap.add_argument("--traces", type=int, default=200)
    args = ap.parse_args()
    print(f"machine: {machine()}")
    with fresh_database() as dsn:
        url = normalize_database_url(dsn)  # the asyncpg URL SQLAlchemy and the migrations take
        upgrade(url)
        t = time.perf_counter()
        asyncio.run(seed(dsn, args.rows))
        print(
            f"seeded {args.rows:,} ledger rows (and {LOTS:,} lots, {ORDERS:,} orders) in {time.perf_counter() - t:.0f} s"
        )
        asyncio.run(measure(url, args.recalls, args.traces))


if __name__ == "__main__":
    main()
