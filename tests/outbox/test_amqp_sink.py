"""The RabbitMQ sink against the machine's real RabbitMQ: every event once per id, in order, across kills.

Needs RabbitMQ at ``UDIPICK_TEST_AMQP_URL`` (default ``amqp://guest:guest@127.0.0.1:5672/``; ``.ci/run`` starts
it). Without it these tests skip on a developer's machine and fail under ``CI``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import uuid

import aio_pika
import pytest

from tests.outbox.conftest import running_relay, wait_until, write_events
from udipick.integrations.sinks import SinkRefused, open_sink

AMQP_URL = os.environ.get("UDIPICK_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def _missing(message: str) -> None:
    """A service the test needs is not there: fail under CI (``.ci/run`` starts it), skip elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
async def amqp_url() -> str:
    try:
        connection = await asyncio.wait_for(aio_pika.connect(AMQP_URL), 10)
    except Exception as exc:  # noqa: BLE001 - any reason RabbitMQ cannot be reached
        _missing(f"RabbitMQ is not reachable at {AMQP_URL} ({type(exc).__name__}: {exc}); .ci/run starts it")
    await connection.close()
    return AMQP_URL


class Consumer:
    """An ERP-side consumer as docs/erp_integration.md describes it: manual acks, dedupe by message id,
    reconnecting when the broker closes its connection."""

    def __init__(self, url: str, queue: str) -> None:
        self.url = url
        self.queue = queue
        self.arrivals: list[dict] = []  # every delivery, repeats included
        self.seen: dict[str, dict] = {}  # message id -> body, first arrival only, in arrival order
        self.connects = 0
        self._task: asyncio.Task | None = None

    async def start(self) -> Consumer:
        self._task = asyncio.create_task(self._run())
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                connection = await aio_pika.connect(self.url)
                self.connects += 1
                async with connection:
                    channel = await connection.channel()
                    await channel.set_qos(prefetch_count=200)
                    queue = await channel.declare_queue(self.queue, durable=True)
                    async with queue.iterator() as messages:
                        async for message in messages:
                            body = json.loads(message.body)
                            self.arrivals.append(
                                {**body, "_messageId": message.message_id, "_headers": dict(message.headers)}
                            )
                            self.seen.setdefault(message.message_id, body)
                            await message.ack()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the broker closed us (the test did): come back
                pass
            await asyncio.sleep(0.2)


async def _delete(url: str, exchange: str, queue: str) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(queue)
        await channel.exchange_delete(exchange)


def _names() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:10]
    return f"udipick.test.{tag}", f"udipick.test.{tag}.erp"


async def _burst(db, batches: int, size: int) -> list[str]:
    ids: list[str] = []
    for b in range(batches):
        ids += await write_events(db, size, type_=f"test.batch{b % 3}.v1", start=b * size)
        await asyncio.sleep(0.01)
    return ids


