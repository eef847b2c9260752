"""Audit chain: seal and verify speed (issue 18's target: ``audit verify`` at >= 200,000 records/s).

    .venv/bin/python bench/bench_audit.py [--records 2000000]

On a fresh database: seeds N audit records in one SQL statement (varied actions, targets, reasons and
before/after JSON), seals them into the hash chain (``udipick_seal_audit``, as the server's background
sealer does), then times ``udipick audit verify`` run as the CLI (a subprocess, start-up included) and
the verification alone in process. Prints records/s for each.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time

import asyncpg

sys.path.insert(0, os.path.dirname(__file__))
from _server import fresh_database, machine  # noqa: E402

SEED = """
INSERT INTO audit_log (occurred_at, username, device_id, action, target, outcome, reason, detail, before, after)
SELECT timestamptz '2026-01-01 00:00:00+00' + g * interval '15 ms', 'user' || (g % 40), 'hh-' || (g % 64),
       (ARRAY['hold.placed', 'login', 'signature', 'erp.item.updated', 'print.retry'])[1 + g % 5],
       'lot:ITEM-' || (g % 5000) || '/L' || (g % 97), CASE WHEN g % 50 = 0 THEN 'failed' ELSE 'ok' END,
       CASE WHEN g % 3 = 0 THEN 'customer complaint ' || g END,
       jsonb_build_object('scope', 'lot', 'n', g),
       CASE WHEN g % 4 = 0 THEN jsonb_build_object('lotStatus', 'quarantine', 'version', g) END,
       CASE WHEN g % 4 = 0 THEN jsonb_build_object('lotStatus', 'released', 'version', g + 1) END
  FROM generate_series(1, $1::int) AS g
"""


def _cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def seed_and_seal(url: str, n: int) -> tuple[float, float, float]:
    conn = await asyncpg.connect(url)
    try:
        t0 = time.perf_counter()
        await conn.execute(SEED, n)
        await conn.execute("VACUUM ANALYZE audit_log")
        seeded = time.perf_counter() - t0
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        t0, cpu0 = time.perf_counter(), _cpu_seconds(pid)
        while True:
            sealed = await conn.fetchval("SELECT sealed FROM udipick_seal_audit(batch => 100000)")
            if sealed < 100000:
                break
        sealing, cpu = time.perf_counter() - t0, _cpu_seconds(pid) - cpu0
        await conn.execute("VACUUM ANALYZE audit_chain")
        return seeded, sealing, cpu
    finally:
        await conn.close()


async def verify_in_process(url: str, n: int) -> None:
    """Verify with two pooled connections kept open, reading their backends' CPU time before and after:
    on a shared machine, records per CPU-second compare where wall time does not."""
    from sqlalchemy import text

    from udipick.db.engine import make_engine, make_sessionmaker
    from udipick.services import audit

    engine = make_engine(url, pool_size=2)
    db = make_sessionmaker(engine)
    try:
        async with db() as a, db() as b:  # open both pooled connections, and learn their backends
            pids = [await a.scalar(text("SELECT pg_backend_pid()")), await b.scalar(text("SELECT pg_backend_pid()"))]
        for _ in range(2):
            cpu0, own0 = sum(map(_cpu_seconds, pids)), time.process_time()
            result = await audit.verify(db, seal_first=False)
            cpu = sum(map(_cpu_seconds, pids)) - cpu0 + time.process_time() - own0
            assert result.ok and result.records == n, result
            print(
                f"verify  : in process, {n:,} records in {result.seconds:.2f} s = {n / result.seconds:,.0f} records/s"
                f" (target >= 200,000/s); CPU {cpu:.2f} s (PostgreSQL + Python) = {n / cpu:,.0f} records per"
                f" CPU-second; load average {os.getloadavg()[0]:.1f}"
            )
    finally:
        await engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=2_000_000)
    args = ap.parse_args()
    from udipick.config import normalize_database_url

    print(f"machine : {machine()}")
    with fresh_database() as url:
        env = {**os.environ, "DATABASE_URL": url}
        subprocess.run([sys.executable, "-m", "udipick.cli", "db", "upgrade"], env=env, check=True, capture_output=True)
        seeded, sealing, seal_cpu = asyncio.run(seed_and_seal(url, args.records))
        n = args.records
        print(f"seed    : {n:,} audit records in {seeded:.1f} s")
        print(
            f"seal    : {n:,} links in {sealing:.1f} s = {n / sealing:,.0f} records/s (background sealer, one chain);"
            f" CPU {seal_cpu:.1f} s = {seal_cpu / n * 1e6:.1f} µs per record"
        )
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-m", "udipick.cli", "audit", "verify"],
            env=env,
            capture_output=True,
            text=True,
        )
        cli = time.perf_counter() - t0
        if out.returncode != 0:
            raise SystemExit(f"audit verify failed: {out.stdout}{out.stderr}")
        print(
            f"cli     : udipick audit verify, {n:,} records in {cli:.2f} s = {n / cli:,.0f} records/s (start-up included)"
        )
        print("          " + out.stdout.strip().replace("\n", "\n          "))
        asyncio.run(verify_in_process(normalize_database_url(url), n))


if __name__ == "__main__":
    main()
