"""Go-live opening balances: a load of 1,000,000 stock lines through the HTTP API (NDJSON), then the same
load repeated (it must book nothing), then a dry run of it.

    .venv/bin/python bench/bench_opening_balances.py [--lines 1000000]

Target (issue 19): the load in at most 60 s on this 2-core machine. The master data (1,000 items, lot- and
expiry-tracked, 10 of them serialised; 10,000 locations) is written straight into the database first; 1 % of
the lines are serialised (one serial each), 5 % of the lots expired (booked ``expired``), 1 % held.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import time

import asyncpg
import httpx

from _server import api_key, fresh_database, machine, server

ITEMS, LOCATIONS, LOTS_PER_ITEM = 1000, 10_000, 100


def ndjson(count: int, today: dt.date) -> bytes:
    out = []
    for i in range(count):
        item = i % ITEMS
        lot = (i // ITEMS) % LOTS_PER_ITEM
        line = {
            "item": f"ITEM-{item:05d}",
            "location": f"R-{(i // 7) % LOCATIONS:05d}",
            "lot": f"L{lot:03d}",
            # lots 0-4 of each item expired: 5 % of the lines land ``expired``
            "expiry": (today + dt.timedelta(days=(lot - 5) * 7 + (1 if lot >= 5 else -1))).isoformat(),
            "quantity": 1 + i % 20,
        }
        if item < 10:  # serialised items: one unit, one serial
            line["quantity"] = 1
            line["serials"] = [f"S{i:09d}"]
        if lot == 50:
            line["status"] = "hold"
            line["reason"] = "QA hold in the old system"
        out.append(json.dumps(line, separators=(",", ":")))
    return ("\n".join(out) + "\n").encode()


async def master_data(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("INSERT INTO warehouses (code, name, gln) VALUES ('WH1', 'Bench', '4012345000009')")
        await conn.execute(
            "INSERT INTO locations (warehouse_id, code, barcode, zone, type, pick_sequence)"
            " SELECT 1, 'R-' || lpad(g::text, 5, '0'), 'LOC:R-' || lpad(g::text, 5, '0'), 'A', 'reserve', g"
            f" FROM generate_series(0, {LOCATIONS - 1}) g"
        )
        await conn.execute(
            "INSERT INTO items (erp_id, erp_version, gtin, name, base_unit, lot_tracked, serial_tracked, expiry_tracked)"
            " SELECT 'ITEM-' || lpad(g::text, 5, '0'), 1, '0' || (4012345000000 + g)::text, 'Bench device', 'EA',"
            f" true, g < 10, true FROM generate_series(0, {ITEMS - 1}) g"
        )
    finally:
        await conn.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    args = ap.parse_args()
    today = dt.date.today()
    body = ndjson(args.lines, today)
    print(f"machine: {machine()}")
    print(f"payload: {args.lines} lines, {len(body) / 1e6:.1f} MB NDJSON")
    with fresh_database() as url, server(url) as base:
        asyncio.run(master_data(url))
        key = api_key(url)
        headers = {"Authorization": f"Bearer {key}", "content-type": "application/x-ndjson"}
        with httpx.Client(base_url=base, timeout=900) as client:
            for label, params in (
                ("dry run", {"loadId": "bench", "dryRun": "true"}),
                ("load", {"loadId": "bench"}),
                ("repeat", {"loadId": "bench"}),
            ):
                t0 = time.perf_counter()
                r = client.post("/api/v1/erp/stock/opening-balances", content=body, headers=headers, params=params)
                elapsed = time.perf_counter() - t0
                assert r.status_code == 200, r.text[:2000]
                s = r.json()
                print(
                    f"{label:<8}: {elapsed:6.2f} s  {args.lines / elapsed:8.0f} lines/s  booked={s['booked']}"
                    f" replayed={s['replayed']} ledgerRows={s['ledgerRows']} units={s['units']}"
                    f" expiredUnits={s['expiredUnits']} holds={s['holdsPlaced']} lots={s['lotsCreated']}"
                    f" serials={s['serialsCreated']} refused={s['refused']}"
                )
                assert s["refused"] == 0, s["problems"][:5]
                if label == "repeat":
                    assert s["replayed"], s


if __name__ == "__main__":
    main()
