"""End-to-end lag from a pick confirmed in udipick to its stock move done in Tryton.

    .venv/bin/python bench/bench_tryton_lag.py [--scale 4] [--interval 0.2]

A real ``udipick serve`` (demo warehouse) and a real Tryton database (copied from the tests' template,
built on first use), a purchase and a sale made in Tryton and brought over by ``udipick connect tryton``,
received and put away over the API; then the connector runs as it would in production (polling udipick's
events every ``--interval`` s) while a picker confirms the sale's picks one unit at a time. For each pick
the lag is from sending the scan to the event's row appearing in Tryton's ``udipick_booked_events`` (the
same transaction as its ``stock.move`` done), watched every 2 ms on a separate connection.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
import httpx
from bench._server import fresh_database, server

from tests.api.test_picking import gs1
from tests.conftest import _admin_exec
from tests.tryton.conftest import ENV, ensure_template, erp_key, write_config
from tests.tryton.scenario import PRODUCTS

ADMIN = os.environ.get("UDIPICK_BENCH_TRYTON_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
GTIN = {code: gtin for code, _, gtin, _, _ in PRODUCTS}


def _q(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] if len(values) > 1 else values[0]


async def _login(client: httpx.AsyncClient, user: str) -> dict[str, str]:
    r = await client.post("/api/v1/auth/login", json={"username": user, "password": f"{user}-demo", "deviceId": user})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['token']}", "X-Device-Id": user}


async def _drive(url: str, tryton_dsn: str, numbers: dict, scale: int) -> tuple[list[float], list[float]]:
    today = dt.date.today()
    watch = await asyncpg.connect(tryton_dsn)

    async def booked(kind: str) -> int:
        return int(await watch.fetchval("SELECT count(*) FROM udipick_booked_events WHERE type = $1", kind))

    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        receiver = await _login(client, "receiver")
        r = await client.post("/api/v1/receipts", json={"document": numbers["purchase"]}, headers=receiver)
        r.raise_for_status()
        rid = r.json()["id"]
        for i, (_, _, gtin, qty, _) in enumerate(PRODUCTS):
            raw = gs1(gtin, f"BN{i}", today + dt.timedelta(days=300))
            body = {"clientScanId": str(uuid.uuid4()), "raw": raw, "quantity": qty * scale}
            (await client.post(f"/api/v1/receipts/{rid}/scans", json=body, headers=receiver)).raise_for_status()
        closed = await client.post(f"/api/v1/receipts/{rid}/close", json={}, headers=receiver)
        closed.raise_for_status()
        for task in closed.json()["putawayTasks"]:
            body = {"clientScanId": str(uuid.uuid4()), "raw": "LOC-R-01-02"}
            r = await client.post(f"/api/v1/putaway/tasks/{task['id']}/confirm", json=body, headers=receiver)
            r.raise_for_status()
        sup, picker = await _login(client, "supervisor"), await _login(client, "picker")
        (await client.post("/api/v1/waves", json={"orders": [numbers["sale"]]}, headers=sup)).raise_for_status()
        while await booked("receipt.confirmed.v1") < len(PRODUCTS):
            await asyncio.sleep(0.05)
        lags: list[float] = []
        confirms: list[float] = []
        tasks = [t for t in (await client.get("/api/v1/picking/tasks", headers=picker)).json()]
        tasks = [t for t in tasks if t["order"] == numbers["sale"]]
        for task in tasks:
            remaining = task["remaining"]
            while remaining:
                before = await booked("pick.confirmed.v1")
                body = {
                    "clientScanId": str(uuid.uuid4()),
                    "raw": gs1(GTIN[task["item"]["erpId"]], task["lot"]),
                    "locationRaw": task["location"]["barcode"],
                }
                t0 = time.perf_counter()
                r = await client.post(f"/api/v1/picking/tasks/{task['taskId']}/scans", json=body, headers=picker)
                r.raise_for_status()
                confirms.append((time.perf_counter() - t0) * 1000)
                remaining = r.json()["remaining"]
                while await booked("pick.confirmed.v1") <= before:
                    await asyncio.sleep(0.002)
                lags.append((time.perf_counter() - t0) * 1000)
    await watch.close()
    return lags, confirms


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=int, default=4, help="multiplies the scenario's quantities (picks: 32 × scale)")
    ap.add_argument("--interval", type=float, default=0.2, help="the connector's poll of udipick's events (s)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp), ADMIN)
        template = ensure_template(ADMIN, config)
        tryton_db = f"udipick_tryton_bench_{uuid.uuid4().hex[:8]}"
        asyncio.run(_admin_exec(ADMIN, f"CREATE DATABASE {tryton_db} TEMPLATE {template}"))
        try:
            made = subprocess.run(
                [sys.executable, "-m", "tests.tryton.scenario", tryton_db, str(config), str(args.scale)],
                env=ENV,
                capture_output=True,
                text=True,
                check=True,
            )
            numbers = json.loads(made.stdout)
            with fresh_database() as db_url, server(db_url, demo=True) as url:
                env = {**ENV, "DATABASE_URL": db_url, "UDIPICK_API_KEY": erp_key(db_url)}
                connect = [sys.executable, "-m", "udipick.cli", "connect", "tryton", "--tryton-db", tryton_db]
                connect += ["--config", str(config), "--url", url, "--interval", str(args.interval)]
                once = subprocess.run([*connect, "--once"], env=env, capture_output=True, text=True)
                if once.returncode:
                    raise SystemExit(f"udipick connect tryton --once failed: {once.stderr[-3000:]}")
                proc = subprocess.Popen(connect, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    tryton_dsn = ADMIN.rsplit("/", 1)[0] + "/" + tryton_db
                    lags, confirms = asyncio.run(_drive(url, tryton_dsn, numbers, args.scale))
                finally:
                    proc.terminate()
                    proc.wait(timeout=30)
        finally:
            asyncio.run(_admin_exec(ADMIN, f"DROP DATABASE IF EXISTS {tryton_db} WITH (FORCE)"))
    print(
        f"pick confirm → Tryton move done, {len(lags)} picks, connector polling every {args.interval * 1000:.0f} ms:"
        f" p50 {_q(lags, 50):.0f} ms, p95 {_q(lags, 95):.0f} ms, max {max(lags):.0f} ms"
        f" (of which udipick's answer to the scan: p50 {_q(confirms, 50):.0f} ms, p95 {_q(confirms, 95):.0f} ms)"
    )


if __name__ == "__main__":
    main()
