"""Events per second from the outbox to RabbitMQ with publisher confirms (the relay's ``--sink amqp://``).

    .venv/bin/python bench/bench_amqp.py [--events 20000] [--pages 1,50,500] [--amqp amqp://guest:guest@127.0.0.1:5672/]

On a fresh database: ``--events`` events are committed first (1000 a transaction), then for each page size a
relay with one AMQP sink (its own exchange and a durable queue bound to it) publishes the whole backlog:
persistent messages, every page confirmed before the cursor moves in PostgreSQL. Printed per page size:
events per second from the first publish to the cursor at the head, and the messages the queue holds at
the end (equal to ``--events``: nothing lost, nothing twice). Page size 1 is "one confirm per event", the
slowest way to be in order and at least once.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aio_pika  # noqa: E402
from bench._server import fresh_database, machine  # noqa: E402

from udipick.config import normalize_database_url  # noqa: E402
from udipick.db.engine import make_engine, make_sessionmaker  # noqa: E402
from udipick.db.migrate import upgrade  # noqa: E402
from udipick.db.outbox import add_events  # noqa: E402
from udipick.domain.access import Actor  # noqa: E402
from udipick.integrations.relay import Relay, RelayOptions  # noqa: E402
from udipick.services.outbox import sequence_now  # noqa: E402


async def fill(url: str, n: int) -> None:
    engine = make_engine(url, pool_size=2)
    db = make_sessionmaker(engine)
    actor = Actor(user_id=None, username="bench", device_id="bench-1")
    try:
        for start in range(0, n, 1000):
            async with db() as session:
                await add_events(
                    session,
                    actor,
                    [
                        ("bench.happened.v1", {"n": i, "gtin": "04000000000007"})
                        for i in range(start, min(n, start + 1000))
                    ],
                )
                await session.commit()
        await sequence_now(db)
    finally:
        await engine.dispose()


async def run(url: str, amqp: str, n: int, page: int) -> tuple[float, int]:
    tag = uuid.uuid4().hex[:8]
    exchange, queue = f"udipick.bench.{tag}", f"udipick.bench.{tag}.q"
    relay = Relay(
        url,
        RelayOptions(concurrency=1, sinks=(f"{amqp}?exchange={exchange}&queue={queue}",), sink_page=page),
    )
    task = asyncio.create_task(relay.run())
    try:
        while not relay.pumps or relay.pumps[0].stats.connects == 0:
            await asyncio.sleep(0.001)
        started = time.perf_counter()
        while relay.pumps[0].stats.cursor < n:
            await asyncio.sleep(0.002)
        seconds = time.perf_counter() - started
    finally:
        relay.stop()
        await task
    connection = await aio_pika.connect(amqp)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, durable=True, passive=True)
        held = declared.declaration_result.message_count
        await channel.queue_delete(queue)
        await channel.exchange_delete(exchange)
    return seconds, held


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--pages", default="1,50,500")
    parser.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672/")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with fresh_database() as raw:
        url = normalize_database_url(raw)
        upgrade(url)
        asyncio.run(fill(url, args.events))
        for page in [int(p) for p in args.pages.split(",")]:
            n = min(args.events, 2000) if page == 1 else args.events
            # page 1 over the whole backlog takes minutes: its first 2000 are timed (the queue then holds a
            # few more, published between the cursor reaching 2000 and the relay stopping)
            seconds, held = asyncio.run(run(url, args.amqp, n, page))
            print(
                f"page {page:>4}: {n:>6} events in {seconds:6.2f} s = {n / seconds:8,.0f} events/s (queue holds {held})"
            )


if __name__ == "__main__":
    main()
