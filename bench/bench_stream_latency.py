"""End-to-end latency: pick-confirm-like commit → event on a connected WebSocket client; webhook throughput.

    UDIPICK_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/bench_stream_latency.py

Creates a scratch database, runs ``udipick serve`` in its own process, and drives ``rate`` transactions per
second (each writes one ``pick.confirmed.v1``-shaped event through ``emit``'s path, the same
insert a confirmed pick does) from ``writers`` concurrent sessions of a second process that, like any
udipick server process, runs an outbox hub. The client measures, per
event, the time from the writer's COMMIT returning to the message arriving. Then a local HTTP
receiver and one relay measure webhook deliveries per second for one subscriber.

The picking benchmark's full confirm (scan parse, FEFO check, ledger) is not re-run here: this
measures what the outbox adds after the confirm's commit, which is what the 100 ms target is about.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg

from tests.outbox.conftest import (
    ACTOR,
    Receiver,
    connect,
    make_subscription,
    running_relay,
)
from tests.outbox.test_processes import _serve
from udipick.config import normalize_database_url
from udipick.db.engine import make_engine, make_sessionmaker
from udipick.db.migrate import upgrade
from udipick.db.outbox import add_events
from udipick.services.identity import add_api_key
from udipick.services.outbox import OutboxHub, asyncpg_dsn

RATE = int(os.environ.get("BENCH_RATE", "500"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
WRITERS = int(os.environ.get("BENCH_WRITERS", "16"))
HOOKS = int(os.environ.get("BENCH_WEBHOOKS", "2000"))


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


async def main() -> None:
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
    admin = os.environ.get("UDIPICK_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"udipick_bench_{os.getpid()}"
    conn = await asyncpg.connect(admin)
    await conn.execute(f"CREATE DATABASE {name}")
    await conn.close()
    url = normalize_database_url(admin.rsplit("/", 1)[0] + "/" + name)
    try:
        await asyncio.to_thread(upgrade, url)
        engine = make_engine(url, pool_size=WRITERS + 2)
        db = make_sessionmaker(engine)
        key = await add_api_key(db, "bench", ["erp:read"])
        committed: dict[str, float] = {}
        arrived: dict[str, float] = {}
        async with _serve(url.replace("postgresql+asyncpg://", "postgresql://")) as (host, _http):  # its own process
            async with await connect(host, key, "?after=0", max_size=None) as ws:
                json.loads(await ws.recv())  # hello

                async def reader() -> None:
                    async for raw in ws:
                        msg = json.loads(raw)
                        if "eventId" in msg:
                            arrived[msg["eventId"]] = time.perf_counter()

                reading = asyncio.create_task(reader())
                # the writers stand for another udipick server process: like every server process, this one
                # runs an outbox hub, which numbers its commits as they happen (``wake_sequencer`` after
                # each commit) and NOTIFYs the positions to the serving process's stream
                hub = OutboxHub(asyncpg_dsn(url))
                await hub.start()
                total = int(RATE * SECONDS)
                interval = WRITERS / RATE
                data = {
                    "order": "SO-1",
                    "lineNo": 1,
                    "gtin": "00614141010012",
                    "lot": "L1",
                    "quantity": 1,
                    "location": "A-01",
                }

                async def writer(w: int) -> None:
                    start = time.perf_counter()
                    for k in range(w, total, WRITERS):
                        due = start + (k // WRITERS) * interval
                        if (delay := due - time.perf_counter()) > 0:
                            await asyncio.sleep(delay)
                        async with db() as s:
                            (eid,) = await add_events(s, ACTOR, [("pick.confirmed.v1", {**data, "n": k})])
                            await s.commit()
                        committed[str(eid)] = time.perf_counter()

                t0 = time.perf_counter()
                await asyncio.gather(*(writer(w) for w in range(WRITERS)))
                elapsed = time.perf_counter() - t0
                deadline = time.perf_counter() + 10
                while len(arrived) < total and time.perf_counter() < deadline:
                    await asyncio.sleep(0.05)
                reading.cancel()
                await hub.stop()
        lat = [(arrived[e] - committed[e]) * 1000 for e in committed if e in arrived]
        print(f"stream: {total} events at {total / elapsed:.0f}/s offered ({WRITERS} writers), {len(lat)} arrived")
        print(
            f"  commit → WebSocket latency ms: p50 {statistics.median(lat):.1f}  p90 {pct(lat, 0.9):.1f}  "
            f"p99 {pct(lat, 0.99):.1f}  max {max(lat):.1f}"
        )

        receiver = await Receiver().start()
        await make_subscription(db, receiver.url, name="bench", from_position=0)
        t0 = time.perf_counter()
        async with running_relay(url, concurrency=1, timeout=5.0):
            while len(receiver.requests) < min(HOOKS, total):
                await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - t0
        await receiver.stop()
        n = len(receiver.requests)
        print(
            f"webhooks: {n} signed POSTs to one subscriber in order in {elapsed:.2f}s = {n / elapsed:.0f}/s (one relay)"
        )
        await engine.dispose()
    finally:
        conn = await asyncpg.connect(admin)
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
