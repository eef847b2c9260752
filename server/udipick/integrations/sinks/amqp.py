"""RabbitMQ (AMQP 0-9-1) sink, with aio-pika.

What is published (docs/erp_integration.md, "Events on RabbitMQ"):

- exchange ``udipick.events`` (``?exchange=`` to change), type ``topic``, durable;
- routing key = the event type, e.g. ``pick.confirmed.v1``: a queue bound with ``pick.#`` gets every pick
  event, ``#`` everything, ``*.*.v1`` every first version;
- body = the event exactly as the WebSocket stream, the webhooks and the NDJSON pull carry it (``position``,
  ``eventId``, ``type``, ``occurredAt``, ``user``, ``device``, ``data``), ``content-type: application/json``;
- properties: ``message_id`` = ``eventId`` (the id to dedupe on), ``type`` = event type, ``timestamp`` =
  ``occurredAt``, ``app_id`` = ``udipick``, header ``position``, ``delivery_mode`` = 2 (persistent);
- publisher confirms: a page counts as sent when the broker has acked every message of it.

A topic exchange drops what no queue is bound to. ``?queue=NAME`` (optionally ``&bind=pick.#``, repeatable)
declares a durable queue bound to the exchange before the first publish, so events wait for a consumer
that has never connected yet; without it, bind your queue before the events you need are published.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from urllib.parse import parse_qs, urlsplit, urlunsplit

import aio_pika
import aiormq

from udipick.services.outbox import ENCODER, StreamEvent

EXCHANGE = "udipick.events"
_OPTIONS = ("exchange", "queue", "bind")


class AmqpSink:
    def __init__(self, url: str, *, exchange: str = EXCHANGE, queue: str | None = None, binds: Sequence[str] = ()):
        self.url = url
        self.exchange_name = exchange
        self.queue = queue
        self.binds = list(binds) or ["#"]
        parts = urlsplit(url)
        vhost = parts.path or "/"
        address = (
            f"{parts.scheme}://{parts.hostname}:{parts.port or (5671 if parts.scheme == 'amqps' else 5672)}{vhost}"
        )
        if len("sink:" + address) > 80:  # the cursor's owner column: the address, shortened but still unique
            address = address[:60] + "#" + hashlib.sha256(address.encode()).hexdigest()[:14]
        self.key = ("sink:" + address, exchange[:64])
        self._connection: aio_pika.abc.AbstractConnection | None = None
        self._channel: aiormq.abc.AbstractChannel | None = None

    @classmethod
    def from_url(cls, url: str) -> AmqpSink:
        """``amqp://user:pass@host:port/vhost?exchange=...&queue=...&bind=...``; other query options
        (``heartbeat``, ``connection_timeout``...) go to the client."""
        from udipick.integrations.sinks import SinkRefused

        parts = urlsplit(url)
        query = parse_qs(parts.query, keep_blank_values=True)
        ours = {k: v for k, v in query.items() if k in _OPTIONS}
        rest = "&".join(f"{k}={x}" for k, vs in query.items() if k not in _OPTIONS for x in vs)
        exchange = ours.get("exchange", [EXCHANGE])[-1]
        queue = ours.get("queue", [None])[-1]
        binds = ours.get("bind", [])
        if not exchange or not 0 < len(exchange) <= 64:
            raise SinkRefused("exchange= must be 1-64 characters")
        if binds and not queue:
            raise SinkRefused("bind= needs queue=")
        return cls(urlunsplit(parts._replace(query=rest)), exchange=exchange, queue=queue or None, binds=binds)

    async def connect(self) -> None:
        connection = await aio_pika.connect(
            self.url, client_properties={"connection_name": f"udipick-relay {self.key[0]} {self.key[1]}"}
        )
        try:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.declare_exchange(self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True)
            if self.queue:
                queue = await channel.declare_queue(self.queue, durable=True)
                for pattern in self.binds:
                    await queue.bind(exchange, routing_key=pattern)
            self._channel = await channel.get_underlay_channel()
        except BaseException:
            await connection.close()
            raise
        self._connection = connection

    async def publish(self, events: Sequence[StreamEvent]) -> None:
        """The page pipelined on one channel, then every confirm awaited.

        Order: the publishes are started as tasks in position order; each takes the channel's write lock
        (an ``asyncio.Lock``, first come first served) before its first suspension, so the frames leave in
        position order and RabbitMQ keeps a channel's order into each queue. A nack or a lost connection
        raises: the pump resends the page from its cursor (same message ids).
        """
        channel = self._channel
        if channel is None or channel.is_closed:
            raise ConnectionError("the AMQP channel is closed")
        tasks = [
            asyncio.ensure_future(
                channel.basic_publish(
                    ENCODER.encode(ev),
                    exchange=self.exchange_name,
                    routing_key=ev.type,
                    properties=aio_pika.Message(
                        b"",
                        content_type="application/json",
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        message_id=str(ev.event_id),
                        type=ev.type,
                        timestamp=ev.occurred_at,
                        app_id="udipick",
                        headers={"position": ev.position},
                    ).properties,
                )
            )
            for ev in events
        ]
        try:
            results = await asyncio.gather(*tasks)
        except BaseException:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        for result in results:
            if not isinstance(result, aiormq.spec.Basic.Ack):
                raise ConnectionError(f"the broker did not confirm a message: {result!r}")

    async def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and not connection.is_closed:
            await connection.close()