async def _close_all_connections() -> None:
    """What an operator or a network failure does to every client of the broker."""
    proc = await asyncio.create_subprocess_exec(
        "rabbitmqctl", "close_all_connections", "test", stdout=asyncio.subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()


async def test_a_consumer_gets_every_event_once_per_id_in_order_across_a_connection_kill_mid_burst(
    amqp_url, database_url, db
):
    if shutil.which("rabbitmqctl") is None:
        _missing("rabbitmqctl is not on this machine: the test cuts the broker's connections with it")
    exchange, queue = _names()
    sink = f"{amqp_url}?exchange={exchange}&queue={queue}"
    consumer = await Consumer(amqp_url, queue).start()
    try:
        async with running_relay(database_url, sinks=(sink,), sink_page=50) as relay:
            burst = asyncio.create_task(_burst(db, 40, 50))  # 2000 events in 40 commits
            await wait_until(lambda: _at_least(consumer, 300), timeout=120)
            assert not burst.done() or len(consumer.seen) < 2000  # the kill lands mid-burst
            await _close_all_connections()  # the relay's and the consumer's connections both
            ids = await burst
            await wait_until(lambda: _at_least(consumer, len(ids)), timeout=180)

            async def cursor_at_head() -> bool:  # it moves just after the confirm of what the consumer saw
                return relay.pumps[0].stats.cursor == len(ids)

            await wait_until(cursor_at_head, timeout=30)
            connects = relay.pumps[0].stats.connects
            cursor = relay.pumps[0].stats.cursor
    finally:
        await consumer.stop()
        await _delete(amqp_url, exchange, queue)
    assert consumer.connects >= 2  # the consumer was cut off too and came back
    assert connects >= 2  # the relay lost its connection and came back
    # deduped by message id: every event exactly once, in position order, with the stream's envelope
    assert list(consumer.seen) == ids
    bodies = list(consumer.seen.values())
    assert [b["position"] for b in bodies] == list(range(1, len(ids) + 1))
    assert [b["eventId"] for b in bodies] == ids
    assert {b["type"] for b in bodies} == {"test.batch0.v1", "test.batch1.v1", "test.batch2.v1"}
    assert all(
        a["_messageId"] == a["eventId"] and a["_headers"]["position"] == a["position"] for a in consumer.arrivals
    )
    # every arrival is either the next position or a repeat of one already there: no gap, nothing overtakes
    top = 0
    for a in consumer.arrivals:
        assert a["position"] <= top or a["position"] == top + 1, (a["position"], top)
        top = max(top, a["position"])
    assert cursor == len(ids) == await _cursor(db, exchange)  # in PostgreSQL too


async def test_the_relay_cli_killed_mid_burst_resumes_from_its_cursor_in_postgresql(amqp_url, database_url, db):
    exchange, queue = _names()
    sink = f"{amqp_url}?exchange={exchange}&queue={queue}"
    args = [sys.executable, "-m", "udipick.cli", "relay", "--concurrency", "1", "--sink", sink, "--sink-page", "20"]
    env = dict(os.environ, DATABASE_URL=database_url.replace("postgresql+asyncpg://", "postgresql://"))
    env.update(UDIPICK_LOG_JSON="0")
    consumer = await Consumer(amqp_url, queue).start()
    ids = await write_events(db, 1500)
    first = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        await wait_until(lambda: _at_least(consumer, 100), timeout=120)
        os.kill(first.pid, signal.SIGKILL)
        await asyncio.to_thread(first.wait, 5)
        cursor_after_kill = await _cursor(db, exchange)
        assert cursor_after_kill < 1500
        # what the killed relay published (confirmed or not) is still on its way to the consumer: count it once
        # it has all arrived, not at the kill (the broker had confirmed 400 while 198 had arrived, in one run)
        await wait_until(lambda: _at_least(consumer, cursor_after_kill), timeout=60)
        killed_at = await _settled(consumer)
        ids += await write_events(db, 100, start=1500)
        second = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            await wait_until(lambda: _at_least(consumer, 1600), timeout=180)
            await wait_until(lambda: _cursor_is(db, exchange, 1600), timeout=60)
        finally:
            second.send_signal(signal.SIGTERM)
            await asyncio.to_thread(second.wait, 10)
    finally:
        if first.poll() is None:
            first.kill()
        await consumer.stop()
        await _delete(amqp_url, exchange, queue)
    assert killed_at < 1600
    assert list(consumer.seen) == ids
    # the second relay started from the cursor, not from the beginning: at most the unconfirmed pages again
    assert len(consumer.arrivals) - 1600 <= killed_at - cursor_after_kill + 20


async def test_a_second_relay_stands_by_while_the_first_holds_the_sink(amqp_url, database_url, db):
    exchange, queue = _names()
    sink = f"{amqp_url}?exchange={exchange}&queue={queue}"
    consumer = await Consumer(amqp_url, queue).start()
    try:
        async with running_relay(database_url, sinks=(sink,)) as one, running_relay(database_url, sinks=(sink,)) as two:
            ids = await write_events(db, 300)
            await wait_until(lambda: _at_least(consumer, 300), timeout=120)

            async def cursor_moved() -> bool:  # the cursor moves just after the confirm the consumer saw
                return max(one.pumps[0].stats.cursor, two.pumps[0].stats.cursor) == 300

            await wait_until(cursor_moved, timeout=30)
            published = one.pumps[0].stats.published + two.pumps[0].stats.published
            both = (one.pumps[0].stats.published, two.pumps[0].stats.published)
    finally:
        await consumer.stop()
        await _delete(amqp_url, exchange, queue)
    assert 0 in both  # one publishes, the other waits for the lock
    assert published == 300
    assert len(consumer.arrivals) == 300
    assert list(consumer.seen) == ids


@pytest.mark.parametrize(
    "url",
    ["nats://127.0.0.1:4222", "http://example.com/", "amqp://h/?bind=pick.%23", "amqp://h/?exchange="],
)
def test_a_sink_udipick_cannot_publish_to_is_refused_at_start(url):
    with pytest.raises(SinkRefused):
        open_sink(url)


def test_the_cursor_of_a_sink_is_keyed_by_broker_and_exchange_without_credentials():
    sink = open_sink("amqp://erp:s3cret@mq.example:5673/wms?exchange=udipick.events&heartbeat=30")
    assert sink.key == ("sink:amqp://mq.example:5673/wms", "udipick.events")
    assert "s3cret" not in "".join(sink.key)
    assert sink.url == "amqp://erp:s3cret@mq.example:5673/wms?heartbeat=30"  # the client's own options stay


async def _settled(consumer: Consumer, quiet: float = 1.0) -> int:
    """The consumer's deliveries once none has arrived for ``quiet`` seconds."""
    while True:
        before = len(consumer.arrivals)
        await asyncio.sleep(quiet)
        if len(consumer.arrivals) == before:
            return before


async def _at_least(consumer: Consumer, n: int) -> bool:
    return len(consumer.seen) >= n


async def _cursor(db, exchange: str) -> int:
    from sqlalchemy import text

    async with db() as s:
        return int(
            await s.scalar(
                text("SELECT acked_position FROM stream_subscribers WHERE owner LIKE 'sink:%' AND name = :n"),
                {"n": exchange},
            )
            or 0
        )


async def _cursor_is(db, exchange: str, position: int) -> bool:
    return await _cursor(db, exchange) == position
