"""Bulk ERP load of 100,000 items through the HTTP API (NDJSON), then the same load replayed.

    .venv/bin/python bench/bench_erp_bulk_load.py [--items 100000]

Target (issue 2): under 20 s on a 2-core machine; the replay must change nothing.
"""

from __future__ import annotations

import argparse
import json
import time

import httpx

from _server import api_key, fresh_database, machine, server
from udipick.domain.gs1_numbers import gs1_check_digit


def gtin(n: int) -> str:
    digits = f"{n:013d}"[-13:]
    return digits + str(gs1_check_digit(digits))


def ndjson(count: int) -> bytes:
    lines = []
    for i in range(count):
        item = {
            "erpId": f"ITEM-{i:07d}",
            "version": 1,
            "gtin": gtin(4_000_000_000_000 + i * 10),
            "name": f"Bench device {i}",
            "baseUnit": "EA",
            "lotTracked": True,
            "expiryTracked": i % 2 == 0,
            "serialTracked": i % 10 == 0,
            "minShelfLifeDays": 30,
        }
        if i % 4 == 0:
            item["packLevels"] = [{"level": "case", "gtin": gtin(14_000_000_000_000 + i * 10 + 1), "quantity": 10}]
        lines.append(json.dumps(item))
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=100_000)
    args = ap.parse_args()
    body = ndjson(args.items)
    print(f"machine: {machine()}")
    print(f"payload: {args.items} items, {len(body) / 1e6:.1f} MB NDJSON")
    with fresh_database() as url, server(url) as base:
        key = api_key(url)
        headers = {"Authorization": f"Bearer {key}", "content-type": "application/x-ndjson"}
        with httpx.Client(base_url=base, timeout=600) as client:
            for label in ("first load", "replay"):
                t0 = time.perf_counter()
                r = client.post("/api/v1/erp/items/bulk", content=body, headers=headers)
                elapsed = time.perf_counter() - t0
                s = r.json()
                print(
                    f"{label:<10}: {elapsed:6.2f} s  {args.items / elapsed:8.0f} items/s  created={s['created']} "
                    f"updated={s['updated']} unchanged={s['unchanged']} refused={s['refused']}"
                )
                if label == "replay":
                    assert s["created"] == 0 and s["updated"] == 0 and s["unchanged"] == args.items, s


if __name__ == "__main__":
    main()
