"""Broker sinks: every outbox event, in position order, at least once, to a message broker.

``udipick relay --sink amqp://user:pass@host:5672/vhost`` runs one ``SinkPump`` per ``--sink`` next to the
webhook workers. The pump is broker-neutral; a broker is a ``Sink``:

- ``key``: ``(owner, name)`` of the cursor row in PostgreSQL (``services/sinks.py``), built from the broker's
  address and exchange/stream without credentials, so a different broker gets its own cursor;
- ``connect()``: open the connection and declare what it publishes to;
- ``publish(events)``: send a page in position order and return only once the broker confirmed every event
  in it (durably stored); raise on anything else, the pump then reconnects and sends the page again;
- ``close()``.

At least once, in order: the cursor moves after the broker confirmed the page, so a crash between the confirm
and the cursor write sends the page again, with the same message ids (the event ids). A consumer keeps the
ids it has seen (or the highest ``position`` header) and drops repeats. NATS JetStream fits the same shape:
``publish`` with ``Nats-Msg-Id`` = event id awaits each ``PubAck`` (and JetStream's duplicate window
drops the repeats on the broker side).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import asyncpg

from udipick.services import sinks
from udipick.services.outbox import OutboxHub, StreamEvent, read_after_conn

log = logging.getLogger("udipick.relay.sink")


class Sink(Protocol):
    key: tuple[str, str]

    async def connect(self) -> None: ...

    async def publish(self, events: Sequence[StreamEvent]) -> None: ...

    async def close(self) -> None: ...


class SinkRefused(ValueError):
    """A ``--sink`` address udipick cannot publish to (unknown scheme, bad option): refused at start-up."""


def open_sink(url: str) -> Sink:
    """The sink for a ``--sink`` address, by scheme."""
    scheme = url.partition("://")[0].lower()
    if scheme in ("amqp", "amqps"):
        from udipick.integrations.sinks.amqp import AmqpSink

        return AmqpSink.from_url(url)
    raise SinkRefused(f"--sink {scheme or url!r}: udipick publishes to amqp:// or amqps:// (RabbitMQ)")


@dataclass
class SinkStats:
    published: int = 0
    #: connections made to the broker (more than one: it was lost and made again)
    connects: int = 0
    #: pages sent again after a failure (the broker may have had some of them: duplicates, same ids)
    retried_pages: int = 0
    cursor: int = 0


@dataclass(frozen=True)
class SinkOptions:
    #: events per page: published together, confirmed together, then the cursor moves
    page: int = 500
    #: fallback wake-up when no position arrives
    poll_interval: float = 1.0
    #: reconnect backoff cap, seconds
    backoff_cap: float = 5.0
    #: a relay standing by (another one holds the sink) tries to take over this often
    standby_interval: float = 2.0


class SinkPump:
    """Reads the outbox after the sink's cursor, publishes page by page, moves the cursor after each confirm."""

    def __init__(self, sink: Sink, dsn: str, hub: OutboxHub, options: SinkOptions | None = None) -> None:
        self.sink = sink
        self.dsn = dsn
        self.hub = hub
        self.options = options or SinkOptions()
        self.stats = SinkStats()
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        delay = 0.1
        owner, name = self.sink.key
        while not self._stop.is_set():
            conn: asyncpg.Connection | None = None
            sending = False
            try:
                conn = await asyncpg.connect(self.dsn, server_settings={"application_name": "udipick-sink"})
                claimed = await sinks.claim_cursor(conn, owner, name)
                if claimed is None:
                    await conn.close()
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), self.options.standby_interval)
                    continue
                cursor_id, cursor = claimed
                self.stats.cursor = cursor
                await self.sink.connect()
                self.stats.connects += 1
                log.info("sink %s/%s publishing after position %d", owner, name, cursor)
                while not self._stop.is_set():
                    events = await read_after_conn(conn, cursor, self.options.page)
                    if not events:
                        await self.hub.wait_beyond(cursor, self.options.poll_interval)
                        continue
                    sending = True
                    await self.sink.publish(events)
                    sending = False
                    cursor = events[-1].position
                    await sinks.advance_cursor(conn, cursor_id, cursor)
                    self.stats.published += len(events)
                    self.stats.cursor = cursor
                    delay = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - broker or database away: reconnect and resend from the cursor
                if sending:
                    self.stats.retried_pages += 1
                log.warning("sink %s/%s: %s: %s; reconnecting in %.1fs", owner, name, type(exc).__name__, exc, delay)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay * random.uniform(0.5, 1.0))
                delay = min(delay * 2, self.options.backoff_cap)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self.sink.close(), 5)
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), 5)
